"""What a data update changes in the report: every number it shows, before and after
(`numbers`, `diff`), and the hand-written passages to re-read (`passages`)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .markup import Md
from .paths import REVIEW_ENV, Project
from .problems import CodebookError, DataError

if TYPE_CHECKING:  # the report (pandas, matplotlib) is loaded only where numbers are read,
    from .report import Report  # so that a build with unchanged data/ does not load it

T = TypeVar("T")

WIDTH = 88
ARROW = "\u2192"
RE_READ = re.compile(r"<!--\s*re-read\b.*?-->")
_USE = {
    "share": re.compile(r'\bS\[\s*"([^"]+)"\s*\]'),
    "figure": re.compile(r'\br\.figure\(\s*"([^"]+)"'),
    "table": re.compile(r'\br\.table\(\s*"([^"]+)"'),
}


def prose_files(proj: Project) -> list[Path]:
    return [p for p in [proj.report, *sorted(proj.chapters.glob("*.qmd"))] if p.is_file()]


def uses(proj: Project) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """(kind, key) -> every (file, line) of the prose that shows it (see _USE)."""
    out: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for path in prose_files(proj):
        rel = proj.rel(path)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for kind, rx in _USE.items():
                for key in dict.fromkeys(rx.findall(line)):
                    out.setdefault((kind, key), []).append((rel, n))
    return out


def _at(places: list[tuple[str, int]]) -> list[str]:
    return [f"{f}, line {n}" for f, n in places] or ["(shown in no chapter)"]


def numbers(report: Report, prose: Project | None = None) -> dict[str, str]:
    """Where each number is shown, in words -> the number as shown (see the docstring).
    `prose` is the project whose chapters say where (by default the report's own)."""
    from . import provenance
    from .report import CHARTS
    from .tables import polls as poll_table
    from .text import bounds_text
    from .views import latest

    used = uses(prose or report.proj)
    # Each figure as its provenance record names it (the record its panel shows).
    what = {rid: rec.what for rid, rec in provenance.records(report).items()}
    out: dict[str, str] = {}
    # Inline figures where the prose shows them, and nowhere else.
    for rid, text in report.shares.items():
        for file, n in used.get(("share", rid), []):
            out[f"{file}, line {n}: {what.get(rid, rid)}"] = str(text)
    for ind in report.ds.indicators.itertuples():
        row = latest(report.view, str(ind.country), str(ind.stance))
        shown = "no reading" if row is None else (
            f"{row['text']} ({row['organisation']}, {report.when[row['result_id']]})")
        for place in _at(used.get(("table", "tbl-indicators"), [])):
            out[f"{place}, table tbl-indicators: {ind.label} ({ind.country})"] = shown
    for label in CHARTS:
        rows = report.results_drawn(label)
        if rows is None:
            continue
        places = _at(used.get(("figure", label), []))
        for row in rows.itertuples():
            # The figure as the chart labels it, kept as precise as its source ("one in six"),
            # and where the mark stands when that is not the same words ("drawn at 16.67%").
            drawn = bounds_text(row.share_low, row.share_high)
            value = drawn if row.text == drawn else f"{row.text} (drawn at {drawn})"
            for place in places:
                out[f"{place}, chart {label}: {what.get(row.result_id, row.result_id)}"] = value
    places = _at(used.get(("table", "tbl-polls"), []))
    for row in poll_table(report.ds).itertuples():
        n = int(row.Figures)
        for place in places:
            out[f"{place}, table tbl-polls: poll {row.Poll}"] = \
                f"{n} figure{'' if n == 1 else 's'}"
    return out


def compare(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str, str]]:
    """(where, old, new) for every number that differs, appeared or went away."""
    keys = sorted(set(old) | set(new))
    return [(k, old.get(k, "(absent)"), new.get(k, "(absent)")) for k in keys
            if old.get(k) != new.get(k)]


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=WIDTH, subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)


def format_changes(changes: list[tuple[str, str, str]]) -> str:
    """One wrapped line per number shown: where, what, old -> new."""
    if not changes:
        return "No number in the report changes."
    lines = [f"Numbers the report shows that change ({len(changes)}), as old {ARROW} new:"]
    for where, old, new in changes:
        change = (f"new: {new}" if old == "(absent)" else f"no longer shown (was {old})"
                  if new == "(absent)" else f"{old} {ARROW} {new}")
        lines.append(_wrap(f"- {where}: {change}"))
    return "\n".join(lines)


@dataclass(frozen=True)
class Passage:
    file: str
    line: int
    why: str
    text: str


def _plain(line: str, limit: int = 70) -> str:
    """The start of a line of prose without Markdown or inline code, for a reader."""
    text = re.sub(r"^#\|\s*[\w-]+:\s*", "", RE_READ.sub("", line))
    text = re.sub(r"`\{python\}[^`]*`", "[number]", text)
    text = re.sub(r"\[@[^\]]*\]|\{#[^}]*\}|[*_`#>]|^\s*-\s+|^#\|\s*", "", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def passages(proj: Project, changes: list[tuple[str, str, str]]) -> list[Passage]:
    """The hand-written passages to re-read after `changes` (none if nothing changed)."""
    if not changes:
        return []
    charts = {m.group(1) for where, _, _ in changes
              if (m := re.search(r", chart (fig-[\w-]+):", where))}
    out = []
    for path in prose_files(proj):
        rel = proj.rel(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        out += [Passage(rel, n, "states a fact about the data", _plain(line))
                for n, line in enumerate(lines, start=1) if RE_READ.search(line)]
        for n, line in enumerate(lines, start=1):
            m = _USE["figure"].search(line)
            if m and m.group(1) in charts:
                # the cell's options above the call: its caption and alt text
                start = n - 1
                while start > 0 and lines[start - 1].startswith("#|"):
                    start -= 1
                for k in range(start, n - 1):
                    if re.match(r"#\|\s*(fig-cap|fig-alt)\s*:", lines[k]):
                        kind = "caption" if "fig-cap" in lines[k] else "alt text"
                        out.append(Passage(rel, k + 1, f"{kind} of {m.group(1)}",
                                           _plain(lines[k])))
    return out


def data_differs(proj: Project) -> bool:
    """Whether data/ or references.bib differ from the last commit; False where git cannot
    say (no git, not a repository, no commit)."""
    try:
        done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "data", "references.bib"],
                              cwd=proj.root, capture_output=True)
    except FileNotFoundError:
        return False
    return done.returncode == 1


def format_passages(found: list[Passage], since: str) -> str:
    if not found:
        return ""
    lines = [_wrap(f"Hand-written passages to re-read (no code rewrites them), as numbers "
                   f"changed since {since}:")]
    lines += [_wrap(f"- {p.file}, line {p.line} ({p.why}): {p.text}") for p in found]
    return "\n".join(lines)


class RevisionError(Exception):
    pass


def _at_revision(proj: Project, rev: str, read: Callable[[Report], T]) -> T:
    """read(the report of data/ and references.bib as they were at git revision `rev`), with
    today's package and codebook rules; RevisionError where that data cannot be read."""
    from .report import Report

    def git(*args: str) -> bytes:
        done = subprocess.run(["git", *args], cwd=proj.root, capture_output=True)
        if done.returncode != 0:
            raise RevisionError(done.stderr.decode(errors="replace").strip())
        return done.stdout

    try:
        git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except FileNotFoundError as exc:
        raise RevisionError("git is not installed") from exc
    except RevisionError:
        raise RevisionError("it is not a commit, branch or tag of this repository; allowed: "
                            "any revision `git log` shows, such as HEAD~1 or a commit hash") \
            from None
    names = git("ls-tree", "-r", "--name-only", rev, "--", "data", "references.bib").decode().split()
    if not names:
        raise RevisionError(f"revision '{rev}' has no data/ folder")
    with tempfile.TemporaryDirectory() as tmp:
        old = Project(Path(tmp))
        for name in names:
            target = old.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(git("show", f"{rev}:{name}"))
        if not old.codebook.is_file():
            raise RevisionError(f"revision '{rev}' has no data/codebook.yaml; it predates the "
                                "dataset")
        try:
            return read(Report.load(old.root))
        except CodebookError as exc:
            raise RevisionError(f"its codebook does not describe the report's tables "
                                f"(the revision is older than them):\n  {exc}") from None
        except DataError as exc:
            lines = [f"  {line}" for line in str(exc).splitlines()]
            more = [f"  ... and {len(lines) - 5} more"] if len(lines) > 5 else []
            raise RevisionError("its data does not pass today's rules, so its numbers cannot be "
                                "computed:\n" + "\n".join(lines[:5] + more)) from None


def diff(proj: Project, rev: str = "HEAD") -> list[tuple[str, str, str]]:
    """Every number of the report that differs between the data at `rev` and now: RevisionError
    where the data at `rev` cannot be read, DataError where the data now does not validate."""
    from .report import Report

    old = _at_revision(proj, rev, lambda report: numbers(report, prose=proj))
    return compare(old, numbers(Report.load(proj.root)))


def changed_figures(report, rev: str) -> dict[str, str]:
    """result_id -> how its figure changed since git revision `rev` ('New since REV.', 'Changed
    since REV (was 62%).', 'Its poll, wording or source changed since REV.'), where it did."""
    from . import provenance

    try:
        old = _at_revision(report.proj, rev, provenance.records)
    except RevisionError as exc:  # as review.appendix says it
        raise RevisionError(f"cannot read data/ at revision '{rev}': {exc}") from None
    out = {}
    for rid, rec in provenance.records(report).items():
        before = old.get(rid)
        if before is None:
            out[rid] = f"New since {rev}."
        elif before.figure != rec.figure:
            out[rid] = f"Changed since {rev} (was {before.figure})."
        elif before != rec:
            out[rid] = f"Its poll, wording or source changed since {rev}."
    return out


def provenance_appendix(report) -> Md:
    """The appendix list of every figure shown with its provenance; in the review edition, each
    figure changed since the reviewed revision is marked in its entry."""
    from . import provenance

    rev = os.environ.get(REVIEW_ENV)
    return provenance.appendix(report, uses(report.proj),
                               changed_figures(report, rev) if rev else None)
