"""The review edition: profile, draft mark and line numbers, change-list appendix, CLI.

`review_built`: one `unionstate build --review HEAD` of a copy of the project under git, one
number edited after the commit, with a fake `quarto` on PATH that records what it is given
(as conftest.fake_quarto does for the normal build, but writing outputs named after its input):
one kernel run, Quarto called on the executed notebook (HTML and Typst, then DOCX with PNG
figures), nothing executed by Quarto.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner
from conftest import copy_report, fake_output, quarto_calls, tree_digest

from unionstate import build, kernel, review
from unionstate.cli import main
from unionstate.paths import Project

REPO = Path(__file__).resolve().parents[1]
QUARTO = shutil.which("quarto")
needs_quarto = pytest.mark.skipif(QUARTO is None, reason="quarto not on PATH: install it from "
                                  "quarto.org or `uv sync --extra render`")
HEX64 = re.compile(r"^[0-9a-f]{64}  \S+$")


def test_profile_names_the_review_outputs_and_the_generated_files():
    profile = yaml.safe_load((REPO / "_quarto-review.yml").read_text(encoding="utf-8"))
    fmt = profile["format"]
    assert fmt["typst"]["output-file"] == "report-review.pdf"
    assert fmt["docx"]["output-file"] == "report-review.docx"
    assert "_build/review/mark.typ" in fmt["typst"]["include-before-body"]
    assert "_build/review/front-matter.yml" in profile["metadata-files"]
    assert set(review.OUTPUTS) <= {f["output-file"] for f in fmt.values()}


def test_without_the_profile_nothing_of_the_review_applies():
    base = (REPO / "_quarto.yml").read_text(encoding="utf-8")
    for word in ("par.line", "report-review", "_build/review", "Draft for review"):
        assert word not in base
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    for name in review.OUTPUTS:
        assert f"/{name}" in ignored


def test_gitignore_holds_quartos_entries_as_quarto_writes_them():
    """Quarto appends `/.quarto/` to .gitignore unless a line reads exactly that, which would
    leave a render with a dirty checkout."""
    lines = [x.strip() for x in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()]
    assert "/.quarto/" in lines


def test_mark_numbers_lines_and_names_the_version():
    typ = review.mark_typst('abc1234 with "quotes"', "2031-05-04")
    assert '#set par.line(numbering: "1")' in typ
    assert 'version abc1234 with \\"quotes\\" · built 2031-05-04' in typ


def test_front_matter_adds_the_draft_abstract(repo_project):
    meta = review.front_matter(repo_project, "v1.0")
    assert meta["abstract-title"] == "Draft for review"
    assert "since version v1.0" in meta["abstract"]
    assert meta["version"] in meta["abstract"]
    assert meta["author"]


def test_change_table_is_a_pipe_table_with_widths():
    changes = [("text blr-x", "62%", "64%"), ("tbl-polls figures of y", "(absent)", "3")]
    md = review.changes_table(changes, "abc1234").splitlines()
    assert md[0] == "| Where | At abc1234 | Now |"
    assert re.fullmatch(r"\|(-+\|)+", md[1])
    assert sum(len(c) for c in md[1].strip("|").split("|")) == 100
    assert md[2] == "| text blr-x | 62% | 64% |"
    assert len(md) == 4
    assert review.changes_table([], "abc1234") == \
        "No number in the report changed since version abc1234."


def test_appendix_is_empty_unless_a_review_is_built(repo_project, monkeypatch):
    monkeypatch.delenv(review.REVIEW_ENV, raising=False)
    assert review.appendix(repo_project) == ""


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_appendix_of_a_review_build(repo_project, monkeypatch):
    monkeypatch.setenv(review.REVIEW_ENV, "HEAD")
    text = review.appendix(repo_project)
    # No `when-profile` div around it: the single-file render of the notebook has no active
    # profile; only a review build prints the appendix at all.
    assert text.startswith("## Changes since the version reviewed")
    assert "when-profile" not in text
    sums = re.search(r"```\n(.*?)\n```", text, re.S).group(1).splitlines()
    files = sorted([*repo_project.data.glob("*.csv"), repo_project.codebook, repo_project.bib])
    assert len(sums) == len(files)
    assert all(HEX64.match(line) for line in sums), sums
    assert "| pandas |" in text


# The end of a change-list row (its "Where" opens with the chapter file and line, or says
# that no chapter shows it in a copy without chapters: changes.numbers).
CHANGED_ROW = "Belarusian Academy of Sciences, Jun 2020, \u201cTwo independent states\u201d | 62% | 64% |"


def commit_then_change_a_number(root: Path) -> None:
    """Put the copy at root under git, then change one figure (62% -> 64%) after the commit."""
    def git(*args):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x")
    results = root / "data" / "results.csv"
    text = results.read_text(encoding="utf-8")
    assert "blr-nasb-2020-independent,nasb-2020-06," in text
    line = next(x for x in text.splitlines() if x.startswith("blr-nasb-2020-independent,"))
    results.write_text(text.replace(line, line.replace(",62,62,exact,", ",64,64,exact,")),
                       encoding="utf-8")


def test_appendix_lists_a_changed_number(tmp_path, repo_root, monkeypatch):
    """A copy of the project in its own git repository; one figure edited after the commit
    shows up in the appendix with its old and new value."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    root = tmp_path / "p"
    shutil.copytree(repo_root / "data", root / "data")
    shutil.copy(repo_root / "references.bib", root / "references.bib")
    commit_then_change_a_number(root)
    from unionstate.paths import Project

    monkeypatch.setenv(review.REVIEW_ENV, "HEAD")
    md = review.appendix(Project(root))
    assert CHANGED_ROW in md


def test_cli_without_quarto_prints_the_hint_and_writes_nothing(tmp_path, monkeypatch):
    proj = copy_report(tmp_path / "p")
    before = tree_digest(proj.root)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    result = CliRunner().invoke(main, ["build", "--review", "HEAD", "--root", str(proj.root)])
    assert result.exit_code == 1
    assert "Quarto" in result.output and "quarto.org" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert tree_digest(proj.root) == before


def test_cli_review_is_the_build_with_an_optional_revision(tmp_path, monkeypatch):
    """`build --review [REV]` is the build (one error edge, one lock, --wait honoured), told
    the revision: HEAD unless given."""
    proj = copy_report(tmp_path / "p")
    seen = []

    def stand_in(proj, say, force=False, review=None):
        seen.append(review)
        return build.Outcome(quarto=True)

    monkeypatch.setattr(review, "require_quarto", lambda: None)
    monkeypatch.setattr(build, "build", stand_in)
    assert CliRunner().invoke(main, ["build", "--review", "--root", str(proj.root)]).exit_code == 0
    assert CliRunner().invoke(main, ["build", "--review", "abc1234", "--root",
                                     str(proj.root)]).exit_code == 0
    assert CliRunner().invoke(main, ["build", "--root", str(proj.root)]).exit_code == 0
    assert seen == ["HEAD", "abc1234", None]


def test_a_review_waits_for_another_build_as_long_as_told(tmp_path, monkeypatch):
    """--wait applies to the review edition: while another command holds _build/, it gives up
    after the time given, with the message of the lock, and runs nothing."""
    import threading

    from unionstate.store import building

    proj = copy_report(tmp_path / "p")
    monkeypatch.setattr(review, "require_quarto", lambda: None)
    monkeypatch.setattr(build, "build", lambda *a, **k: pytest.fail("the review ran"))
    held, release = threading.Event(), threading.Event()

    def hold():
        with building(proj):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        result = CliRunner().invoke(main, ["build", "--review", "--wait", "0.2", "--root",
                                           str(proj.root)])
    finally:
        release.set()
        holder.join()
    assert result.exit_code == 3, result.output
    assert "in use by another unionstate command" in result.stderr


def test_an_interrupted_review_says_what_it_left(tmp_path, monkeypatch):
    """Ctrl-C while the review edition is made: exit 130 (through the build's own handling)
    and a message that data/ and figures/ are untouched but the review files may not be whole
    (Quarto may have begun)."""
    import unionstate.kernel

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    proj = copy_report(tmp_path / "p")
    commit_then_change_a_number(proj.root)
    monkeypatch.setattr(review, "require_quarto", lambda: None)
    monkeypatch.setattr(unionstate.kernel, "run", interrupted)
    result = CliRunner().invoke(main, ["build", "--review", "--root", str(proj.root)])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip() == (
        "Review edition interrupted: data/ and figures/ were left as they were; the review "
        "files may be incomplete, so build it again.")

# ------------------------------------------------------------------ one review build, fake Quarto

@pytest.fixture(scope="module")
def review_built(shared_build):
    """tests/shared_build.py's "review" stage: `unionstate build --review HEAD` on a copy of the
    project under git with one number changed after the commit, a fake `quarto` on PATH."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    data = shared_build.stage("review")
    assert data["exit_code"] == 0, data["output"]
    return (Project(Path(data["root"])), data["output"], quarto_calls(Path(data["record"])),
            data["figures"])


@pytest.fixture(scope="module")
def review_nb(review_built):
    _, _, calls, _ = review_built
    assert len(calls) == 2, [c.argv for c in calls]
    return nbformat.read(calls[0].input, as_version=4)


def front(nb) -> dict:
    first = nb.cells[0]
    assert first.cell_type == "raw" and first.source.startswith("---\n")
    return yaml.safe_load(first.source.strip().strip("-"))


def markdown_outputs(nb) -> str:
    return "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells
                     if c.cell_type == "code" for o in c.outputs)


def test_review_quarto_renders_each_format_once_from_the_review_notebook(review_built):
    """As for the normal edition (test_quarto): HTML and Typst in one call, DOCX, whose
    figures are PNG, in a second; neither executes anything."""
    proj, output, calls, _ = review_built
    call, docx = calls
    assert call.argv == ["render", review.INPUT, "--to", "html,typst"]
    assert docx.argv == ["render", review.INPUT, "--to", "docx"]
    for c in calls:
        assert "--execute" not in c.argv and "--profile" not in c.argv
        assert c.cwd.resolve() == proj.root.resolve()
    # What Quarto read is the notebook the build keeps; the copy at the root is gone.
    assert call.input.read_bytes() == (review.review_dir(proj) / review.NOTEBOOK).read_bytes()
    assert not (proj.root / review.INPUT).exists()
    # Each output is what its own format wrote, under the profile's output-file.
    for name, fmt in {review.HTML: "html", "report-review.pdf": "typst",
                      "report-review.docx": "docx"}.items():
        assert (proj.root / name).read_text(encoding="utf-8") == fake_output(fmt), name
        assert name in output


def test_review_front_matter_is_the_normal_one_with_the_profile_merged(review_nb):
    meta = front(review_nb)
    assert meta["execute"]["enabled"] is False and meta["execute"]["echo"] is False
    typst = meta["format"]["typst"]
    assert typst["include-before-body"] == ["_build/review/mark.typ"]
    assert typst["papersize"] == "a4" and typst["citeproc"] is True  # from _quarto.yml
    assert {f["output-file"] for f in meta["format"].values()} == \
        {*review.OUTPUTS, review.HTML}
    assert meta["bibliography"] == "references.bib"
    assert meta["abstract-title"] == "Draft for review" and meta["version"] in meta["abstract"]
    assert "metadata-files" not in meta and "project" not in meta


def test_review_mark_resolves_from_where_quarto_runs(review_built, review_nb):
    proj, _, (call, _docx), _ = review_built  # the Typst call
    mark = call.cwd / front(review_nb)["format"]["typst"]["include-before-body"][0]
    text = mark.read_text(encoding="utf-8")
    assert '#set par.line(numbering: "1")' in text
    assert "Draft for review · version " in text


def test_review_notebook_holds_the_change_list_from_its_own_kernel_run(review_nb):
    code = [c for c in review_nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") is not None for c in code)
    shown = markdown_outputs(review_nb)
    assert "## Changes since the version reviewed" in shown
    assert CHANGED_ROW in shown


def test_review_build_leaves_the_normal_build_alone(review_built):
    proj, _, _, figures = review_built
    assert tree_digest(proj.figures) == figures
    assert not (proj.build / build.STATE).exists()
    assert not (proj.build / build.NOTEBOOK).exists()
    assert not (review.review_dir(proj) / kernel.STAGING).exists()
    assert not list(proj.build.rglob("kernel-ipc-*"))


def test_normal_build_has_no_review_appendix(built):
    nb = nbformat.read(built.proj.build / build.NOTEBOOK, as_version=4)
    assert "Changes since the version reviewed" not in markdown_outputs(nb)
    assert "About this edition" in "\n".join(c.source for c in nb.cells)


def test_kernel_sees_the_review_revision_only_in_a_review_build(monkeypatch, repo_project):
    from unionstate.kernel import kernel_env
    from unionstate.paths import FIGURES_ENV, ROOT_ENV

    monkeypatch.setenv(review.REVIEW_ENV, "left-in-a-shell")
    normal = kernel_env(repo_project, Path("/staging"))
    assert review.REVIEW_ENV not in normal
    assert normal[FIGURES_ENV] == "/staging" and normal[ROOT_ENV] == str(repo_project.root)
    assert kernel_env(repo_project, Path("/s"), "abc1234")[review.REVIEW_ENV] == "abc1234"


@pytest.mark.quarto
@needs_quarto
@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_review_edition_renders(tmp_path):
    """Quarto makes the review PDF and DOCX, in a copy of the project (under git, one number
    changed since HEAD); the PDF carries the mark, line numbers and the change list. The
    checkout's own report-review.* are left as they were."""
    theirs = {name: (REPO / name).read_bytes() if (REPO / name).exists() else None
              for name in (*review.OUTPUTS, review.HTML)}
    proj = copy_report(tmp_path / "p")
    commit_then_change_a_number(proj.root)
    done = subprocess.run([sys.executable, "-m", "unionstate.cli", "build", "--review", "HEAD",
                           "--root", str(proj.root)], cwd=proj.root, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    for name in review.OUTPUTS:
        assert (proj.root / name).stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(proj.root / "report-review.pdf"), "-"],
                              capture_output=True, text=True).stdout
        assert "Draft for review" in text
        assert "Changes since the version reviewed" in text
    assert {name: (REPO / name).read_bytes() if (REPO / name).exists() else None
            for name in theirs} == theirs


def test_a_revision_that_names_no_commit_is_refused_before_anything_runs(tmp_path, monkeypatch):
    """`build --review nosuchrev`: one message naming the revision and what is allowed, exit 1,
    no kernel started and nothing written (the revision is checked before any cell runs)."""
    import unionstate.kernel

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    proj = copy_report(tmp_path / "p")
    commit_then_change_a_number(proj.root)
    before = tree_digest(proj.root)
    monkeypatch.setattr(review, "require_quarto", lambda: None)
    monkeypatch.setattr(unionstate.kernel, "run", lambda *a, **k: pytest.fail("a kernel ran"))
    result = CliRunner().invoke(main, ["build", "--review", "nosuchrev", "--root",
                                       str(proj.root)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("No review edition made: 'nosuchrev' is not a commit")
    assert "Traceback" not in result.output
    assert {k: v for k, v in tree_digest(proj.root).items()
            if not k.startswith((".git/", "_build/"))} == \
        {k: v for k, v in before.items() if not k.startswith((".git/", "_build/"))}
    assert not (proj.build / "review").exists()
