"""What `unionstate build` calls inside its Jupyter kernel: two explicit calls around the cells.

    begin(staging)  before the first cell: every Report the cells load writes the figures it
                    shows to `staging` (a folder the build moves into figures/ only when every
                    cell has run) and shows them as SVG + PNG, from the very bytes it wrote;
    finish()        after the last cell: writes the charts no cell showed, and prints one JSON
                    line: {"charts": [labels], "numbers": {where: number as shown}}.

Outside a build (Quarto rendering report.qmd itself, a notebook, a test) nothing is staged:
`Report.figure` returns the matplotlib Figure and the front end chooses its format.
This module imports nothing heavy, so that `begin` costs nothing before the first cell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report


@dataclass
class Session:
    staging: Path
    reports: list[Report] = field(default_factory=list)


_session: Session | None = None


def begin(staging: str | Path) -> None:
    """Start a build session: figures go to `staging` (created, must not hold files)."""
    global _session
    folder = Path(staging)
    folder.mkdir(parents=True, exist_ok=True)
    _session = Session(folder)


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
