"""What `unionstate build` calls inside its Jupyter kernel: two explicit calls around the cells.

    begin(staging)  before the first cell: reads data/ once, with every rule of `check`, and
                    prints one JSON line saying whether it passed (a build never runs a cell
                    on data it cannot draw); every Report the cells load then uses that data
                    and writes the figures it shows to `staging` (a folder the build moves
                    into figures/ only when every cell has run), showing them as SVG + PNG
                    from the very bytes it wrote;
    finish()        after the last cell: writes the charts no cell showed, and prints one JSON
                    line: {"charts": [labels], "numbers": {where: number as shown}}.

Outside a build (Quarto rendering report.qmd itself, a notebook, a test) nothing is staged:
`Report.figure` returns the matplotlib Figure and the front end chooses its format.
The data is read and checked here, in the kernel, and not in the build's own process: the
kernel has to import pandas to draw anyway, and the build's process then need not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .data import Dataset
    from .report import Report


@dataclass
class Session:
    staging: Path
    root: Path | None = None  # the project whose data/ was read
    dataset: Dataset | None = None
    reports: list[Report] = field(default_factory=list)


_session: Session | None = None


def begin(staging: str | Path) -> None:
    """Start a build session: figures go to `staging` (created, must not hold files).

    Reads the project's data/ (problems.UserError if it does not validate, or the codebook
    cannot be read) and prints {"error": ...} (problems.to_json) or {"error": null}."""
    global _session
    from .data import load
    from .paths import project
    from .problems import UserError, to_json

    folder = Path(staging)
    folder.mkdir(parents=True, exist_ok=True)
    _session = Session(folder)
    proj = project()
    try:
        _session.dataset, _session.root = load(proj), proj.root
    except UserError as exc:
        _session = None
        print(json.dumps({"error": to_json(exc)}))
        return
    print(json.dumps({"error": None}))


def dataset(root: Path) -> Dataset | None:
    """The data this build session read, if it read the project at `root`."""
    if _session is not None and _session.root == root:
        return _session.dataset
    return None


def active() -> Session | None:
    return _session


def finish() -> None:
    """Write every chart to the staging folder and print what the build reads back."""
    global _session
    from .changes import numbers
    from .report import CHARTS, Report

    if _session is None:
        raise RuntimeError("unionstate.kernel.finish() called without begin()")
    report = _session.reports[-1] if _session.reports else Report.load()
    for label in CHARTS:
        if not (_session.staging / f"{label}.svg").exists():
            report.figure(label)
    print(json.dumps({"charts": sorted(CHARTS), "numbers": numbers(report)}, sort_keys=True))
    _session = None
