"""The report's charts, drawn with matplotlib.

Each function takes the dataset and returns (Figure, plotted): the matplotlib Figure and the
exact rows it draws. What a colour or a mark means is defined once, in style.py.

The marks of the figures are matplotlib collections, one per look (one colour, one mark): a
PathCollection of markers (`_dots`) for the figures given as one value and the end ticks of an
interval, a LineCollection of segments (`_lines`) for intervals, open ends, the dotted
connector between waves and the spans of dates. Segments are drawn in order of position (a
row, a date or a share); markers in the order of the rows. Each collection carries, in its
`result_ids` attribute, one id per element: the result_id of the figure that element draws
("<id>:open" for the open end of a lower bound, "<id>:cap" for the end ticks of an interval,
"<id>:join" for the connector between waves), or the poll or event id of a span. The label
beside each mark is a Text with gid "<id>:label". readback.py reads those artists back.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerLine2D
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch
from matplotlib.transforms import IdentityTransform

from . import style
from .data import Dataset
from .parse import split_ids
from .views import organisation, period_text, results_view

OPEN_ARROW = 9  # how far (in points of share) the dotted open end of a lower bound reaches
OPEN = ":open"
JOIN = ":join"
CAP = ":cap"  # the end ticks of an interval
LABEL = ":label"
SHARE_LABEL = "Share of respondents (%)"


def _new_figure(height: float) -> Figure:
    style.apply()
    return Figure(figsize=(style.WIDTH, height), layout="constrained")


# ---------------------------------------------------------------- the marks of a figure


def _parts(rid: str, q: str, low: float, high: float | None, colour: str, pos) -> list[dict]:
    """The drawn elements of one figure at position pos (a row, or a fieldwork date):
    one dict per element, with the look of the collection it goes into."""
    mark = style.qualifier(q)
    base = {"colour": colour, "pos": pos, "marker": None, "filled": True, "line": None,
            "width": 4.0}
    if mark.at_bounds:
        values = [low] if high is None or high == low else [low, high]
        return [{**base, "id": rid, "kind": "dot", "marker": mark.marker,
                 "filled": mark.filled, "lo": v, "hi": v} for v in values]
    if mark.open_end:
        return [{**base, "id": rid, "kind": "dot", "marker": mark.marker,
                 "filled": mark.filled, "lo": low, "hi": low},
                {**base, "id": rid + OPEN, "kind": "range", "line": mark.line or "dotted",
                 "width": 1.6, "lo": low, "hi": low + OPEN_ARROW}]
    if mark.line is not None:
        high = high if high is not None else low
        caps = [{**base, "id": rid + CAP, "kind": "cap", "lo": v, "hi": v}
                for v in dict.fromkeys([low, high])]
        return [{**base, "id": rid, "kind": "range", "line": mark.line, "width": 2.6,
                 "lo": low, "hi": high}, *caps]
    return [{**base, "id": rid, "kind": "dot", "marker": mark.marker, "filled": mark.filled,
             "lo": low, "hi": low}]


def _xy(value: float, pos: float, along: str) -> tuple[float, float]:
    """The point at `value` on axis `along` ("x" or "y") and `pos` on the other axis."""
    return (value, pos) if along == "x" else (pos, value)


def _dots(ax, parts: list[dict], along: str, marker: str, size: float, colour: str,
          filled: bool, gid: str) -> None:
    """One PathCollection: a marker at each part's lo (on axis `along`) and pos, in the order
    of parts.

    The marker is `size` points across (matplotlib's `sizes` are areas: size²), its outline
    1.6 points wide; it is hollow (a transparent face) unless `filled` and the marker has a
    face to fill (line art such as '|' and '_' has none)."""
    shape = MarkerStyle(marker)
    path = shape.get_path().transformed(shape.get_transform())
    face = to_rgba(colour, 1.0 if filled and shape.is_filled() else 0.0)
    n = len(parts)
    dots = PathCollection(
        [path] * n, sizes=[size ** 2] * n,
        offsets=np.array([_xy(p["lo"], p["pos"], along) for p in parts], dtype=float),
        offset_transform=ax.transData, transform=IdentityTransform(),
        facecolors=[face] * n, edgecolors=[to_rgba(colour)] * n, linewidths=[1.6] * n,
        linestyles=["solid"] * n, gid=gid)
    dots.result_ids = [p["id"] for p in parts]
    ax.add_collection(dots)


def _lines(ax, parts: list[dict], along: str, colour: str, width: float, line: str,
           gid: str, zorder: float = 2) -> None:
    """One LineCollection: a segment from lo to hi (on axis `along`) at each part's pos, in
    order of pos (parts at one pos keep their order), with butt ends; zorder 2 is
    LineCollection's default."""
    parts = sorted(parts, key=lambda p: p["pos"])
    segments = [np.array([_xy(p["lo"], p["pos"], along), _xy(p["hi"], p["pos"], along)],
                         dtype=float) for p in parts]
    n = len(parts)
    lines = LineCollection(segments, colors=[to_rgba(colour)] * n, linewidths=[width] * n,
                           linestyles=[line] * n, capstyle="butt", gid=gid, zorder=zorder)
    lines.result_ids = [p["id"] for p in parts]
    # The axes' data limits take in the segments' ends (every chart sets its own view limits).
    ax.add_collection(lines, autolim=False)
    ax.update_datalim(np.concatenate(segments))


LOOK = ("kind", "marker", "filled", "line", "width", "colour")


def _add_marks(ax, parts: list[dict], shares_on: str) -> None:
    """One collection per look (kind, mark, line, colour), in the order each look first
    appears in parts; each element's id is its part's id."""
    looks: dict[tuple, list[dict]] = {}
    for part in parts:
        looks.setdefault(tuple(part[k] for k in LOOK), []).append(part)
    for (kind, marker, filled, line, width, colour), rows in looks.items():
        if kind == "cap":
            _dots(ax, rows, shares_on, "|" if shares_on == "x" else "_", 9, colour, False,
                  kind)
        elif kind == "dot":
            _dots(ax, rows, shares_on, marker, 7.5, colour, filled, kind)
        else:
            _lines(ax, rows, shares_on, colour, width, line, kind)


def _stance_legend(stances) -> list:
    present = list(dict.fromkeys(stances))
    return [Patch(color=style.stance(s).colour, label=style.stance(s).legend)
            for s in [*style.STANCES, *[s for s in present if s not in style.STANCES]]
            if s in present]


def _qualifier_handle(q: str) -> Line2D:
    mark = style.qualifier(q)
    ink = style.INK
    if mark.open_end:
        h = Line2D([0, 1], [0, 0], marker=mark.marker, markevery=[0], linestyle=mark.line,
                   color=ink)
    elif mark.marker is not None:
        h = Line2D([], [], marker=mark.marker, linestyle="none", color=ink, markersize=7,
                   markerfacecolor=ink if mark.filled else "none", markeredgewidth=1.4)
    else:
        h = Line2D([], [], linestyle=mark.line, linewidth=2.6, color=ink, marker="|",
                   markersize=9, markeredgewidth=1.6)
    h.set_label(mark.legend)
    return h


def _legends(fig: Figure, stances, qualifiers, extra: list | None = None) -> None:
    """Two keys below the chart: colour = stance (left), mark = precision (right)."""
    present = set(qualifiers)
    marks = [_qualifier_handle(q) for q in [*style.QUALIFIERS,
                                             *sorted(present - set(style.QUALIFIERS))]
             if q in present]
    fig.legend(handles=_stance_legend(stances), loc="outside lower left",
               title="Colour: stance", alignment="left")
    # An interval's key shows both end ticks (two points); a point's key one marker.
    ends = {h: HandlerLine2D(numpoints=2) for h in marks if h.get_marker() == "|"}
    fig.legend(handles=marks + list(extra or []), loc="outside lower right",
               title="Mark: how the source gives the figure", alignment="left",
               handler_map=ends)


def _label(ax, x, y, text: str, rid: str) -> None:
    ax.text(x, y, text, va="center", ha="left", fontsize=8, gid=rid + LABEL)


def _label_x(row: dict) -> float:
    mark = style.qualifier(row["qualifier"])
    if mark.open_end:
        return row["share_low"] + OPEN_ARROW + 1.5
    high = row["share_high"] if row["share_high"] is not None else row["share_low"]
    return high + 2.2


def _share_axis(ax, label: str = SHARE_LABEL) -> None:
    ax.set_xlim(0, 100)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel(label)


def _rows_axis(ax, ys: list[float], labels: list[str], top: float, bottom: float) -> None:
    ax.set_yticks(ys, labels)
    ax.set_ylim(bottom, top)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.grid(axis="y", visible=False)
    ax.set_ylabel("")


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False)


# ---------------------------------------------------------------- the charts


def opinion_rows(ds: Dataset, country: str) -> pd.DataFrame:
    """The results `opinion` draws, in its order (without drawing them): polls in the order of
    data/results.csv, and within each poll its answers in the legend's order of stances (from
    joining Russia to keeping relations as they are), so that every block reads alike."""
    view = results_view(ds)
    rows = view[view["country"] == country]
    poll_rank = {label: i for i, label in enumerate(dict.fromkeys(rows["poll_label"]))}
    stance_rank = {code: i for i, code in enumerate(style.STANCES)}
    keys = pd.DataFrame({"poll": rows["poll_label"].map(poll_rank),
                         "stance": rows["stance"].map(stance_rank).fillna(len(stance_rank))})
    return rows.loc[keys.sort_values(["poll", "stance"], kind="stable").index].reset_index(drop=True)


def opinion(ds: Dataset, country: str) -> tuple[Figure, pd.DataFrame]:
    """Every result of one country, grouped by poll: colour = stance, mark = precision."""
    rows = opinion_rows(ds, country)
    ys, ticks, headers, parts = [], [], [], []
    y = 0.0
    for poll_label, group in rows.groupby("poll_label", sort=False):
        headers.append((y, poll_label))
        y += 0.9
        for row in group.to_dict("records"):
            tick = _wrap(row["option"], 42)
            step = 0.5 + 0.5 * tick.count("\n")
            y += step
            ys.append(y)
            ticks.append(tick)
            y += step
        y += 0.5
    fig = _new_figure(0.3 * y + 1.9)
    ax = fig.add_subplot()
    records = rows.to_dict("records")
    for yy, row in zip(ys, records, strict=True):
        parts += _parts(row["result_id"], row["qualifier"], row["share_low"], row["share_high"],
                        style.stance(row["stance"]).colour, yy)
    _add_marks(ax, parts, "x")
    for yy, row in zip(ys, records, strict=True):
        _label(ax, _label_x(row), yy, row["text"], row["result_id"])
    for yy, text in headers:
        ax.text(0.5, yy, text, fontweight="bold", va="center", ha="left", fontsize=8.5)
    _rows_axis(ax, ys, ticks, -0.6, y - 0.3)
    _share_axis(ax)
    _legends(fig, rows["stance"], rows["qualifier"])
    return fig, rows.assign(y=ys)


MIRROR_GROUPS = {
    "One state: merger or incorporation": ["incorporation", "merger"],
    # political_integration is an umbrella that includes incorporation (Levada: half of those
    # favouring it want Belarus as a Russian region); the panel title says so.
    "Closer union, or deeper political integration (any form)":
        ["closer_union", "political_integration"],
}


def mirror_rows(ds: Dataset) -> pd.DataFrame:
    """The results `mirror` draws, in its order, each with its panel (`group`)."""
    view = results_view(ds)
    return pd.concat([view[view["stance"].isin(stances)].sort_values(
        ["country", "start", "stance", "result_id"], ignore_index=True).assign(group=title)
        for title, stances in MIRROR_GROUPS.items()], ignore_index=True)


def mirror(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Merger and closer-union figures of both publics, one row per figure, a panel per group
    of stances; colour = stance, mark = precision, the public named in each row."""
    shown = mirror_rows(ds)
    sizes = [int((shown["group"] == title).sum()) for title in MIRROR_GROUPS]
    fig = _new_figure(0.42 * sum(sizes) + 2.6)
    axes = fig.subplots(len(MIRROR_GROUPS), 1, sharex=True,
                        height_ratios=[max(n, 1) + 0.6 for n in sizes])
    frames = []
    for ax, title in zip(axes, MIRROR_GROUPS, strict=True):
        rows = shown[shown["group"] == title].reset_index(drop=True)
        ys = list(range(len(rows)))
        records = rows.to_dict("records")
        parts = []
        for yy, row in zip(ys, records, strict=True):
            parts += _parts(row["result_id"], row["qualifier"], row["share_low"],
                            row["share_high"], style.stance(row["stance"]).colour, yy)
        _add_marks(ax, parts, "x")
        for yy, row in zip(ys, records, strict=True):
            _label(ax, _label_x(row), yy,
                   f"{row['text']}: {style.stance(row['stance']).legend}", row["result_id"])
        ticks = [f"{style.COUNTRY_LABELS.get(r['country'], r['country'])}: "
                 f"{r['organisation']}\n{r['when']}" for r in records]
        _rows_axis(ax, ys, ticks, -0.7, len(rows) - 0.4)
        ax.set_yticks(ys, ticks, fontsize=7.5)
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_xlabel("")
        # sharex hides the upper panel's tick labels: every panel shows its share ticks.
        ax.tick_params(axis="x", labelbottom=True)
        frames.append(rows.assign(y=ys))
    _share_axis(axes[-1])
    plotted = pd.concat(frames, ignore_index=True)
    _legends(fig, plotted["stance"], plotted["qualifier"])
    return fig, plotted


def _num(when) -> float:
    """A date as matplotlib's day number: the marks are drawn at plain numbers, and the axis
    gets matplotlib's date ticks."""
    return float(mdates.date2num(pd.Timestamp(when)))


def _mid(start, end) -> float:
    """The middle of a fieldwork period, as a day number (end: the day after it)."""
    return (_num(start) + _num(end)) / 2


def status_quo_rows(ds: Dataset) -> pd.DataFrame:
    """The results `status_quo` draws, in its order."""
    view = results_view(ds)
    return view[view["stance"] == "status_quo"].sort_values(["start", "result_id"],
                                                            ignore_index=True)


def status_quo(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Support for keeping relations as they are, at each wave's fieldwork: a figure given
    for several waves is drawn at every wave, its marks joined by a dotted connector."""
    rows = status_quo_rows(ds)
    polls = ds.polls.set_index("poll_id")
    fig = _new_figure(3.9)
    ax = fig.add_subplot()
    parts, joins, labels, waves = [], [], [], []
    for row in rows.to_dict("records"):
        colour = style.stance(row["stance"]).colour
        low = row["share_low"]
        high = row["share_high"] if row["share_high"] is not None else low
        xs = []
        for pid in split_ids(row["poll_id"]):
            p = polls.loc[pid]
            end = p["fieldwork_end_last"] + pd.offsets.MonthBegin(1)
            xs.append(_mid(p["fieldwork_start_first"], end))
        for x in xs:
            parts += _parts(row["result_id"], row["qualifier"], row["share_low"],
                            row["share_high"], colour, x)
        mid = (low + high) / 2
        if len(xs) > 1:
            joins.append({"id": row["result_id"] + JOIN, "pos": mid, "lo": min(xs),
                          "hi": max(xs)})
        public = style.COUNTRY_LABELS.get(row["country"], row["country"])
        labels.append((max(xs) + 25, mid,
                       f"{row['text']} ({public}, {row['organisation']})", row["result_id"]))
        waves.extend(xs)
    _add_marks(ax, parts, "y")
    if joins:  # behind the marks they join
        _lines(ax, joins, "x", style.MUTED, 1.2, "dotted", "join", zorder=1)
    for x, y, text, rid in labels:
        _label(ax, x, y, text, rid)
    ax.set_gid("shares-on-y")
    ax.set_ylim(0, 100)
    ax.set_ylabel(SHARE_LABEL)
    ax.grid(axis="y", visible=True)
    ax.grid(axis="x", visible=False)
    if waves:
        first, last = min(waves), max(waves)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
        year = pd.Timestamp(mdates.num2date(first).replace(tzinfo=None)).year
        ax.set_xlim(_num(pd.Timestamp(year=year, month=1, day=1)), last + 470)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Month the source gives for each wave (marks stand only at the waves)")
    join = Line2D([0, 1], [0, 0], linestyle="dotted", color=style.MUTED, linewidth=1.2,
                  label=style.JOIN_LEGEND)
    _legends(fig, rows["stance"], rows["qualifier"], [join] if joins else [])
    return fig, rows


def _span_end(last) -> pd.Timestamp:
    return last + pd.Timedelta(days=1)


def _spans(ax, frame: pd.DataFrame, width: float) -> None:
    """Black bars over the stated dates, one per row of frame (id, y, x0, x1), each with its
    id."""
    bars = frame.rename(columns={"y": "pos", "x0": "lo", "x1": "hi"}).to_dict("records")
    _lines(ax, bars, "x", style.INK, width, "solid", "span")


def poll_calendar(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Every poll on a time axis, one labelled row each, grouped by country; a bar spans
    the fieldwork period at the precision the source gives (a month, or a year)."""
    polls = ds.polls.sort_values(["country", "fieldwork_start_first", "poll_id"],
                                 ignore_index=True)
    ys, ticks, headers, bars = [], [], [], []
    y = 0.0
    for country, group in polls.groupby(polls["country"].astype(str), sort=False):
        headers.append((y, style.COUNTRY_NAMES.get(country, country)))
        y += 1
        for p in group.itertuples():
            org = organisation(p._asdict())
            mode = "" if str(p.mode) == "unknown" else f" ({p.mode})"
            ticks.append(f"{org}, {period_text(p.fieldwork_start, p.fieldwork_end, True)}{mode}")
            ys.append(y)
            bars.append({"id": p.poll_id, "y": y, "x0": _num(p.fieldwork_start_first),
                         "x1": _num(_span_end(p.fieldwork_end_last))})
            y += 1
        y += 0.3
    fig = _new_figure(0.26 * y + 1.3)
    ax = fig.add_subplot()
    frame = pd.DataFrame(bars)
    _spans(ax, frame, 7)
    first, last = frame["x0"].min(), frame["x1"].max()
    ax.set_xlim(first - 60, last + 60)
    for yy, text in headers:
        ax.text(first - 55, yy, text, fontweight="bold",
                va="center", ha="left", fontsize=8.5)
    _rows_axis(ax, ys, ticks, -0.7, y - 0.5)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Date the source gives for each poll\n(mode in brackets where stated)")
    span = Line2D([0, 1], [0, 0], color=style.INK, linewidth=6, solid_capstyle="butt",
                  label="poll, " + style.PERIOD_LEGEND)
    fig.legend(handles=[span], loc="outside lower left")
    plotted = polls[["poll_id", "country", "pollster", "commissioned_by", "fieldwork_start",
                     "fieldwork_end", "mode", "population", "source", "locator"]]
    return fig, plotted


def _break_year(years: pd.Series) -> int | None:
    """Where the timeline's axis breaks: three years before the last event, if the events
    span more than twelve years and some fall before it; else None (no break)."""
    first, last = int(years.min()), int(years.max())
    cut = last - 3
    if last - first <= 12 or not (years < cut).any():
        return None
    return cut


def timeline(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """The dated events, one labelled row each; a bar spans the year or month the source
    gives. A long, sparse past and a crowded recent stretch get an axis broken in two."""
    events = ds.events.sort_values(["date_first", "event_id"], ignore_index=True)
    end = events["date_end_last"].fillna(events["date_last"])
    frame = pd.DataFrame({"id": events["event_id"], "y": range(len(events)),
                          "x0": events["date_first"].map(_num),
                          "x1": (end + pd.Timedelta(days=1)).map(_num)})
    cut = _break_year(events["date_first"].dt.year)
    fig = _new_figure(0.33 * len(events) + 1.4)
    first = pd.Timestamp(year=int(events["date_first"].dt.year.min()), month=1, day=1)
    last = pd.Timestamp(year=int(end.max().year) + 1, month=1, day=1)
    if cut is None:
        axes = [fig.add_subplot()]
        limits = [(first - pd.Timedelta(days=120), last)]
    else:
        axes = fig.subplots(1, 2, sharey=True, width_ratios=[2, 3])
        limits = [(first - pd.Timedelta(days=120), pd.Timestamp(year=cut, month=1, day=1)),
                  (pd.Timestamp(year=cut, month=1, day=1), last)]
    for ax, (lo, hi) in zip(axes, limits, strict=True):
        x_lo, x_hi = mdates.date2num(lo), mdates.date2num(hi)
        # Only the bars that reach into this panel: a bar that starts where the panel ends
        # would otherwise leave a hairline at its clipped edge in the SVG.
        inside = frame[(frame["x1"] > x_lo) & (frame["x0"] < x_hi)]
        if not inside.empty:
            _spans(ax, inside, 6)
        ax.set_xlim(x_lo, x_hi)
        ax.set_xlabel("")
    labels = []
    for e in events.itertuples():
        span = period_text(e.date, e.date) if pd.isna(e.date_end) else \
            f"{period_text(e.date, e.date)}–{period_text(e.date_end, e.date_end)}"
        labels.append(_wrap(f"{e.label} ({span})", 50))
    _rows_axis(axes[0], list(range(len(events))), labels, -0.7, len(events) - 0.4)
    if cut is None:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axes[0].xaxis.set_major_locator(locator)
        axes[0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        left, right = axes
        left.xaxis.set_major_locator(mdates.YearLocator(5))
        left.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        right.xaxis.set_major_locator(mdates.YearLocator(1))
        right.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=[4, 7, 10]))
        right.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        right.tick_params(axis="y", length=0, labelleft=False)
        right.spines["left"].set_visible(False)
        # The break: two slashes where the axis is cut.
        kw = {"marker": [(-1, -1.5), (1, 1.5)], "markersize": 9, "linestyle": "none",
              "color": "#333333", "mec": "#333333", "mew": 1, "clip_on": False}
        left.plot([1], [0], transform=left.transAxes, **kw)
        right.plot([0], [0], transform=right.transAxes, **kw)
        left.spines["right"].set_visible(False)
        right.set_xlabel(f"Year (axis broken at {cut})")
        right.set_ylabel("")
    span = Line2D([0, 1], [0, 0], color=style.INK, linewidth=6, solid_capstyle="butt",
                  # Some event dates are derived from relative wording (events.csv notes).
                  label="event, span of its year or month, as the source gives it or as "
                        "derived (see caption); a period spans its years")
    fig.legend(handles=[span], loc="outside lower left")
    plotted = events[["event_id", "date", "date_end", "kind", "label", "source", "locator"]]
    return fig, plotted
