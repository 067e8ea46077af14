"""Citations and the reference list of the Quarto-free preview, made by Pandoc's citeproc, as
Quarto makes them: the Pandoc of `pypandoc-binary` is pinned to Quarto 1.7.34's (Pandoc 3.6.1),
and all citations go to it in one run, so that disambiguation, "et al." and the reference list
are decided over the whole document.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

# One rendered citation: <div id="cite-N"><p>...</p></div>, as Pandoc writes it to HTML.
_CITED = re.compile(r'<div id="cite-(\d+)">\s*<p>(.*?)</p>\s*</div>', re.S)
_REFS = re.compile(r'<div id="refs".*?>.*</div>\s*$', re.S)
# Options of _quarto.yml that change what citeproc prints, passed to Pandoc as metadata.
OPTIONS = ("lang", "csl", "link-citations", "citation-abbreviations")


class CiteprocError(RuntimeError):
    """Pandoc could not format the citations (its message says why)."""


@dataclass(frozen=True)
class Formatted:
    citations: dict[str, str]  # the citation as written ("[@a, para. 3]") -> its HTML
    references: str  # the reference list, a <div id="refs"> as Quarto's HTML has it


def format_citations(citations: list[str], bib: Path, options: dict | None = None,
                     root: Path | None = None) -> Formatted:
    """Each Pandoc citation group of `citations` as citeproc prints it in HTML, and the list of
    every work they cite. `options` are Quarto's (_quarto.yml: lang, csl, link-citations)."""
    import pypandoc

    bib = Path(bib).resolve()
    unique = list(dict.fromkeys(citations))
    source = "\n\n".join(f"::: {{#cite-{i}}}\n{c}\n:::" for i, c in enumerate(unique))
    source += "\n\n::: {#refs}\n:::\n"
    args = ["--citeproc", f"--bibliography={bib}", "--wrap=none"]
    for key, value in ((k, options[k]) for k in OPTIONS if (options or {}).get(k) is not None):
        if key in ("csl", "citation-abbreviations"):  # files, relative to the project
            value = (Path(root or bib.parent) / str(value)).resolve()
        args += ["-M", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    try:
        out = pypandoc.convert_text(source, "html", format="markdown", extra_args=args)
    except RuntimeError as exc:
        raise CiteprocError(f"Pandoc could not format the citations of {bib.name}: {exc}") from exc
    found = {int(i): _inert(text.strip()) for i, text in _CITED.findall(out)}
    refs = _REFS.search(out)
    return Formatted({c: found.get(i, _inert(html.escape(c))) for i, c in enumerate(unique)},
                     _inert(refs.group(0).strip()) if refs else "")


def _inert(fragment: str) -> str:
    """Pandoc's HTML with each ASCII punctuation mark of its text as a character reference: the
    preview puts it into Markdown, which would read a bracket or an asterisk from data/ as markup."""
    return _TEXT.sub(lambda m: m.group(0) if m.group(0).startswith(("<", "&"))
                     else _PUNCT.sub(lambda c: f"&#{ord(c.group())};", m.group(0)), fragment)


_TEXT = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|&")
_PUNCT = re.compile(r"[\\`*_{}\[\]#+!|~^$@=:-]")
