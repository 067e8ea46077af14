"""The house style of every chart, and the one place that says what a colour or a mark means.

The report's encoding, the same in every chart:

- **Colour means stance, and nothing else.** Each stance code of data/codebook.yaml
  (results.stance) has one colour from the Okabe & Ito palette, which stays distinguishable
  under the common forms of colour blindness. Countries, pollsters, survey modes and event
  kinds are never coloured: they are told apart by panels, rows and labels.
- **The mark means the precision of the source's figure.** Each qualifier code
  (results.qualifier) has one mark: a filled circle for a stated share, a hollow circle for
  an approximate one, a solid or dashed interval for a stated or approximate range, a
  triangle with a dotted open end for a lower bound, a filled cross for a fraction, a
  hollow diamond for a figure derived from another one. The same mark never means two things.
- **Black and grey carry no stance**: polls and events (which have none), the dotted
  connector between the waves of a figure given for several waves, and the key of the
  precision legend. A stance the codebook has and this file lacks is drawn grey (so the
  build does not crash); tests/test_style.py fails until it gets a record here.

Every stance and qualifier has one record below (colour or mark, and the legend's words),
keyed by the codes of data/codebook.yaml: charts, legends, captions' helper texts and the
appendix's precision table all read these records.
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
INK = OKABE_ITO["black"]  # marks with no stance: polls, events, legend keys
MUTED = "#666666"  # connectors and periods: no stance, drawn behind the figures


@dataclass(frozen=True)
class Stance:
    """How one stance code is drawn: its colour and its words in a legend."""

    code: str
    colour: str
    legend: str


@dataclass(frozen=True)
class Qualifier:
    """How one qualifier code is drawn.

    marker: the matplotlib marker at a point value (None for an interval);
    filled: solid or hollow marker; line: the interval's line style (None for a point);
    at_bounds: a marker at each bound (derived figures) rather than one at the value;
    open_end: a dotted line from the bound to the right (a lower bound);
    legend: the legend's words; drawn: the mark in words (the appendix's precision table).
    """

    code: str
    marker: str | None
    filled: bool
    line: str | None
    legend: str
    drawn: str
    at_bounds: bool = False
    open_end: bool = False


STANCES: dict[str, Stance] = {s.code: s for s in (
    Stance("incorporation", OKABE_ITO["vermillion"], "Belarus joins Russia"),
    Stance("merger", OKABE_ITO["orange"], "One state (joining Russia or a single new state)"),
    Stance("political_integration", OKABE_ITO["purple"],
           "Deeper political integration (any form)"),
    Stance("closer_union", OKABE_ITO["sky"], "Closer union of two states"),
    Stance("economic", OKABE_ITO["green"], "Economic cooperation only"),
    Stance("status_quo", OKABE_ITO["blue"], "Keep relations as they are"),
)}

QUALIFIERS: dict[str, Qualifier] = {q.code: q for q in (
    Qualifier("exact", "o", True, None, "stated share", "filled circle"),
    Qualifier("approximate", "o", False, None, "approximate share (\u201cabout\u201d)",
              "hollow circle"),
    Qualifier("range", None, True, "solid", "stated range", "solid interval with end ticks"),
    Qualifier("approximate_range", None, True, "dashed",
              "approximate range (\u201csome\u201d)", "dashed interval with end ticks"),
    Qualifier("more_than", ">", True, "dotted", "lower bound only (\u201cmore than\u201d)",
              "filled triangle with a dotted open end", open_end=True),
    Qualifier("fraction", "X", True, None, "stated as a fraction (\u201cone in six\u201d)",
              "filled cross"),
    Qualifier("derived", "D", False, None, "derived from another figure",
              "hollow diamond (one at each bound of a range), labelled with its rule",
              at_bounds=True),
)}

# Wording of the two publics and countries (not a colour: countries are panels and rows).
COUNTRY_LABELS = {"BLR": "Belarusians", "RUS": "Russians"}
COUNTRY_NAMES = {"BLR": "Belarus", "RUS": "Russia"}

JOIN_LEGEND = "one figure given for several waves"  # the dotted connector between waves
PERIOD_LEGEND = "span of the stated date (a year or a month)"


def encoded(column: str) -> set[str]:
    """The codes of results.`column` ("stance" or "qualifier") that have a record here.
    `unionstate check` refuses a row whose code is not among them (unionstate.codes), so a
    code the codebook gains is refused by check, not drawn, until it is given a record."""
    return set({"stance": STANCES, "qualifier": QUALIFIERS}.get(column, {}))


def stance(code: str) -> Stance:
    """The record of a stance code; grey, with the code as its words, if it has none yet."""
    return STANCES.get(code) or Stance(code, OKABE_ITO["grey"], code.replace("_", " "))


def qualifier(code: str) -> Qualifier:
    """The record of a qualifier code; a hollow grey square, if it has none yet."""
    return QUALIFIERS.get(code) or Qualifier(code, "s", False, None, code.replace("_", " "),
                                             "hollow square")


WIDTH = 7.5  # inches: fits an A4 page with margins and an HTML column alike
RC = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs on every machine
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "axes.facecolor": "white",
    "axes.edgecolor": "#333333",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "lines.dashed_pattern": [2.2, 1.4],  # dashes short enough to show on a short interval
    "lines.dotted_pattern": [1.0, 1.65],
    "legend.frameon": False,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "svg.hashsalt": "unionstate",  # fixed ids in SVG output: same data, same bytes
    "svg.fonttype": "path",
    "savefig.dpi": 150,
    "path.simplify": False,
}


def apply() -> None:
    """Set the house style for every chart drawn after it."""
    mpl.rcParams.update(RC)
