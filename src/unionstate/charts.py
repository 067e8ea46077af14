"""The report's charts. Each function takes the dataset (or a view of it) and returns
(Figure, plotted): the matplotlib Figure and the exact rows it draws.

Every mark that shows a poll figure carries the result_id as its gid (the id it gets in SVG),
so that a reader or a test can find the mark of a figure and read its geometry back. The
label beside it carries gid "<result_id>:label".
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .data import Dataset
from .text import marker_note
from .views import results_view

OPEN_ARROW = 9  # how far right (in points of share) the arrow of a lower bound reaches


def _new_figure(height: float) -> Figure:
    style.apply()
    return Figure(figsize=(style.WIDTH, height), layout="constrained")


def draw_share(ax, y: float, row: pd.Series, colour: str, label: bool = True) -> None:
    """One figure at height y, marked by its precision (see style.QUALIFIER_MARKS)."""
    q = row["qualifier"]
    mark = style.QUALIFIER_MARKS[q]
    lo, hi = row["share_low"], row["share_high"]
    rid = row["result_id"]
    face = colour if mark["filled"] else "white"
    if q == "more_than":
        ax.add_line(Line2D([lo, lo + OPEN_ARROW], [y, y], color=colour, linestyle="dotted",
                           linewidth=1.6, gid=f"{rid}:open"))
        ax.add_line(Line2D([lo], [y], marker=">", markersize=7, color=colour,
                           markerfacecolor=face, linestyle="none", gid=rid))
        end = lo + OPEN_ARROW
    elif q == "derived" and lo == hi:
        # Derived as 'about the same as' a point figure: a hollow diamond, hedged.
        ax.add_line(Line2D([lo], [y], marker="D", markersize=7, color=colour,
                           markerfacecolor="white", markeredgewidth=1.5, linestyle="none", gid=rid))
        end = lo
    elif mark["line"] is not None:
        ax.add_line(Line2D([lo, hi], [y, y], color=colour, linestyle=mark["line"], linewidth=3.2,
                           solid_capstyle="butt", dash_capstyle="butt", marker="|",
                           markersize=9, markeredgewidth=1.6, gid=rid))
        end = hi
    else:
        ax.add_line(Line2D([lo], [y], marker=mark["marker"], markersize=7, color=colour,
                           markerfacecolor=face, markeredgewidth=1.5, linestyle="none", gid=rid))
        end = hi if hi is not None else lo
    if label:
        ax.text(end + 1.5, y, row["text"], va="center", ha="left", fontsize=8, gid=f"{rid}:label")


def _qualifier_legend(qualifiers) -> list[Line2D]:
    handles = []
    for q in style.QUALIFIER_MARKS:
        if q not in set(qualifiers):
            continue
        mark = style.QUALIFIER_MARKS[q]
        colour = style.OKABE_ITO["black"]
        if q == "more_than":
            h = Line2D([], [], marker=">", linestyle="dotted", color=colour)
        elif mark["line"]:
            h = Line2D([], [], linestyle=mark["line"], linewidth=3, color=colour)
        else:
            h = Line2D([], [], marker=mark["marker"], linestyle="none", color=colour,
                       markerfacecolor=colour if mark["filled"] else "white")
        h.set_label(marker_note(q))
        handles.append(h)
    return handles


def _date_axis(ax, start, end) -> None:
    ax.set_xlim(mdates.date2num(start), mdates.date2num(end))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _share_axis(ax, label: str = "Share of respondents (%)") -> None:
    ax.set_xlim(0, 100)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel(label)


def opinion(ds: Dataset, country: str) -> tuple[Figure, pd.DataFrame]:
    """Every result of one country, grouped by poll, coloured by stance, marked by precision."""
    view = results_view(ds)
    rows = view[view["country"] == country].reset_index(drop=True)
    ys, labels, headers = [], [], []
    y = 0.0
    for poll_label, group in rows.groupby("poll_label", sort=False):
        headers.append((y, poll_label))
        y += 1
        for _ in group.itertuples():
            ys.append(y)
            y += 1
        y += 0.4
    fig = _new_figure(0.36 * y + 1.3)
    ax = fig.add_subplot()
    for yy, row in zip(ys, rows.to_dict("records"), strict=True):
        draw_share(ax, yy, pd.Series(row), style.STANCE_COLOURS[row["stance"]])
        labels.append(textwrap.fill(textwrap.shorten(row["option"], 76, placeholder="…"), 40))
    for yy, text in headers:
        ax.text(0.5, yy, text, fontweight="bold", va="center", ha="left", fontsize=8.5)
    ax.set_yticks(ys, labels)
    ax.set_ylim(y - 0.4, -0.8)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    _share_axis(ax)
    stance_handles = [Patch(color=style.STANCE_COLOURS[s], label=style.STANCE_LABELS[s])
                      for s in style.STANCE_COLOURS if s in set(rows["stance"])]
    fig.legend(handles=stance_handles + _qualifier_legend(rows["qualifier"]), loc="outside lower center",
               ncols=2)
    plotted = rows.assign(y=ys)
    return fig, plotted


MIRROR_GROUPS = {
    "One state: merger or incorporation": ["incorporation", "merger"],
    # political_integration is an umbrella that includes incorporation (Levada: half of those
    # favouring it want Belarus as a Russian region); the panel title says so.
    "Closer union of two states, or deeper political integration of any form":
        ["closer_union", "political_integration"],
}


def mirror(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Merger and closer-union figures of both countries side by side, coloured by country."""
    view = results_view(ds)
    fig = _new_figure(6.4)
    axes = fig.subplots(len(MIRROR_GROUPS), 1, sharex=True)
    frames = []
    for ax, (title, stances) in zip(axes, MIRROR_GROUPS.items(), strict=True):
        rows = view[view["stance"].isin(stances)].sort_values(
            ["country", "stance", "start", "result_id"], ignore_index=True)
        ys = list(range(len(rows)))
        for yy, row in zip(ys, rows.to_dict("records"), strict=True):
            row["text"] = f"{row['text']}: {style.STANCE_LABELS[row['stance']]}"
            draw_share(ax, yy, pd.Series(row), style.COUNTRY_COLOURS[row["country"]])
        ax.set_yticks(ys, [f"{r.organisation}\n{r.when}" for r in rows.itertuples()],
                      fontsize=7.5)
        ax.set_ylim(len(rows) - 0.5, -0.7)
        ax.set_title(title, loc="left", fontweight="bold")
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        frames.append(rows.assign(group=title, y=ys))
    _share_axis(axes[-1])
    axes[-1].set_xlim(0, 100)
    plotted = pd.concat(frames, ignore_index=True)
    country_handles = [Patch(color=c, label=style.COUNTRY_LABELS[k])
                       for k, c in style.COUNTRY_COLOURS.items()]
    fig.legend(handles=country_handles + _qualifier_legend(plotted["qualifier"]),
               loc="outside lower center", ncols=3)
    return fig, plotted


def status_quo(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Support for keeping relations as they are, by fieldwork time; a figure given for several
    waves spans them all as a band from the first wave's start to the last wave's end."""
    view = results_view(ds)
    rows = view[view["stance"] == "status_quo"].sort_values(["start", "result_id"],
                                                            ignore_index=True)
    fig = _new_figure(3.6)
    ax = fig.add_subplot()
    for row in rows.to_dict("records"):
        colour = style.COUNTRY_COLOURS[row["country"]]
        lo = row["share_low"]
        hi = row["share_high"] if row["share_high"] is not None else lo
        x0, x1 = row["start"], row["end"] + pd.Timedelta(days=1)
        mark = style.QUALIFIER_MARKS[row["qualifier"]]
        ax.fill_between([x0, x1], [lo, lo], [hi, hi], color=colour, alpha=0.25, linewidth=0)
        ax.add_line(Line2D([x0, x1, x1, x0, x0], [lo, lo, hi, hi, lo], color=colour,
                           linestyle=mark["line"] or "solid", linewidth=1.2,
                           marker=None, gid=row["result_id"]))
        if mark["marker"]:
            ax.add_line(Line2D([x0 + (x1 - x0) / 2], [lo], marker=mark["marker"], color=colour,
                               markerfacecolor=colour if mark["filled"] else "white",
                               linestyle="none", gid=f"{row['result_id']}:point"))
        ax.text(x1 + pd.Timedelta(days=20), (lo + hi) / 2,
                f"{row['text']} ({row['organisation']})", va="center", fontsize=8,
                gid=f"{row['result_id']}:label")
    ax.set_ylim(0, 100)
    ax.set_ylabel("Share of respondents (%)")
    ax.grid(axis="y")
    start = rows["start"].min() - pd.Timedelta(days=120)
    end = rows["end"].max() + pd.Timedelta(days=420)
    _date_axis(ax, start, end)
    ax.set_xlabel("Fieldwork")
    handles = [Patch(color=c, alpha=0.5, label=style.COUNTRY_LABELS[k])
               for k, c in style.COUNTRY_COLOURS.items()]
    fig.legend(handles=handles + _qualifier_legend(rows["qualifier"]), loc="outside lower center",
               ncols=4)
    return fig, rows


def poll_calendar(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """Every poll on a time axis, one row per country, marked by mode."""
    polls = ds.polls.sort_values(["country", "fieldwork_start_first", "poll_id"], ignore_index=True)
    countries = [c for c in style.COUNTRY_NAMES if c in set(polls["country"].astype(str))]
    fig = _new_figure(2.6)
    ax = fig.add_subplot()
    for p in polls.itertuples():
        y = countries.index(str(p.country))
        marker, colour = style.MODE_MARKERS[str(p.mode)]
        x0, x1 = p.fieldwork_start_first, p.fieldwork_end_last + pd.Timedelta(days=1)
        ax.add_line(Line2D([x0, x1], [y, y], color=colour, linewidth=5, solid_capstyle="butt",
                           gid=f"{p.poll_id}:span"))
        ax.add_line(Line2D([x0 + (x1 - x0) / 2], [y], marker=marker, markersize=8, color=colour,
                           markeredgecolor="black", linestyle="none", gid=p.poll_id))
    ax.set_yticks(range(len(countries)), [style.COUNTRY_NAMES[c] for c in countries])
    ax.set_ylim(len(countries) - 0.5, -0.5)
    _date_axis(ax, polls["fieldwork_start_first"].min() - pd.Timedelta(days=180),
               polls["fieldwork_end_last"].max() + pd.Timedelta(days=180))
    ax.grid(axis="x")
    ax.set_xlabel("Fieldwork (bars span the stated period)")
    handles = [Line2D([], [], marker=m, color=c, markeredgecolor="black", linestyle="none",
                      label=mode) for mode, (m, c) in style.MODE_MARKERS.items()
               if mode in set(polls["mode"].astype(str))]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    plotted = polls[["poll_id", "country", "pollster", "commissioned_by", "fieldwork_start",
                     "fieldwork_end", "mode", "population", "source", "locator"]]
    return fig, plotted


def timeline(ds: Dataset) -> tuple[Figure, pd.DataFrame]:
    """The dated events, one row each, periods as bars, coloured by kind."""
    events = ds.events.sort_values(["date_first", "event_id"], ignore_index=True)
    fig = _new_figure(0.36 * len(events) + 1.2)
    ax = fig.add_subplot()
    for i, e in enumerate(events.itertuples()):
        colour = style.EVENT_COLOURS[str(e.kind)]
        x0 = e.date_first
        x1 = (e.date_end_last if pd.notna(e.date_end_last) else e.date_last) + pd.Timedelta(days=1)
        ax.add_line(Line2D([x0, x1], [i, i], color=colour, linewidth=4, solid_capstyle="butt",
                           gid=f"{e.event_id}:span"))
        ax.add_line(Line2D([x0], [i], marker="o", markersize=4, color=colour, linestyle="none",
                           gid=e.event_id))
    labels = []
    for e in events.itertuples():
        span = f"{e.date}{'–' + e.date_end if pd.notna(e.date_end) else ''}"
        labels.append(textwrap.fill(f"{e.label} ({span})", 46))
    ax.set_yticks(range(len(events)), labels, fontsize=7.5)
    ax.set_ylim(len(events) - 0.5, -0.7)
    _date_axis(ax, events["date_first"].min() - pd.Timedelta(days=365),
               events["date_last"].max() + pd.Timedelta(days=365))
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Date (a bar spans the stated precision: a year, or a month)")
    handles = [Patch(color=c, label=k) for k, c in style.EVENT_COLOURS.items()
               if k in set(events["kind"].astype(str))]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 7))
    plotted = events[["event_id", "date", "date_end", "kind", "label", "source", "locator"]]
    return fig, plotted
