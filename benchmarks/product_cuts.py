"""What the full build would cost if the report made less: the evidence behind issue 8's ratio.

    uv run python benchmarks/product_cuts.py [--runs N]

Issue 8 asks for a full build without Quarto of at most 3x the floor (build_time.py measures
it). This benchmark asks how much of the product would have to go to get there. Each round
runs, back to back, on a fresh copy of the project:

1. the floor (as in build_time.py);
2. the full build, as it is;
3. the full build without PNGs: figures/<label>.png is written empty (the preview's and the
   DOCX's pictures are gone; the SVG and CSV stay);
4. the same, and without the Quarto-free preview (_build/report.html is not made; the
   executed notebook still is).

Builds 3 and 4 run a patched copy of the package, put first on PYTHONPATH for the build and
its kernel alike; the benchmark refuses to report if a patch no longer applies or did not take
effect (a PNG with bytes, a preview that exists). Nothing in the checkout is changed. CPU time
as in build_time.py: user + system time of the build and its kernel, medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from build_time import BUILD, FLOOR, REPO, bytecode_compiled, copy_project, timed

# (file of the package, exact line, what replaces it): one cut each.
NO_PNG = ("figures.py", "    paths[1].write_bytes(png_of(svg))\n",
          '    paths[1].write_bytes(b"")\n')
NO_PREVIEW = ("outputs.py", "    reading = plain(reading_copy(nb), proj.bib)\n",
              "    return proj.build / PREVIEW\n")


def patched_package(dest: Path, cuts: list[tuple[str, str, str]]) -> Path:
    """A copy of src/unionstate under dest/src with each cut applied; dest/src is returned."""
    package = dest / "src" / "unionstate"
    shutil.copytree(REPO / "src" / "unionstate", package)
    for name, old, new in cuts:
        path = package / name
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            sys.exit(f"benchmarks/product_cuts.py: src/unionstate/{name} no longer has the line "
                     f"{old.strip()!r} exactly once; update the cut.")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return dest / "src"


def build_with(cuts: list[tuple[str, str, str]], env: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_project(Path(tmp) / "project")
        src = patched_package(Path(tmp) / "package", cuts) if cuts else None
        run_env = {**env, "PYTHONPATH": str(src)} if src else env
        result = timed([*BUILD, "--force"], root, run_env)
        pngs = [p.stat().st_size for p in (root / "figures").glob("*.png")]
        preview = (root / "_build" / "report.html").exists()
        if (NO_PNG in cuts) != (not any(pngs)) or (NO_PREVIEW in cuts) == preview:
            sys.exit("benchmarks/product_cuts.py: a cut did not take effect in the build "
                     f"(PNG sizes {pngs}, preview made: {preview}); nothing is reported.")
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="rounds")
    args = parser.parse_args()
    if not bytecode_compiled():
        sys.exit("pandas has no compiled bytecode in this environment: run `uv sync` first.")
    env = {**os.environ, "PATH": os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / "quarto").exists())}
    env.pop("UNIONSTATE_ROOT", None)
    env.pop("PYTHONPATH", None)
    variants = {"full build, as it is": [], "without PNGs": [NO_PNG],
                "without PNGs and preview": [NO_PNG, NO_PREVIEW]}
    floor: list[float] = []
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        floor.append(timed(FLOOR, REPO, env)[1])
        for name, cuts in variants.items():
            cpu[name].append(build_with(cuts, env)[1])
    base = statistics.median(floor)
    print(f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} rounds; CPU medians:")
    print(f"{'floor (import pandas, seaborn, mpl)':<36} {base:5.2f} s")
    for name, runs in cpu.items():
        median = statistics.median(runs)
        each = ", ".join(f"{c:.2f}" for c in runs)
        print(f"{name:<36} {median:5.2f} s = {median / base:.2f}x the floor   (per run: {each})")


if __name__ == "__main__":
    main()
