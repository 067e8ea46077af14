"""Reading a drawn chart back: the figures it shows, taken from its artists, not from data/.

The charts give every mark of a poll figure the result_id as its gid (see charts.py): a Line2D
whose xdata are the drawn bounds ([v] for a point, [low, high] for an interval, [low] for a
lower bound, which has a dotted companion "<id>:open"), or, in the status-quo chart, a box
whose ydata hold low and high. The label beside a mark is a Text with gid "<id>:label".

The functions here recover those numbers from the Figure alone, so that a test can compare
what a reader sees with what the source says. `card` prints one figure's evidence (data,
every chart, the prose, the figure files) as stable text for the nbval notebooks in
tests/notebooks/: fixed decimals, sorted keys, no object addresses.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

OPEN = ":open"
LABEL = ":label"
# Suffixes a chart adds to the share text of a label: ": stance" (mirror), " (pollster)".
LABEL_SUFFIX = re.compile(r": | \(")
DASH = "\u2013"


class Mark(NamedTuple):
    """One drawn figure: its bounds as drawn (high None for a lower bound) and its shape."""

    low: float
    high: float | None
    shape: str  # point | interval | lower bound | level | band (level and band: boxes)
    axes: Axes
    line: Line2D


# How a line is dashed, in words ('' for solid): the charts hedge a figure by its dashes.
DASHES = {"-": "", "solid": "", "--": "dashed ", "-.": "dash-dot ", ":": "dotted "}


# ---------------------------------------------------------------- formatting


def num(value: float | None) -> str:
    """A share with two fixed decimals; 'open' for a missing upper bound."""
    if value is None or pd.isna(value):
        return "open"
    return f"{float(value):.2f}"


def bounds(low: float | None, high: float | None) -> str:
    """'75.00–76.00', '62.00–62.00', '40.00–open': both bounds, always."""
    return f"{num(low)}{DASH}{num(high)}"


def _float(value) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()) or pd.isna(value):
        return None
    return float(value)


# ---------------------------------------------------------------- reading artists


def _is_result_gid(gid) -> bool:
    return isinstance(gid, str) and ":" not in gid


def _as_date(value) -> datetime:
    if isinstance(value, (int, float)):
        return mdates.num2date(value).replace(tzinfo=None)
    return pd.Timestamp(value).to_pydatetime()


def read_marks(fig: Figure) -> dict[str, Mark]:
    """result_id -> the mark drawn for it, from the Line2D artists of every axes of fig.

    Raises ValueError if one result_id is drawn twice: a chart shows each figure once.
    """
    out: dict[str, Mark] = {}
    for ax in fig.axes:
        opened = {line.get_gid()[: -len(OPEN)] for line in ax.lines
                  if isinstance(line.get_gid(), str) and line.get_gid().endswith(OPEN)}
        for line in ax.lines:
            rid = line.get_gid()
            if not _is_result_gid(rid):
                continue
            if rid in out:
                raise ValueError(f"{rid}: drawn more than once in one figure")
            xs, ys = list(line.get_xdata()), [float(y) for y in line.get_ydata()]
            if len(xs) == 5:  # a box over fieldwork time (status-quo chart): shares on y
                low, high = min(ys), max(ys)
                shape = "level" if low == high else "band"
            elif rid in opened:
                low, high, shape = float(xs[0]), None, "lower bound"
            elif len(xs) == 1:
                low = high = float(xs[0])
                shape = "point"
            elif len(xs) == 2:
                low, high = sorted(float(x) for x in xs)
                shape = "interval"
            else:
                raise ValueError(f"{rid}: a mark with {len(xs)} points is not a figure's shape")
            out[rid] = Mark(low, high, shape, ax, line)
    return dict(sorted(out.items()))


def _hollow(line: Line2D) -> bool:
    return to_rgba(line.get_markerfacecolor()) == (1.0, 1.0, 1.0, 1.0)


def _companion(ax: Axes, gid: str) -> Line2D | None:
    return next((line for line in ax.lines if line.get_gid() == gid), None)


def style_of(mark: Mark, rid: str) -> str:
    """The mark's shape as a reader sees it: 'point', 'hollow point', 'dashed interval',
    'lower bound', 'band', 'level with hollow point'…"""
    dashes = DASHES.get(str(mark.line.get_linestyle()), f"{mark.line.get_linestyle()} ")
    if mark.shape == "point":
        return "hollow point" if _hollow(mark.line) else "point"
    if mark.shape == "interval":
        return f"{dashes}interval"
    if mark.shape in ("level", "band"):
        point = _companion(mark.axes, f"{rid}:point")
        extra = "" if point is None else (" with hollow point" if _hollow(point)
                                          else " with point")
        return f"{dashes}{mark.shape}{extra}"
    return mark.shape


def marks(fig: Figure) -> dict[str, tuple[float, float | None]]:
    """result_id -> (low, high) as drawn; high is None for a lower bound."""
    return {rid: (m.low, m.high) for rid, m in read_marks(fig).items()}


def _label_texts(fig: Figure) -> dict[str, Text]:
    out: dict[str, Text] = {}
    for ax in fig.axes:
        for text in ax.texts:
            gid = text.get_gid()
            if isinstance(gid, str) and gid.endswith(LABEL):
                rid = gid[: -len(LABEL)]
                if rid in out:
                    raise ValueError(f"{rid}: labelled more than once in one figure")
                out[rid] = text
    return dict(sorted(out.items()))


def labels(fig: Figure) -> dict[str, str]:
    """result_id -> the full text of the label beside its mark."""
    return {rid: t.get_text() for rid, t in _label_texts(fig).items()}


def label_share(text: str) -> str:
    """The share a label states, without what a chart adds after it ('7%: …', '62% (…)')."""
    return LABEL_SUFFIX.split(text, maxsplit=1)[0]


def open_end(fig: Figure, rid: str) -> tuple[float, float] | None:
    """The x extent of the dotted 'open' companion of a lower bound, or None."""
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_gid() == rid + OPEN:
                xs = [float(x) for x in line.get_xdata()]
                return min(xs), max(xs)
    return None


def _mark_y(mark: Mark) -> float:
    return float(mark.line.get_ydata()[0])


def beside(fig: Figure, rid: str) -> bool:
    """Whether the label of rid sits on its mark's row (or, in a box chart, at its middle)
    and to the right of it."""
    mark, text = read_marks(fig)[rid], _label_texts(fig).get(rid)
    if text is None or text.axes is not mark.axes:
        return False
    x, y = text.get_position()
    if mark.shape in ("level", "band"):
        right = max(_as_date(v) for v in mark.line.get_xdata())
        return abs(float(y) - (mark.low + mark.high) / 2) < 1e-9 and _as_date(x) > right
    end = mark.high if mark.high is not None else mark.low
    return abs(float(y) - _mark_y(mark)) < 1e-9 and float(x) > end


def place(fig: Figure, rid: str) -> str:
    """Where the chart puts the mark, in the chart's own words: the poll heading above it
    (country charts), its row's tick label (mirror), or its fieldwork months (status quo)."""
    mark = read_marks(fig)[rid]
    ax = mark.axes
    if mark.shape in ("level", "band"):
        xs = [_as_date(v) for v in mark.line.get_xdata()]
        first, after = min(xs), max(xs)
        last = after - timedelta(days=1)  # the box ends the day after fieldwork ends
        return f"fieldwork {first:%Y-%m}..{last:%Y-%m}"
    y = _mark_y(mark)
    headings = [t for t in ax.texts if t.get_gid() is None and float(t.get_position()[1]) < y]
    if headings:
        above = max(headings, key=lambda t: float(t.get_position()[1]))
        return f"under '{above.get_text()}'"
    ticks = [t for t in ax.get_yticklabels() if abs(float(t.get_position()[1]) - y) < 1e-9]
    row = ("row '" + ticks[0].get_text().replace("\n", ", ") + "'" if len(ticks) == 1
           else "no row label")
    title = ax.get_title(loc="left")
    return f"panel '{title}', {row}" if title else row


def inventory(fig: Figure) -> str:
    """Every result_id a figure draws and labels, sorted, one line: marks and labels."""
    drawn, labelled = read_marks(fig), labels(fig)
    lines = [f"marks  {len(drawn)}: {', '.join(drawn)}"]
    if list(labelled) != list(drawn):
        lines.append(f"labels {len(labelled)}: {', '.join(labelled)}")
    else:
        lines.append("labels: one beside each mark" if all(beside(fig, rid) for rid in drawn)
                     else "labels: one per mark, not all beside it")
    return "\n".join(lines)


# ---------------------------------------------------------------- one figure's evidence


def file_ids(path: Path) -> list[str]:
    """The result_ids of a figure file figures/<label>.csv, sorted."""
    with path.open(encoding="utf-8", newline="") as f:
        return sorted(row["result_id"] for row in csv.DictReader(f))


def csv_row(path: Path, rid: str) -> dict[str, str] | None:
    """The row of result_id rid in a figure file figures/<label>.csv (strings), or None."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row.get("result_id") == rid]
    if len(rows) > 1:
        raise ValueError(f"{rid}: {len(rows)} rows in {path.name}; a figure file has one")
    return rows[0] if rows else None


def drawn_line(fig: Figure, rid: str) -> str:
    """One chart's reading of rid: bounds, shape, label share and where it sits."""
    found = read_marks(fig)
    if rid not in found:
        return "NOT DRAWN"
    mark = found[rid]
    parts = [f"{bounds(mark.low, mark.high)} {style_of(mark, rid)}"]
    if mark.shape == "lower bound":
        extent = open_end(fig, rid)
        parts[0] += f" (open from {num(extent[0])})" if extent else " (no open end drawn)"
    text = labels(fig).get(rid)
    if text is None:
        parts.append("no label")
    else:
        parts.append(f"label '{label_share(text)}'" + ("" if beside(fig, rid) else " NOT BESIDE"))
    parts.append(place(fig, rid))
    return " | ".join(parts)


def card(report, rid: str, charts: Iterable[str]) -> None:
    """Print the evidence for one cited figure as stable text:

    - a header: result_id, the data's bounds and qualifier, the poll and the locator;
    - the prose text the report writes for it (report.shares);
    - for each chart label given, the figure read back from the drawn artists;
    - for each chart, its row in figures/<label>.csv.

    `report` is a unionstate.report.Report; charts are figure labels such as "fig-mirror".
    """
    charts = list(charts)
    row = report.ds.result(rid)
    view = report.view.set_index("result_id").loc[rid]
    poll = f"{view['organisation']}, {report.when[rid]}"
    print(f"{rid} {bounds(_float(row['share_low']), _float(row['share_high']))} "
          f"{row['qualifier']} | {poll} | {row['source']}, {row['locator']}")
    print(f"  prose: {report.shares[rid]}")
    width = max(len(c) for c in charts)
    for label in charts:
        print(f"  {label:<{width}}  {drawn_line(report.figure(label), rid)}")
    for label in charts:
        path = report.proj.figures / f"{label}.csv"
        if not path.is_file():
            print(f"  figures/{label}.csv: MISSING")
            continue
        line = csv_row(path, rid)
        if line is None:
            print(f"  figures/{label}.csv: NO ROW")
            continue
        print(f"  figures/{label}.csv: "
              f"{bounds(_float(line['share_low']), _float(line['share_high']))} "
              f"{line['qualifier']} | '{line['text']}' | {line['sources']} | {line['locator']}")
