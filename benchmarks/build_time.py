"""How long a user waits for the report, paired in one run.

    uv run python benchmarks/build_time.py [--runs N]

Each round runs, back to back, on fresh copies of the project (data, chapters, figures,
bibliography, report.qmd, _quarto.yml):

1. the import floor: this environment's Python importing pandas, seaborn and
   matplotlib.pyplot, which every process of the report pays before it does anything;
2. `unionstate build --force` without Quarto on PATH (cells, figures, tables, the
   Quarto-free preview: what every machine runs);
3. `unionstate build` again on that copy, nothing changed (the no-op build);
4. where `quarto` is on PATH: `unionstate build --force` with Quarto (HTML, PDF and DOCX),
   and plain `quarto render report.qmd` of another fresh copy (what the project would cost
   with Quarto alone running every cell), one right after the other.

The ratios printed are those issue 23 states: the full build with Quarto against plain
`quarto render` (target at most 0.5x), the build without Quarto against the import floor
(a guard: at most 5x), and the no-op build against a full one (at most 10 %). Where Quarto
is missing, the benchmark says so and measures the rest.

Wall time is what a user waits; CPU time (user + system of the command and every process it
waited for, the Jupyter kernel included, from getrusage(RUSAGE_CHILDREN)) depends less on
what else runs on a shared machine. Both are reported, as medians over the rounds.

Bytecode: these machines set PYTHONDONTWRITEBYTECODE=1, so Python never writes __pycache__
itself and an uncompiled environment would make every number measure compilation. The
benchmark compiles the environment's site-packages and src/ explicitly (compileall) before
the first round, whatever uv was told at install.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ["data", "chapters", "figures", "references.bib", "report.qmd", "_quarto.yml",
         "CITATION.cff", "pyproject.toml"]
FLOOR = [sys.executable, "-c", "import pandas, seaborn, matplotlib.pyplot"]
BUILD = [sys.executable, "-m", "unionstate.cli", "build"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command and everything it waited for."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}")
    return wall, children_cpu() - cpu


def compile_bytecode() -> float:
    """Compile the environment's packages and src/ to bytecode; seconds it took."""
    start = time.perf_counter()
    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                   str(REPO / "src")}:
        compileall.compile_dir(folder, quiet=1, workers=0)
    return time.perf_counter() - start


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
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
    print(f"{name:<40} wall {wall:6.2f} s   cpu {cpu:6.2f} s   (wall/cpu per run: {each})")
    return wall, cpu


def ratio(name: str, a: tuple[float, float], b: tuple[float, float], target: str,
          percent: bool = False) -> None:
    def fmt(x: float) -> str:
        return f"{x:.0%}" if percent else f"{x:.2f}x"

    print(f"{name:<40} wall {fmt(a[0] / b[0]):>6}   cpu {fmt(a[1] / b[1]):>6}   ({target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args()
    compiled = compile_bytecode()
    quarto = shutil.which("quarto")
    base = {k: v for k, v in os.environ.items() if k != "UNIONSTATE_ROOT"}
    # Without Quarto: PATH without any folder that holds a quarto command.
    no_quarto = {**base, "PATH": os.pathsep.join(
        p for p in base.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / "quarto").exists())}
    floor, full, noop, with_quarto, plain = [], [], [], [], []
    for _ in range(args.runs):
        floor.append(timed(FLOOR, REPO, no_quarto))
        with tempfile.TemporaryDirectory() as tmp:
            root = copy_project(Path(tmp) / "build")
            full.append(timed([*BUILD, "--force"], root, no_quarto))
            noop.append(timed(BUILD, root, no_quarto))
            if quarto:
                with_quarto.append(timed([*BUILD, "--force"], root, base))
                other = copy_project(Path(tmp) / "plain")
                plain.append(timed([quarto, "render", "report.qmd"], other, base))
    print(f"Python {platform.python_version()} on {platform.platform()}, "
          f"{os.cpu_count()} CPUs; {args.runs} rounds; bytecode compiled first "
          f"({compiled:.1f} s); medians:")
    f = line("import floor (pandas, seaborn, pyplot)", floor)
    b = line("full build without Quarto", full)
    n = line("no-op build", noop)
    if quarto:
        version = subprocess.run([quarto, "--version"], capture_output=True, text=True)
        print(f"Quarto {version.stdout.strip()} at {quarto}")
        q = line("full build with Quarto (HTML, PDF, DOCX)", with_quarto)
        p = line("plain `quarto render report.qmd`", plain)
        ratio("full build with Quarto / plain Quarto", q, p, "target <= 0.5x")
    else:
        print("Quarto: not on PATH, so the full build with Quarto and plain `quarto render` "
              "were not measured.")
    ratio("build without Quarto / import floor", b, f, "guard <= 5x")
    ratio("no-op build / full build without Quarto", n, b, "target <= 10%", percent=True)
    if quarto:
        ratio("no-op build / full build with Quarto", n, q, "target <= 10%", percent=True)


if __name__ == "__main__":
    main()
