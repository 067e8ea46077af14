"""The house style of every chart: one colour-blind-safe palette, one set of marks per precision."""

from __future__ import annotations

import matplotlib as mpl

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common forms of
# colour blindness, and in greyscale by the marks that go with them.
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

STANCE_COLOURS = {
    "incorporation": OKABE_ITO["vermillion"],
    "merger": OKABE_ITO["orange"],
    "political_integration": OKABE_ITO["purple"],
    "closer_union": OKABE_ITO["sky"],
    "economic": OKABE_ITO["green"],
    "status_quo": OKABE_ITO["blue"],
}

STANCE_LABELS = {
    "incorporation": "Belarus joins Russia",
    "merger": "One state (joining or new union state)",
    "political_integration": "Deeper political integration (any form)",
    "closer_union": "Closer union of two states",
    "economic": "Economic cooperation only",
    "status_quo": "Keep relations as they are",
}

COUNTRY_COLOURS = {"BLR": OKABE_ITO["green"], "RUS": OKABE_ITO["vermillion"]}
COUNTRY_LABELS = {"BLR": "Belarusians", "RUS": "Russians"}
COUNTRY_NAMES = {"BLR": "Belarus", "RUS": "Russia"}

MODE_MARKERS = {
    "face-to-face": ("o", OKABE_ITO["blue"]),
    "telephone": ("^", OKABE_ITO["purple"]),
    "online": ("D", OKABE_ITO["orange"]),
    "focus groups": ("s", OKABE_ITO["green"]),
    "unknown": ("o", OKABE_ITO["grey"]),
}

EVENT_COLOURS = {
    "treaty": OKABE_ITO["blue"],
    "negotiation": OKABE_ITO["sky"],
    "election": OKABE_ITO["vermillion"],
    "summit": OKABE_ITO["purple"],
    "military": OKABE_ITO["black"],
    "sanctions": OKABE_ITO["orange"],
    "period": OKABE_ITO["grey"],
    "other": OKABE_ITO["green"],
}

# How each precision is drawn; the legend and the appendix table use the same words.
# marker: the mark at a point value; filled: solid or hollow; line: the interval's style.
QUALIFIER_MARKS = {
    "exact": {"marker": "o", "filled": True, "line": None},
    "range": {"marker": None, "filled": True, "line": "solid"},
    "approximate_range": {"marker": None, "filled": True, "line": "dashed"},
    "approximate": {"marker": "o", "filled": False, "line": None},
    "more_than": {"marker": ">", "filled": True, "line": "dotted"},
    "fraction": {"marker": "D", "filled": True, "line": None},
    "derived": {"marker": None, "filled": False, "line": "dashdot"},
}

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
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.hashsalt": "unionstate",  # fixed ids in SVG output: same data, same bytes
    "svg.fonttype": "path",
    "savefig.dpi": 150,
    "path.simplify": False,
}


def apply() -> None:
    """Set the house style for every chart drawn after it."""
    mpl.rcParams.update(RC)
