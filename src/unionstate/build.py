"""`unionstate build`: run every cell of the report once, in one Jupyter kernel, and make
everything else from that one run.

1. The kernel runs report.qmd and its chapters (read by unionstate.qmd). Two explicit calls
   frame the cells (unionstate.kernel): `begin(staging)` before the first, so that every
   figure a cell shows is written by the kernel itself to a staging folder and shown from
   those bytes (SVG and PNG), and `finish()` after the last, which writes the charts no cell
   showed and prints the numbers the report shows and the chart labels, as JSON.
2. Only when every cell has run is the staging folder moved into place as figures/ (two
   renames); a failed build leaves figures/ as it was, byte for byte, and says so.
3. The executed notebook is saved as _build/report.ipynb, with the front matter Quarto needs
   in a raw cell at its top, and an HTML preview made from it with nbconvert
   (_build/report.html).
4. Where `quarto` is on the PATH, Quarto typesets that same notebook to report.html,
   report.pdf (Typst) and report.docx at the project root, executing nothing: one call for
   HTML and Typst, which take each chart's SVG, one for DOCX, which takes its PNG
   (unionstate.typeset says why, and why no kernel can start).

Each stage runs again only when the content hash of its inputs changed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .paths import Project

QUARTO_HINT = ("The publication formats (HTML, PDF, DOCX) need Quarto: install it from "
               "https://quarto.org/docs/get-started/ or run `uv sync --extra render`, then "
               "build again.")
CELL_TIMEOUT = 300
UNCHANGED = "figures/ was left unchanged."
STAGING = "figures-staging"  # in _build/: where the kernel writes the figures of this run
PREVIOUS = "figures-previous"  # in _build/: figures/ while the new one is moved in
NOTEBOOK = "report.ipynb"
PREVIEW = "report.html"
# The two calls that frame the cells in the kernel (see unionstate.kernel).
BEGIN_CODE = "import unionstate.kernel as __k\n__k.begin({staging!r})\ndel __k"
FINISH_CODE = "import unionstate.kernel as __k\n__k.finish()\ndel __k"
# Evaluates inline expressions in the kernel; prints their text as Quarto would show it.
INLINE_CODE = """
import json as __json
def __text(v):
    return v._repr_markdown_() if hasattr(v, "_repr_markdown_") else str(v)
print(__json.dumps([__text(v) for v in [{exprs}]]))
del __text, __json
"""


class BuildError(Exception):
    """A cell failed (names the chapter and the cell), or Quarto did."""


class Interrupted(Exception):
    """The build was stopped (Ctrl-C); says what it left behind."""

    def __init__(self, figures_replaced: bool):
        self.figures_replaced = figures_replaced
        super().__init__(
            "figures/ already holds the new charts, but the notebook, the preview and the "
            "Quarto formats may be out of date; run `unionstate build` again to finish."
            if figures_replaced else
            "figures/ was left as it was, and nothing else was finished; run "
            "`unionstate build` again.")


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    quarto: bool = False
    skipped: list[str] = field(default_factory=list)
    changes: str = ""
    # Charts whose plotted data (figures/<label>.csv) changed, with the file that holds their
    # hand-written caption and fig-alt: (label, file).
    redrawn: list[tuple[str, str]] = field(default_factory=list)
    figures_replaced: bool = False  # figures/ now holds this build's charts


# What each stage reads. A stage runs again only when the content hash of its inputs changed
# (Quarto's freeze would miss a changed CSV: quarto-dev/quarto-cli#6793).
PACKAGE = "the unionstate package"
# CITATION.cff and pyproject.toml give the front matter's authors and licence; the git version
# the report prints is compared as well (see `build`).
CONTENT_INPUTS = ["data/*", "references.bib", "report.qmd", "chapters/*.qmd", "CITATION.cff",
                  "pyproject.toml", PACKAGE]
TYPESET_INPUTS = [*CONTENT_INPUTS, "_quarto.yml"]
DATA_INPUTS = ["data/*", "references.bib"]
STATE = "state.json"


def inputs_hash(proj: Project, patterns: list[str]) -> str:
    """SHA-256 over the names and bytes of every file the patterns match."""
    import hashlib

    digest = hashlib.sha256()
    for pattern in patterns:
        # The package is the one that runs, wherever the project being built lives.
        package = Path(__file__).resolve().parent
        paths = ([*package.glob("*.py"), *package.glob("*.css"), *package.glob("*.html")]
                 if pattern == PACKAGE
                 else proj.root.glob(pattern))
        for path in sorted(paths):
            if path.is_file():
                digest.update(f"{pattern}:{path.name}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _state(proj: Project) -> dict:
    path = proj.build / STATE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_state(proj: Project, state: dict) -> None:
    proj.build.mkdir(exist_ok=True)
    (proj.build / STATE).write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")


def _where(cell) -> str:
    info = cell.metadata.get("unionstate", {})
    return f"{info.get('file', '?')}, line {info.get('line', '?')}"


def kernel_env(review: str | None = None) -> dict[str, str]:
    """The kernel's environment: this process's, with the review revision (unionstate.review)
    set only for a review edition, so that a variable left in a shell never adds the review
    appendix to the normal one."""
    from .paths import REVIEW_ENV

    env = {k: v for k, v in os.environ.items() if k != REVIEW_ENV}
    return {**env, REVIEW_ENV: review} if review else env


def execute(proj: Project, say: Callable[[str], None] = print, folder: Path | None = None,
            review: str | None = None) -> tuple[object, dict, list]:
    """The executed notebook of report.qmd (inline expressions resolved), every number the
    report shows, and the labels of its charts, whose files are in <folder>/figures-staging/
    (folder: _build/ unless given; the kernel's connection files go there too). `review`: the
    revision of a review edition (see kernel_env). On failure, raises BuildError; figures/ is
    never touched here."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from . import qmd
    from .problems import from_json

    nb = qmd.to_notebook(proj.report, proj.root)
    folder = folder or proj.build
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    # IPC sockets: the kernel talks over local files, not TCP ports.
    km = KernelManager(kernel_name="python3", transport="ipc",
                       connection_file=str(folder / "kernel.json"))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(proj.root)}})
    chapter, counts = None, {}
    try:
        with client.setup_kernel(cwd=str(proj.root), env=kernel_env(review)):
            began = json.loads(_run_hidden(client, BEGIN_CODE.format(staging=str(staging)))
                               .strip().splitlines()[-1])
            if began["error"]:  # data/ does not validate: no cell has run
                raise from_json(began["error"])
            for index, cell in enumerate(nb.cells):
                file = cell.metadata.get("unionstate", {}).get("file")
                if file != chapter:
                    chapter = file
                    say(f"  running {file}")
                counts[file] = counts.get(file, 0) + (cell.cell_type == "code")
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as exc:
                        raise BuildError(f"{_where(cell)} (code cell {counts[file]} of {file}) "
                                         f"failed:\n{exc.ename}: {exc.evalue}") from None
                else:
                    _resolve_inline(client, cell, index)
            try:
                out = json.loads(_run_hidden(client, FINISH_CODE).strip().splitlines()[-1])
            except CellExecutionError as exc:
                raise BuildError(f"writing the figures failed:\n{exc.ename}: {exc.evalue}") from None
    except BuildError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"{exc}\n{UNCHANGED}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        try:
            if km.has_kernel:  # nbclient leaves a kernel manager it was given running
                km.shutdown_kernel(now=True)
        finally:  # even when the shutdown itself is interrupted or fails
            for socket in folder.glob("kernel-ipc-*"):
                socket.unlink(missing_ok=True)
            (folder / "kernel.json").unlink(missing_ok=True)
    return nb, out["numbers"], out["charts"]


def _run_hidden(client, code: str) -> str:
    """Run code in the kernel without adding a cell to the notebook; return its stdout."""
    from .qmd import new_cell

    probe = new_cell("code", code, {}, "hidden")
    client.nb.cells.append(probe)  # nbclient stores the executed cell at its index
    try:
        client.execute_cell(probe, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()
    return "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")


def _resolve_inline(client, cell, index: int) -> None:
    from nbclient.exceptions import CellExecutionError

    from . import qmd

    exprs = qmd.inline_expressions(cell.source)
    if not exprs:
        return
    try:
        text = _run_hidden(client, INLINE_CODE.format(exprs=", ".join(exprs)))
    except CellExecutionError as exc:
        raise BuildError(f"{_where(cell)}: an inline expression failed:\n"
                         f"{exc.ename}: {exc.evalue}") from None
    cell.metadata.setdefault("unionstate", {})["qmd_source"] = cell.source
    cell.source = qmd.resolve_inline(cell.source, json.loads(text.strip().splitlines()[-1]))


def _recover(proj: Project) -> None:
    """Put figures/ back if an earlier build was stopped between its two renames."""
    previous = proj.build / PREVIOUS
    if previous.is_dir() and not proj.figures.exists():
        os.replace(previous, proj.figures)
    shutil.rmtree(previous, ignore_errors=True)


def _plotted(folder: Path) -> dict[str, bytes]:
    """label -> the bytes of figures/<label>.csv, the data a chart plots."""
    return {p.stem: p.read_bytes() for p in folder.glob("*.csv")} if folder.is_dir() else {}


def _redrawn(proj: Project, old: dict[str, bytes],
             new: dict[str, bytes]) -> list[tuple[str, str]]:
    """The charts whose plotted data changed (none on a first build), each with the file of
    its figure div, where its caption and fig-alt are written."""
    from . import qmd

    if not old:
        return []
    changed = [label for label in sorted(set(old) | set(new)) if old.get(label) != new.get(label)]
    lines = qmd.expand(proj.report, proj.root) if changed else []
    return [(label, next((line.file for line in lines if f"{{#{label}}}" in line.text), "?"))
            for label in changed]


def _swap_in(proj: Project, staging: Path) -> None:
    """figures/ becomes the staging folder, whole: two renames on one file system."""
    previous = proj.build / PREVIOUS
    shutil.rmtree(previous, ignore_errors=True)
    if proj.figures.exists():
        os.replace(proj.figures, previous)
    os.replace(staging, proj.figures)
    shutil.rmtree(previous, ignore_errors=True)


def _front_matter(proj: Project) -> dict:
    from . import qmd, typeset

    return typeset.front_matter(proj, qmd.header(proj.report))


def write_notebook(nb, proj: Project) -> Path:
    """_build/report.ipynb: the executed notebook with its front matter in a raw first cell."""
    import nbformat

    from . import typeset

    proj.build.mkdir(exist_ok=True)
    path = proj.build / NOTEBOOK
    nbformat.write(typeset.with_front_matter(nb, _front_matter(proj)), path)
    return path


def reading_copy(nb):
    """The notebook as the preview shows it: a title instead of the front matter, PNG figures
    with their cell's fig-alt as alt text."""
    import nbformat

    from . import typeset
    from .qmd import new_cell

    nb = typeset.png_only(nbformat.from_dict(nb))
    meta = nb.metadata.get("unionstate", {}).get("front_matter", {})
    cells = [c for c in nb.cells if not typeset.is_front_matter(c)]
    if meta.get("title"):
        head = f"# {meta['title']}" + (f"\n\n*{meta['subtitle']}*" if meta.get("subtitle") else "")
        cells.insert(0, new_cell("markdown", head, {"unionstate": {
            "file": "report.qmd", "line": 1, "role": "title"}}, "title"))
    for cell in cells:
        alt = cell.metadata.get("unionstate", {}).get("options", {}).get("fig-alt")
        for output in cell.get("outputs", []):
            if alt and "image/png" in output.get("data", {}):  # its alt text (preview.html.j2)
                output.setdefault("metadata", {}).setdefault("image/png", {})["alt"] = alt
    nb.cells = cells
    return nb


def write_preview(nb, proj: Project) -> list[Path]:
    from importlib import resources

    from nbconvert import HTMLExporter

    from .citeproc import OPTIONS
    from .preview import plain, styled
    from .typeset import project_options

    notebook = write_notebook(nb, proj)
    template = resources.files(__package__).joinpath("preview.html.j2")
    exporter = HTMLExporter(template_name="lab", template_file=str(template), exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    quarto = project_options(proj)
    reading = plain(reading_copy(nb), proj.bib, {k: quarto[k] for k in OPTIONS if k in quarto},
                    proj.root)
    title = nb.metadata.get("unionstate", {}).get("front_matter", {}).get("title", "Report")
    html, _ = exporter.from_notebook_node(reading, resources={"metadata": {"name": title}})
    page = proj.build / PREVIEW
    page.write_text(styled(html), encoding="utf-8")
    return [notebook, page]


def render_quarto(proj: Project, say: Callable[[str], None] = print) -> list[Path]:
    """Typeset _build/report.ipynb with Quarto, its front matter brought up to date first."""
    import nbformat

    from . import typeset

    path = proj.build / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nbformat.write(typeset.with_front_matter(nb, _front_matter(proj)), path)
    try:
        return typeset.render(proj, path, say)
    except typeset.QuartoError as exc:
        raise BuildError(str(exc)) from None


def _outputs_present(proj: Project, charts: list[str]) -> bool:
    made = [proj.build / NOTEBOOK, proj.build / PREVIEW]
    made += [proj.figures / f"{label}.{ext}" for label in charts for ext in ("svg", "png", "csv")]
    return all(p.exists() for p in made)


def _prewarm() -> None:
    """Import the HTML exporter while the kernel works: the parent would otherwise sit idle."""
    import threading

    threading.Thread(target=lambda: __import__("nbconvert.exporters.html"), daemon=True).start()


def build(proj: Project, say: Callable[[str], None] = print, force: bool = False) -> Outcome:
    """Run what depends on what changed since the last build; everything when forced.

    The kernel applies every rule of `check` to data/ before the first cell and the build
    stops with problems.DataError if one fails (unionstate.kernel.begin): a build never runs
    on data it cannot draw, and a build with nothing to do does not validate data it
    validated last time (its inputs' hashes, the package's included, are unchanged).
    Stopped by Ctrl-C, it raises Interrupted, saying whether figures/ was replaced; its
    state is saved only after the stages it covers, so the next build redoes the rest."""
    outcome = Outcome()
    try:
        return _build(proj, say, force, outcome)
    except KeyboardInterrupt:
        raise Interrupted(outcome.figures_replaced) from None


def _build(proj: Project, say: Callable[[str], None], force: bool, outcome: Outcome) -> Outcome:
    _recover(proj)
    before = _state(proj)
    from .frontmatter import version

    now = {"content": inputs_hash(proj, CONTENT_INPUTS) + " " + version(proj),
           "typeset": inputs_hash(proj, TYPESET_INPUTS),
           "data": inputs_hash(proj, DATA_INPUTS)}
    charts = before.get("charts", [])
    if force or now["content"] != before.get("content") or not _outputs_present(proj, charts):
        say("Running report.qmd and its chapters in one kernel:")
        _prewarm()
        nb, numbers, charts = execute(proj, say)
        plotted = _plotted(proj.figures)
        _swap_in(proj, proj.build / STAGING)
        outcome.figures_replaced = True
        outcome.redrawn = _redrawn(proj, plotted, _plotted(proj.figures))
        outcome.written += sorted(proj.figures.glob("*.*"))
        outcome.written += write_preview(nb, proj)
        if before.get("numbers") is not None and now["data"] != before.get("data"):
            from .changes import compare, format_changes

            outcome.changes = format_changes(compare(before["numbers"], numbers))
        # The typeset outputs, if any, are now older than the notebook: typeset again.
        before.pop("typeset_done", None)
    else:
        numbers = before["numbers"]
        outcome.skipped.append("cells, figures and preview (no input changed)")
    state = {**now, "numbers": numbers, "charts": charts,
             "typeset_done": before.get("typeset_done")}
    _write_state(proj, state)
    if shutil.which("quarto"):
        from .typeset import OUTPUTS

        made = [proj.root / name for name in OUTPUTS]
        if force or now["typeset"] != before.get("typeset_done") or not all(p.exists() for p in made):
            outcome.written += render_quarto(proj, say)
            _write_state(proj, {**state, "typeset_done": now["typeset"]})
        else:
            outcome.skipped.append("Quarto formats (no input changed)")
        outcome.quarto = True
    return outcome
