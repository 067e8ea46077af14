"""The build's speed against the floor, paired in one run.

    uv run python benchmarks/build_time.py [--runs N] [--suite]

Floor: this environment's Python importing pandas, seaborn and matplotlib.pyplot (what any
process of the report pays before it does anything). Each round runs, back to back:

1. the floor;
2. the charts alone: a Python that reads and checks data/, draws the six charts and writes
   each as SVG, PNG and CSV, with no Jupyter, notebook or preview (what no build can skip);
3. a full `unionstate build` without Quarto on a fresh copy of the project (nothing to skip);
4. a no-op build on that same copy (nothing changed);
5. the same no-op build as the README runs it, through `uv run` (which first checks that the
   environment matches uv.lock and that its bytecode is compiled).

With --suite, `pytest -q -p no:randomly` on the checkout is timed once at the end.

Every command is a child process; its CPU time is user + system time of it and every process
it waited for (the build's Jupyter kernel included), from resource.getrusage(RUSAGE_CHILDREN).
On a shared machine wall time depends on what else runs; CPU time much less so. Both are
reported, as medians over the rounds, with the ratios the targets are stated in:
full build <= 3x floor (moonshot 2x), no-op build <= 20% of a full one, suite <= 60 s.

Bytecode: the machines set PYTHONDONTWRITEBYTECODE=1, so a module is only fast to import if
it was compiled at install (`uv sync --compile-bytecode`, as .ci/run does). The
benchmark refuses to run if pandas has no compiled bytecode, since every number would then
measure compilation.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ["data", "chapters", "figures", "references.bib", "report.qmd", "_quarto.yml", "CITATION.cff",
         "pyproject.toml"]
FLOOR = [sys.executable, "-c", "import pandas, seaborn, matplotlib.pyplot"]
BUILD = [sys.executable, "-m", "unionstate.cli", "build"]
# The part of a build no build can skip: read and check data/, draw the six charts, write
# each as SVG, PNG and CSV; no Jupyter, no notebook, no preview.
CHARTS = [sys.executable, "-c", "import sys, tempfile; from pathlib import Path; "
          "from unionstate.report import CHARTS, Report; from unionstate import figures; "
          "r = Report.load(); d = Path(tempfile.mkdtemp()); "
          "[figures.save(*r._draw(label), label, d) for label in CHARTS]"]
SUITE = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command and everything it waited for."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}")
    return wall, children_cpu() - cpu


def bytecode_compiled() -> bool:
    spec = importlib.util.find_spec("pandas")
    cached = spec and spec.cached
    return bool(cached) and Path(cached).is_file()


def copy_project(dest: Path) -> Path:
    for part in PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def line(name: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    each = ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs)
    print(f"{name:<34} wall {wall:6.2f} s   cpu {cpu:6.2f} s   (wall/cpu per run: {each})")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="rounds of floor, full, no-op")
    parser.add_argument("--suite", action="store_true", help="also time the test suite once")
    args = parser.parse_args()
    if not bytecode_compiled():
        sys.exit("pandas has no compiled bytecode in this environment: run `uv sync "
                 "--compile-bytecode` (as .ci/run does) and try again.")
    # No Quarto: the targets are about the build before typesetting.
    env = {**os.environ, "PATH": os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / "quarto").exists())}
    env.pop("UNIONSTATE_ROOT", None)
    uv = shutil.which("uv")
    floor, charts, full, noop, uv_noop = [], [], [], [], []
    for _ in range(args.runs):
        floor.append(timed(FLOOR, REPO, env))
        with tempfile.TemporaryDirectory() as tmp:
            root = copy_project(Path(tmp))
            charts.append(timed(CHARTS, root, env))
            full.append(timed([*BUILD, "--force"], root, env))
            noop.append(timed(BUILD, root, env))
            if uv:
                uv_noop.append(timed([uv, "run", "--project", str(REPO), "unionstate", "build",
                                      "--root", str(root)], root, env))
    print(f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} rounds; medians:")
    fw, fc = line("floor (import pandas, seaborn, mpl)", floor)
    cw, cc = line("charts alone (no Jupyter, no preview)", charts)
    bw, bc = line("full build without Quarto", full)
    nw, nc = line("no-op build", noop)
    if uv_noop:
        line("no-op build through `uv run`", uv_noop)
    print(f"full build / floor:  cpu {bc / fc:.2f}x   wall {bw / fw:.2f}x   (target <= 3x, moonshot 2x)")
    print(f"no-op / full build:  cpu {nc / bc:.0%}    wall {nw / bw:.0%}    (target <= 20%)")
    print(f"charts alone / floor: cpu {cc / fc:.2f}x   wall {cw / fw:.2f}x   (what the charts "
          "themselves cost)")
    if args.suite:
        sw, sc = timed(SUITE, REPO, env)
        print(f"test suite (pytest -q):  wall {sw:.1f} s   cpu {sc:.1f} s   (target <= 60 s wall)")


if __name__ == "__main__":
    main()
