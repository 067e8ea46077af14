"""The report's charts, drawn with seaborn's objects interface (seaborn.objects).

Each function takes the dataset and returns (Figure, plotted): the matplotlib Figure and the
exact rows it draws. What a colour or a mark means is defined once, in style.py.

seaborn draws the marks: a `so.Dot` layer (a PathCollection) for the figures given as one
value, a `so.Range` layer (a LineCollection) for intervals, open ends, the dotted connector
between waves and the spans of dates. Each layer has one look (one colour, one mark), so
seaborn keeps its rows in order (Range layers are sorted by position first), and the layer's
artist gets, through `artist_kws`, one URL per element: the result_id of the figure that
element draws ("<id>:open" for the open end of a lower bound, "<id>:cap" for the end ticks of
an interval, "<id>:join" for the connector between waves). Once drawn, those ids move to the
artist's `result_ids` attribute (no links in the SVG). matplotlib does what seaborn
does not: the label beside each mark (a Text with gid "<id>:label"), poll headings, tick
labels, the legends and the marks of a broken axis. readback.py reads those artists back.
"""

from __future__ import annotations

import textwrap
import warnings

import matplotlib as mpl
import matplotlib.dates as mdates
import pandas as pd
import seaborn.objects as so
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerLine2D
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .data import Dataset
from .validate import split_ids
from .views import period_text, results_view

OPEN_ARROW = 9  # how far (in points of share) the dotted open end of a lower bound reaches
OPEN = ":open"
JOIN = ":join"
CAP = ":cap"  # the end ticks of an interval
LABEL = ":label"
SHARE_LABEL = "Share of respondents (%)"


def _new_figure(height: float) -> Figure:
    style.apply()
    return Figure(figsize=(style.WIDTH, height), layout="constrained")


def _plot() -> so.Plot:
    """An empty seaborn Plot in the house style (seaborn's own theme is not applied)."""
    return so.Plot().theme(dict(mpl.rcParams))


def _render(plot: so.Plot, ax) -> None:
    """Draw a seaborn Plot onto ax. seaborn 0.13 passes pandas a `copy` keyword that pandas 3
    deprecates: that warning is seaborn's, not the reader's, and stays out of the report."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        plot.on(ax).plot()
    # The ids rode through seaborn as the elements' URLs; keep them on the artist as
    # `result_ids` and clear the URLs, so that no SVG or PDF gets links to nowhere.
    for coll in ax.collections:
        urls = list(coll.get_urls())
        if any(isinstance(u, str) for u in urls):
            coll.result_ids = urls
            coll.set_urls(None)


# ---------------------------------------------------------------- the marks of a figure


def _parts(rid: str, q: str, low: float, high: float | None, colour: str, pos) -> list[dict]:
    """The drawn elements of one figure at position pos (a row, or a fieldwork date):
    one dict per element, with the look of the layer it goes into."""
    mark = style.qualifier(q)
    base = {"colour": colour, "pos": pos, "marker": None, "filled": True, "line": None,
            "width": 4.0}
    if mark.at_bounds:
        values = [low] if high is None or high == low else [low, high]
        return [{**base, "url": rid, "kind": "dot", "marker": mark.marker,
                 "filled": mark.filled, "lo": v, "hi": v} for v in values]
    if mark.open_end:
        return [{**base, "url": rid, "kind": "dot", "marker": mark.marker,
                 "filled": mark.filled, "lo": low, "hi": low},
                {**base, "url": rid + OPEN, "kind": "range", "line": mark.line or "dotted",
                 "width": 1.6, "lo": low, "hi": low + OPEN_ARROW}]
    if mark.line is not None:
        high = high if high is not None else low
        caps = [{**base, "url": rid + CAP, "kind": "cap", "lo": v, "hi": v}
                for v in dict.fromkeys([low, high])]
        return [{**base, "url": rid, "kind": "range", "line": mark.line, "width": 2.6,
                 "lo": low, "hi": high}, *caps]
    return [{**base, "url": rid, "kind": "dot", "marker": mark.marker, "filled": mark.filled,
             "lo": low, "hi": low}]


def _range_layers(part: pd.DataFrame) -> list[pd.DataFrame]:
    """seaborn's Range groups its rows by position and draws them in sorted order (merging
    rows at one position): sort them, and give rows that share a position layers of their
    own, so that the i-th segment is the i-th row and its URL is right."""
    part = part.sort_values("pos", kind="stable")
    nth = part.groupby("pos", sort=False).cumcount()
    return [part[nth == n] for n in sorted(set(nth))]


def _range(plot: so.Plot, part: pd.DataFrame, pos: str, share: str, **look) -> so.Plot:
    for rows in _range_layers(part):
        kws = {"urls": list(rows["url"]), "gid": look.pop("gid", "range"), "capstyle": "butt",
               **look.pop("artist_kws", {})}
        plot = plot.add(so.Range(**look, artist_kws=kws), data=rows, legend=False,
                        orient=pos, **{share + "min": "lo", share + "max": "hi", pos: "pos"})
    return plot


def _add_marks(plot: so.Plot, parts: list[dict], shares_on: str) -> so.Plot:
    """One seaborn layer per look (kind, mark, line, colour); each element's URL is its id."""
    if not parts:
        return plot
    frame = pd.DataFrame(parts)
    pos, share = ("y", "x") if shares_on == "x" else ("x", "y")
    looks = ["kind", "marker", "filled", "line", "width", "colour"]
    for look, part in frame.groupby(looks, sort=False, dropna=False):
        kind, marker, filled, line, width, colour = look
        kws = {"urls": list(part["url"]), "gid": kind}
        if kind == "cap":
            mark = so.Dot(marker="|" if shares_on == "x" else "_", pointsize=9, color=colour,
                          stroke=1.6, artist_kws=kws)
            plot = plot.add(mark, data=part, legend=False, **{share: "lo", pos: "pos"})
        elif kind == "dot":
            mark = so.Dot(marker=marker, pointsize=7.5, color=colour, edgecolor=colour,
                          fill=bool(filled), edgewidth=1.6, stroke=1.6, artist_kws=kws)
            plot = plot.add(mark, data=part, legend=False, **{share: "lo", pos: "pos"})
        else:
            plot = _range(plot, part, pos, share, color=colour, linewidth=width,
                          linestyle=line, gid=kind)
    return plot


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
    """The results `opinion` draws, in its order (without drawing them)."""
    view = results_view(ds)
    return view[view["country"] == country].reset_index(drop=True)


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
    _render(_add_marks(_plot(), parts, "x"), ax)
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
        _render(_add_marks(_plot(), parts, "x"), ax)
        for yy, row in zip(ys, records, strict=True):
            _label(ax, _label_x(row), yy,
                   f"{row['text']}: {style.stance(row['stance']).legend}", row["result_id"])
        ticks = [f"{style.COUNTRY_LABELS.get(r['country'], r['country'])}: "
                 f"{r['organisation']}\n{r['when']}" for r in records]
        _rows_axis(ax, ys, ticks, -0.7, len(rows) - 0.4)
        ax.set_yticks(ys, ticks, fontsize=7.5)
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_xlabel("")
        frames.append(rows.assign(y=ys))
    _share_axis(axes[-1])
    plotted = pd.concat(frames, ignore_index=True)
    _legends(fig, plotted["stance"], plotted["qualifier"])
    return fig, plotted


def _num(when) -> float:
    """A date as matplotlib's day number: seaborn draws it as a plain number, and the axis
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
            joins.append({"url": row["result_id"] + JOIN, "kind": "range", "line": "dotted",
                          "width": 1.2, "colour": style.MUTED, "marker": None, "filled": True,
                          "pos": mid, "lo": min(xs), "hi": max(xs)})
        public = style.COUNTRY_LABELS.get(row["country"], row["country"])
        labels.append((max(xs) + 25, mid,
                       f"{row['text']} ({public}, {row['organisation']})", row["result_id"]))
        waves.extend(xs)
    plot = _add_marks(_plot(), parts, "y")
    if joins:
        plot = _range(plot, pd.DataFrame(joins), "y", "x", color=style.MUTED, linewidth=1.2,
                      linestyle="dotted", gid="join", artist_kws={"zorder": 1})
    _render(plot, ax)
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
    ax.set_xlabel("Month of fieldwork (a mark for each wave; no mark where no poll was taken)")
    join = Line2D([0, 1], [0, 0], linestyle="dotted", color=style.MUTED, linewidth=1.2,
                  label=style.JOIN_LEGEND)
    _legends(fig, rows["stance"], rows["qualifier"], [join] if joins else [])
    return fig, rows


def _span_end(last) -> pd.Timestamp:
    return last + pd.Timedelta(days=1)


def _spans(ax, frame: pd.DataFrame, width: float) -> None:
    """Black bars over the stated dates (seaborn Range), one URL per bar: its id."""
    frame = frame.rename(columns={"id": "url", "y": "pos", "x0": "lo", "x1": "hi"})
    _render(_range(_plot(), frame, "y", "x", color=style.INK, linewidth=width, gid="span"), ax)


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
            org = p.pollster if pd.notna(p.pollster) else f"{p.commissioned_by} survey"
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
    ax.set_xlabel("Fieldwork (mode in brackets where stated)")
    span = Line2D([0, 1], [0, 0], color=style.INK, linewidth=6, solid_capstyle="butt",
                  label="fieldwork, " + style.PERIOD_LEGEND)
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
                  label="event, " + style.PERIOD_LEGEND + "; a period spans its years")
    fig.legend(handles=[span], loc="outside lower left")
    plotted = events[["event_id", "date", "date_end", "kind", "label", "source", "locator"]]
    return fig, plotted
