"""Figures as the prose writes them, as precise as their source and no more ("62%", "about
30%", "more than 40%", "one in six")."""

from __future__ import annotations

import html
import re

import pandas as pd

from . import codes
from .markup import Md, md  # noqa: F401  (re-exported: text.Md, text.md)

ANCHOR = "prov-"  # a figure's entry in the appendix: #prov-<result_id> (unionstate.provenance)

EN_DASH = "\u2013"
NUMBER_WORDS = {
    2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
    9: "nine", 10: "ten", 12: "twelve", 20: "twenty",
}


def number(value: float) -> str:
    """A share without float noise: 62 -> '62', 11.5 -> '11.5', 16.67 -> '16.67'."""
    return f"{round(float(value), 2):g}"


def one_in(value: float) -> str:
    """'one in six' for 16.67: the fraction a 'fraction' row stores as 100/N."""
    n = round(100 / float(value))
    return f"one in {NUMBER_WORDS.get(n, str(n))}"


def bounds_text(low: float, high: float | None) -> str:
    if high is None or pd.isna(high) or float(high) == float(low):
        return f"{number(low)}%"
    return f"{number(low)}{EN_DASH}{number(high)}%"


def share_text(row: pd.Series, results: pd.DataFrame) -> str:
    """The figure of one results.csv row in the words its qualifier allows (its record in
    unionstate.codes); a derived row's parent is looked up in `results`."""
    q, low, high = row["qualifier"], row["share_low"], row["share_high"]
    if q not in codes.QUALIFIER_RULES:
        raise ValueError(f"{row['result_id']}: unknown qualifier '{q}'")
    wording = codes.QUALIFIER_RULES[q].wording
    derived = ""
    if "{derived}" in wording:
        _, rule, parent_id = codes.parse_derivation(row["derivation"])
        parent = results[results["result_id"] == parent_id].iloc[0]
        derived = rule.words.format(parent=share_text(parent, results))
    return wording.format(bounds=bounds_text(low, high), low=f"{number(low)}%",
                          one_in=one_in(low) if "{one_in}" in wording else "", derived=derived)


def shown(result_id: str, text: str) -> Md:
    """A figure as the prose and tables show it: `text` linked to the result's appendix entry,
    in a <span> naming the result (Pandoc keeps its attributes in HTML only)."""
    return Md(f'<span class="result" data-result="{html.escape(result_id, quote=True)}">'
              f"[{md(text)}](#{ANCHOR}{result_id})</span>")


# The markup `shown` writes, and the figure's text inside it.
SHOWN = re.compile(r'<span class="result" data-result="[^"]*">\[(.*?)\]\(#[^)]*\)</span>')


def unmarked(markdown: str) -> str:
    """Markdown with each figure's `shown` markup replaced by the figure's text."""
    return SHOWN.sub(r"\1", markdown)


class Shown(str):
    """A figure's text ('62%') that the report shows as `shown` markup; its str() is the text."""

    def __new__(cls, text: str, result_id: str | None = None):
        obj = super().__new__(cls, text)
        obj.result_id = result_id
        return obj

    def _repr_markdown_(self) -> str:
        """Its markup; without a result to name (a text made by hand), the text alone."""
        return str(shown(self.result_id, str(self)) if self.result_id else md(str(self)))
