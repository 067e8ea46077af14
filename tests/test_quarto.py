"""Quarto typesets the report: one self-contained HTML file, a Typst PDF and a DOCX, from the
notebook `unionstate build` has executed, running no code: one call for the formats that take
each chart's SVG (HTML, Typst), one for DOCX, which takes its PNG (typeset.RASTER_FORMATS).

Three groups of tests:
- what Quarto is given (always run): the session build (conftest.py `built`) has a fake
  `quarto` on PATH that records its command line, working folder and the file it was given,
  and writes one output per format `--to` names, where Quarto would;
  the tests read that record: every format rendered once, the executed notebook with its front
  matter in a raw first cell, every project option, no cell left to execute, the cell options,
  cross-references and citations of the chapters, and for DOCX the same notebook with each
  figure as its PNG only;
- the checks of `_quarto.yml` itself (always run);
- real renders, marked `quarto`, which skip with the reason where the `quarto` command is
  missing: one `unionstate build` of a temporary copy of the repository, whose Quarto output
  must show that no kernel started.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote_to_bytes

import nbformat
import pytest
import yaml
from conftest import fake_output

from unionstate import qmd, typeset

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "_quarto.yml"
OPTIONS_DOC = REPO / "docs" / "quarto-options.md"

QUARTO = shutil.which("quarto")
SKIP_REASON = "quarto not on PATH: install it from quarto.org or `uv sync --extra render`"
needs_quarto = pytest.mark.skipif(QUARTO is None, reason=SKIP_REASON)
RENDER_TIMEOUT = 1200  # seconds per format; the whole report runs in one kernel each time

# Never copied into the render tree: VCS, environments, build and render leftovers, caches.
COPY_EXCLUDE = {".git", ".venv", "_build", ".quarto", "_freeze", "__pycache__", ".pytest_cache",
                ".ruff_cache", "report_files"}
# Outputs of an earlier render at the root must not stand in for the ones under test.
ROOT_OUTPUTS = {"report.html", "report.pdf", "report.docx"}
# The format each of them is written as.
OUTPUT_FORMATS = {"report.html": "html", "report.pdf": "typst", "report.docx": "docx"}

FIG_DIV = re.compile(r"^:::+\s*\{#(fig-[\w-]+)", re.M)
OFF_HOST = re.compile(r"^\s*(?:https?:)?//", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?\s*((?:https?:)?//[^)'\"\s]*)", re.I)
CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?\s*((?:https?:)?//[^)'\";\s]*)", re.I)
# Element attributes that make a browser fetch something (<a href> only navigates).
FETCHING = {
    "script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
    "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",),
    "track": ("src",), "embed": ("src",), "object": ("data",), "input": ("src",),
    "image": ("href", "xlink:href"), "use": ("href", "xlink:href"), "feimage": ("href", "xlink:href"),
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# ------------------------------------------------------------------------------ helpers


def figure_labels() -> list[str]:
    """Every `::: {#fig-...}` div in report.qmd and the chapters, in reading order."""
    files = [REPO / "report.qmd", *sorted((REPO / "chapters").glob("*.qmd"))]
    return [label for f in files if f.exists() for label in FIG_DIV.findall(f.read_text("utf-8"))]


def decode_data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, payload) of a `data:` URI, or None for anything else."""
    if not uri.lower().startswith("data:") or "," not in uri:
        return None
    head, _, payload = uri[5:].partition(",")
    parts = head.split(";")
    media = parts[0].strip().lower() or "text/plain"
    try:
        if "base64" in (p.strip().lower() for p in parts[1:]):
            return media, base64.b64decode(payload + "=" * (-len(payload) % 4))
        return media, unquote_to_bytes(payload)
    except ValueError:
        return None


def css_off_host(css: str) -> list[str]:
    return [f"url({u})" for u in CSS_URL.findall(css)] + \
        [f"@import {u}" for u in CSS_IMPORT.findall(css)]


class PageScan(HTMLParser):
    """One pass over an HTML page: what each figure element holds, and every off-host fetch."""

    def __init__(self, fig_ids: set[str]):
        super().__init__(convert_charrefs=True)
        self.fig_ids = fig_ids
        self.found: set[str] = set()
        self.images: dict[str, int] = {i: 0 for i in fig_ids}
        self._open: list[list] = []  # [figure id, tag, depth of that tag inside it]
        self._style: list[str] | None = None  # text of the <style> element being read
        self.css: list[str] = []
        self.embedded: list[tuple[str, bytes]] = []  # decoded data: URIs (CSS, SVG)
        self.off_host: list[str] = []

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.css.append(value)
            if name in FETCHING.get(tag, ()):
                candidates = [c.strip().split()[0] for c in value.split(",") if c.strip()] \
                    if name == "srcset" else [value]
                for candidate in candidates:
                    if OFF_HOST.match(candidate):
                        self.off_host.append(f"<{tag} {name}={candidate}>")
                    decoded = decode_data_uri(candidate.strip())
                    if decoded and decoded[0] in ("text/css", "image/svg+xml"):
                        self.embedded.append(decoded)

    def _image(self, tag: str) -> None:
        if tag in ("img", "svg"):
            for fig_id, _, _ in self._open:
                self.images[fig_id] += 1

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        self._image(tag)
        for entry in self._open:
            if entry[1] == tag:
                entry[2] += 1
        element_id = dict(attrs).get("id")
        if element_id in self.fig_ids and tag not in VOID:
            self.found.add(element_id)
            self._open.append([element_id, tag, 1])
        if tag == "style":
            self._style = []

    def handle_startendtag(self, tag, attrs):  # <x ... /> opens and closes nothing
        self._attrs(tag, attrs)
        self._image(tag)
        element_id = dict(attrs).get("id")
        if element_id in self.fig_ids:
            self.found.add(element_id)

    def handle_endtag(self, tag):
        for entry in self._open:
            if entry[1] == tag:
                entry[2] -= 1
        self._open = [e for e in self._open if e[2] > 0]
        if tag == "style" and self._style is not None:
            self.css.append("".join(self._style))
            self._style = None

    def handle_data(self, data):
        if self._style is not None:
            self._style.append(data)


def scan_html(text: str, fig_ids: set[str]) -> PageScan:
    page = PageScan(fig_ids)
    page.feed(text)
    page.close()
    # Embedded stylesheets and SVG images are documents too: look inside them once.
    for media, payload in page.embedded:
        inner = payload.decode("utf-8", errors="replace")
        if media == "text/css":
            page.off_host += [f"{m} (in an embedded stylesheet)" for m in css_off_host(inner)]
        elif media == "image/svg+xml":
            svg = PageScan(set())
            svg.feed(inner)
            svg.close()
            page.off_host += [f"{m} (in an embedded SVG)" for m in svg.off_host]
            page.off_host += [f"{m} (in an embedded SVG)" for c in svg.css for m in css_off_host(c)]
    page.off_host += [m for css in page.css for m in css_off_host(css)]
    return page


def copy_repo(dest: Path) -> Path:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in COPY_EXCLUDE}
        if Path(directory).resolve() == REPO:
            skipped |= {n for n in names if n in ROOT_OUTPUTS}
        return skipped

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    return dest


def build_with_quarto(root: Path) -> str:
    """`unionstate build` in the copy, with the real Quarto; its output (stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "UNIONSTATE_ROOT"}
    cmd = [sys.executable, "-m", "unionstate.cli", "build", "--root", str(root)]
    try:
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                              timeout=RENDER_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`unionstate build` took longer than {RENDER_TIMEOUT}s\n{exc.stderr or ''}")
    tail = f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-8000:]}"
    assert done.returncode == 0, f"unionstate build failed ({done.returncode})\n{tail}"
    for name in ROOT_OUTPUTS:
        out = root / name
        assert out.is_file() and out.stat().st_size > 0, f"the build wrote no {name}\n{tail}"
    return f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def render_root(tmp_path_factory) -> Path:
    if QUARTO is None:
        pytest.skip(SKIP_REASON)
    return copy_repo(tmp_path_factory.mktemp("quarto") / "repo")


@pytest.fixture(scope="module")
def render_log(render_root) -> str:
    return build_with_quarto(render_root)


@pytest.fixture(scope="module")
def html_file(render_root, render_log) -> Path:
    return render_root / "report.html"


@pytest.fixture(scope="module")
def pdf_file(render_root, render_log) -> Path:
    return render_root / "report.pdf"


@pytest.fixture(scope="module")
def docx_file(render_root, render_log) -> Path:
    return render_root / "report.docx"


@pytest.fixture(scope="module")
def html_page(html_file) -> PageScan:
    return scan_html(html_file.read_text(encoding="utf-8"), set(figure_labels()))


# ------------------------------------------------------------------------------ what Quarto is given


@pytest.fixture(scope="module")
def quarto_call(built):
    """The call that typesets the formats taking SVG figures (HTML, Typst)."""
    assert len(built.quarto_calls) == 2, f"quarto called {len(built.quarto_calls)} times"
    return built.quarto_calls[0]


@pytest.fixture(scope="module")
def docx_call(built):
    """The call that typesets DOCX, whose figures are PNG."""
    assert len(built.quarto_calls) == 2, f"quarto called {len(built.quarto_calls)} times"
    return built.quarto_calls[1]


@pytest.fixture(scope="module")
def given(quarto_call) -> nbformat.NotebookNode:
    assert quarto_call.input is not None, f"quarto was given no file: {quarto_call.argv}"
    return nbformat.read(quarto_call.input, as_version=4)


@pytest.fixture(scope="module")
def given_front_matter(given) -> dict:
    first = given.cells[0]
    assert first.cell_type == "raw", "the notebook's first cell is not a raw cell"
    text = first.source
    assert text.startswith("---\n") and text.rstrip().endswith("---"), text[:200]
    meta = yaml.safe_load(text.strip().strip("-"))
    assert isinstance(meta, dict)
    return meta


def test_quarto_renders_each_format_once_from_the_executed_notebook(built, quarto_call,
                                                                   docx_call):
    # Every format of _quarto.yml, once: the two that take SVG figures, then DOCX.
    assert list(load_config()["format"]) == ["html", "typst", "docx"]
    assert quarto_call.argv == ["render", "report.ipynb", "--to", "html,typst"], quarto_call.argv
    assert docx_call.argv == ["render", "report.ipynb", "--to", "docx"], docx_call.argv
    assert docx_call.cwd.resolve() == built.proj.root.resolve()
    assert quarto_call.cwd.resolve() == built.proj.root.resolve()
    # What it was given is what the build keeps as its executed notebook.
    assert quarto_call.input.read_bytes() == (built.proj.build / "report.ipynb").read_bytes()
    # The copy it was given at the root is gone; its outputs are at the root, beside
    # report.qmd; the preview in _build/ is nbconvert's, not overwritten.
    root = built.proj.root
    assert not (root / "report.ipynb").exists()
    # Each output is what its own format wrote (the fake writes what `--to` asks for).
    for name, fmt in OUTPUT_FORMATS.items():
        assert (root / name).read_text(encoding="utf-8") == fake_output(fmt), name
    preview = (built.proj.build / "report.html").read_text(encoding="utf-8")
    assert "fake quarto" not in preview and "jp-Notebook" in preview
    assert built.outcome.quarto and {root / n for n in ROOT_OUTPUTS} <= set(built.outcome.written)


def test_docx_is_given_the_same_notebook_with_each_figure_as_its_png(built, given, docx_call):
    """Quarto prefers an output's SVG in every format, and Pandoc writes a DOCX figure as SVG
    alone where rsvg-convert is missing, which Word before 2016 does not show. So the DOCX call
    gets the notebook whose figure outputs hold the PNG the build wrote, and nothing else
    differs."""
    docx = nbformat.read(docx_call.input, as_version=4)
    assert len(docx.cells) == len(given.cells)
    figures = []
    for vector_cell, png_cell in zip(given.cells, docx.cells, strict=True):
        assert png_cell.source == vector_cell.source and png_cell.metadata == vector_cell.metadata
        assert len(png_cell.get("outputs", [])) == len(vector_cell.get("outputs", []))
        for vector, png in zip(vector_cell.get("outputs", []), png_cell.get("outputs", []),
                               strict=True):
            data = vector.get("data", {})
            if "image/svg+xml" in data:
                assert "image/svg+xml" not in png["data"]
                assert {k: v for k, v in data.items() if k != "image/svg+xml"} == png["data"]
                # The PNG is figures/<label>.png, byte for byte ("<figure fig-x>" names it).
                label = re.fullmatch(r"<figure ([\w-]+)>", png["data"]["text/plain"]).group(1)
                assert base64.b64decode(png["data"]["image/png"]) == \
                    (built.proj.figures / f"{label}.png").read_bytes(), label
                figures.append(label)
            else:
                assert png == vector
    assert sorted(figures) == sorted(figure_labels()), figures


def test_front_matter_holds_the_header_and_every_project_option(given_front_matter):
    meta = given_front_matter
    header = qmd.header(REPO / "report.qmd")
    for key, value in header.items():
        if key not in typeset.EXECUTION_ONLY:
            assert meta.get(key) == value, f"report.qmd's {key} is not in the front matter"
    assert meta["bibliography"] == "references.bib"
    config = load_config()

    def within(small, big, where):
        if isinstance(small, dict):
            assert isinstance(big, dict), where
            for k, v in small.items():
                assert k in big, f"{where}.{k} missing from the notebook's front matter"
                within(v, big[k], f"{where}.{k}")
        else:
            assert big == small, f"{where}: {big!r} in the front matter, {small!r} in _quarto.yml"

    for key, value in config.items():
        if key in typeset.EXECUTION_ONLY:
            assert key not in meta or key in header, f"{key} chooses how to execute; nothing is"
            continue
        if key == "execute":
            value = {k: v for k, v in value.items() if k != "enabled"}
        within(value, meta.get(key), key)


def test_nothing_in_the_notebook_needs_executing(given, given_front_matter):
    """Quarto runs no kernel: execution is off in the front matter, and every code cell has
    run (an execution count, no error) in the build's kernel."""
    assert given_front_matter["execute"]["enabled"] is False
    code = [c for c in given.cells if c.cell_type == "code"]
    assert code, "no code cells"
    unrun = [c.source[:60] for c in code if c.get("execution_count") is None]
    assert unrun == [], f"code cells that never ran: {unrun}"
    errors = [c.source[:60] for c in code if any(o.output_type == "error" for o in c.outputs)]
    assert errors == []
    for cell in code:  # a cell that shows something has its output stored
        if "r.figure(" in cell.source:
            kinds = {k for o in cell.outputs for k in o.get("data", {})}
            assert {"image/svg+xml", "image/png"} <= kinds, cell.source[:80]
        if "r.table(" in cell.source:
            assert any("text/markdown" in o.get("data", {}) for o in cell.outputs), cell.source[:80]


def _option_blocks(text: str) -> list[list[str]]:
    blocks = []
    for body in re.findall(r"^```\{python\}\n(.*?)^```", text, re.S | re.M):
        lines = body.splitlines()
        opts = []
        for line in lines:
            if not line.startswith("#|"):
                break
            opts.append(line)
        blocks.append(opts)
    return blocks


def test_cell_options_cross_references_and_citations_survive(given):
    files = [REPO / "report.qmd", *sorted((REPO / "chapters").glob("*.qmd"))]
    texts = {f: f.read_text(encoding="utf-8") for f in files}
    # The cells in reading order (report.qmd with its chapters included); each keeps its #| lines.
    expanded = re.sub(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$",
                      lambda m: texts[REPO / m.group(1)], texts[REPO / "report.qmd"], flags=re.M)
    expected = _option_blocks(expanded)
    code = [c for c in given.cells if c.cell_type == "code"]
    assert [c.source.splitlines()[:len(opts)] for c, opts in zip(code, expected, strict=True)] == expected
    assert any("fig-alt:" in line for block in expected for line in block)
    markdown = "\n".join(c.source for c in given.cells if c.cell_type == "markdown")
    divs = {d for t in texts.values() for d in re.findall(r"^:::+\s*\{#((?:fig|tbl)-[\w-]+)", t, re.M)}
    assert divs and all(re.search(rf"^:::+\s*\{{#{d}\b", markdown, re.M) for d in divs)
    assert set(re.findall(r"@(sec-[\w-]*\w)", markdown)) >= \
        {x for t in texts.values() for x in re.findall(r"@(sec-[\w-]*\w)", t)}
    cited = {k for t in texts.values() for k in re.findall(r"\[-?@([A-Za-z][\w:.-]*\w)", t)}
    assert cited and all(f"@{k}" in markdown for k in cited)
    assert "{python}" not in markdown, "an inline expression was left for Quarto to execute"


def test_front_matter_takes_the_computed_keys_but_never_turns_execution_on(tmp_path):
    proj = copy_report_for_typeset(tmp_path)
    meta = typeset.front_matter(proj, {"title": "T", "bibliography": "references.bib"},
                                {"author": ["A. Author"], "date": "2024-05-01",
                                 "execute": {"enabled": True}})
    assert meta["author"] == ["A. Author"] and meta["date"] == "2024-05-01"
    assert meta["title"] == "T"
    assert meta["execute"]["enabled"] is False
    assert meta["execute"]["echo"] is False  # _quarto.yml's execute options are kept
    assert "project" not in meta and "jupyter" not in meta


def copy_report_for_typeset(dest: Path):
    from unionstate.paths import Project

    shutil.copy2(CONFIG, dest / "_quarto.yml")
    return Project(dest)


# ------------------------------------------------------------------------------ config (always)


def option_names(config: dict) -> set[str]:
    """Every option key in the config: top-level, nested (project, execute) and per format."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                names.add(key)
                walk(value)

    for key, value in config.items():
        if key == "format":
            for options in (value or {}).values():
                walk(options)
        else:
            names.add(key)
            walk(value)
    return names


def load_config() -> dict:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert isinstance(config, dict), "_quarto.yml is not a YAML mapping"
    return config


def test_quarto_yml_parses_with_the_three_formats_and_the_bibliography():
    config = load_config()
    formats = config.get("format") or {}
    assert set(formats) == {"html", "typst", "docx"}, f"formats: {sorted(formats)}"
    assert formats["html"].get("embed-resources") is True, "html must be one self-contained file"
    assert config.get("bibliography") == "references.bib"
    assert (REPO / "references.bib").is_file()
    assert config.get("project", {}).get("render") == ["report.qmd"], \
        "render report.qmd only: the chapters are included, not rendered alone"


def test_quarto_yml_keeps_html_on_one_host():
    """Quarto's defaults that would fetch from other hosts are switched off
    (quarto.org/docs/advanced/html/external-sources.html)."""
    html = load_config()["format"]["html"]
    assert html.get("html-math-method") in ("mathml", "plain"), \
        "mathjax (the default), katex and webtex load from a CDN"
    theme = html.get("theme", "default")
    assert theme in ("default", "none", "pandoc"), \
        f"theme {theme!r}: bootswatch themes import fonts from fonts.googleapis.com"


def test_every_option_in_quarto_yml_is_documented():
    """docs/quarto-options.md names every option _quarto.yml sets, with a quarto.org page."""
    doc = OPTIONS_DOC.read_text(encoding="utf-8")

    missing = sorted(k for k in option_names(load_config()) if f"`{k}`" not in doc)
    assert not missing, f"options missing from docs/quarto-options.md: {missing}"
    assert "https://quarto.org/docs/" in doc


# ------------------------------------------------------------------------------ renders


@pytest.mark.quarto
@needs_quarto
def test_quarto_starts_no_kernel_and_renders_every_format_once(render_log, render_root):
    """Quarto prints "Starting python3 kernel" when it executes a notebook; here it must not.
    `quarto render` prints "Output created:" once per call, for the first format it rendered
    (quarto-cli src/command/render/cmd.ts, renderResultFinalOutput): so report.html for the
    HTML and Typst call and report.docx for the DOCX call, never report.pdf; the build checks
    that every output was written (build_with_quarto)."""
    assert not re.search(r"Starting \S+ kernel", render_log), render_log[-8000:]
    created = re.findall(r"Output created: (\S+)", render_log)
    assert created == ["report.html", "report.docx"], render_log[-8000:]
    for name in ROOT_OUTPUTS:
        assert (render_root / name).stat().st_size > 0, name


@pytest.mark.quarto
@needs_quarto
def test_html_is_one_file_holding_every_figure(html_file, html_page):
    labels = figure_labels()
    assert labels, "no ::: {#fig-...} divs found in report.qmd or chapters/"
    missing = [label for label in labels if label not in html_page.found]
    assert not missing, f"figure elements missing from report.html: {missing}"
    empty = [label for label in labels if html_page.images[label] < 1]
    assert not empty, f"figures without an <img> or <svg> in report.html: {empty}"
    assert not (html_file.parent / "report_files").exists(), \
        "embed-resources should leave no report_files/ beside report.html"


@pytest.mark.quarto
@needs_quarto
def test_html_loads_nothing_from_another_host(html_page):
    assert not html_page.off_host, "report.html fetches from other hosts:\n" + \
        "\n".join(sorted(set(html_page.off_host)))


@pytest.mark.quarto
@needs_quarto
def test_pdf_is_a_pdf(pdf_file):
    with pdf_file.open("rb") as fh:
        assert fh.read(4) == b"%PDF", "report.pdf does not start with %PDF"


@pytest.mark.quarto
@needs_quarto
def test_docx_is_a_word_document_with_the_figures(docx_file):
    assert zipfile.is_zipfile(docx_file), "report.docx is not a zip archive"
    with zipfile.ZipFile(docx_file) as zf:
        names = zf.namelist()
        assert "word/document.xml" in names, "report.docx has no word/document.xml"
        assert zf.read("word/document.xml"), "word/document.xml is empty"
    media = [n for n in names if n.startswith("word/media/")]
    assert len(media) >= len(figure_labels()), \
        f"{len(figure_labels())} figures but {len(media)} images in report.docx"
    # Raster figures, which every Word version shows (typeset.RASTER_FORMATS).
    assert not [n for n in media if n.lower().endswith(".svg")], media
