"""references.bib: the keys the data and the prose may cite, and the check that it reads whole:
bibtexparser (1.x) drops an entry it cannot read without raising, so `check_text` also reports
each `@type{` opening in the text the parser did not return (a stray `@misc{`, a missing comma)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser

from . import limits
from .problems import Problem

ENTRY = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s{}()]*)", re.M)
NON_ENTRIES = {"comment", "string", "preamble"}
# Anywhere in a text, not only at a line's start: bibtexparser reads `@string{...}` after
# an entry on the same line.
NON_ENTRY = re.compile(r"@[ \t]*(comment|string|preamble)[ \t]*[{(]", re.I)
# A LaTeX command in a field (Pandoc turns \href{javascript:...}{x} into a link, \ensuremath
# into math); the escapes of BibTeX's special characters (\$ \& \% \# \_ \{ \}) are text.
COMMAND = re.compile(r"\\(?![$&%#_{}])")
UNESCAPED_MATH = re.compile(r"(?<!\\)\$")
# A key the report can cite as Pandoc reads citations (@key) and print as text: a letter or
# digit, then letters, digits and _ : . - (no markup, no spaces).
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:.-]*", re.ASCII)
KEY_RULE = "a key of letters, digits and _ : . - (starting with a letter or digit)"
WEB_ADDRESS = re.compile(r"https?://[^\s<>\"{}\\^`|]+", re.I)


def parse(text: str) -> dict[str, dict[str, str]]:
    """Entries of a BibTeX text, keyed by citation key (a fresh copy each call)."""
    return {key: dict(fields) for key, fields in _parse(text)}


@lru_cache(maxsize=8)
def _parse(text: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """The parse, remembered by text: one command reads references.bib several times, and
    pyparsing takes about 60 ms each time."""
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    return tuple((e["ID"], e) for e in bibtexparser.loads(text, parser=parser).entries)


def entries(path: Path) -> dict[str, dict[str, str]]:
    return parse(Path(path).read_text(encoding="utf-8"))


def author_name(entry: dict | None, key: str) -> str:
    """The name a reader knows a work by: its first author's family name ('Shraibman'), or an
    organisation ('Levada Center'); the key where the entry has no author."""
    if not entry or not entry.get("author"):
        return key
    first = entry["author"].split(" and ")[0].strip()
    if first.startswith("{") and first.endswith("}"):
        return first.strip("{}")
    return first.split(",")[0].strip("{} ")


def check_text(text: str, rel: str) -> tuple[set[str] | None, list[Problem]]:
    """The keys of a BibTeX text (None if it cannot be parsed at all) and its problems."""
    try:
        found = set(parse(text))
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's file
        return None, [Problem(rel, message=f"cannot be parsed as BibTeX: {exc}", kind="bib")]
    problems = []
    for m in ENTRY.finditer(text):
        kind, key = m.group(1).lower(), m.group(2)
        if kind in NON_ENTRIES or (key in found and KEY.fullmatch(key)):
            continue
        name = f"'{key}'" if key else "without a key"
        message = (f"entry key '{key}' cannot be cited; allowed: {KEY_RULE}" if key in found else
                   f"cannot be parsed as BibTeX: the @{kind} entry {name} could not be read; "
                   "allowed: @type{key, field = {value}, ...} with balanced braces")
        problems.append(Problem(rel, text.count("\n", 0, m.start()) + 1, message=message, kind="bib"))
    return found, problems


def check_file(path: Path, rel: str) -> tuple[set[str] | None, list[Problem]]:
    """check_text of the file at `path`, or the problem that stops it being read."""
    if not Path(path).exists():
        return None, [Problem(rel, message="file is missing", kind="missing")]
    try:
        text = limits.read_bytes(path, limits.DATA_FILE_BYTES).decode("utf-8")
    except limits.LimitError as exc:
        return None, [Problem(rel, message=str(exc), kind="bib")]
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, message=f"cannot be parsed as BibTeX: not utf-8 text "
                                           f"({exc.reason} at byte {exc.start})", kind="bib")]
    return check_text(text, rel)


def single_entry_problems(text: str) -> list[str]:
    """What makes add-poll's `bibtex:` text more than one plain entry, whose text reaches every
    edition: @string, @preamble or @comment blocks, LaTeX commands or math, a url that is not one."""
    out = [f"holds a @{m.group(1).lower()} block; allowed: exactly one entry, such as "
           "@misc{key, author = {...}, title = {...}}, and nothing else" for m in NON_ENTRY.finditer(text)]
    try:
        found = parse(text)
    except Exception:  # noqa: BLE001 - reported by the caller's parse
        return out
    for key, fields in found.items():
        if not KEY.fullmatch(key):
            out.append(f"entry key '{key}' cannot be cited; allowed: {KEY_RULE}")
        for name, value in fields.items():
            if name in ("ID", "ENTRYTYPE") or not isinstance(value, str):
                continue
            if name == "url" and not WEB_ADDRESS.fullmatch(value.strip()):
                out.append(f"entry '{key}', field url: '{value}' is not a web address; allowed: "
                           "an address starting with http:// or https://")
            elif COMMAND.search(value) or UNESCAPED_MATH.search(value):
                out.append(f"entry '{key}', field {name}: holds a LaTeX command or math "
                           "('\\' or '$'); allowed: plain text, with \\$ \\& \\% \\# \\_ for "
                           "those characters and braces {...} to keep capitals")
    return out
