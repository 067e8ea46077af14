"""The report's charts: each takes the dataset and returns (Figure, the rows it draws).

seaborn draws every mark, its colours and marks from style.py; matplotlib adds what seaborn
does not do: the text beside each mark, headings, row labels and legends.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import seaborn.objects as so
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerLine2D
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .data import Dataset
from .views import period_text, results_view

LABEL = ":label"  # gid suffix of the text beside a mark
SHARE_LABEL = "Share of respondents (%)"
AXIS_END = 100.0  # where the dotted line of a lower bound stops: the end of the share axis


def _new_figure(height: float) -> Figure:
    """A figure of the house width, its height whole PNG pixels (so that SVG and PNG agree)."""
    from .figures import PNG_DPI

    style.apply()
    return Figure(figsize=(style.WIDTH, round(height * PNG_DPI) / PNG_DPI), layout="constrained")


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False)


def mark_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """What seaborn draws for the results in rows (which carry a `y`), one row per element:
    a point ("point": one per value, two for a derived range, one at each bound), a bar over
    a range ("bar") or the open end of a lower bound ("open"), with its y, stance, qualifier,
    panel (`group`) and extent on the share axis (x for a point, lo and hi for a line)."""
    out = []
    for row in rows.to_dict("records"):
        mark = style.qualifier(row["qualifier"])
        low, high = row["share_low"], row["share_high"]
        high = low if high is None or pd.isna(high) else high
        base = {"y": row["y"], "stance": row["stance"], "qualifier": row["qualifier"],
                "group": row.get("group", "")}
        if mark.bar is not None:
            out.append({**base, "kind": "bar", "lo": low, "hi": high})
        elif mark.at_bounds:
            out += [{**base, "kind": "point", "x": v} for v in dict.fromkeys([low, high])]
        else:
            out.append({**base, "kind": "point", "x": low})
            if mark.open_end:
                out.append({**base, "kind": "open", "lo": low, "hi": AXIS_END})
    return pd.DataFrame(out, columns=["y", "stance", "qualifier", "group", "kind", "x", "lo",
                                      "hi"])


def _plot(rows: pd.DataFrame, facet: str | None = None) -> so.Plot:
    """The seaborn Plot of results (with `y`), shares on x, one layer per kind of mark (each
    layer's data a slice of the Plot's frame: seaborn aligns the two by index)."""
    marks = mark_rows(rows)
    plot = so.Plot(marks, y="y", color="stance").theme(style.theme())
    butt = {"capstyle": "butt"}
    for kind, mark, mapping in [
        ("bar", so.Range(linewidth=style.BAR, artist_kws=butt),
         {"xmin": "lo", "xmax": "hi", "linestyle": "qualifier", "orient": "y"}),
        ("open", so.Range(linewidth=1.4, linestyle=":", artist_kws=butt),
         {"xmin": "lo", "xmax": "hi", "orient": "y"}),
        ("point", so.Dot(pointsize=7.5, edgewidth=1.6),
         {"x": "x", "marker": "qualifier", "fill": "qualifier"}),
    ]:
        if (marks["kind"] == kind).any():
            plot = plot.add(mark, data=marks[marks["kind"] == kind], legend=False, **mapping)
    if facet is not None:
        plot = plot.facet(row=facet).share(x=False, y=False)
    # stance -> colour; qualifier -> marker, fill and the bar's style
    s, q = list(dict.fromkeys(rows["stance"])), list(dict.fromkeys(rows["qualifier"]))
    return (plot.scale(x=so.Continuous().tick(at=range(0, 101, 20)), y=so.Continuous(),
                       color=so.Nominal({c: style.stance(c).colour for c in s}, order=s),
                       marker=so.Nominal({c: style.qualifier(c).marker or "o" for c in q}, order=q),
                       fill=so.Nominal({c: style.qualifier(c).filled for c in q}, order=q),
                       linestyle=so.Nominal({c: style.qualifier(c).bar or "solid" for c in q},
                                            order=q))
            .limit(x=(0, AXIS_END)).label(x=SHARE_LABEL, y=""))


def _label(ax, row: dict) -> None:
    """The figure in words right of its mark (a lower bound's on white over its dotted line)."""
    open_end = style.qualifier(row["qualifier"]).open_end
    end = row["share_low"] if open_end or pd.isna(row["share_high"]) else row["share_high"]
    box = {"facecolor": "white", "edgecolor": "none", "pad": 1.0} if open_end else None
    ax.text(end + 2.2, row["y"], row["text"], va="center", ha="left", fontsize=8, bbox=box,
            gid=row["result_id"] + LABEL)


def _rows_axis(ax, ys: list[float], labels: list[str], top: float, bottom: float,
               size: float = 9) -> None:
    ax.set_yticks(ys, labels, fontsize=size)
    ax.set_ylim(bottom, top)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)


def _qualifier_key(q: str) -> Line2D:
    """A key drawn as the mark is: the marker, or a bar as thick as a chart's, in grey."""
    mark = style.qualifier(q)
    ink = style.MUTED
    if mark.bar is not None:
        return Line2D([0, 1], [0, 0], linewidth=style.BAR, linestyle=mark.bar, color=ink,
                      solid_capstyle="butt", dash_capstyle="butt", label=mark.legend)
    if mark.open_end:
        return Line2D([0, 1], [0, 0], linestyle=":", linewidth=1.4, color=ink,
                      marker=mark.marker, markersize=7.5, label=mark.legend)
    return Line2D([], [], marker=mark.marker, linestyle="none", color=ink, markersize=7.5,
                  markerfacecolor=ink if mark.filled else "none", markeredgewidth=1.6,
                  label=mark.legend)


def _finish(fig: Figure, rows: pd.DataFrame, note: str) -> None:
    """A line above the chart saying what its rows may be compared for, two keys below it
    (colour = stance, left; mark = precision, right)."""
    fig.suptitle(note, x=0.0, ha="left", fontsize=8, style="italic", color="#333333")
    present = list(dict.fromkeys(rows["stance"]))
    order = [*[s for s in style.STANCES if s in present],
             *[s for s in present if s not in style.STANCES]]
    fig.legend(handles=[Patch(color=style.stance(s).colour, label=style.stance(s).legend)
                        for s in order],
               loc="outside lower left", title="Colour: what respondents want",
               alignment="left")
    shown = set(rows["qualifier"])
    keys = [_qualifier_key(q) for q in [*style.QUALIFIERS,
                                         *sorted(shown - set(style.QUALIFIERS))] if q in shown]
    # A lower bound's key as the chart draws it: the triangle at the left end of its dotted
    # line only (matplotlib's own key puts a marker at each end).
    open_end = HandlerLine2D(numpoints=2, update_func=lambda key, handle: (
        key.update_from(handle), key.set_markevery([0])))
    opened = {k: open_end for k in keys if k.get_linestyle() == ":"}
    fig.legend(handles=keys, loc="outside lower right", alignment="left",
               title="Mark: how the source gives the figure", handler_map=opened)


def opinion_rows(ds: Dataset, country: str) -> pd.DataFrame:
    """The results `opinion` draws, in its order: polls as in data/results.csv, each poll's
    answers in the legend's order of stances, so that every block reads alike."""
    view = results_view(ds)
    rows = view[view["country"] == country]
    rank = {"poll_label": {p: i for i, p in enumerate(dict.fromkeys(rows["poll_label"]))},
            "stance": {s: i for i, s in enumerate(style.STANCES)}}
    return rows.sort_values(list(rank), kind="stable", ignore_index=True, key=lambda col: col.map(
        rank[col.name]).fillna(len(style.STANCES)))


def opinion(ds: Dataset, country: str) -> tuple[Figure, pd.DataFrame]:
    """Every result of one country, under a heading per poll (the answers of one poll are to
    one question, so they may be read against each other)."""
    rows = opinion_rows(ds, country)
    ys, ticks, headers = [], [], []
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
    rows = rows.assign(y=ys)
    fig = _new_figure(0.3 * y + 2.1)
    ax = fig.add_subplot()
    _plot(rows).on(ax).plot()
    for row in rows.to_dict("records"):
        _label(ax, row)
    for yy, text in headers:
        ax.text(0.5, yy, text, fontweight="bold", va="center", ha="left", fontsize=8.5)
    _rows_axis(ax, ys, ticks, -0.6, y - 0.3)
    _finish(fig, rows, "The answers under one heading were offered in one poll; polls differ "
                       "in question, wording and date.")
    return fig, rows


MIRROR_GROUPS = {
    "One state: joining Russia, or a single new state": ["incorporation", "merger"],
    # Levada's political integration includes those who want Belarus as a region (Shraibman
    # para. 10): it is drawn beside the unions of two states, in its own colour.
    "A union of two states, or deeper political integration":
        ["closer_union", "political_integration"],
}


def mirror_rows(ds: Dataset) -> pd.DataFrame:
    """The results `mirror` draws, in its order, each with its panel (`group`) and row (`y`)."""
    view = results_view(ds)
    frames = []
    for title, stances in MIRROR_GROUPS.items():
        rows = view[view["stance"].isin(stances)].sort_values(
            ["country", "start", "stance", "result_id"], ignore_index=True)
        frames.append(rows.assign(group=title, y=[float(i) for i in range(len(rows))]))
    return pd.concat(frames, ignore_index=True)


def mirror(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Merger and union figures of both publics, one row per figure naming its public, poll
    and date, a panel (a seaborn facet) per group of stances."""
    shown = mirror_rows(ds)
    fig = _new_figure(0.42 * len(shown) + 3.0)
    _plot(shown, facet="group").label(title=str).on(fig).plot()
    for ax in fig.axes:
        title = ax.get_title()
        rows = shown[shown["group"] == title]
        for row in rows.to_dict("records"):
            _label(ax, {**row, "text": f"{row['text']}: {style.stance(row['stance']).legend}"})
        ticks = [f"{style.COUNTRY_LABELS.get(r['country'], r['country'])}: "
                 f"{r['organisation']}\n{r['when']}" for r in rows.to_dict("records")]
        _rows_axis(ax, list(rows["y"]), ticks, -0.7, len(rows) - 0.4, size=7.5)
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_title("")
        ax.set_xlabel(SHARE_LABEL if title == list(MIRROR_GROUPS)[-1] else "")
    _finish(fig, shown, "Each row is one poll's answer to its own question; wordings differ "
                        "between rows, in one country as between the two.")
    return fig, shown


def timeline(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """The dated events, one labelled row each, a mark at the year the source gives (not over
    it: a year-precise event does not last a year), a period a line from first year to last."""
    events = ds.events.sort_values(["date_first", "event_id"], ignore_index=True)
    first = events["date_first"].dt.year.astype(int)
    last = events["date_end_last"].fillna(events["date_last"]).dt.year.astype(int)
    frame = pd.DataFrame({"y": range(len(events)), "year": first, "end": last})
    periods = frame[frame["end"] > frame["year"]]
    ends = pd.concat([frame[["y", "year"]], periods[["y", "end"]].rename(
        columns={"end": "year"})], ignore_index=True)
    fig = _new_figure(0.33 * len(events) + 1.3)
    ax = fig.add_subplot()
    plot = so.Plot(ends, x="year", y="y").theme(style.theme())
    if not periods.empty:
        plot = plot.add(so.Range(color=style.MUTED, linewidth=2.0), data=periods,
                        xmin="year", xmax="end", orient="y")
    lo, hi = int(first.min()) - 1, int(last.max()) + 1
    (plot.add(so.Dot(color=style.MUTED, pointsize=7))
     .scale(x=so.Continuous().tick(at=range(lo + 5 - lo % 5, hi + 1, 5), minor=4),
            y=so.Continuous())
     .limit(x=(lo, hi)).label(x="Year as the source gives it\n(some read from its wording, "
                                "such as \u201ca year ago\u201d)", y="")
     .on(ax).plot())
    labels = [_wrap(f"{e.label} ({_period(e.date, e.date_end)})", 50) for e in events.itertuples()]
    _rows_axis(ax, list(range(len(events))), labels, -0.7, len(events) - 0.4)
    ax.xaxis.set_major_formatter("{x:.0f}")
    period = Line2D([0, 1], [0, 0], marker="o", color=style.MUTED, linewidth=2, markersize=7,
                    label="period, from its first year to its last")
    fig.legend(handles=[
        Line2D([], [], marker="o", linestyle="none", color=style.MUTED, markersize=7,
               label="event, at its year"), period],
        loc="outside lower left", ncols=2,
        handler_map={period: HandlerLine2D(numpoints=2)})  # a dot at each end, as drawn
    return fig, events[["event_id", "date", "date_end", "kind", "label", "source",
                        "locator"]].assign(y=frame["y"])


def _period(start, end) -> str:
    """An event's date in words: its year or month, or first–last for a period."""
    return "–".join(period_text(d, d) for d in (start, end) if pd.notna(d))
