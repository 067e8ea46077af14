"""The report builds without Quarto: every cell runs once, in one kernel that writes the figures
itself; figures/ matches data/ and changes only when every cell ran; the preview is whole;
every cross-reference and citation resolves. A build that skips a stage has checked that the
stage's outputs are the bytes it recorded; a failed build says what it changed; the stages
import nothing that imports them back.

Most tests read the one build of the session (`built`, in conftest.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import copy_report, tree_digest

from unionstate import bib, qmd
from unionstate.build import REPLACED, STATE, UNCHANGED
from unionstate.kernel import STAGING
from unionstate.paths import Project
from unionstate.report import CHARTS, Report

REPO = Path(__file__).resolve().parents[1]
DIV_ID = re.compile(r"^:::+\s*\{#((?:fig|tbl)-[\w-]+)", re.M)
LABEL_OPT = re.compile(r"^#\|\s*label:\s*((?:fig|tbl)-[\w-]+)", re.M)
XREF = re.compile(r"(?<![\w.])@((?:fig|tbl|sec)-[\w-]*\w)")
SEC_ID = re.compile(r"\{#(sec-[\w-]+)")
CITE = re.compile(r"(?<![\w.@])-?@([A-Za-z][\w:.-]*\w)")


def copy_project(dest: Path) -> Project:
    """A copy of everything the report is built from (not .git, not outputs)."""
    return copy_report(dest)


def sources() -> dict[str, str]:
    files = [REPO / "report.qmd", *sorted((REPO / "chapters").glob("*.qmd"))]
    return {str(f.relative_to(REPO)): f.read_text(encoding="utf-8") for f in files}


@pytest.fixture(scope="session")
def notebook(built) -> nbformat.NotebookNode:
    return nbformat.read(built.proj.build / "report.ipynb", as_version=4)


def test_every_chapter_is_included_and_runs_without_error(notebook):
    files = {c.metadata.get("unionstate", {}).get("file") for c in notebook.cells}
    chapters = {f"chapters/{p.name}" for p in (REPO / "chapters").glob("*.qmd")}
    assert chapters, "no chapters found"
    assert chapters <= files, f"chapters not included in report.qmd: {sorted(chapters - files)}"
    errors = [(c.metadata["unionstate"]["file"], o.get("ename"))
              for c in notebook.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_every_inline_expression_is_resolved(notebook):
    left = [c.source[:80] for c in notebook.cells
            if c.cell_type == "markdown" and "{python}" in c.source]
    assert left == []


def test_report_has_at_least_four_figures_and_four_tables():
    # Four figures since issue 23 cut the status-quo chart and the poll calendar.
    text = "\n".join(sources().values())
    ids = DIV_ID.findall(text) + LABEL_OPT.findall(text)
    assert len([i for i in ids if i.startswith("fig-")]) >= 4
    assert len([i for i in ids if i.startswith("tbl-")]) >= 4
    assert len(ids) == len(set(ids)), "a figure or table label is used twice"


def test_every_cross_reference_has_a_target():
    text = "\n".join(sources().values())
    targets = set(DIV_ID.findall(text)) | set(LABEL_OPT.findall(text)) | set(SEC_ID.findall(text))
    missing = sorted(set(XREF.findall(text)) - targets)
    assert missing == [], f"@-references without a target: {missing}"


def test_every_figure_label_is_a_chart_the_package_draws():
    text = "\n".join(sources().values())
    figs = {i for i in DIV_ID.findall(text) if i.startswith("fig-")}
    assert figs == set(CHARTS), "figures in the chapters and charts in the package differ"


def _citations(text: str) -> set[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code, not prose
    text = re.sub(r"\S+@\S+\.\w+", "", text)  # e-mail-like strings
    return {k for k in CITE.findall(text) if not k.startswith(("fig-", "tbl-", "sec-"))}


@pytest.fixture(scope="session")
def cited(notebook) -> set[str]:
    """Every key the executed report cites, in prose and in Markdown outputs (tables)."""
    keys = set()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            keys |= _citations(cell.source)
        for out in cell.get("outputs", []):
            keys |= _citations(out.get("data", {}).get("text/markdown", ""))
    return keys


def test_every_citation_exists_in_references_bib(cited):
    assert cited, "the report cites nothing"
    assert sorted(cited - set(bib.entries(REPO / "references.bib"))) == []


def test_every_bib_entry_is_cited_somewhere(cited):
    missing = sorted(set(bib.entries(REPO / "references.bib")) - cited)
    assert missing == [], "bibliography entries the report never cites"


def test_committed_figures_match_what_the_data_produces(built):
    """The session's build drew every figure from the committed data/ (its figures/ deleted
    first); the committed files must be the same bytes."""
    committed = sorted(p.name for p in (REPO / "figures").glob("*.*"))
    fresh = built.proj.figures
    assert committed == sorted(p.name for p in fresh.iterdir()), "figures/ holds other files"
    stale = [name for name in committed
             if (REPO / "figures" / name).read_bytes() != (fresh / name).read_bytes()]
    assert stale == [], f"figures/ is stale against data/ (run `uv run unionstate build`): {stale}"


def test_figures_are_byte_identical_across_builds(built, tmp_path):
    """Two builds of the same data write the same bytes: the session's build, in its kernel,
    and the figures drawn again here, in this process, from the same data/."""
    built_files = sorted(built.proj.figures.glob("*.*"))
    assert built_files, "the session's build wrote no figure"
    again = Report.load(built.proj.root)
    again.figures_dir = tmp_path
    for label in CHARTS:
        again.figure(label)
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in built_files]
    for path in built_files:
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name


def test_the_notebook_shows_the_bytes_of_the_figure_files(built, notebook):
    """One rendering per figure: what the notebook shows (SVG for Quarto, PNG for the
    preview) is the content of the files the kernel wrote, not a second drawing."""
    import base64

    shown = {}
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/svg+xml" in data:
                shown[data["text/plain"]] = data
    assert sorted(shown) == sorted(f"<figure {label}>" for label in CHARTS)
    for label in CHARTS:
        data = shown[f"<figure {label}>"]
        assert data["image/svg+xml"] == (built.proj.figures / f"{label}.svg").read_text("utf-8")
        assert base64.b64decode(data["image/png"]) == (built.proj.figures / f"{label}.png").read_bytes()


def test_each_png_is_its_svg_at_150_dpi(built):
    """The PNG is the SVG rasterised (figures.png_of), not a second drawing: the size the
    SVG gives in points, at 150 pixels per inch, opaque, with its resolution recorded."""
    from PIL import Image

    for label in CHARTS:
        svg = (built.proj.figures / f"{label}.svg").read_text("utf-8")
        width, height = (float(v) for v in re.search(
            r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
        png = Image.open(built.proj.figures / f"{label}.png")
        assert png.size == (round(width / 72 * 150), round(height / 72 * 150)), label
        assert png.mode == "RGB" and round(png.info["dpi"][0]) == 150, label


def test_svg_drawn_once_is_the_svg_savefig_draws():
    """figures.svg_of runs the layout on its own and draws once; its bytes must be those of a
    plain savefig, which draws twice (one chart with legend and panels, to keep this quick)."""
    import io

    from unionstate import charts, figures

    ds = Report.load(REPO).ds
    plain = io.StringIO()
    charts.mirror(ds)[0].savefig(plain, format="svg", metadata=figures.SVG_METADATA)
    fig = charts.mirror(ds)[0]
    assert figures.svg_of(fig) == plain.getvalue()
    assert fig.get_layout_engine() is None  # the layout ran once and was kept


def test_every_figure_has_alt_text_and_a_caption_with_sources():
    for name, text in sources().items():
        for m in re.finditer(r"^::: \{#(fig-[\w-]+)\}\n(.*?)^:::\s*$", text, re.S | re.M):
            body = m.group(2)
            assert re.search(r"#\|\s*fig-alt:\s*\S", body), f"{name}: {m.group(1)} has no fig-alt"
            caption = body.rsplit("```", 1)[-1]
            assert f'C["{m.group(1)}"]' in caption, f"{name}: {m.group(1)} caption cites no sources"


def test_each_preview_image_has_its_figure_alt_text(built):
    """The preview's images carry the fig-alt of their figure, in the order of the figures
    (nbconvert's lab template writes none, and nbconvert then writes a placeholder)."""
    import html as html_lib

    import yaml

    wanted = []
    for text in sources().values():
        for m in re.finditer(r"^::: \{#(fig-[\w-]+)\}\n(.*?)^:::\s*$", text, re.S | re.M):
            options = "\n".join(line[3:] for line in m.group(2).splitlines()
                                 if line.startswith("#| "))
            wanted.append(yaml.safe_load(options)["fig-alt"])
    page = (built.proj.build / "report.html").read_text(encoding="utf-8")
    shown = [html_lib.unescape(alt) for alt in re.findall(r'<img\b[^>]*?\balt="([^"]*)"', page)]
    assert len(re.findall(r"<img\b", page)) == len(shown) == len(wanted) > 0
    assert shown == wanted


def test_preview_holds_every_chapter_heading_and_figure(built):
    html = (built.proj.build / "report.html").read_text(encoding="utf-8")
    headings = []
    for text in sources().values():
        headings += [h.strip() for h in re.findall(r"^# ([^{\n]+)", text, re.M)]
    assert headings
    for heading in headings:
        assert heading.replace("'", "&#39;") in html or heading in html, heading
    figures = {i for t in sources().values() for i in DIV_ID.findall(t) if i.startswith("fig-")}
    for fig in figures:
        assert f'id="{fig}"' in html, f"preview lacks {fig}"
    assert html.count("data:image/png;base64") >= len(figures)
    assert "{python}" not in html
    assert "[@" not in html, "a citation left unrendered in the preview"


def test_a_failing_cell_is_named_and_leaves_figures_unchanged(failed_build):
    """A cell fails after a figure has been drawn (tests/shared_build.py, stage "failed": the
    first chapter of a copy ends in `raise ValueError('boom')`, and one file of its figures/
    holds bytes no build would write): the message names the chapter and the cell and says
    figures/ was left unchanged, and figures/ is byte for byte what it was."""
    failed = failed_build
    root = Path(failed["root"])
    assert 'r.figure("' in (root / failed["chapter"]).read_text(encoding="utf-8"), \
        "the failing chapter draws no figure before the failing cell"
    assert failed["error"] is not None, "the build with a failing cell did not fail"
    assert failed["chapter"] in failed["error"]
    assert "ValueError: boom" in failed["error"]
    assert UNCHANGED in failed["error"] and "figures/" in UNCHANGED
    assert tree_digest(root / "figures") == failed["figures_before"]
    assert (root / "figures" / "fig-timeline.png").read_bytes() == b"not a figure"
    assert not (root / "_build" / "figures-staging").exists(), "the staged figures were left behind"


def test_an_interrupted_swap_is_undone_by_the_next_build(tmp_path):
    """Stopped between its two renames, a build leaves figures/ in _build/figures-previous;
    the next build puts it back before it does anything else."""
    from unionstate.outputs import recover

    proj = copy_project(tmp_path)
    before = tree_digest(proj.figures)
    proj.build.mkdir()
    proj.figures.rename(proj.build / "figures-previous")
    recover(proj)
    assert tree_digest(proj.figures) == before
    assert not (proj.build / "figures-previous").exists()


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _cells_ran(proj, nb, folder, say, review=None):
    """What the execution stage leaves when every cell ran: the new figures, staged."""
    from unionstate.kernel import Executed

    staging = folder / STAGING
    staging.mkdir(parents=True)
    (staging / "fig-new.csv").write_text("x\n1\n", encoding="utf-8")
    return Executed(nb, {}, staging)


def test_ctrl_c_before_the_swap_leaves_figures_and_says_so(tmp_path, monkeypatch):
    """Ctrl-C while the cells run: exit 130, a message saying figures/ was left as it was
    (no traceback, no click 'Aborted!'), and figures/ byte for byte as it was."""
    from click.testing import CliRunner

    import unionstate.kernel
    from unionstate.cli import main

    proj = copy_project(tmp_path)
    before = tree_digest(proj.figures)
    monkeypatch.setattr(unionstate.kernel, "run", _interrupt)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "Build interrupted: figures/ was left as it was, and nothing else was finished; run "
        "`unionstate build` again.")
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert tree_digest(proj.figures) == before


def test_ctrl_c_after_the_swap_says_figures_is_new_and_the_rest_is_not(tmp_path, monkeypatch):
    """Ctrl-C after figures/ was replaced (here: while the preview is written) says so, and
    the build's state is not saved, so the next build runs everything again."""
    from click.testing import CliRunner

    import unionstate.kernel
    import unionstate.preview
    from unionstate.cli import main

    proj = copy_project(tmp_path)
    monkeypatch.setattr(unionstate.kernel, "run", _cells_ran)
    monkeypatch.setattr(unionstate.preview, "page", _interrupt)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "Build interrupted: figures/ already holds the new charts, but the notebook, the "
        "preview and the Quarto formats may be out of date; run `unionstate build` again to "
        "finish.")
    assert sorted(p.name for p in proj.figures.iterdir()) == ["fig-new.csv"]
    assert not (proj.build / STATE).exists()


def test_a_build_that_fails_after_the_swap_says_figures_was_replaced(tmp_path, monkeypatch):
    """The preview cannot be written (_build/report.html is a folder, as an unwritable file or
    a full disk would refuse it) after figures/ was replaced: exit 2, a message naming the file
    and saying that figures/ already holds the new charts, not "nothing was changed"."""
    from click.testing import CliRunner

    import unionstate.kernel
    from unionstate.cli import main

    proj = copy_project(tmp_path)
    (proj.build / "report.html").mkdir(parents=True)
    monkeypatch.setattr(unionstate.kernel, "run", _cells_ran)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert result.exit_code == 2, result.output
    assert "_build/report.html" in result.stderr
    assert REPLACED in result.stderr
    assert "nothing was changed" not in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in proj.figures.iterdir()) == ["fig-new.csv"]
    assert not (proj.build / STATE).exists()


def test_a_build_that_fails_before_the_swap_says_figures_was_not(tmp_path, monkeypatch):
    """The same unwritable preview, but the cells failed first: figures/ is as it was, and the
    message says so."""
    from click.testing import CliRunner

    import unionstate.kernel
    from unionstate.cli import main

    def cell_failed(*args, **kwargs):
        raise unionstate.kernel.CellError("chapters/x.qmd, line 3 (code cell 1) failed")

    proj = copy_project(tmp_path)
    before = tree_digest(proj.figures)
    monkeypatch.setattr(unionstate.kernel, "run", cell_failed)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert result.exit_code == 1, result.output
    assert UNCHANGED in result.stderr and REPLACED not in result.stderr
    assert tree_digest(proj.figures) == before


def test_qmd_reader_keeps_includes_options_and_origins(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.qmd").write_text(
        "# A {#sec-a}\n\nText `{python} x`.\n\n```{python}\n#| label: fig-a\n#| fig-alt: \"an A\"\n"
        "x + 1\n```\n", encoding="utf-8")
    (tmp_path / "report.qmd").write_text(
        "---\ntitle: T\n---\n\n```{python}\nx = 1\n```\n\n{{< include chapters/a.qmd >}}\n",
        encoding="utf-8")
    nb = qmd.to_notebook(tmp_path / "report.qmd", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Option lines stay in the cell: Quarto reads a notebook cell's options from them.
    assert [c.source for c in code] == ["x = 1", '#| label: fig-a\n#| fig-alt: "an A"\nx + 1']
    assert code[1].metadata["unionstate"]["options"] == {"label": "fig-a", "fig-alt": "an A"}
    assert code[1].metadata["unionstate"]["file"] == "chapters/a.qmd"
    md = [c for c in nb.cells if c.cell_type == "markdown" and "Text" in c.source][0]
    assert qmd.inline_expressions(md.source) == ["x"]
    assert qmd.resolve_inline(md.source, ["1"]).endswith("Text 1.")


def test_a_missing_include_is_named(tmp_path):
    (tmp_path / "report.qmd").write_text("{{< include chapters/nope.qmd >}}\n", encoding="utf-8")
    with pytest.raises(qmd.QmdError, match="chapters/nope.qmd"):
        qmd.to_notebook(tmp_path / "report.qmd", tmp_path)


# ------------------------------------------------------------------ a no-op build checks its outputs

DAMAGE = {
    "junk in a figure": lambda proj: (proj.figures / "fig-mirror.csv").write_text("junk\n"),
    "a stray file in figures/": lambda proj: (proj.figures / "stray.txt").write_text("x"),
    "a figure removed": lambda proj: (proj.figures / "fig-timeline.svg").unlink(),
    "half a preview": lambda proj: (proj.build / "report.html").write_bytes(
        (proj.build / "report.html").read_bytes()[:1000]),
    "the notebook removed": lambda proj: (proj.build / "report.ipynb").unlink(),
}


class _Ran(Exception):
    """The stand-in execution stage was called."""


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_build_redoes_outputs_that_are_not_as_it_recorded(built, tmp_path, monkeypatch,
                                                            damage):
    """A copy of the session's build (its inputs unchanged): a build runs nothing while every
    output is as recorded in _build/state.json, and runs the cells again when one of them is
    damaged, whatever the damage (junk written into figures/, a file added or removed, a half
    preview a kill left)."""
    import shutil

    import unionstate.kernel
    from unionstate.build import build

    root = tmp_path / "copy"
    shutil.copytree(built.proj.root, root, symlinks=True)
    proj = Project(root)

    def ran(*args, **kwargs):
        raise _Ran

    monkeypatch.setattr(unionstate.kernel, "run", ran)
    monkeypatch.setattr("shutil.which", lambda *a, **k: None)  # no Quarto: the cells' stage
    outcome = build(proj, say=lambda _m: None)  # nothing changed: nothing runs
    assert outcome.skipped and not outcome.written
    DAMAGE[damage](proj)
    with pytest.raises(_Ran):
        build(proj, say=lambda _m: None)


def test_the_package_has_no_import_circle():
    """No module of unionstate imports, at any depth and in any function, a module that
    imports it back (the build's stages hand their results on; they do not call back)."""
    import ast

    package = REPO / "src" / "unionstate"
    graph = {}
    for path in package.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else \
                    {alias.name for alias in node.names}
        graph[path.stem] = deps - {path.stem}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == target or (dep not in seen and reaches(dep, target, seen | {dep})):
                return True
        return False

    circles = sorted(m for m in graph if reaches(m, m, {m}))
    assert circles == [], f"modules in an import circle: {circles}"


def test_the_kernel_is_handed_its_staging_folder_in_its_environment(tmp_path, monkeypatch):
    """Report.load reads where figures go from $UNIONSTATE_FIGURES (set only in the build's
    kernel: kernel.kernel_env), not from a module of the package: with it, a figure shown is
    written there and shown from those bytes; without it, the Figure itself is returned."""
    from matplotlib.figure import Figure

    from unionstate.paths import FIGURES_ENV

    monkeypatch.delenv(FIGURES_ENV, raising=False)
    assert isinstance(Report.load(REPO).figure("fig-mirror"), Figure)
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(FIGURES_ENV, str(tmp_path))
    shown = Report.load(REPO).figure("fig-mirror")
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["fig-mirror.csv", "fig-mirror.png", "fig-mirror.svg"]
    assert shown.svg == (tmp_path / "fig-mirror.svg").read_text(encoding="utf-8")


def test_an_inline_value_is_shown_as_its_markdown_or_its_text():
    """What the kernel answers for an inline expression (Jupyter's user_expressions): its
    text/markdown if it has one, else its text/plain, a string without its repr's quotes."""
    from unionstate.kernel import _shown

    assert _shown({"data": {"text/plain": "'62%'", "text/markdown": "62% [@x]"}}) == "62% [@x]"
    assert _shown({"data": {"text/plain": "'June 2020'"}}) == "June 2020"
    assert _shown({"data": {"text/plain": "12"}}) == "12"
    assert _shown({"data": {"text/plain": "<object at 0x1>"}}) == "<object at 0x1>"


class _Kernel:
    """A stand-in for nbclient's client: answers each execute request with `reply`."""

    def __init__(self, reply: dict):
        self.reply, self.sent = reply, []
        self.kc = self

    def execute(self, code, **kwargs):
        self.sent.append((code, kwargs))
        return "msg-1"

    def wait_for_reply(self, msg_id):
        return {"content": self.reply}


def test_inline_expressions_go_to_the_kernel_as_user_expressions():
    """Each inline expression is one of the request's user_expressions (nothing printed or
    parsed); a failing one is named with its cell, a user's mistake it raises (a data/ problem)
    is a DataInvalid with its exit status, anything else a CellError."""
    import nbformat

    from unionstate import kernel

    cell = nbformat.v4.new_markdown_cell("Then `{python} S['a']` and `{python} W['b']`.",
                                         metadata={"unionstate": {"file": "c.qmd", "line": 4}})
    ok = {"status": "ok", "user_expressions": {
        "e0": {"status": "ok", "data": {"text/plain": "'62%'", "text/markdown": "62%"}},
        "e1": {"status": "ok", "data": {"text/plain": "'June 2020'"}}}}
    client = _Kernel(ok)
    kernel._resolve_inline(client, cell)
    assert cell.source == "Then 62% and June 2020."
    code, sent = client.sent[0]
    assert code == "" and sent["user_expressions"] == {"e0": "S['a']", "e1": "W['b']"}
    assert sent["store_history"] is False

    def failing(ename: str) -> None:
        again = nbformat.v4.new_markdown_cell("`{python} S['x']`", metadata=cell.metadata)
        client = _Kernel({"status": "ok", "user_expressions": {"e0": {
            "status": "error", "ename": ename, "evalue": "no 'x'", "traceback": []}}})
        kernel._resolve_inline(client, again)

    with pytest.raises(kernel.CellError, match=r"c\.qmd, line 4: the inline expression "
                                               r"`S\['x'\]` failed:\nKeyError: no 'x'"):
        failing("KeyError")
    with pytest.raises(kernel.DataInvalid, match="data/ does not validate:\nno 'x'") as info:
        failing("DataError")
    assert info.value.exit_code == 1


def test_quarto_typesets_again_when_an_edition_is_not_as_recorded(built, tmp_path, monkeypatch):
    """A copy of the session's build, a fake `quarto` on PATH: nothing runs while report.html,
    .pdf and .docx are the bytes Quarto wrote; once report.pdf is damaged, Quarto typesets
    again (both calls), and the cells do not run (their outputs are as recorded)."""
    import shutil

    from conftest import fake_output, fake_quarto, quarto_calls

    import unionstate.kernel
    from unionstate.build import build

    root = tmp_path / "copy"
    shutil.copytree(built.proj.root, root, symlinks=True)
    proj = Project(root)
    bin_dir, record = fake_quarto(tmp_path / "quarto")
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setattr(unionstate.kernel, "run", lambda *a, **k: pytest.fail("cells ran"))
    first = build(proj, say=lambda _m: None)
    assert quarto_calls(record) == [] and len(first.skipped) == 2
    (root / "report.pdf").write_text("half a PDF")
    second = build(proj, say=lambda _m: None)
    assert [c.argv[-1] for c in quarto_calls(record)] == ["html,typst", "docx"]
    assert (root / "report.pdf").read_text() == fake_output("typst")
    assert second.skipped == ["cells, figures and preview (no input changed, outputs as "
                              "recorded)"]


def test_the_build_writes_files_readable_as_any_other_file(tmp_path):
    """outputs.write_atomic's temporary file is created 0600: the file it becomes has the mode
    the umask gives a new file (or the mode the file had), not 0600."""
    from unionstate.outputs import write_atomic

    old = os.umask(0o022)
    try:
        new = write_atomic(tmp_path / "new.html", "x")
        kept = tmp_path / "kept.html"
        kept.write_text("old", encoding="utf-8")
        kept.chmod(0o640)
        write_atomic(kept, "new")
    finally:
        os.umask(old)
    assert new.stat().st_mode & 0o777 == 0o644
    assert kept.stat().st_mode & 0o777 == 0o640


def test_the_build_lists_only_the_files_whose_bytes_changed(tmp_path, monkeypatch):
    """Of the files a build writes, it names those whose bytes differ from before and counts
    the ones rewritten with the same bytes (the stages themselves are a stand-in here)."""
    from click.testing import CliRunner

    import unionstate.build
    from unionstate.build import Outcome
    from unionstate.cli import main

    proj = copy_project(tmp_path)
    same, new = sorted(proj.figures.glob("*.svg"))[:2]

    def stages(proj, say, force, review):
        same.write_bytes(same.read_bytes())
        new.write_bytes(new.read_bytes() + b"\n")
        return Outcome(written=[same, new])

    monkeypatch.setattr(unionstate.build, "build", stages)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("Changed 1 file (1 rewritten the same):")
    assert lines[at + 1] == f"  {proj.rel(new)}"
    assert proj.rel(same) not in result.stdout


def test_a_quarto_problem_ends_the_build_with_its_message(tmp_path, monkeypatch):
    """typeset.QuartoError (Quarto failed, or _quarto.yml cannot be read) leaves build() as a
    BuildError, which the CLI prints as "Build failed: ...", never as a traceback."""
    import unionstate.build
    from unionstate import typeset

    (tmp_path / "_quarto.yml").write_text("format: [html", encoding="utf-8")
    monkeypatch.setattr(unionstate.build, "_build", lambda proj, *args: typeset.front_matter(proj))
    with pytest.raises(unionstate.build.BuildError, match=r"^_quarto.yml is not valid YAML"):
        unionstate.build.build(Project(tmp_path))
