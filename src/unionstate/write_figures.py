"""Write every chart of the report to figures/<label>.svg, .png and .csv.

The build runs this in a process of its own (`python -m unionstate.write_figures ROOT OUT`)
while the Jupyter kernel runs the chapters, so that the two cores of a small machine share
the work. Prints the labels written, as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .report import CHARTS, Report


def write_all(root: Path, out: Path, ready: Path | None = None) -> list[str]:
    """Write every chart; after each, leave a marker in `ready` (the kernel shows that PNG
    instead of rendering the chart a second time). On failure, leave ready/ERROR."""
    try:
        report = Report.load(root)
        report.figures_dir = out
        for label in CHARTS:
            report.figure(label)
            if ready is not None:
                (ready / label).touch()
    except BaseException as exc:
        if ready is not None:
            (ready / "ERROR").write_text(repr(exc), encoding="utf-8")
        raise
    return sorted(CHARTS)


if __name__ == "__main__":
    ready = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(write_all(Path(sys.argv[1]), Path(sys.argv[2]), ready)))
