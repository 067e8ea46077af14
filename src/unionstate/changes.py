"""What a data update changes in the report: every number it shows, before and after.

`numbers(report)` lists each number the report renders, keyed by where it appears: the prose
text of every result (S[...]), the latest readings (L[...]), every figure each chart draws (its
label and, where the words differ, the bounds it is drawn at), and the figure count of every
poll in the inventory. `unionstate diff REV` compares the data at a
git revision with the working tree; the build prints the same comparison against its last run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from . import provenance
from .markup import Md
from .paths import REVIEW_ENV, Project
from .problems import CodebookError, DataError
from .report import CHARTS, Report
from .tables import polls as poll_table
from .text import bounds_text


def numbers(report: Report) -> dict[str, str]:
    out: dict[str, str] = {}
    for rid, text in report.shares.items():
        out[f"text {rid}"] = str(text)
    for ind, sentence in report.latest.items():
        out[f"latest reading {ind}"] = str(sentence)
    for label in CHARTS:
        rows = report.results_drawn(label)
        if rows is None:
            continue
        for row in rows.itertuples():
            # The figure as the chart labels it, kept as precise as its source ("one in six"),
            # and where the mark stands when that is not the same words ("drawn at 16.67%").
            drawn = bounds_text(row.share_low, row.share_high)
            out[f"{label} {row.result_id}"] = (drawn if row.text == drawn
                                               else f"{row.text} (drawn at {drawn})")
    for row in poll_table(report.ds).itertuples():
        out[f"tbl-polls figures of {row.Poll}"] = str(row.Figures)
    return out


def compare(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str, str]]:
    """(where, old, new) for every number that differs, appeared or went away."""
    keys = sorted(set(old) | set(new))
    return [(k, old.get(k, "(absent)"), new.get(k, "(absent)")) for k in keys
            if old.get(k) != new.get(k)]


def format_changes(changes: list[tuple[str, str, str]]) -> str:
    if not changes:
        return "No number in the report changes."
    width = max(len(k) for k, _, _ in changes)
    lines = [f"{'where':<{width}}  old -> new"]
    lines += [f"{k:<{width}}  {a} -> {b}" for k, a, b in changes]
    return "\n".join(lines)


class RevisionError(Exception):
    pass


def data_at(proj: Project, rev: str, dest: Path) -> Project:
    """A copy of data/ and references.bib as they were at git revision `rev`."""
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
    files = git("ls-tree", "-r", "--name-only", rev, "--", "data", "references.bib")
    names = files.decode().split()
    if not names:
        raise RevisionError(f"revision '{rev}' has no data/ folder")
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git("show", f"{rev}:{name}"))
    # Codebook rules of today apply: the data of then is read with the package of now.
    return Project(dest)


def _summary(exc: Exception, limit: int = 5) -> str:
    lines = str(exc).splitlines()
    more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(f"  {line}" for line in lines[:limit]) + more


def diff(proj: Project, rev: str = "HEAD") -> list[tuple[str, str, str]]:
    """Every number of the report that differs between the data at `rev` and now.

    RevisionError where the data at `rev` cannot be read by today's package (a revision from
    before a table existed, or whose data today's rules refuse); DataError where the data now
    does not validate.
    """
    with tempfile.TemporaryDirectory() as tmp:
        old_proj = data_at(proj, rev, Path(tmp))
        if not old_proj.codebook.is_file():
            raise RevisionError(f"revision '{rev}' has no data/codebook.yaml; it predates the "
                                "dataset")
        try:
            old = numbers(Report.load(old_proj.root))
        except CodebookError as exc:
            raise RevisionError(f"its codebook does not describe the report's tables "
                                f"(the revision is older than them):\n  {exc}") from None
        except DataError as exc:
            raise RevisionError(f"its data does not pass today's rules, so its numbers cannot "
                                f"be computed:\n{_summary(exc)}") from None
    return compare(old, numbers(Report.load(proj.root)))


def changed_figures(report, rev: str) -> dict[str, str]:
    """result_id -> how its figure changed since git revision `rev`, in words, for every
    figure whose record differs ('new since REV', 'was 60% at REV', 'its source or poll
    changed since REV'). Raises changes.RevisionError where the data at `rev` cannot be read."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            old = provenance.records(Report.load(data_at(report.proj, rev, Path(tmp)).root))
        except (CodebookError, DataError) as exc:
            raise RevisionError(f"the data at {rev} cannot be read: {exc}") from None
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
    """The appendix list of every figure shown with its provenance (provenance.appendix); in
    the review edition (the kernel's environment names the reviewed revision, as for
    review.appendix) each figure changed since that revision is marked in its entry."""
    rev = os.environ.get(REVIEW_ENV)
    return provenance.appendix(report, changed_figures(report, rev) if rev else None)
