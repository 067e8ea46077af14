"""Validation of data/: the codebook's column rules and the cross-table rules, each reporting
a Problem (file, line, column, what is wrong and what is allowed); nothing raises or writes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import pandas as pd

from . import bib, codes, limits
from .codebook import Column, Table
from .codebook import load as load_codebook
from .parse import parse_date, parse_integer, parse_number, shortest, split_ids
from .paths import Project
from .problems import Problem

# Exact shares of one question may exceed 100 by half a point per option (rounding).
ROUNDING_PER_OPTION = 0.5
# Characters no cell may hold: C0 and C1 controls (tab and line breaks included), DEL, and
# the Unicode line and paragraph separators, which break lines in some readers but not others.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Each typed column's reader (None where a cell cannot be read) and what is wrong otherwise.
READERS = {
    "number": (parse_number, "is not a number; allowed: a decimal number such as 62 or 16.67, "
                             "in ASCII digits with a point"),
    "integer": (parse_integer, "is not a positive whole number; allowed: a positive integer in "
                               "ASCII digits, or empty if unknown"),
    "date": (parse_date, "is not a valid date; allowed: ISO 8601 as YYYY, YYYY-MM or "
                         "YYYY-MM-DD, in ASCII digits"),
}
DATE_RANGES = {"polls": ("fieldwork_start", "fieldwork_end"), "events": ("date", "date_end")}


def read_raw(path: Path, rel: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A CSV's cells (see parse_csv), or the problems that stop it being read."""
    if not path.exists():
        return None, [Problem(rel, message="file is missing", kind="missing")]
    try:
        text = limits.read_bytes(path, limits.DATA_FILE_BYTES).decode("utf-8")
    except limits.LimitError as exc:
        message = str(exc)
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        message = f"cannot be read: {exc.strerror or exc}"
    else:
        return parse_csv(text.removeprefix("\ufeff"), rel)
    return None, [Problem(rel, message=message, kind="unreadable")]


def parse_csv(text: str, rel: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The cells of a CSV text, indexed by the file line each row starts on (the header is line
    1), so that a problem names the right line even where blank lines (skipped) come before."""

    def unreadable(what: str):
        return None, [Problem(rel, message=f"is not a readable CSV table: {what}",
                              kind="unreadable")]

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if cells:
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # Python's csv module: 131,072
            return unreadable(f"a value on line {reader.line_num} is longer than "
                              f"{csv.field_size_limit():,} characters; allowed: at most "
                              f"{limits.VALUE_CHARS:,} characters per value")
        return unreadable(f"{exc} (line {reader.line_num})")
    if not records:
        return unreadable("no header row")
    (_, header), rows = records[0], records[1:]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        return unreadable(f"column '{twice[0]}' appears twice in the header")
    for line, cells in rows:
        if len(cells) != len(header):
            return unreadable(f"Expected {len(header)} fields in line {line}, saw {len(cells)}")
    # Cells stripped of spaces, an empty one missing (pd.NA), built as plain lists: a pandas
    # apply over the columns costs more than the rest of reading.
    frame = pd.DataFrame([[c.strip(" ") or pd.NA for c in cells] for _, cells in rows],
                         columns=header, index=pd.Index([n for n, _ in rows], name="line"),
                         dtype=object)
    return frame, []


def _rules(col: Column) -> list[tuple[str, Callable[[str], object], Callable[[str], str]]]:
    """(kind, test, what is wrong and what is allowed) for a filled cell of `col`: text of limited
    length on one line, and its column's form, codes, type and range."""
    rules = [("length", lambda v: len(v) <= limits.VALUE_CHARS, limits.long_value),
             ("control", lambda v: not CONTROL.search(v), lambda v: (m := CONTROL.search(v)) and (
                 f"holds the control character U+{ord(m.group()):04X} at character {m.start() + 1}; "
                 "allowed: printable text on one line (no tab, line break or line separator)"))]
    if col.pattern:
        pattern = re.compile(col.pattern)
        rules.append(("pattern", pattern.fullmatch, lambda v: (
            f"'{v}' is not of the allowed form (lower-case slug matching {col.pattern})")))
    if col.codes:
        rules.append(("codes", lambda v: v in col.codes,
                      lambda v: f"'{v}' is not an allowed code; allowed: {', '.join(col.codes)}"))
    if col.type in READERS:
        reader, wrong = READERS[col.type]
        rules.append((col.type, lambda v: reader(v) is not None, lambda v: f"'{v}' {wrong}"))
    if col.type in ("number", "integer"):
        # One spelling per value, so that a file's bytes change only when a value does.
        rules.append(("shortest", lambda v: shortest(v) in (None, v), lambda v: (
            f"'{v}' is not written the one way data/ writes numbers; allowed: '{shortest(v)}' "
            "(no leading zeros, no trailing zeros after the point, no spaces)")))
    if col.range:
        lo, hi = col.range
        read = {"date": lambda v: (d := parse_date(v)) and d[0].year,
                "integer": parse_integer}.get(col.type, parse_number)
        ends = ("any year",) * 2 if col.type == "date" else ("-∞", "∞")
        low, high = (end if x is None else x for x, end in zip(col.range, ends, strict=True))
        allowed = (f"is outside the years allowed; allowed: a date from {low} to {high} (data/codebook.yaml)"
                   if col.type == "date" else f"is out of range; allowed: {low} to {high}")
        rules.append(("range", lambda v: (x := read(v)) is None or (
            (lo is None or x >= lo) and (hi is None or x <= hi)), lambda v: f"'{v}' {allowed}"))
    return rules


def empty_message(col: Column | None, missing: bool = False) -> str:
    """A required value that is not there: empty in a CSV cell, or a field left out of a
    YAML file (missing); names the allowed codes where the column has them."""
    allowed = f"; allowed: {', '.join(col.codes)}" if col is not None and col.codes else ""
    return f"is {'missing' if missing else 'empty'}; a value is required here{allowed}"


def codebook_problems(frame: pd.DataFrame, table: Table, rel: str) -> list[Problem]:
    """The codebook's rules: enough rows, every column there and no other, required cells
    filled, unique ones unique, and each filled cell within the rules of its column (_rules)."""
    out = [Problem(rel, 0, name, f"column '{name}' is missing; required columns: "
                                 f"{', '.join(table.columns)}", kind="column")
           for name in table.columns if name not in frame.columns]
    if len(frame) < table.min_rows:
        out.append(Problem(rel, kind="rows", message=f"has {len(frame)} data rows; allowed: at least "
                                                     f"{table.min_rows} (the report is drawn from them)"))
    for name in frame.columns:
        col = table.columns.get(name)
        if col is None:
            out.append(Problem(rel, 0, name, f"column '{name}' is not in the codebook; allowed "
                                             f"columns: {', '.join(table.columns)}", kind="column"))
            col = Column(name, "")  # its cells are still text
        twice = set(frame[name][frame[name].duplicated()]) if col.unique else set()
        rules = [*_rules(col), ("unique", lambda v, twice=twice: v not in twice,
                                lambda v: f"'{v}' appears more than once; each value must be unique")]
        for line, value in frame[name].items():
            if pd.isna(value):
                if col.required:
                    out.append(Problem(rel, int(line), name, empty_message(col), kind="empty"))
                continue
            out += [Problem(rel, int(line), name, message(value), kind=kind)
                    for kind, test, message in rules if not test(value)]
    return out


def _rows(frame: pd.DataFrame):
    """(line, row as a dict with None for an empty cell) of each row of a frame."""
    cells = frame.where(frame.notna(), None)
    return zip(frame.index, cells.to_dict("records"), strict=True)


def row_problems(frame: pd.DataFrame, name: str, table: Table, rel: str,
                 bib_keys: set[str] | None) -> list[Problem]:
    """Each row's source is a key of references.bib (unless it is unread), its date range
    (DATE_RANGES) does not end before it starts, and a poll's dates are not after today: a
    date after today is a typo ('2031' for '2021') that would otherwise become the latest
    reading. A year outside the codebook's window is reported by that rule alone."""
    start, end = DATE_RANGES.get(name, (None, None))
    today, out = date.today(), []
    last = {c: (table.columns[c].range or (None, None))[1] for c in (start, end) if c}
    for i, row in _rows(frame):
        if bib_keys is not None and (key := row.get("source")) and key not in bib_keys:
            out.append(Problem(rel, int(i), "source", f"'{key}' is not a key in references.bib; "
                               f"allowed: {', '.join(sorted(bib_keys))}, or add an entry there",
                               kind="source"))
        if start and (a := parse_date(row[start])) and (b := parse_date(row[end])) and a[0] > b[1]:
            out.append(Problem(rel, int(i), end, f"'{row[end]}' is before {start} '{row[start]}'; "
                               f"allowed: a date on or after {start}", kind="date_order"))
        out += [Problem(rel, int(i), c, f"'{row[c]}' is after today ({today:%Y-%m-%d}); allowed: "
                        "a date no later than today", kind="future")
                for c in last if name == "polls" and (d := parse_date(row[c])) and d[0] > today
                and (last[c] is None or d[0].year <= last[c])]
    return out


def poll_link_problems(results: pd.DataFrame, polls: pd.DataFrame, rel: str) -> list[Problem]:
    known = dict(zip(polls["poll_id"], polls["country"], strict=True))
    out = []
    for i, row in _rows(results):
        ids = split_ids(row["poll_id"] or "")
        out += [Problem(rel, int(i), "poll_id", f"'{p}' is not a poll_id in data/polls.csv; "
                                                "allowed: one of its poll_ids, several joined "
                                                "by ';'", kind="poll_link")
                for p in ids if p not in known]
        countries = {known[p] for p in ids if p in known and pd.notna(known[p])}
        if len(countries) > 1:
            out.append(Problem(rel, int(i), "poll_id",
                               f"names polls of several countries ({', '.join(sorted(countries))}); "
                               "allowed: waves of polls in one country", kind="poll_link"))
    return out


def bounds_problems(results: pd.DataFrame, rel: str) -> list[Problem]:
    """Bounds agree with each other, with the qualifier's rule and with a derivation's rule."""
    rows = [row for _, row in _rows(results)]
    return [Problem(rel, int(i), column, message, kind=kind)
            for i, row in _rows(results) for column, kind, message in _bounds(row, rows)]


def _bounds(row: dict, rows: list[dict]):
    """(column, kind, what is wrong and what is allowed) for each bounds rule a row breaks."""
    q, hi_text, derivation = row["qualifier"], row["share_high"], row["derivation"]
    rule = codes.QUALIFIER_RULES.get(q)
    lo, hi = parse_number(row["share_low"]), parse_number(hi_text)
    both = lo is not None and hi is not None
    if both and lo > hi:
        yield ("share_high", "bounds",
               f"{hi:g} is below share_low {lo:g}; allowed: share_low ≤ share_high")
    if rule is None:
        return  # an unknown code or one without a record: reported elsewhere
    if rule.bounds == codes.OPEN and hi_text:
        yield ("share_high", "bounds", f"is '{hi_text}' for a figure qualified '{q}'; "
                                       "allowed: empty (no upper bound)")
    if rule.bounds == codes.OPEN and lo == 100:  # above 100: out of range
        yield ("share_low", "bounds", f"{lo:g} leaves no share above it for a figure qualified "
                                      f"'{q}'; allowed: below 100")
    if rule.bounds != codes.OPEN and not hi_text:
        open_codes = [c for c, r in codes.QUALIFIER_RULES.items() if r.bounds == codes.OPEN]
        yield ("share_high", "bounds", f"is empty; allowed empty only for qualifier "
                                       f"{' or '.join(open_codes)}, not '{q}'")
    if rule.bounds == codes.EQUAL and both and lo < hi:
        yield ("share_high", "bounds", f"{hi:g} differs from share_low {lo:g}; a figure "
                                       f"qualified '{q}' has share_low = share_high")
    if rule.bounds == codes.ORDERED and both and lo == hi:
        yield ("share_high", "bounds", f"equals share_low ({lo:g}) for a figure qualified "
                                       f"'{q}'; allowed: share_low < share_high, or qualifier exact")
    if rule.fraction and lo is not None:
        n = round(100 / lo) if lo > 0 else 0
        if n < 2 or abs(100 / n - lo) > 0.005:
            yield ("share_low", "fraction", f"{lo:g} is not 100/N for a whole N of 2 or more; a "
                                            "fraction 'one in N' is stored as 100/N rounded to "
                                            "two decimals")
    derived = rule.bounds == codes.DERIVED
    if derived and not derivation:
        rule_words = " or ".join(f"'{r} RESULT_ID'" for r in codes.DERIVATION_RULES)
        yield ("derivation", "derivation", f"is empty for a derived figure; allowed: {rule_words}")
    if derivation and not derived:
        yield ("derivation", "derivation", f"is set but qualifier is '{q}'; allowed: only with "
                                           "qualifier derived")
    parsed = codes.parse_derivation(derivation) if derived else None
    if parsed is None:
        return  # not derived, or the codebook pattern has already reported the form
    _, drule, parent_id = parsed
    parents = [r for r in rows if r["result_id"] == parent_id]  # more than one: a duplicate
    if len(parents) != 1:
        yield ("derivation", "derivation", f"refers to '{parent_id}', which is not one result_id "
                                           "in data/results.csv; allowed: an existing result_id")
        return
    parent = parents[0]
    parent_rule = codes.QUALIFIER_RULES.get(parent["qualifier"])
    if parent_rule and parent_rule.bounds == codes.DERIVED:  # this very row included
        yield ("derivation", "derivation", f"refers to '{parent_id}', which is itself derived; "
                                           "allowed: a figure the source states (not derived)")
        return
    plo, phi_text = parse_number(parent["share_low"]), parent["share_high"]
    phi = parse_number(phi_text)
    want = [None if x is None else x * drule.factor for x in (plo, phi)]
    # Bounds that are not numbers are reported by the codebook rules, not here.
    readable = (lo is not None and (hi is not None or not hi_text)
                and plo is not None and (phi is not None or not phi_text))
    if readable and [lo, hi] != want:
        fmt = "–".join(f"{x:g}" for x in want if x is not None)
        yield ("share_low", "derivation", f"bounds {lo:g}–{hi if hi is None else format(hi, 'g')} "
                                          f"do not follow from '{derivation}'; allowed: {fmt}")
    if parent["poll_id"] != row["poll_id"]:
        yield ("derivation", "derivation", f"refers to a figure of other polls "
                                           f"({parent['poll_id']}); allowed: a figure of the same polls")


def sum_problems(results: pd.DataFrame, rel: str) -> list[Problem]:
    """The exact shares of one question do not add up past 100, allowing for rounding."""
    summed = [c for c, r in codes.QUALIFIER_RULES.items() if r.summed]
    exact = results[results["qualifier"].isin(summed)].assign(
        value=lambda f: f["share_low"].map(parse_number)).dropna(subset=["value"])
    out = []
    for (poll, question), group in exact.groupby(["poll_id", "question"]):
        total, limit = group["value"].sum(), 100 + ROUNDING_PER_OPTION * len(group)
        # A share out of range is reported as such; its sum would blame the others.
        if total > limit and group["value"].between(0, 100).all():
            out.append(Problem(rel, int(group.index.max()), "share_low",
                               f"exact shares of poll '{poll}', question '{question}' add up to "
                               f"{total:g}%; allowed: at most {limit:g}% (100 plus rounding)",
                               kind="sum"))
    return out


def record_problems(frame: pd.DataFrame, rel: str,
                    incomplete: dict[str, dict[str, str]]) -> list[Problem]:
    """Rows using a codebook code that has no complete record (see unionstate.codes)."""
    out = []
    for column, gaps in incomplete.items():
        if column not in frame.columns:
            continue
        complete = ", ".join(sorted(c for c in frame[column].dropna().unique() if c not in gaps))
        out += [Problem(rel, int(i), column, kind="record", message=(
            f"'{value}' is in data/codebook.yaml but the report cannot use it yet: it lacks "
            f"{gaps[value]}; allowed: a code with a complete record ({complete})"))
            for i, value in frame[column].dropna().items() if value in gaps]
    return out


def read_all(proj: Project) -> tuple[dict[str, pd.DataFrame | None], list[Problem]]:
    """The raw tables of data/ and the problems met while reading them."""
    frames, problems = {}, []
    for name, table in load_codebook(proj.codebook).items():
        path = proj.data / table.file
        frames[name], found = read_raw(path, proj.rel(path))
        problems += found
    return frames, problems


def check(proj: Project, frames: Mapping[str, pd.DataFrame | None] | None = None,
          bib_keys: set[str] | None = None) -> list[Problem]:
    """Every problem in the project's data/ and references.bib (or in frames given instead:
    None where a file is unreadable; `bib_keys` given instead of reading references.bib)."""
    tables = load_codebook(proj.codebook)
    out: list[Problem] = []
    if frames is None:
        frames, out = read_all(proj)
    if bib_keys is None:  # None again where references.bib cannot be read: sources unchecked
        bib_keys, found = bib.check_file(proj.bib, proj.rel(proj.bib))
        out += found
    names = {n: proj.rel(proj.data / t.file) for n, t in tables.items()}
    incomplete = codes.incomplete(proj.codebook)
    out += [p for n, f in frames.items() if f is not None
            for p in codebook_problems(f, tables[n], names[n])]
    # Cross-table rules need the columns they read (a missing one is reported above).
    usable = {n: f for n, f in frames.items()
              if f is not None and set(tables[n].columns) <= set(f.columns)}
    for name, frame in usable.items():
        out += row_problems(frame, name, tables[name], names[name], bib_keys)
        if name in ("results", "indicators"):
            out += record_problems(frame, names[name], incomplete)
    if "results" in usable:
        if "polls" in usable:
            out += poll_link_problems(usable["results"], usable["polls"], names["results"])
        out += bounds_problems(usable["results"], names["results"])
        out += sum_problems(usable["results"], names["results"])
    return sorted(set(out))
