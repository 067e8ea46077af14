"""Text from data/ as Markdown that shows exactly the characters typed, and the type that
tells Markdown the package wrote (Md) from text (str).

No pandas here: the front matter of a no-op build escapes CITATION.cff's names too.
"""

from __future__ import annotations

import re


class Md(str):
    """A string that Jupyter (and so Quarto) shows as Markdown: inline citations, tables.

    An Md is Markdown the package wrote; text from data/ enters it only through `md`."""

    def _repr_markdown_(self) -> str:
        return str(self)


# The ASCII punctuation that starts or ends markup in Pandoc's Markdown (Quarto's) or in
# CommonMark (nbconvert's preview): emphasis, code, links and images, raw HTML and entities,
# citations, math, attributes and shortcodes ({{< >}}), footnotes, sub- and superscript,
# headings, fenced divs, table cells. Both read a backslash before any ASCII punctuation as
# that character ("Backslash escapes" in Pandoc's manual; CommonMark 0.31, section 2.4).
# The backslash itself is written as the character reference &#92; (read as "\" by both),
# because nbconvert's math reader takes an escaped backslash before a bracket, "\\(", as
# the start of math. A semicolon is escaped too: inside a citation's locator it would
# end the citation item ("[@a, x; y]"); so are quotes, and a hyphen or period before another,
# which Pandoc's smart typography would otherwise print as curly quotes, dashes and an
# ellipsis ("--", "...") in the Quarto editions: the reader sees the characters typed.
# Parentheses make no markup without a bracket before them.
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
