"""The report builds without Quarto: every cell runs, figures match data/, the preview is whole,
every cross-reference and citation resolves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from unionstate import bib, qmd
from unionstate.build import BuildError, build, execute
from unionstate.paths import Project
from unionstate.report import CHARTS, Report

REPO = Path(__file__).resolve().parents[1]
PROJECT_PARTS = ["data", "chapters", "figures", "references.bib", "report.qmd", "_quarto.yml",
                 "CITATION.cff", "pyproject.toml"]
DIV_ID = re.compile(r"^:::+\s*\{#((?:fig|tbl)-[\w-]+)", re.M)
LABEL_OPT = re.compile(r"^#\|\s*label:\s*((?:fig|tbl)-[\w-]+)", re.M)
XREF = re.compile(r"(?<![\w.])@((?:fig|tbl|sec)-[\w-]*\w)")
SEC_ID = re.compile(r"\{#(sec-[\w-]+)")
CITE = re.compile(r"(?<![\w.@])-?@([A-Za-z][\w:.-]*\w)")


def copy_project(dest: Path) -> Project:
    """A copy of everything the report is built from (not .git, not outputs)."""
    for part in PROJECT_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return Project(dest)


def sources() -> dict[str, str]:
    files = [REPO / "report.qmd", *sorted((REPO / "chapters").glob("*.qmd"))]
    return {str(f.relative_to(REPO)): f.read_text(encoding="utf-8") for f in files}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Project:
    proj = copy_project(tmp_path_factory.mktemp("built"))
    shutil.rmtree(proj.figures, ignore_errors=True)
    build(proj, say=lambda _msg: None)
    return proj


@pytest.fixture(scope="session")
def notebook(built) -> nbformat.NotebookNode:
    return nbformat.read(built.build / "report.ipynb", as_version=4)


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


def test_report_has_at_least_five_figures_and_four_tables():
    text = "\n".join(sources().values())
    ids = DIV_ID.findall(text) + LABEL_OPT.findall(text)
    assert len([i for i in ids if i.startswith("fig-")]) >= 5
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
    assert sorted(cited - bib.keys(REPO / "references.bib")) == []


def test_every_bib_entry_is_cited_somewhere(cited):
    missing = sorted(bib.keys(REPO / "references.bib") - cited)
    assert missing == [], "bibliography entries the report never cites"


def test_committed_figures_match_what_the_data_produces(tmp_path):
    fresh = tmp_path / "figures"
    report = Report.load(REPO)
    report.figures_dir = fresh
    for label in CHARTS:
        report.figure(label)
    committed = sorted(p.name for p in (REPO / "figures").glob("*.*"))
    assert committed == sorted(p.name for p in fresh.iterdir()), "figures/ holds other files"
    stale = [name for name in committed
             if (REPO / "figures" / name).read_bytes() != (fresh / name).read_bytes()]
    assert stale == [], f"figures/ is stale against data/ (run `uv run unionstate build`): {stale}"


def test_figures_are_byte_identical_across_builds(built, tmp_path):
    again = Report.load(built.root)
    again.figures_dir = tmp_path
    for label in CHARTS:
        again.figure(label)
    for path in sorted(built.figures.glob("*.*")):
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name


def test_every_figure_has_alt_text_and_a_caption_with_sources():
    for name, text in sources().items():
        for m in re.finditer(r"^::: \{#(fig-[\w-]+)\}\n(.*?)^:::\s*$", text, re.S | re.M):
            body = m.group(2)
            assert re.search(r"#\|\s*fig-alt:\s*\S", body), f"{name}: {m.group(1)} has no fig-alt"
            caption = body.rsplit("```", 1)[-1]
            assert f'C["{m.group(1)}"]' in caption, f"{name}: {m.group(1)} caption cites no sources"


def test_preview_holds_every_chapter_heading_and_figure(built):
    html = (built.build / "report.html").read_text(encoding="utf-8")
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


def test_a_failing_cell_is_named_by_chapter_and_line(tmp_path):
    proj = copy_project(tmp_path)
    chapter = sorted(proj.chapters.glob("*.qmd"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8")
                       + "\n\n```{python}\nraise ValueError('boom')\n```\n", encoding="utf-8")
    with pytest.raises(BuildError) as err:
        execute(proj, say=lambda _m: None)
    assert f"chapters/{chapter.name}" in str(err.value)
    assert "ValueError: boom" in str(err.value)


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
    assert [c.source for c in code] == ["x = 1", "x + 1"]
    assert code[1].metadata["unionstate"]["options"] == {"label": "fig-a", "fig-alt": "an A"}
    assert code[1].metadata["unionstate"]["file"] == "chapters/a.qmd"
    md = [c for c in nb.cells if c.cell_type == "markdown" and "Text" in c.source][0]
    assert qmd.inline_expressions(md.source) == ["x"]
    assert qmd.resolve_inline(md.source, ["1"]).endswith("Text 1.")


def test_a_missing_include_is_named(tmp_path):
    (tmp_path / "report.qmd").write_text("{{< include chapters/nope.qmd >}}\n", encoding="utf-8")
    with pytest.raises(qmd.QmdError, match="chapters/nope.qmd"):
        qmd.to_notebook(tmp_path / "report.qmd", tmp_path)


def test_preview_shows_the_writers_png_or_draws_its_own_when_the_writer_failed(tmp_path, monkeypatch):
    from unionstate.paths import PREVIEW_ENV

    proj = copy_project(tmp_path / "p")
    ready = tmp_path / "ready"
    ready.mkdir()
    monkeypatch.setenv(PREVIEW_ENV, str(ready))
    (proj.figures / "fig-mirror.png").write_bytes(
        (REPO / "figures" / "fig-timeline.png").read_bytes())  # a PNG we can recognise
    (ready / "fig-mirror").touch()
    shown = Report.load(proj.root).figure("fig-mirror")
    assert shown.data == (REPO / "figures" / "fig-timeline.png").read_bytes()
    (ready / "fig-mirror").unlink()
    (ready / "ERROR").write_text("boom", encoding="utf-8")
    drawn = Report.load(proj.root).figure("fig-mirror")
    assert drawn.data.startswith(b"\x89PNG") and drawn.data != shown.data
