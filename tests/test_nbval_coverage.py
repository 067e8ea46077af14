"""Every figure in data/results.csv is checked by an nbval notebook in tests/notebooks/.

A figure counts as checked when a code cell of a notebook calls `card(r, "<result_id>", [...])`
and nbval really compares that cell: it has been run (an execution count), it stores the
typed output whose first line names the figure, and no nbval marker or tag skips it or
ignores its output. The card must name every chart that draws the figure.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from unionstate.report import Report

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "tests" / "notebooks"
CARD = re.compile(r'^(?:card|verified)\(\s*r\s*,\s*"([a-z0-9]+(?:-[a-z0-9]+)*)"\s*,\s*\[([^\]]*)\]\s*\)',
                  re.MULTILINE)
# nbval's comment markers and cell tags that stop it comparing a cell's outputs.
UNCHECKED_MARKERS = ("NBVAL_IGNORE_OUTPUT", "PYTEST_VALIDATE_IGNORE_OUTPUT", "NBVAL_SKIP",
                     "NBVAL_RAISES_EXCEPTION")
UNCHECKED_TAGS = ("nbval-ignore-output", "nbval-skip", "nbval-raises-exception",
                  "raises-exception")
# The charts that draw poll figures (the others draw polls and events).
POLL_CHARTS = ("fig-blr-opinion", "fig-rus-opinion", "fig-mirror")


@dataclass
class Card:
    notebook: str
    cell: int
    result_id: str
    charts: list[str]
    problems: list[str]

    @property
    def where(self) -> str:
        return f"{self.notebook} cell {self.cell} ({self.result_id})"


def _problems(cell, rid: str) -> list[str]:
    out = []
    if cell.get("execution_count") is None:
        out.append("has no execution count, so nbval does not compare its outputs")
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    if not text.startswith(f"{rid} "):
        out.append("stores no output whose first line names the figure")
    for marker in UNCHECKED_MARKERS:
        if re.search(rf"^\s*#\s*{marker}\s*$", cell.source, re.MULTILINE):
            out.append(f"carries the nbval marker {marker}")
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag in UNCHECKED_TAGS:
            out.append(f"carries the nbval tag {tag}")
    return out


def cards() -> list[Card]:
    out = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for rid, listed in CARD.findall(cell.source):
                charts = re.findall(r'"([^"]+)"', listed)
                out.append(Card(path.name, index, rid, charts, _problems(cell, rid)))
    return out


def result_ids() -> list[str]:
    with (ROOT / "data" / "results.csv").open(encoding="utf-8", newline="") as f:
        return [row["result_id"] for row in csv.DictReader(f)]


def test_notebooks_exist():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")), "no notebook in tests/notebooks"


def test_every_result_is_checked():
    checked = {c.result_id for c in cards() if not c.problems}
    missing = [rid for rid in result_ids() if rid not in checked]
    assert not missing, ("rows of data/results.csv that no notebook in tests/notebooks checks: "
                         + ", ".join(missing) + ". Type each figure a second time, as its source states it: "
                         "`uv run unionstate verify POLL_ID` writes its card (README, 'A new "
                         "poll').")


def test_every_check_is_compared():
    broken = [f"{c.where}: {p}" for c in cards() for p in c.problems]
    assert not broken, "cells nbval would not really check:\n" + "\n".join(broken)


def test_every_checked_id_is_in_the_data():
    known = set(result_ids())
    stale = [c.where for c in cards() if c.result_id not in known]
    assert not stale, "cells checking a result_id that data/results.csv lacks: " + ", ".join(stale)


@pytest.fixture(scope="module")
def drawn_in() -> dict[str, set[str]]:
    """result_id -> the charts that draw it (from the rows each chart plots)."""
    r = Report.load(ROOT)
    out: dict[str, set[str]] = {}
    for label in POLL_CHARTS:
        for rid in r.plotted(label)["result_id"]:
            out.setdefault(str(rid), set()).add(label)
    return out


def test_every_chart_of_a_figure_is_checked(drawn_in):
    wrong = [f"{c.where}: checks {', '.join(c.charts) or 'no chart'}; drawn in "
             f"{', '.join(sorted(drawn_in.get(c.result_id, ()))) or 'no chart'}"
             for c in cards() if set(c.charts) != drawn_in.get(c.result_id, set())]
    assert not wrong, "cards that miss a chart showing their figure:\n" + "\n".join(wrong)


def test_notebooks_use_the_python3_kernel():
    wrong = [p.name for p in sorted(NOTEBOOKS.glob("*.ipynb"))
             if nbformat.read(p, as_version=4).metadata.get("kernelspec", {}).get("name")
             != "python3"]
    assert not wrong, "notebooks without kernelspec python3: " + ", ".join(wrong)
