"""What the package does with each qualifier and derivation code data/codebook.yaml lists. A code
without such a record (or a stance without a visual encoding in style.py) is *incomplete*:
`check` refuses rows using it, rather than a chart failing with a KeyError."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .codebook import load as load_codebook

# Bounds rules: how share_low and share_high of a figure relate.
EQUAL, ORDERED, OPEN, DERIVED = "equal", "ordered", "open", "derived"


@dataclass(frozen=True)
class QualifierRule:
    """What the package does with one qualifier code."""

    bounds: str  # EQUAL: low = high; ORDERED: low < high; OPEN: no high; DERIVED: by rule
    wording: str  # prose: {bounds} '62%' or '75–76%', {low} '40%', {one_in} 'one in six'
    summed: bool = False  # its shares count towards the 100% of a question
    fraction: bool = False  # stored as 100/N (one in N)


QUALIFIER_RULES: dict[str, QualifierRule] = {
    "exact": QualifierRule(EQUAL, "{bounds}", summed=True),
    "range": QualifierRule(ORDERED, "{bounds}"),
    "approximate_range": QualifierRule(ORDERED, "some {bounds}"),
    "approximate": QualifierRule(EQUAL, "about {bounds}"),
    "more_than": QualifierRule(OPEN, "more than {low}"),
    "fraction": QualifierRule(EQUAL, "{one_in}", fraction=True),
    "derived": QualifierRule(DERIVED, "{derived}"),
}


@dataclass(frozen=True)
class DerivationRule:
    """'half of RESULT_ID': bounds are `factor` times the parent's. `words` is how the report
    writes the figure, from the parent's own text: 'half of 23–24%', never the computed
    '11.5–12%', which would read as a measured range at a precision the source does not give."""

    factor: float
    words: str


DERIVATION_RULES: dict[str, DerivationRule] = {
    "half of": DerivationRule(0.5, "half of {parent}"),
    # Worded as the source words it: "around the same number".
    "about the same as": DerivationRule(1.0, "around {parent}"),
}
# The form of a derivation cell; data/codebook.yaml's pattern for results.derivation is this.
DERIVATION_PATTERN = f"({'|'.join(DERIVATION_RULES)}) [a-z0-9]+(-[a-z0-9]+)*"
DERIVATION = re.compile(f"({'|'.join(DERIVATION_RULES)}) (\\S+)")


def parse_derivation(cell: str) -> tuple[str, DerivationRule, str] | None:
    """(rule text, rule, parent result_id) of a derivation cell, or None."""
    m = DERIVATION.fullmatch(cell.strip()) if isinstance(cell, str) else None
    return (m.group(1), DERIVATION_RULES[m.group(1)], m.group(2)) if m else None


def incomplete(codebook: Path) -> dict[str, dict[str, str]]:
    """column -> {code: what its record lacks} for the codes of results.qualifier and
    results.stance in the codebook at `codebook`."""
    from . import style

    results = load_codebook(codebook)["results"].columns
    out: dict[str, dict[str, str]] = {"qualifier": {}, "stance": {}}
    for column, lacks in out.items():
        drawn = style.encoded(column)
        for code in results[column].codes:
            gaps = []
            if column == "qualifier" and code not in QUALIFIER_RULES:
                gaps.append("a rule in unionstate/codes.py (QUALIFIER_RULES)")
            if code not in drawn:
                gaps.append("a visual encoding in style.py")
            if gaps:
                lacks[code] = " and ".join(gaps)
    return out
