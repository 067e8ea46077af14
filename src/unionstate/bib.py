"""references.bib: the keys the data and the prose may cite, and the check that it reads whole.

bibtexparser (1.x) drops an entry it cannot read without raising, so `check_text` also finds
every `@type{` opening in the text and reports each one the parser did not return: a stray
`@misc{`, an unbalanced brace or a missing comma never passes silently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser

from .problems import Problem

ENTRY = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s{}()]*)", re.M)
NON_ENTRIES = {"comment", "string", "preamble"}


def parse(text: str) -> dict[str, dict[str, str]]:
    """Entries of a BibTeX text, keyed by citation key (a fresh copy each call)."""
    return {key: dict(fields) for key, fields in _parse(text)}


@lru_cache(maxsize=8)
def _parse(text: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """The parse itself, remembered by text: one command reads the same references.bib for
    check, the report and the preview, and pyparsing takes about 60 ms each time."""
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    return tuple((e["ID"], e) for e in bibtexparser.loads(text, parser=parser).entries)


def entries(path: Path) -> dict[str, dict[str, str]]:
    return parse(Path(path).read_text(encoding="utf-8"))


def keys(path: Path) -> set[str]:
    return set(entries(path))


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
        if kind not in NON_ENTRIES and key not in found:
            name = f"'{key}'" if key else "without a key"
            problems.append(Problem(rel, text.count("\n", 0, m.start()) + 1, kind="bib", message=(
                f"cannot be parsed as BibTeX: the @{kind} entry {name} could not be read; "
                "allowed: @type{key, field = {value}, ...} with balanced braces")))
    return found, problems


def check_file(path: Path, rel: str) -> tuple[set[str] | None, list[Problem]]:
    """check_text of the file at `path`, or the problem that stops it being read."""
    if not Path(path).is_file():
        return None, [Problem(rel, message="file is missing", kind="missing")]
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, message=f"cannot be parsed as BibTeX: not utf-8 text "
                                           f"({exc.reason} at byte {exc.start})", kind="bib")]
    return check_text(text, rel)
