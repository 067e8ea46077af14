"""The house style of every chart, and the one place that says what a colour or a mark means.

Colour means stance and nothing else (one Okabe & Ito colour per stance code, apart under the
common colour blindnesses); the mark means the precision of the source's figure (one per
qualifier code); grey carries no stance. Countries and events are told apart by panels, rows
and labels, never by colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib as mpl

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
MUTED = "#666666"  # no stance: events, the keys of the precision legend


@dataclass(frozen=True)
class Stance:
    """How one stance code is drawn: its colour and its words in a legend."""

    code: str
    colour: str
    legend: str


@dataclass(frozen=True)
class Qualifier:
    """How one qualifier code is drawn."""

    code: str
    marker: str | None  # the matplotlib marker at a point value; None for a bar over a range
    filled: bool  # a solid or a hollow marker
    bar: str | tuple | None  # the line style of a bar over a range ("solid", STRIPES); or None
    legend: str  # the legend's words
    drawn: str  # the mark in words (the appendix's precision table)
    at_bounds: bool = False  # a marker at each bound (derived figures), not one at the value
    open_end: bool = False  # a dotted line from the bound to the end of the axis (lower bound)


STANCES: dict[str, Stance] = {s.code: s for s in (
    Stance("incorporation", OKABE_ITO["sky"], "Belarus becomes part of Russia"),
    Stance("merger", OKABE_ITO["vermillion"], "One state (joining Russia or a single new state)"),
    Stance("political_integration", OKABE_ITO["blue"], "Deeper political integration"),
    Stance("closer_union", OKABE_ITO["green"], "A union of two states"),
    Stance("economic", OKABE_ITO["orange"], "Develop economic cooperation"),
    Stance("status_quo", OKABE_ITO["black"], "Keep relations as they are"),
)}

BAR = 8.0  # points: the height of a bar over a range, about that of a point's marker
STRIPES = (0, (1.6, 1.4))  # an approximate range: a bar of thin stripes, not a solid one
QUALIFIERS: dict[str, Qualifier] = {q.code: q for q in (
    Qualifier("exact", "o", True, None, "stated share", "filled circle"),
    Qualifier("approximate", "o", False, None, "approximate share (\u201cabout\u201d)",
              "hollow circle"),
    Qualifier("range", None, True, "solid", "stated range (bar from one end to the other)",
              "solid bar over the range"),
    Qualifier("approximate_range", None, True, STRIPES,
              "approximate range (\u201csome\u201d)", "striped bar over the range"),
    Qualifier("more_than", ">", True, None,
              "lower bound only (\u201cmore than\u201d): no upper end given",
              "filled triangle at the bound, dotted line to the end of the axis",
              open_end=True),
    Qualifier("fraction", "X", True, None, "stated as a fraction (\u201cone in six\u201d)",
              "filled cross"),
    Qualifier("derived", "D", False, None, "derived from another figure (see its label)",
              "hollow diamond (one at each bound of a range), labelled with its rule",
              at_bounds=True),
)}

# Wording of the two publics and countries (not a colour: countries are panels and rows).
COUNTRY_LABELS = {"BLR": "Belarusians", "RUS": "Russians"}
COUNTRY_NAMES = {"BLR": "Belarus", "RUS": "Russia"}


def encoded(column: str) -> set[str]:
    """The codes of results.`column` ("stance" or "qualifier") that `unionstate check` accepts."""
    return set({"stance": STANCES, "qualifier": QUALIFIERS}.get(column, {}))


def stance(code: str) -> Stance:
    """The record of a stance code; light grey, with the code as its words, if it has none."""
    return STANCES.get(code) or Stance(code, OKABE_ITO["grey"], code.replace("_", " "))


def qualifier(code: str) -> Qualifier:
    """The record of a qualifier code; a hollow grey square, if it has none."""
    return QUALIFIERS.get(code) or Qualifier(code, "s", False, None, code.replace("_", " "),
                                             "hollow square")


WIDTH = 7.5  # inches: fits an A4 page with margins and an HTML column alike
RC = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs on every machine
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 9,
    "axes.linewidth": 0.8,
    "xtick.major.width": 0.8,
    "xtick.major.size": 3.5,
    "xtick.minor.width": 0.6,
    "xtick.minor.size": 2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "axes.edgecolor": "#333333",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "lines.dotted_pattern": [1.0, 1.65],
    "lines.scale_dashes": False,  # stripes and dots keep their size on a thick bar
    "legend.frameon": False,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "svg.hashsalt": "unionstate",  # fixed ids in SVG output: same data, same bytes
    "svg.fonttype": "path",
    "savefig.dpi": 150,
    "path.simplify": False,
    "text.parse_math": False,  # no mathtext: text from data/ is drawn as typed ($ is a dollar)
}


def theme() -> dict:
    """The house style as rcParams: seaborn's plain "ticks" style under RC."""
    import seaborn as sns

    return {**sns.axes_style("ticks"), **RC}


def apply() -> None:
    """Set the house style for what matplotlib adds after seaborn draws."""
    mpl.rcParams.update(theme())
