"""`unionstate build`: run every cell of the report in one Jupyter kernel, write the figures,
the executed notebook and its HTML preview, and typeset with Quarto where it is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .paths import PREVIEW_ENV, Project

QUARTO_HINT = ("The publication formats (HTML, PDF, DOCX) need Quarto: install it from "
               "https://quarto.org/docs/get-started/ or run `uv sync --extra render`, then "
               "build again.")
CELL_TIMEOUT = 300
# Evaluates inline expressions in the kernel; prints their text as Quarto would show it.
INLINE_CODE = """
import json as __json
def __text(v):
    return v._repr_markdown_() if hasattr(v, "_repr_markdown_") else str(v)
print(__json.dumps([__text(v) for v in [{exprs}]]))
del __text, __json
"""


class BuildError(Exception):
    """A cell failed: names the chapter and the cell."""


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    quarto: bool = False
    skipped: list[str] = field(default_factory=list)
    changes: str = ""


# What each stage reads. A stage runs again only when the content hash of its inputs changed
# (Quarto's freeze would miss a changed CSV: quarto-dev/quarto-cli#6793).
PACKAGE = "the unionstate package"
CONTENT_INPUTS = ["data/*", "references.bib", "report.qmd", "chapters/*.qmd", PACKAGE]
TYPESET_INPUTS = [*CONTENT_INPUTS, "_quarto.yml"]
DATA_INPUTS = ["data/*", "references.bib"]
STATE = "state.json"
NUMBERS_CODE = """
import json as __json
from unionstate.changes import numbers as __numbers
print(__json.dumps(__numbers(r), sort_keys=True))
del __json, __numbers
"""


def inputs_hash(proj: Project, patterns: list[str]) -> str:
    """SHA-256 over the names and bytes of every file the patterns match."""
    import hashlib

    digest = hashlib.sha256()
    for pattern in patterns:
        # The package is the one that runs, wherever the project being built lives.
        paths = (Path(__file__).resolve().parent.glob("*.py") if pattern == PACKAGE
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


def _where(cell) -> str:
    info = cell.metadata.get("unionstate", {})
    return f"{info.get('file', '?')}, line {info.get('line', '?')}"


def execute(proj: Project, say: Callable[[str], None] = print) -> tuple[object, dict, list]:
    """The executed notebook of report.qmd (inline expressions resolved, figures written),
    every number the report shows, and the labels of the charts it drew."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from . import qmd
    nb = qmd.to_notebook(proj.report, proj.root)
    # The figure files are drawn in a second process while the kernel runs the chapters.
    # The kernel shows each PNG once the writer marks it ready, rather than drawing it again.
    ready = proj.build / "figures-ready"
    shutil.rmtree(ready, ignore_errors=True)
    ready.mkdir(parents=True)
    writer = subprocess.Popen([sys.executable, "-m", "unionstate.write_figures", str(proj.root),
                               str(proj.figures), str(ready)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    env_before = os.environ.get(PREVIEW_ENV)
    os.environ[PREVIEW_ENV] = str(ready)
    # IPC sockets: the kernel talks over local files, not TCP ports.
    km = KernelManager(kernel_name="python3", transport="ipc",
                       connection_file=str(proj.build / "kernel.json"))
    proj.build.mkdir(exist_ok=True)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(proj.root)}})
    chapter, numbers = None, {}
    try:
        with client.setup_kernel(cwd=str(proj.root)):
            for index, cell in enumerate(nb.cells):
                file = cell.metadata.get("unionstate", {}).get("file")
                if file != chapter:
                    chapter = file
                    say(f"  running {file}")
                numbers[file] = numbers.get(file, 0) + (cell.cell_type == "code")
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as exc:
                        raise BuildError(f"{_where(cell)} (code cell {numbers[file]} of {file}) "
                                         f"failed:\n{exc.ename}: {exc.evalue}") from None
                else:
                    _resolve_inline(client, cell, index)
            numbers = json.loads(_run_hidden(client, NUMBERS_CODE, 0).strip().splitlines()[-1])
        out, err = writer.communicate()
        if writer.returncode != 0:
            raise BuildError(f"writing figures/ failed:\n{err.strip().splitlines()[-1]}")
        charts = json.loads(out.strip().splitlines()[-1])
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if km.has_kernel:  # nbclient leaves a kernel manager it was given running
            km.shutdown_kernel(now=True)
        for socket in proj.build.glob("kernel-ipc-*"):
            socket.unlink(missing_ok=True)
        shutil.rmtree(ready, ignore_errors=True)
        if env_before is None:
            os.environ.pop(PREVIEW_ENV, None)
        else:
            os.environ[PREVIEW_ENV] = env_before
    return nb, numbers, charts


def _run_hidden(client, code: str, index: int) -> str:
    """Run code in the kernel without adding a cell to the notebook; return its stdout."""
    import nbformat

    keep = client.nb.cells[index]
    probe = nbformat.v4.new_code_cell(code)
    try:
        client.execute_cell(probe, index, store_history=False)
    finally:
        client.nb.cells[index] = keep  # nbclient stores the executed cell at its index
    return "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")


def _resolve_inline(client, cell, index: int) -> None:
    from nbclient.exceptions import CellExecutionError

    from . import qmd

    exprs = qmd.inline_expressions(cell.source)
    if not exprs:
        return
    try:
        text = _run_hidden(client, INLINE_CODE.format(exprs=", ".join(exprs)), index)
    except CellExecutionError as exc:
        raise BuildError(f"{_where(cell)}: an inline expression failed:\n"
                         f"{exc.ename}: {exc.evalue}") from None
    cell.metadata.setdefault("unionstate", {})["qmd_source"] = cell.source
    cell.source = qmd.resolve_inline(cell.source, json.loads(text.strip().splitlines()[-1]))


def write_preview(nb, proj: Project) -> list[Path]:
    import nbformat
    from nbconvert import HTMLExporter

    from .preview import plain, styled

    proj.build.mkdir(exist_ok=True)
    notebook = proj.build / "report.ipynb"
    nbformat.write(nb, notebook)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    reading = plain(nb, proj.bib)
    title = nb.metadata.get("unionstate", {}).get("front_matter", {}).get("title", "Report")
    html, _ = exporter.from_notebook_node(reading, resources={"metadata": {"name": title}})
    page = proj.build / "report.html"
    page.write_text(styled(html), encoding="utf-8")
    return [notebook, page]


def render_quarto(proj: Project, say: Callable[[str], None] = print) -> list[Path]:
    # This environment's Python and its python3 kernel, not one registered for another Python.
    jupyter_path = os.pathsep.join(p for p in (str(Path(sys.prefix) / "share" / "jupyter"),
                                               os.environ.get("JUPYTER_PATH", "")) if p)
    env = dict(os.environ, QUARTO_PYTHON=sys.executable, JUPYTER_PATH=jupyter_path)
    say("  rendering HTML, PDF and DOCX with Quarto")
    subprocess.run(["quarto", "render", str(proj.report.name)], cwd=proj.root, env=env, check=True)
    return [p for p in (proj.root / f"report.{ext}" for ext in ("html", "pdf", "docx"))
            if p.exists()]


def _outputs_present(proj: Project, charts: list[str]) -> bool:
    made = [proj.build / "report.ipynb", proj.build / "report.html"]
    made += [proj.figures / f"{label}.{ext}" for label in charts for ext in ("svg", "png", "csv")]
    return all(p.exists() for p in made)


def _prewarm() -> None:
    """Import the HTML exporter while the kernel works: the parent would otherwise sit idle."""
    import threading

    threading.Thread(target=lambda: __import__("nbconvert.exporters.html"), daemon=True).start()


def build(proj: Project, say: Callable[[str], None] = print, force: bool = False) -> Outcome:
    """Run what depends on what changed since the last build; everything when forced."""
    outcome = Outcome()
    before = _state(proj)
    now = {"content": inputs_hash(proj, CONTENT_INPUTS),
           "typeset": inputs_hash(proj, TYPESET_INPUTS),
           "data": inputs_hash(proj, DATA_INPUTS)}
    charts = before.get("charts", [])
    if force or now["content"] != before.get("content") or not _outputs_present(proj, charts):
        say("Running report.qmd and its chapters in one kernel:")
        _prewarm()
        nb, numbers, charts = execute(proj, say)
        outcome.written += sorted(proj.figures.glob("*.*"))
        outcome.written += write_preview(nb, proj)
        if before.get("numbers") is not None and now["data"] != before.get("data"):
            from .changes import compare, format_changes

            outcome.changes = format_changes(compare(before["numbers"], numbers))
    else:
        numbers = before["numbers"]
        outcome.skipped.append("cells, figures and preview (no input changed)")
    quarto = shutil.which("quarto")
    if quarto:
        made = [proj.root / f"report.{ext}" for ext in ("html", "pdf", "docx")]
        if force or now["typeset"] != before.get("typeset_done") or not all(p.exists() for p in made):
            outcome.written += render_quarto(proj, say)
            now["typeset_done"] = now["typeset"]
        else:
            now["typeset_done"] = before.get("typeset_done")
            outcome.skipped.append("Quarto formats (no input changed)")
        outcome.quarto = True
    proj.build.mkdir(exist_ok=True)
    state = {**now, "numbers": numbers, "charts": charts}
    (proj.build / STATE).write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    return outcome
