"""Reading a drawn chart back: the figures it shows, taken from its artists, not from data/.

The charts (charts.py) draw every figure's marks as matplotlib collections: a PathCollection
for markers (a point, the ends of an interval, a hollow diamond at each bound of a derived
figure), a LineCollection for intervals, the dotted open end of a lower bound and the dotted
connector between the waves of one figure. Every element of those collections has an id, in
the collection's `result_ids` list: the result_id of the figure it draws, or "<id>:open",
"<id>:cap", "<id>:join" for its companions. The label beside a figure is a Text with gid
"<id>:label". Shares are on the x axis, except in an axes whose gid is "shares-on-y" (the
status-quo chart, where x is the fieldwork date).

The functions here recover those numbers and shapes from the Figure alone, so that a test can
compare what a reader sees with what the source says. `card` prints one figure's evidence
(data, every chart, the prose, the figure files) and `completeness` one chart's coverage of
the data, as stable text for the nbval notebooks in tests/notebooks/: fixed decimals,
sorted keys, no object addresses, nothing that changes when a poll is added.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.text import Text

OPEN = ":open"
CAP = ":cap"
JOIN = ":join"
LABEL = ":label"
SHARES_ON_Y = "shares-on-y"
# Suffixes a chart adds to the share text of a label: ": stance" (mirror), " (public, …)".
LABEL_SUFFIX = re.compile(r": | \(")
DASH = "\u2013"
# The marker shapes a reader can tell apart, by the matplotlib marker that draws them.
SHAPES = {"o": "circle", "D": "diamond", "X": "cross", ">": "triangle", "s": "square",
          "^": "triangle", "<": "triangle", "v": "triangle", "|": "tick", "_": "tick"}


class Element(NamedTuple):
    """One drawn element of a chart's collection: a marker or a line segment."""

    id: str  # the result_id it draws, or '<id>:open', '<id>:cap', '<id>:join'
    kind: str  # marker | line
    share: tuple[float, ...]  # its extent on the share axis (one value for a marker)
    pos: float  # its place on the other axis: a row, or a date (matplotlib day number)
    artist: PathCollection | LineCollection
    index: int


class Mark(NamedTuple):
    """One drawn figure: its bounds as drawn (high None for a lower bound) and its parts."""

    low: float
    high: float | None
    axes: Axes
    parts: list[Element]  # the elements whose id is the result_id
    companions: list[Element]  # its ":open", ":cap" and ":join" elements


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


def _month(day: float) -> str:
    return mdates.num2date(day).strftime("%Y-%m")


# ---------------------------------------------------------------- reading artists


def _shares_on_y(ax: Axes) -> bool:
    return ax.get_gid() == SHARES_ON_Y


def elements(fig: Figure) -> list[Element]:
    """Every element of every collection that carries ids, in drawing order."""
    out = []
    for ax in fig.axes:
        on_y = _shares_on_y(ax)
        for coll in ax.collections:
            ids = list(getattr(coll, "result_ids", None) or [])
            if not ids:
                continue
            if isinstance(coll, PathCollection):
                points = [tuple(float(v) for v in p) for p in coll.get_offsets()]
                if len(points) != len(ids):
                    raise ValueError(f"{len(points)} markers but {len(ids)} ids in one collection")
                for i, (eid, (x, y)) in enumerate(zip(ids, points, strict=True)):
                    share, pos = (y, x) if on_y else (x, y)
                    out.append(Element(eid, "marker", (share,), pos, coll, i))
            elif isinstance(coll, LineCollection):
                segments = coll.get_segments()
                if len(segments) != len(ids):
                    raise ValueError(f"{len(segments)} lines but {len(ids)} ids in one collection")
                for i, (eid, seg) in enumerate(zip(ids, segments, strict=True)):
                    xs, ys = [float(v) for v in seg[:, 0]], [float(v) for v in seg[:, 1]]
                    if on_y:  # a vertical interval at one date, or a connector at one share
                        share, pos = (tuple(sorted(ys)), xs[0]) if xs[0] == xs[-1] else \
                            ((ys[0],), min(xs))
                    else:
                        share, pos = tuple(sorted(xs)), ys[0]
                    out.append(Element(eid, "line", share, pos, coll, i))
    return out


def read_marks(fig: Figure) -> dict[str, Mark]:
    """result_id -> the mark drawn for it, from the collections of every axes of fig.

    Raises ValueError if one result_id is drawn twice: in two axes, on two rows of a chart
    with one row per figure, or twice at one wave of the status-quo chart.
    """
    found = elements(fig)
    by_id: dict[str, list[Element]] = {}
    for el in found:
        if ":" not in el.id:
            by_id.setdefault(el.id, []).append(el)
    out: dict[str, Mark] = {}
    for rid, parts in by_id.items():
        axes = {id(p.artist.axes) for p in parts}
        if len(axes) > 1:
            raise ValueError(f"{rid}: drawn more than once in one figure (in {len(axes)} axes)")
        ax = parts[0].artist.axes
        if not _shares_on_y(ax) and len({p.pos for p in parts}) > 1:
            raise ValueError(f"{rid}: drawn more than once in one figure (on several rows)")
        seen = [(p.kind, p.pos, p.share) for p in parts]
        if len(set(seen)) != len(seen):
            raise ValueError(f"{rid}: drawn more than once in one figure (one mark twice)")
        companions = [el for el in found if el.id.startswith(rid + ":")
                      and el.artist.axes is ax]
        values = [v for p in parts for v in p.share]
        low, high = min(values), max(values)
        if any(c.id == rid + OPEN for c in companions):
            high = None
        out[rid] = Mark(low, high, ax, parts, companions)
    return dict(sorted(out.items()))


def _marker(coll: PathCollection) -> str:
    path = coll.get_paths()[0]
    for code, name in SHAPES.items():
        style = MarkerStyle(code)
        ref = style.get_path().transformed(style.get_transform())
        if ref.vertices.shape == path.vertices.shape and np.allclose(ref.vertices,
                                                                     path.vertices):
            return name
    return "unknown marker"


def _hollow(el: Element) -> bool:
    face = el.artist.get_facecolor()
    face = face[el.index % len(face)] if len(face) else (0, 0, 0, 0)
    return float(face[3]) == 0.0


def _dashes(el: Element) -> str:
    """How a line is dashed, in words: '' for solid, 'dashed', 'dotted', 'dash-dot'."""
    styles = el.artist.get_linestyle()
    _offset, dashes = styles[el.index % len(styles)]
    if not dashes:
        return ""
    if len(dashes) >= 4:
        return "dash-dot "
    return "dashed " if dashes[0] > dashes[1] else "dotted "


def _one_mark(mark: Mark, parts: list[Element], rid: str) -> str:
    """The shape of the mark at one place (one row, or one wave)."""
    lines = [p for p in parts if p.kind == "line"]
    markers = [p for p in parts if p.kind == "marker"]
    if lines:
        el = lines[0]
        caps = sorted(v for c in mark.companions if c.id == rid + CAP and c.pos == el.pos
                      for v in c.share)
        ends = " with end ticks" if caps == list(el.share) or (
            len(set(el.share)) == 1 and caps == [el.share[0]]) else ""
        return f"{_dashes(el)}interval{ends}"
    if not markers:
        return "no mark"
    el = markers[0]
    look = f"{'hollow' if _hollow(el) else 'filled'} {_marker(el.artist)}"
    if len(markers) > 1:
        look += " at each bound"
    opened = [c for c in mark.companions if c.id == rid + OPEN and c.pos == el.pos]
    if opened:
        start = min(opened[0].share)
        look += f", {_dashes(opened[0])}open end" + ("" if start == el.share[0] else
                                                    f" from {num(start)}")
    return look


def style_of(mark: Mark, rid: str) -> str:
    """The mark's shape as a reader sees it: 'filled circle', 'dashed interval with end
    ticks', 'hollow diamond at each bound', 'filled triangle, dotted open end'…
    In the status-quo chart, one such shape per wave."""
    places = sorted({p.pos for p in mark.parts})
    shapes = [_one_mark(mark, [p for p in mark.parts if p.pos == x], rid) for x in places]
    if len(set(shapes)) == 1:
        return shapes[0]
    return " / ".join(shapes)


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


def beside(fig: Figure, rid: str) -> bool:
    """Whether the label of rid sits level with its mark (its row; in the status-quo chart,
    the middle of its bounds) and to the right of all of it."""
    mark, text = read_marks(fig)[rid], _label_texts(fig).get(rid)
    if text is None or text.axes is not mark.axes:
        return False
    x, y = (float(v) for v in text.get_position())
    drawn = [*mark.parts, *mark.companions]
    if _shares_on_y(mark.axes):
        level = (mark.low + (mark.high if mark.high is not None else mark.low)) / 2
        right = max(el.pos for el in drawn)
        return abs(y - level) < 1e-9 and x > right
    right = max(v for el in drawn for v in el.share)
    return abs(y - mark.parts[0].pos) < 1e-9 and x > right


def waves(fig: Figure, rid: str) -> list[str]:
    """The fieldwork months (YYYY-MM) at which the status-quo chart draws rid."""
    mark = read_marks(fig)[rid]
    return [_month(x) for x in sorted({p.pos for p in mark.parts})]


def _joined(mark: Mark, rid: str) -> bool:
    """Whether a dotted connector runs exactly from the first to the last wave of rid."""
    places = sorted({p.pos for p in mark.parts})
    for c in mark.companions:
        if c.id == rid + JOIN and c.kind == "line":
            seg = c.artist.get_segments()[c.index]
            xs = sorted(float(v) for v in seg[:, 0])
            if xs[0] == places[0] and xs[-1] == places[-1] and _dashes(c) == "dotted ":
                return True
    return False


def place(fig: Figure, rid: str) -> str:
    """Where the chart puts the mark, in the chart's own words: the poll heading above it
    (country charts), its panel and row label (mirror), or its waves (status quo)."""
    mark = read_marks(fig)[rid]
    ax = mark.axes
    if _shares_on_y(ax):
        months = waves(fig, rid)
        text = f"fieldwork {', '.join(months)}"
        if len(months) > 1:
            text += ", joined by a dotted line" if _joined(mark, rid) else ", NOT JOINED"
        return text
    y = mark.parts[0].pos
    headings = [t for t in ax.texts if t.get_gid() is None and float(t.get_position()[1]) < y]
    if headings:
        above = max(headings, key=lambda t: float(t.get_position()[1]))
        return f"under '{above.get_text()}'"
    ticks = [t for t in ax.get_yticklabels() if abs(float(t.get_position()[1]) - y) < 1e-9]
    row = ("row '" + ticks[0].get_text().replace("\n", ", ") + "'" if len(ticks) == 1
           else "no row label")
    title = ax.get_title(loc="left")
    return f"panel '{title}', {row}" if title else row


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


# ---------------------------------------------------------------- one chart's coverage


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def expected(root: Path, country: str | None, stances: Iterable[str] | None) -> dict[str, list]:
    """result_id -> its poll ids, for every row of data/results.csv of that country (the
    country of its first poll in data/polls.csv) and of those stances (None: any). Read with
    the csv module, not with the package that draws the charts."""
    polls = {p["poll_id"]: p for p in _read_csv(root / "data" / "polls.csv")}
    keep = None if stances is None else set(stances)
    out = {}
    for row in _read_csv(root / "data" / "results.csv"):
        ids = row["poll_id"].split(";")
        if country is not None and polls[ids[0]]["country"] != country:
            continue
        if keep is not None and row["stance"] not in keep:
            continue
        out[row["result_id"]] = ids
    return dict(sorted(out.items()))


def _span(text: str) -> tuple[float, float]:
    """A date at its stated precision ('2019', '2019-08', '2019-08-05') as the day numbers
    of its first day and of the day after its last."""
    parts = [int(p) for p in text.split("-")]
    first = pd.Timestamp(parts[0], parts[1] if len(parts) > 1 else 1,
                         parts[2] if len(parts) > 2 else 1)
    step = (pd.DateOffset(days=1) if len(parts) > 2 else
            pd.DateOffset(months=1) if len(parts) > 1 else pd.DateOffset(years=1))
    return float(mdates.date2num(first)), float(mdates.date2num(first + step))


def _fieldwork(root: Path, poll_ids: list[str]) -> list[tuple[float, float]]:
    """The fieldwork of each wave, as [first day, day after the last day)."""
    polls = {p["poll_id"]: p for p in _read_csv(root / "data" / "polls.csv")}
    return [(_span(polls[i]["fieldwork_start"])[0], _span(polls[i]["fieldwork_end"])[1])
            for i in poll_ids]


def _at_waves(mark: Mark, spans: list[tuple[float, float]]) -> bool:
    """One place per wave, each inside that wave's fieldwork, and no other place."""
    places = sorted({p.pos for p in mark.parts})
    return len(places) == len(spans) and all(
        sum(lo <= x < hi for x in places) == 1 for lo, hi in spans)


def _verdict(bad: list[str]) -> str:
    return "yes" if not bad else "NO: " + ", ".join(bad)


def completeness(report, label: str, *, country: str | None = None,
                 stances: Iterable[str] | None = None, cited: Iterable[str] = ()) -> None:
    """Print whether chart `label` draws every result the data has of that country and
    those stances, each once, with its label beside it, and nothing else; whether its figure
    file lists the same results; and which of the `cited` figures (typed from the sources)
    it draws. The text names no poll, so it stays the same when a poll is added."""
    root = report.proj.root
    want = expected(root, country, stances)
    fig = report.figure(label)
    try:
        drawn = read_marks(fig)
        twice = []
    except ValueError as exc:
        drawn, twice = {}, [str(exc)]
    texts = labels(fig)
    view = report.view.set_index("result_id")
    scope = ", ".join([f"country {country}" if country else "both countries",
                       "stances " + ", ".join(sorted(stances)) if stances else "every stance"])
    print(f"{label} ({scope})")
    print(f"  every such result in data/results.csv is drawn: "
          f"{_verdict([r for r in want if r not in drawn])}")
    print(f"  each once, and nothing else: "
          f"{_verdict(twice + [f'{r} (not in scope)' for r in drawn if r not in want])}")
    unlabelled = [r for r in drawn if r not in texts or not beside(fig, r)]
    print(f"  each with its label beside it: {_verdict(unlabelled)}")
    wrong = [r for r in drawn if r in texts and r in view.index
             and label_share(texts[r]) != view.loc[r, "text"]]
    print(f"  each label states its figure in the report's words: {_verdict(wrong)}")
    if any(_shares_on_y(ax) for ax in fig.axes):
        misplaced = [r for r in drawn
                     if r in want and not _at_waves(drawn[r], _fieldwork(root, want[r]))]
        unjoined = [r for r in drawn if len(set(waves(fig, r))) > 1
                    and not _joined(read_marks(fig)[r], r)]
        print(f"  each drawn within the fieldwork of every wave it names, and nowhere "
              f"else: {_verdict(misplaced)}")
        print(f"  the waves of one figure joined by a dotted line: {_verdict(unjoined)}")
    path = report.proj.figures / f"{label}.csv"
    listed = file_ids(path) if path.is_file() else []
    off = ([f"{r} missing" for r in want if r not in listed]
           + [f"{r} extra" for r in listed if r not in want])
    print(f"  figures/{label}.csv lists exactly these results: {_verdict(off)}")
    cited = list(cited)
    missing = [r for r in cited if r not in drawn]
    print(f"  figures the sources cite, drawn: {len(cited) - len(missing)} of {len(cited)}"
          + ("" if not missing else " (NOT DRAWN: " + ", ".join(missing) + ")"))
