"""Reading a drawn chart back: the figures it shows, taken from what seaborn drew, not from data/.

The charts (unionstate.charts) draw their marks with seaborn.objects: `so.Dot` makes
PathCollections (a marker per value), `so.Range` LineCollections (a bar over a range, or the
thin dotted line from a lower bound to the end of the axis). seaborn gives those elements no
ids. What ties a mark to its figure is what a reader uses too: the text beside it. Each such
label is a Text whose gid is "<result_id>:label"; the figure's mark is every element drawn
in the label's axes on the label's row (its y). Shares are on the x axis.

The functions here recover numbers, shapes and colours from the Figure alone, so that a test
can compare what a reader sees with what the source says. `card` prints one figure's
evidence (data, every chart, the prose, the figure files) and `completeness` one chart's
coverage of the data, as stable text for the nbval notebooks in tests/notebooks/: fixed
decimals, no object addresses, nothing that changes when a poll is added.

This module serves only the tests (and lives with them); the notebooks import it from
tests/ (their kernel runs in tests/notebooks/).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch
from matplotlib.text import Text

LABEL = ":label"
# Suffixes a chart adds to the share text of a label: ": stance" (mirror).
LABEL_SUFFIX = re.compile(r": ")
DASH = "\u2013"
# The marker shapes a reader can tell apart, by the matplotlib marker that draws them.
SHAPES = {"o": "circle", "D": "diamond", "X": "cross", ">": "triangle", "s": "square",
          "^": "triangle", "<": "triangle", "v": "triangle"}
BAR_WIDTH = 4.0  # points: a line at least this thick is a bar over a range, a thinner one a line


class Element(NamedTuple):
    """One drawn element: a marker, or a line (a bar over a range or a thin line)."""

    kind: str  # marker | line
    share: tuple[float, ...]  # its extent on the share axis (one value for a marker)
    pos: float  # its row (y)
    axes: Axes
    look: str  # its shape in words: 'filled circle', 'solid bar', 'dotted line', ...
    colour: str  # its colour, as '#rrggbb'
    artist: object = None  # the collection that draws it
    index: int = -1  # its place in that collection


class Mark(NamedTuple):
    """One drawn figure: its bounds as drawn (high None for a lower bound) and its elements."""

    low: float
    high: float | None
    axes: Axes
    parts: list[Element]


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


def _shape(path) -> str:
    for code, name in SHAPES.items():
        style = MarkerStyle(code)
        ref = style.get_path().transformed(style.get_transform())
        if ref.vertices.shape == path.vertices.shape and np.allclose(ref.vertices,
                                                                     path.vertices):
            return name
    return "unknown marker"


def _at(values, i: int):
    return values[i % len(values)] if len(values) else None


def _dashes(linestyle) -> str:
    """How a line is dashed, in words: 'solid', 'striped' (short dashes, gaps as long), or
    'dotted' (dashes shorter than their gaps)."""
    _offset, dashes = linestyle
    if not dashes:
        return "solid"
    return "dotted" if dashes[0] < dashes[1] else "striped"


def elements(fig: Figure) -> list[Element]:
    """Every marker and line segment of every collection in fig, in drawing order."""
    out = []
    for ax in fig.axes:
        for coll in ax.collections:
            if isinstance(coll, PathCollection):
                paths, faces = coll.get_paths(), coll.get_facecolors()
                edges = coll.get_edgecolors()
                for i, (x, y) in enumerate(coll.get_offsets()):
                    face = _at(faces, i)
                    hollow = face is None or float(face[3]) == 0.0
                    look = f"{'hollow' if hollow else 'filled'} {_shape(_at(paths, i))}"
                    colour = to_hex(_at(edges, i) if hollow else face)
                    out.append(Element("marker", (float(x),), float(y), ax, look, colour,
                                       coll, i))
            elif isinstance(coll, LineCollection):
                widths, styles = coll.get_linewidths(), coll.get_linestyles()
                colours = coll.get_colors()
                for i, seg in enumerate(coll.get_segments()):
                    xs = sorted(float(v) for v in seg[:, 0])
                    kind = "bar" if float(_at(widths, i)) >= BAR_WIDTH else "line"
                    look = f"{_dashes(_at(styles, i))} {kind}"
                    out.append(Element("line", (xs[0], xs[-1]), float(seg[0, 1]), ax, look,
                                       to_hex(_at(colours, i)), coll, i))
    return out


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


def _row(text: Text) -> float:
    return float(text.get_position()[1])


def _is_open(el: Element) -> bool:
    return el.look == "dotted line"


def read_marks(fig: Figure) -> dict[str, Mark]:
    """result_id -> the mark drawn on its label's row, from the collections of fig.

    Raises ValueError if a result_id is labelled twice or its label's row holds no mark."""
    found = elements(fig)
    out: dict[str, Mark] = {}
    for rid, text in _label_texts(fig).items():
        parts = [el for el in found if el.axes is text.axes and el.pos == _row(text)]
        closed = [v for el in parts if not _is_open(el) for v in el.share]
        if not closed:
            raise ValueError(f"{rid}: labelled, but no mark is drawn on its row")
        high = None if any(_is_open(el) for el in parts) else max(closed)
        out[rid] = Mark(min(closed), high, text.axes, parts)
    return out


def unlabelled(fig: Figure) -> list[str]:
    """Rows of fig that hold a mark but no label (a figure a reader cannot name)."""
    rows = {(id(t.axes), _row(t)) for t in _label_texts(fig).values()}
    return sorted({f"a mark at {num(el.share[0])} on row {el.pos:g}" for el in elements(fig)
                   if (id(el.axes), el.pos) not in rows})


def colour_key(fig: Figure) -> dict[str, str]:
    """'#rrggbb' -> its words in the figure's colour legend (the legend of colour patches)."""
    out = {}
    for legend in fig.legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            if isinstance(handle, Patch):
                out[to_hex(handle.get_facecolor())] = text.get_text()
    return out


def style_of(mark: Mark, fig: Figure) -> str:
    """The mark as a reader sees it: its shape ('filled circle', 'striped bar', 'hollow
    diamond at each bound', 'filled triangle, dotted line to the end of the axis') and the
    words the colour legend gives its colour."""
    closed = [el for el in mark.parts if not _is_open(el)]
    looks = list(dict.fromkeys(el.look for el in closed))
    text = " + ".join(looks)
    if len(closed) > 1 and len(looks) == 1:
        text += " at each bound"
    for el in mark.parts:
        if _is_open(el):
            end = mark.axes.get_xlim()[1]
            text += (", dotted line to the end of the axis" if el.share[-1] >= end
                     else f", dotted line ending at {num(el.share[-1])}")
    key = colour_key(fig)
    colours = list(dict.fromkeys(key.get(el.colour, f"no legend for {el.colour}")
                                 for el in mark.parts))
    return f"{text}, colour '{' / '.join(colours)}'"


def labels(fig: Figure) -> dict[str, str]:
    """result_id -> the full text of the label beside its mark."""
    return {rid: t.get_text() for rid, t in _label_texts(fig).items()}


def label_share(text: str) -> str:
    """The share a label states, without what a chart adds after it ('7%: …')."""
    return LABEL_SUFFIX.split(text, maxsplit=1)[0]


def beside(fig: Figure, rid: str) -> bool:
    """Whether the label of rid sits right of its mark's closed part (a lower bound's dotted
    line runs on under the label's white ground)."""
    mark, text = read_marks(fig)[rid], _label_texts(fig)[rid]
    right = max(v for el in mark.parts if not _is_open(el) for v in el.share)
    return float(text.get_position()[0]) > right


def _tick_label(ax: Axes, y: float) -> str | None:
    found = [t.get_text() for tick, t in zip(ax.get_yticks(), ax.get_yticklabels(),
                                             strict=False) if abs(float(tick) - y) < 1e-9]
    return found[0] if len(found) == 1 else None


def place(fig: Figure, rid: str) -> str:
    """Where the chart puts the mark, in the chart's own words: the poll heading above it
    (country charts), or its panel and row label (mirror)."""
    mark, text = read_marks(fig)[rid], _label_texts(fig)[rid]
    ax, y = mark.axes, _row(text)
    headings = [t for t in ax.texts if t.get_gid() is None and _row(t) < y]
    if headings:
        above = max(headings, key=_row)
        return f"under '{above.get_text()}'"
    tick = _tick_label(ax, y)
    row = "no row label" if tick is None else "row '" + tick.replace("\n", ", ") + "'"
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
    """One chart's reading of rid: bounds, shape and colour, label share, where it sits."""
    found = read_marks(fig)
    if rid not in found:
        return "NOT DRAWN"
    mark = found[rid]
    label = f"label '{label_share(labels(fig)[rid])}'" + ("" if beside(fig, rid)
                                                           else " NOT BESIDE")
    return " | ".join([f"{bounds(mark.low, mark.high)} {style_of(mark, fig)}", label,
                       place(fig, rid)])


def card(report, rid: str, charts: Iterable[str]) -> None:
    """Print the evidence for one cited figure as stable text:

    - a header: result_id, the data's bounds and qualifier, the poll and the locator;
    - the prose text the report writes for it (report.shares);
    - for each chart label given, the figure read back from the drawn artists;
    - for each chart, its row in figures/<label>.csv.

    `report` is a unionstate.report.Report; charts are figure labels such as "fig-mirror".
    """
    from unionstate.provenance import records

    charts = list(charts)
    row = report.ds.result(rid)
    # The header reads the figure's provenance record, the one its panel and appendix entry
    # in the report show (unionstate.provenance): the card checks it against the source.
    rec = records(report)[rid]
    print(f"{rid} {bounds(_float(row['share_low']), _float(row['share_high']))} "
          f"{rec.qualifier} | {rec.polls[0].organisation}, {rec.when} | {rec.source}, {rec.locator}")
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


def expected(root: Path, country: str | None, stances: Iterable[str] | None) -> list[str]:
    """The result_ids of every row of data/results.csv of that country (the country of its
    first poll in data/polls.csv) and of those stances (None: any), sorted. Read with the csv
    module, not with the package that draws the charts."""
    polls = {p["poll_id"]: p for p in _read_csv(root / "data" / "polls.csv")}
    keep = None if stances is None else set(stances)
    out = []
    for row in _read_csv(root / "data" / "results.csv"):
        first = row["poll_id"].split(";")[0]
        if country is not None and polls[first]["country"] != country:
            continue
        if keep is not None and row["stance"] not in keep:
            continue
        out.append(row["result_id"])
    return sorted(out)


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
    texts = labels(fig) if not twice else {}
    view = report.view.set_index("result_id")
    scope = ", ".join([f"country {country}" if country else "both countries",
                       "stances " + ", ".join(sorted(stances)) if stances else "every stance"])
    print(f"{label} ({scope})")
    print(f"  every such result in data/results.csv is drawn: "
          f"{_verdict([r for r in want if r not in drawn])}")
    print(f"  each once, and nothing else: "
          f"{_verdict(twice + [f'{r} (not in scope)' for r in drawn if r not in want] + unlabelled(fig))}")
    print(f"  each with its label beside it: "
          f"{_verdict([r for r in drawn if not beside(fig, r)])}")
    wrong = [r for r in drawn if r in view.index
             and label_share(texts[r]) != view.loc[r, "text"]]
    print(f"  each label states its figure in the report's words: {_verdict(wrong)}")
    path = report.proj.figures / f"{label}.csv"
    listed = file_ids(path) if path.is_file() else []
    off = ([f"{r} missing" for r in want if r not in listed]
           + [f"{r} extra" for r in listed if r not in want])
    print(f"  figures/{label}.csv lists exactly these results: {_verdict(off)}")
    cited = list(cited)
    missing = [r for r in cited if r not in drawn]
    print(f"  figures the sources cite, drawn: {len(cited) - len(missing)} of {len(cited)}"
          + ("" if not missing else " (NOT DRAWN: " + ", ".join(missing) + ")"))


def verified(report, rid: str, charts: list[str]) -> None:
    """Print one figure's card as the report shows it (see the module docstring)."""
    import csv

    from unionstate.provenance import records
    from unionstate.verify import _b, row_typed

    row = report.ds.result(rid)
    data = row_typed(row)
    shown = f"{data.qualifier} {_b(data.low, data.high)}" + (
        f" ({data.derivation})" if data.derivation else "")
    rec = records(report)[rid]  # the provenance record its panel shows (as in card())
    print(f"{rid} | {rec.source}, {rec.locator}")
    print(f"  data/results.csv: {shown}")
    print(f"  prose: {report.shares[rid]}")
    for label in charts:
        fig = report.figure(label)  # outside a build: the matplotlib Figure itself
        mark = read_marks(fig).get(rid)
        text = labels(fig).get(rid)
        drawn = "NOT DRAWN" if mark is None else f"drawn {_b(mark.low, mark.high)}"
        said = "no label" if text is None else f"label '{label_share(text)}'"
        print(f"  {label}: {drawn}, {said}")
    for label in charts:
        path = report.proj.figures / f"{label}.csv"
        found = []
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as f:
                found = [r for r in csv.DictReader(f) if r.get("result_id") == rid]
        if len(found) != 1:
            print(f"  figures/{label}.csv: {'MISSING' if not path.is_file() else 'NO ROW'}")
            continue
        line = found[0]
        t = row_typed(line)
        print(f"  figures/{label}.csv: {t.qualifier} {_b(t.low, t.high)}, '{line['text']}'")
