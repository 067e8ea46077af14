"""The review edition: profile, draft mark and line numbers, change-list appendix, CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from unionstate import review
from unionstate.cli import main

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
    assert text.startswith('::: {.content-visible when-profile="review"}')
    assert text.rstrip().endswith(":::")
    assert "## Changes since the version reviewed" in text
    sums = re.search(r"```\n(.*?)\n```", text, re.S).group(1).splitlines()
    files = sorted([*repo_project.data.glob("*.csv"), repo_project.codebook, repo_project.bib])
    assert len(sums) == len(files)
    assert all(HEX64.match(line) for line in sums), sums
    assert "| pandas |" in text


def test_appendix_lists_a_changed_number(tmp_path, repo_root, monkeypatch):
    """A copy of the project in its own git repository; one figure edited after the commit
    shows up in the appendix with its old and new value."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    root = tmp_path / "p"
    shutil.copytree(repo_root / "data", root / "data")
    shutil.copy(repo_root / "references.bib", root / "references.bib")

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
    from unionstate.paths import Project

    monkeypatch.setenv(review.REVIEW_ENV, "HEAD")
    md = review.appendix(Project(root))
    assert "| text blr-nasb-2020-independent | 62% | 64% |" in md


def test_cli_without_quarto_prints_the_hint_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    result = CliRunner().invoke(main, ["build", "--review", "HEAD", "--root", str(REPO)])
    assert result.exit_code == 1
    assert "Quarto" in result.output and "quarto.org" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_review_takes_an_optional_revision(monkeypatch):
    seen = {}
    monkeypatch.setattr(review, "cli_review", lambda proj, rev, say: seen.setdefault("rev", rev)
                        and 0)
    CliRunner().invoke(main, ["build", "--review", "--root", str(REPO)])
    assert seen["rev"] == "HEAD"
    seen.clear()
    CliRunner().invoke(main, ["build", "--review", "abc1234", "--root", str(REPO)])
    assert seen["rev"] == "abc1234"


@pytest.mark.quarto
@needs_quarto
def test_review_edition_renders(tmp_path):
    """Quarto makes the review PDF and DOCX; the PDF carries the mark and line numbers."""
    done = subprocess.run(["uv", "run", "unionstate", "build", "--review", "HEAD"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in review.OUTPUTS:
        assert (REPO / name).stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(REPO / "report-review.pdf"), "-"],
                              capture_output=True, text=True).stdout
        assert "Draft for review" in text
        assert "Changes since the version reviewed" in text
    status = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                            text=True).stdout
    assert status == "" or "report-review" not in status
