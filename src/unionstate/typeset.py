"""What Quarto is given, and the calls that typeset HTML, PDF (Typst) and DOCX.

Quarto renders the notebook the build executed (_build/report.ipynb), never report.qmd, so
the typeset formats, figures/ and the preview show the same outputs. Quarto runs no code: the
front matter (a raw first cell) says `execute: {enabled: false}`, `render` passes no --execute,
and every code cell has run (quarto.org/docs/computations/execution-options.html).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from .paths import Project

CONFIG = "_quarto.yml"
QUARTO_HINT = ("The publication formats (HTML, PDF, DOCX) need Quarto: install it from "
               "https://quarto.org/docs/get-started/ or run `uv sync --extra render`, then "
               "build again.")
# Quarto writes report.html, report.pdf and report.docx beside its input, named after it.
INPUT = "report.ipynb"
OUTPUTS = ("report.html", "report.pdf", "report.docx")
# Options that choose an execution engine or kernel: nothing is executed when Quarto renders.
EXECUTION_ONLY = ("project", "engine", "jupyter")
# Formats typeset from each figure's PNG: Quarto takes an output's SVG over its PNG for every
# format (quarto-cli src/core/jupyter/display-data.ts), and Pandoc adds the PNG that older DOCX
# readers need only where rsvg-convert is installed, which Quarto does not ship.
RASTER_FORMATS = ("docx",)
FORMAT_NAMES = {"html": "HTML", "typst": "PDF (Typst)", "docx": "DOCX"}


class QuartoError(Exception):
    """Quarto failed or its configuration cannot be read (names the file)."""


def merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`: nested mappings merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def project_options(proj: Project, name: str = CONFIG) -> dict:
    """The options of _quarto.yml (or of another Quarto configuration file at the root)."""
    path = proj.root / name
    if not path.is_file():
        return {}
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise QuartoError(f"{name} is not valid YAML ({exc})") from exc
    if not isinstance(config, dict):
        raise QuartoError(f"{name} must be a mapping of options")
    return config


def front_matter(proj: Project, header: dict | None = None, computed: dict | None = None) -> dict:
    """The notebook's front matter, later keys winning: _quarto.yml's options, report.qmd's
    `header` (both but EXECUTION_ONLY), the keys `computed` at build time, `execute: false`."""
    from . import frontmatter, qmd

    options = {k: v for k, v in project_options(proj).items() if k not in EXECUTION_ONLY}
    header = qmd.header(proj.report) if header is None else header
    own = {k: v for k, v in header.items() if k not in EXECUTION_ONLY}
    extra = frontmatter.computed(proj) if computed is None else computed
    out = merge(merge(merge(options, own), extra), {"execute": {"enabled": False}})
    # The document's own keys first, as a reader of the notebook expects them.
    return {key: out[key] for key in dict.fromkeys([*own, *extra, *out])}


def is_front_matter(cell) -> bool:
    return cell.cell_type == "raw" and cell.source.startswith("---\n")


def png_only(nb):
    """A copy of the notebook in which every output that holds a PNG holds no SVG."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output["data"].pop("image/svg+xml", None)
    return nb


def render(proj: Project, notebook: Path, meta: dict, say: Callable[[str], None],
           name: str = INPUT, outputs: tuple[str, ...] = OUTPUTS) -> list[Path]:
    """`quarto render NAME --to FORMATS` of the executed notebook (front matter `meta`), once for
    the SVG formats, once for the PNG ones; the `outputs` Quarto wrote. NAME, a copy at the root,
    resolves paths as report.qmd does and, no project input, renders as a single file."""
    import nbformat

    quarto = shutil.which("quarto")
    if quarto is None:
        raise QuartoError("quarto is not on the PATH")
    listed = meta.get("format") or []
    listed = [listed] if isinstance(listed, str) else [str(f) for f in listed]
    raster = [f for f in listed if f in RASTER_FORMATS]
    vector = [f for f in listed if f not in RASTER_FORMATS]
    # (formats, the notebook to give instead of the executed one, or None to give that one)
    calls = [(vector, None)] if vector or not raster else []  # none listed: Quarto's default
    calls += [(raster, png_only(nbformat.read(notebook, as_version=4)))] if raster else []
    target = proj.root / name
    # QUARTO_PYTHON: if Quarto looks for a Python at all, it finds this environment's.
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    for to, instead in calls:
        words = [FORMAT_NAMES.get(f, f) for f in to] or ["the default format"]
        names = " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
        say(f"  typesetting {names} with Quarto from the executed notebook, "
            f"{'SVG' if instead is None else 'PNG'} figures (no code runs)")
        if instead is None:
            shutil.copyfile(notebook, target)
        else:
            nbformat.write(instead, target)
        argv = [quarto, "render", name, *(["--to", ",".join(to)] if to else [])]
        try:
            done = subprocess.run(argv, cwd=proj.root, env=env, check=False)
        finally:
            target.unlink(missing_ok=True)
        if done.returncode != 0:
            raise QuartoError(f"`quarto {' '.join(argv[1:])}` failed (exit code "
                              f"{done.returncode}); see Quarto's messages above. It rendered "
                              f"{proj.rel(notebook)}, which holds the outputs of the build.")
    return [p for p in (proj.root / out for out in outputs) if p.exists()]
