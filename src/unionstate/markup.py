"""Text from data/ as Markdown that shows exactly the characters typed, and the type that
tells Markdown the package wrote (Md) from text (str).

No pandas here: the front matter of a no-op build escapes CITATION.cff's names too.
"""

from __future__ import annotations

import re


class Md(str):
    """Markdown the package wrote, which Jupyter (and so Quarto) shows as Markdown; text from
    data/ enters it only through `md`."""

    def _repr_markdown_(self) -> str:
        return str(self)


# The ASCII punctuation that starts or ends markup in Pandoc's Markdown (Quarto's) or in
# CommonMark (nbconvert's preview); both read a backslash before any ASCII punctuation as that
# character (Pandoc's "Backslash escapes"; CommonMark 0.31, 2.4). The backslash itself is
# written &#92;, because nbconvert's math reader takes "\\(" as the start of math. A semicolon
# would end a citation item inside a locator ("[@a, x; y]"); quotes, "--" and "..." would
# become curly quotes, dashes and an ellipsis through Pandoc's smart typography. Parentheses
# make no markup without a bracket before them.
MARKUP = re.compile(r"[\\`*_{}\[\]<>#+!|~^$@&=:;'\"]|\.(?=\.)|-(?=-)")


def md(value) -> Md:
    """Text shown as exactly the characters typed, as Markdown: every markup character
    escaped, and whitespace (line breaks included) folded to single spaces, so that no
    value can open a block, a heading, a table row or a paragraph."""
    if isinstance(value, Md):
        raise TypeError(f"md() of Markdown would escape its markup: {value[:60]!r}")
    missing = value is None or (isinstance(value, float) and value != value) or \
        type(value).__name__ in ("NAType", "NaTType")  # None, NaN, pd.NA, pd.NaT
    text = "" if missing else str(value)
    text = MARKUP.sub(lambda m: "&#92;" if m.group() == "\\" else "\\" + m.group(),
                      " ".join(text.split()))
    # A list marker where the value begins a line ("1. ", "2) ", "- "): escaped too.
    return Md(re.sub(r"^(\d+[.)](?=\s|$)|-)", lambda m: m.group()[:-1] + "\\" + m.group()[-1],
                     text))
