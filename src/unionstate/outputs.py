"""The outputs stage of `unionstate build`: figures/ replaced by the kernel's staging folder
(two renames; `recover` undoes a build stopped between them), then _build/report.ipynb and the
preview _build/report.html, each written whole."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import yaml

from . import typeset
from .paths import Project
from .store import file_mode

PREVIOUS = "figures-previous"  # in _build/: figures/ while the new one is moved in
NOTEBOOK = "report.ipynb"
PREVIEW = "report.html"


def recover(proj: Project) -> None:
    """Put figures/ back if an earlier build was stopped between its two renames."""
    previous = proj.build / PREVIOUS
    if previous.is_dir() and not proj.figures.exists():
        os.replace(previous, proj.figures)
    shutil.rmtree(previous, ignore_errors=True)


def plotted(folder: Path) -> dict[str, bytes]:
    """label -> the bytes of figures/<label>.csv, the data a chart plots."""
    return {p.stem: p.read_bytes() for p in folder.glob("*.csv")} if folder.is_dir() else {}


def redrawn(proj: Project, old: dict[str, bytes]) -> list[tuple[str, str]]:
    """(label, file of its caption and fig-alt) of each chart whose plotted data differs from
    `old` (none on a first build)."""
    from . import qmd

    if not old:
        return []
    new = plotted(proj.figures)
    changed = [label for label in sorted(set(old) | set(new)) if old.get(label) != new.get(label)]
    lines = qmd.expand(proj.report, proj.root) if changed else []
    return [(label, next((line.file for line in lines if f"{{#{label}}}" in line.text), "?"))
            for label in changed]


def swap_in(proj: Project, staging: Path) -> None:
    """figures/ becomes the staging folder, whole: two renames on one file system."""
    previous = proj.build / PREVIOUS
    shutil.rmtree(previous, ignore_errors=True)
    if proj.figures.exists():
        os.replace(proj.figures, previous)
    os.replace(staging, proj.figures)
    shutil.rmtree(previous, ignore_errors=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """`path` holds `data`, or what it held before: never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # named after the file the user knows, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    return path


def write_notebook(nb, path: Path, meta: dict) -> Path:
    """The executed notebook written whole, with `meta` as its first, raw cell (replacing one
    that is there)."""
    import nbformat

    from .qmd import new_cell

    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    nb.cells = [new_cell("raw", f"---\n{text}---", {"unionstate": {"role": "front matter"}},
                         "front-matter"), *(c for c in nb.cells if not typeset.is_front_matter(c))]
    return write_atomic(path, nbformat.writes(nb))


def write(proj: Project, executed) -> tuple[list[Path], list[tuple[str, str]]]:
    """figures/, _build/report.ipynb and _build/report.html from one execution; the files written
    and the charts `redrawn`."""
    from . import preview

    before = plotted(proj.figures)
    swap_in(proj, executed.staging)
    changed = redrawn(proj, before)
    written = sorted(proj.figures.glob("*.*"))
    written.append(write_notebook(executed.nb, proj.build / NOTEBOOK, typeset.front_matter(proj)))
    written.append(write_atomic(proj.build / PREVIEW, preview.page(executed.nb, proj)))
    return written, changed
