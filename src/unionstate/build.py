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

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from . import qmd
from .paths import Project
from .report import FIGURES_ENV

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


# What Quarto's Jupyter engine does before the first cell: inline figures in one format.
KERNEL_SETUP = """
%matplotlib inline
from matplotlib_inline.backend_inline import set_matplotlib_formats as __formats
__formats("png")
del __formats
"""


class BuildError(Exception):
    """A cell failed: names the chapter and the cell."""


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    quarto: bool = False


def _where(cell) -> str:
    info = cell.metadata.get("unionstate", {})
    return f"{info.get('file', '?')}, line {info.get('line', '?')}"


def execute(proj: Project, say: Callable[[str], None] = print) -> nbformat.NotebookNode:
    """The executed notebook of report.qmd, inline expressions resolved, figures written."""
    nb = qmd.to_notebook(proj.report, proj.root)
    env_before = os.environ.get(FIGURES_ENV)
    os.environ[FIGURES_ENV] = str(proj.figures)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(proj.root)}})
    chapter, numbers = None, {}
    try:
        with client.setup_kernel(cwd=str(proj.root)):
            _run_hidden(client, KERNEL_SETUP, 0)
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
    finally:
        if env_before is None:
            os.environ.pop(FIGURES_ENV, None)
        else:
            os.environ[FIGURES_ENV] = env_before
    return nb


def _run_hidden(client: NotebookClient, code: str, index: int) -> str:
    """Run code in the kernel without adding a cell to the notebook; return its stdout."""
    keep = client.nb.cells[index]
    probe = nbformat.v4.new_code_cell(code)
    try:
        client.execute_cell(probe, index, store_history=False)
    finally:
        client.nb.cells[index] = keep  # nbclient stores the executed cell at its index
    return "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")


def _resolve_inline(client: NotebookClient, cell, index: int) -> None:
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


def write_preview(nb: nbformat.NotebookNode, proj: Project) -> list[Path]:
    from nbconvert import HTMLExporter

    from .preview import plain

    proj.build.mkdir(exist_ok=True)
    notebook = proj.build / "report.ipynb"
    nbformat.write(nb, notebook)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    reading = plain(nb, proj.bib)
    title = nb.metadata.get("unionstate", {}).get("front_matter", {}).get("title", "Report")
    html, _ = exporter.from_notebook_node(reading, resources={"metadata": {"name": title}})
    page = proj.build / "report.html"
    page.write_text(html, encoding="utf-8")
    return [notebook, page]


def render_quarto(proj: Project, say: Callable[[str], None] = print) -> list[Path]:
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    say("  rendering HTML, PDF and DOCX with Quarto")
    subprocess.run(["quarto", "render", str(proj.report.name)], cwd=proj.root, env=env, check=True)
    return [p for p in (proj.root / f"report.{ext}" for ext in ("html", "pdf", "docx"))
            if p.exists()]


def build(proj: Project, say: Callable[[str], None] = print) -> Outcome:
    outcome = Outcome()
    say("Running report.qmd and its chapters in one kernel:")
    nb = execute(proj, say)
    outcome.written += sorted(proj.figures.glob("*.*"))
    outcome.written += write_preview(nb, proj)
    if shutil.which("quarto"):
        outcome.written += render_quarto(proj, say)
        outcome.quarto = True
    return outcome
