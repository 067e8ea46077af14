"""references.bib: the keys the data and the prose may cite."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser


def parse(text: str) -> dict[str, dict[str, str]]:
    """Entries of a BibTeX text, keyed by citation key."""
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    return {e["ID"]: e for e in bibtexparser.loads(text, parser=parser).entries}


def entries(path: Path) -> dict[str, dict[str, str]]:
    return parse(Path(path).read_text(encoding="utf-8"))


def keys(path: Path) -> set[str]:
    return set(entries(path))
