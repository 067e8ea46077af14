"""Front matter a reader can cite, computed at build time from CITATION.cff, git, data/ and
pyproject.toml, never typed: `computed` for the YAML header, `statement` for the "About this
edition" section that chapter 09 prints."""

from __future__ import annotations

import csv
import re
import subprocess
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .bib import author_name, entries
from .markup import md
from .parse import MONTHS
from .paths import Project

if TYPE_CHECKING:
    from .text import Md

CITATION_FILE = "CITATION.cff"


class FrontMatterError(Exception):
    """CITATION.cff or report.qmd cannot give what the front matter needs."""


def authors(proj: Project) -> list[str]:
    """Author names from CITATION.cff: "Given Family" for a person, the name of an entity."""
    path = proj.root / CITATION_FILE
    try:
        cff = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FrontMatterError(f"{CITATION_FILE}: cannot be read ({exc})") from exc
    names = []
    for i, a in enumerate(cff.get("authors") or []):
        if not isinstance(a, dict):
            raise FrontMatterError(f"{CITATION_FILE}: authors[{i}] is not a mapping")
        if a.get("name"):
            names.append(str(a["name"]))
        elif a.get("family-names"):
            names.append(" ".join(str(p) for p in (a.get("given-names"), a.get("name-particle"),
                                                    a["family-names"], a.get("name-suffix")) if p))
        else:
            raise FrontMatterError(f"{CITATION_FILE}: authors[{i}] has neither `name` (an "
                                   "entity) nor `family-names` (a person)")
    if not names:
        raise FrontMatterError(f"{CITATION_FILE}: no authors listed")
    return names


def title(proj: Project) -> str:
    """The title in report.qmd's YAML header."""
    from .qmd import header

    found = header(proj.report).get("title")
    if not found:
        raise FrontMatterError(f"{proj.rel(proj.report)}: no `title` in the YAML header")
    return str(found)


def _git(proj: Project, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=proj.root, capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def version(proj: Project) -> str:
    """The short commit hash, "with uncommitted changes" if a tracked file differs (untracked
    files do not count, as for `git describe --dirty`: a build must not change its version)."""
    commit = _git(proj, "rev-parse", "--short", "HEAD")
    if commit is None:
        return "unknown (not a git checkout)"
    dirty = _git(proj, "status", "--porcelain", "--untracked-files=no")
    return f"{commit} with uncommitted changes" if dirty else commit


def data_date(proj: Project) -> str | None:
    """The latest date (YYYY-MM-DD) in data/CHANGELOG.md: when the data last changed."""
    path = proj.data / "CHANGELOG.md"
    if not path.is_file():
        return None
    found = re.findall(r"^\s*[-*]\s*(\d{4}-\d{2}-\d{2})\b", path.read_text(encoding="utf-8"), re.M)
    return max(found) if found else None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def latest_poll(polls: list[dict[str, str]]) -> str | None:
    """The month (or year) of the most recent poll, in words: its fieldwork_end, the date the
    source gives (for some polls perhaps a publication month)."""
    ends = [r["fieldwork_end"] for r in polls if r.get("fieldwork_end")]
    if not ends:
        return None
    year, *month = max(ends).split("-")
    return f"{MONTHS[int(month[0]) - 1]} {year}" if month else year


def provenance(proj: Project, polls: list[dict[str, str]], results: list[dict[str, str]]) -> str:
    """Where the poll figures come from: per work read (results.csv's source), how many
    figures, and whether it is the pollster's own publication (the poll's source) or not."""
    if not results:
        return "There are no poll figures yet."
    own = {p.get("poll_id"): p.get("source") for p in polls}
    try:
        works = entries(proj.bib)
    except OSError:
        works = {}
    first, second = Counter(), Counter()  # work read -> figures from the pollster's own, other
    for r in results:
        ids = [i for i in r.get("poll_id", "").split(";") if i]
        work = r.get("source") or "?"
        (first if ids and all(own.get(i) == work for i in ids) else second)[work] += 1

    def names(counts: Counter) -> str:
        return _join([md(author_name(works.get(k), k)) + (f" ({n})" if len(counts) > 1 else "")
                      for k, n in sorted(counts.items(), key=lambda kn: (-kn[1], kn[0]))])

    reported = (f"as {names(second)} report{'s' if len(second) == 1 else ''} them, not from "
                "the pollsters' own publications") if second else ""
    own_pub = f"from the pollster's own publication ({names(first)})" if first else ""
    if second and first:
        return (f"Of the {len(results)} poll figures, {second.total()} are taken {reported}, "
                f"and {first.total()} {own_pub}.")
    every = "The one poll figure is" if len(results) == 1 else f"All {len(results)} poll figures are"
    return f"{every} taken {reported if second else own_pub}."


def licence(proj: Project) -> str:
    lic = tomllib.loads((proj.root / "pyproject.toml").read_text())["project"].get("license", {})
    return lic.get("text") or lic.get("file") or "not stated" if isinstance(lic, dict) else str(lic)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def computed(proj: Project, today: date | None = None) -> dict:
    """The YAML front-matter keys computed at build time: authors, date, version, data dates,
    a suggested citation (Chicago author-date) and a data availability statement."""
    today = today or date.today()
    # Markdown, as Pandoc reads metadata: a name from CITATION.cff shows as typed.
    names = [str(md(n)) for n in authors(proj)]
    ver = version(proj)
    changed = data_date(proj)
    polls = _rows(proj.data / "polls.csv")
    results = _rows(proj.data / "results.csv")
    citation = (f"{_join(names)}. {today.year}. *{title(proj)}*. Version {ver}, built "
                f"{today.isoformat()}" + (f"; data as of {changed}" if changed else "") + ".")
    availability = (
        f"Every figure and table is computed from the files in `data/`: `polls.csv` "
        f"({len(polls)} polls), `results.csv` ({len(results)} reported figures), `events.csv`, "
        "the report's own summaries in `goals.csv`, `elites.csv`, `arguments.csv` and "
        "`indicators.csv`, the codebook `codebook.yaml` and the change log `CHANGELOG.md`; "
        f"`references.bib` lists every source. {provenance(proj, polls, results)} "
        "The project (data and code) is "
        f"released under the {licence(proj)} licence (`pyproject.toml`). To rebuild the "
        f"report from a checkout of version {ver.split()[0]}: `uv run unionstate check`, "
        "then `uv run unionstate build` "
        "(`docs/reproducing.md` explains how to check a copy)."
    )
    return {
        "author": [{"name": n} for n in names],
        "date": today.isoformat(),
        "version": ver,
        "data-date": changed or "not recorded",
        "data-latest-poll": latest_poll(polls) or "no poll",
        "citation-text": citation,
        "data-availability": availability,
    }


def statement(proj: Project, today: date | None = None) -> Md:
    """The front matter as Markdown paragraphs for the "About this edition" section."""
    meta = computed(proj, today)
    names = _join([a["name"] for a in meta["author"]])
    from .text import Md  # pandas: only when the section is printed, never in a no-op build

    return Md("\n\n".join([
        f"**Authors:** {names}. **Version:** {meta['version']}. **Built:** {meta['date']}. "
        f"**Data as of:** {meta['data-date']} (last change recorded in `data/CHANGELOG.md`; "
        f"the most recent poll in `data/` is dated {meta['data-latest-poll']} by its source).",
        f"**Suggested citation:** {meta['citation-text']}",
        f"**Data availability:** {meta['data-availability']}",
    ]))
