"""Time a full build without Quarto against the floor: starting Python and importing pandas,
seaborn and matplotlib. Run: `uv run python benchmarks/build_time.py [--runs N]`.

Each build runs on a fresh copy of the project (so nothing is skipped as unchanged), then a
second build on the same copy measures the no-op path. Prints the medians and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ["data", "chapters", "references.bib", "report.qmd", "_quarto.yml"]
FLOOR = [sys.executable, "-c", "import pandas, seaborn, matplotlib.pyplot"]
BUILD = [sys.executable, "-m", "unionstate.cli", "build"]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**__import__("os").environ, "PATH": "/usr/bin:/bin"})  # no quarto
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    floor, full, noop = [], [], []
    for _ in range(runs):
        floor.append(timed(FLOOR, REPO))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for part in PARTS:
                src = REPO / part
                if src.is_dir():
                    shutil.copytree(src, root / part)
                elif src.exists():
                    shutil.copy2(src, root / part)
            full.append(timed(BUILD, root))
            noop.append(timed(BUILD, root))
    f, b, n = (statistics.median(x) for x in (floor, full, noop))
    print(f"floor (python + pandas, seaborn, matplotlib): {f:.2f} s  runs={[round(x, 2) for x in floor]}")
    print(f"full build without Quarto:                    {b:.2f} s  runs={[round(x, 2) for x in full]}")
    print(f"no-op build (nothing changed):                {n:.2f} s  runs={[round(x, 2) for x in noop]}")
    print(f"full build / floor = {b / f:.2f} (target <= 3)")
    print(f"no-op / full build = {n / b:.0%} (target < 20%)")


if __name__ == "__main__":
    main()
