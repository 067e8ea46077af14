"""Validation of data/: the codebook's column rules (through pandera) and the cross-table rules.

Every rule reports a Problem that names the file, the line, the column, what is wrong and
what is allowed. Nothing here raises on bad data and nothing writes to disk.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from . import bib
from .codebook import Column, Table
from .codebook import load as load_codebook
from .paths import Project
from .problems import DataError, Problem

__all__ = ["DataError", "Problem", "check"]

ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
DERIVATION = re.compile(r"(half of|about the same as) (\S+)")
# Exact shares of one question may exceed 100 by half a point per option (rounding).
ROUNDING_PER_OPTION = 0.5
# Qualifiers whose bounds are equal, strictly ordered, or open above.
POINT_QUALIFIERS = {"exact", "approximate", "fraction"}
RANGE_QUALIFIERS = {"range", "approximate_range"}
OPEN_QUALIFIERS = {"more_than"}


# ---------------------------------------------------------------- value parsers


def parse_date(text: str) -> tuple[date, date, str] | None:
    """First day, last day and precision ('year', 'month', 'day') of an ISO 8601 date."""
    m = ISO_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    year, month, day = (int(g) if g else None for g in m.groups())
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31), "year"
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return date(year, month, 1), date(year, month, last), "month"
        d = date(year, month, day)
        return d, d, "day"
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def parse_integer(text: str) -> int | None:
    return int(text) if isinstance(text, str) and re.fullmatch(r"\d+", text.strip()) else None


def split_ids(cell: str) -> list[str]:
    """The poll ids of a results.csv poll_id cell ('a;b' names two waves)."""
    return [p for p in str(cell).split(";") if p]


# ---------------------------------------------------------------- reading raw files


def read_raw(path: Path, rel: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A CSV as strings, empty cells as missing; or the problems that stop it being read."""
    if not path.is_file():
        return None, [Problem(rel, message="file is missing")]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, message=f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else "no header row"
        return None, [Problem(rel, message=f"is not a readable CSV table: {msg}")]
    frame = frame.apply(lambda s: s.str.strip()).replace("", pd.NA)
    return frame, []


def line_of(index: int) -> int:
    """The file line of a DataFrame row (header is line 1)."""
    return int(index) + 2


# ---------------------------------------------------------------- codebook rules (pandera)


def _checks(col: Column) -> list[pa.Check]:
    checks = []
    if col.pattern:
        pattern = re.compile(col.pattern)
        checks.append(pa.Check(lambda v, p=pattern: bool(p.fullmatch(v)), element_wise=True,
                               name="pattern"))
    if col.codes:
        allowed = set(col.codes)
        checks.append(pa.Check(lambda v, a=allowed: v in a, element_wise=True, name="codes"))
    if col.type == "number":
        checks.append(pa.Check(lambda v: parse_number(v) is not None, element_wise=True,
                               name="number"))
    if col.type == "integer":
        checks.append(pa.Check(lambda v: parse_integer(v) is not None, element_wise=True,
                               name="integer"))
    if col.type == "date":
        checks.append(pa.Check(lambda v: parse_date(v) is not None, element_wise=True,
                               name="date"))
    if col.range:
        lo, hi = col.range

        def within(v, lo=lo, hi=hi):
            x = parse_number(v)
            return x is None or ((lo is None or x >= lo) and (hi is None or x <= hi))

        checks.append(pa.Check(within, element_wise=True, name="range"))
    return checks


def schema(table: Table) -> pa.DataFrameSchema:
    """The pandera schema of one codebook table, over the raw string cells."""
    columns = {
        name: pa.Column(None, nullable=not col.required, unique=col.unique, checks=_checks(col))
        for name, col in table.columns.items()
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name=table.name)


def _describe(table: Table, column: str | None, check: str, value) -> str:
    col = table.columns.get(column) if column else None
    shown = f"'{value}'"
    if check == "column_in_dataframe":
        return f"column '{value}' is missing; required columns: {', '.join(table.columns)}"
    if check == "column_in_schema":
        return f"column '{value}' is not in the codebook; allowed columns: {', '.join(table.columns)}"
    if check == "not_nullable":
        return "is empty; a value is required here"
    if check == "field_uniqueness":
        return f"{shown} appears more than once; each value must be unique"
    if check == "codes" and col:
        return f"{shown} is not an allowed code; allowed: {', '.join(col.codes)}"
    if check == "pattern" and col:
        return f"{shown} is not of the allowed form (lower-case slug matching {col.pattern})"
    if check == "number":
        return f"{shown} is not a number; allowed: a decimal number such as 62 or 16.67"
    if check == "integer":
        return f"{shown} is not a whole number; allowed: a positive integer, or empty if unknown"
    if check == "date":
        return f"{shown} is not a valid date; allowed: ISO 8601 as YYYY, YYYY-MM or YYYY-MM-DD"
    if check == "range" and col and col.range:
        lo, hi = col.range
        return f"{shown} is out of range; allowed: {lo if lo is not None else '-∞'} to " \
               f"{hi if hi is not None else '∞'}"
    return f"{shown} fails check {check}"


def codebook_problems(frame: pd.DataFrame, table: Table, rel: str) -> list[Problem]:
    try:
        schema(table).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems = []
        for case in exc.failure_cases.itertuples(index=False):
            column = case.column if isinstance(case.column, str) else ""
            line = line_of(case.index) if pd.notna(case.index) else 0
            if case.check in ("column_in_dataframe", "column_in_schema"):
                column = str(case.failure_case)
            problems.append(Problem(rel, line, column,
                                    _describe(table, column, case.check, case.failure_case)))
        return problems
    return []


# ---------------------------------------------------------------- cross-table rules


def _cell(row: pd.Series, column: str):
    value = row.get(column, pd.NA)
    return None if pd.isna(value) else value


def source_problems(frame: pd.DataFrame, rel: str, keys: set[str]) -> list[Problem]:
    out = []
    for i, row in frame.iterrows():
        key = _cell(row, "source")
        if key and key not in keys:
            out.append(Problem(rel, line_of(i), "source",
                               f"'{key}' is not a key in references.bib; allowed: "
                               f"{', '.join(sorted(keys))}, or add an entry there"))
    return out


def date_order_problems(frame: pd.DataFrame, rel: str, start: str, end: str) -> list[Problem]:
    out = []
    for i, row in frame.iterrows():
        a, b = parse_date(_cell(row, start) or ""), parse_date(_cell(row, end) or "")
        if a and b and a[0] > b[1]:
            out.append(Problem(rel, line_of(i), end,
                               f"'{row[end]}' is before {start} '{row[start]}'; "
                               f"allowed: a date on or after {start}"))
    return out


def poll_link_problems(results: pd.DataFrame, polls: pd.DataFrame, rel: str) -> list[Problem]:
    known = dict(zip(polls["poll_id"], polls["country"], strict=False)) if polls is not None else {}
    out = []
    for i, row in results.iterrows():
        ids = split_ids(_cell(row, "poll_id") or "")
        missing = [p for p in ids if p not in known]
        for p in missing:
            out.append(Problem(rel, line_of(i), "poll_id",
                               f"'{p}' is not a poll_id in data/polls.csv; allowed: one of its "
                               "poll_ids, several joined by ';'"))
        countries = {known[p] for p in ids if p in known and pd.notna(known[p])}
        if len(countries) > 1:
            out.append(Problem(rel, line_of(i), "poll_id",
                               f"names polls of several countries ({', '.join(sorted(countries))}); "
                               "allowed: waves of polls in one country"))
    return out


def bounds_problems(results: pd.DataFrame, rel: str) -> list[Problem]:
    """Bounds agree with each other and with the qualifier; derived rows with their rule."""
    out = []
    by_id = results.set_index("result_id", drop=False) if "result_id" in results else None
    for i, row in results.iterrows():
        q = _cell(row, "qualifier")
        lo = parse_number(_cell(row, "share_low") or "")
        hi_text = _cell(row, "share_high")
        hi = parse_number(hi_text or "")
        line = line_of(i)

        def problem(column, message, line=line):
            out.append(Problem(rel, line, column, message))

        if lo is not None and hi is not None and lo > hi:
            problem("share_high", f"{hi:g} is below share_low {lo:g}; allowed: share_low ≤ share_high")
        if q in OPEN_QUALIFIERS and hi_text:
            problem("share_high", f"is '{hi_text}' for a figure qualified '{q}'; "
                                  "allowed: empty (no upper bound)")
        if q not in OPEN_QUALIFIERS and q and not hi_text:
            problem("share_high", f"is empty; allowed empty only for qualifier more_than, not '{q}'")
        if q in POINT_QUALIFIERS and lo is not None and hi is not None and lo != hi:
            problem("share_high", f"{hi:g} differs from share_low {lo:g}; a figure qualified '{q}' has "
                                  "share_low = share_high")
        if q in RANGE_QUALIFIERS and lo is not None and hi is not None and lo == hi:
            problem("share_high", f"equals share_low ({lo:g}) for a figure qualified '{q}'; "
                                  "allowed: share_low < share_high, or qualifier exact")
        if q == "fraction" and lo:
            n = round(100 / lo)
            if n < 2 or abs(100 / n - lo) > 0.005:
                problem("share_low", f"{lo:g} is not 100/N for a whole N; a fraction 'one in N' "
                                     "is stored as 100/N rounded to two decimals")
        derivation = _cell(row, "derivation")
        if q == "derived" and not derivation:
            problem("derivation", "is empty for a derived figure; allowed: 'half of RESULT_ID' "
                                  "or 'about the same as RESULT_ID'")
        if derivation and q != "derived":
            problem("derivation", f"is set but qualifier is '{q}'; allowed: only with qualifier derived")
        if q == "derived" and derivation:
            m = DERIVATION.fullmatch(derivation)
            parent = by_id.loc[m.group(2)] if m is not None and m.group(2) in by_id.index else None
            if m is None:
                continue  # the codebook pattern has already reported the form
            if parent is None or isinstance(parent, pd.DataFrame):
                problem("derivation", f"refers to '{m.group(2)}', which is not one result_id "
                                      "in data/results.csv; allowed: an existing result_id")
                continue
            factor = 0.5 if m.group(1) == "half of" else 1.0
            plo = parse_number(_cell(parent, "share_low") or "")
            phi_text = _cell(parent, "share_high")
            phi = parse_number(phi_text or "")
            want = (None if plo is None else plo * factor, None if phi is None else phi * factor)
            # Bounds that are not numbers are reported by the codebook rules, not here.
            readable = (lo is not None and (hi is not None or not hi_text)
                        and plo is not None and (phi is not None or not phi_text))
            if readable and (lo, hi) != want:
                fmt = "–".join(f"{x:g}" for x in want if x is not None)
                problem("share_low", f"bounds {lo:g}–{hi if hi is None else format(hi, 'g')} do not "
                                     f"follow from '{derivation}'; allowed: {fmt}")
            if _cell(parent, "poll_id") != _cell(row, "poll_id"):
                problem("derivation", f"refers to a figure of other polls ({parent['poll_id']}); "
                                      "allowed: a figure of the same polls")
    return out


def sum_problems(results: pd.DataFrame, rel: str) -> list[Problem]:
    """Exact shares of one poll's question do not add up past 100 (allowing for rounding)."""
    out = []
    exact = results[results["qualifier"] == "exact"].copy()
    exact["value"] = exact["share_low"].map(lambda v: parse_number(v or ""))
    exact = exact.dropna(subset=["value"])
    for (poll, question), group in exact.groupby(["poll_id", "question"], sort=True):
        total, limit = group["value"].sum(), 100 + ROUNDING_PER_OPTION * len(group)
        if total > limit:
            out.append(Problem(rel, line_of(group.index.max()), "share_low",
                               f"exact shares of poll '{poll}', question '{question}' add up to "
                               f"{total:g}%; allowed: at most {limit:g}% (100 plus rounding)"))
    return out


# ---------------------------------------------------------------- entry points


def problems_in(frames: Mapping[str, pd.DataFrame | None], tables: Mapping[str, Table],
                bib_keys: set[str] | None, names: Mapping[str, str]) -> list[Problem]:
    """Every problem in raw frames (None where unreadable); `names` gives each file's label.

    `bib_keys` is None where references.bib could not be read: sources are then not checked.
    """
    out: list[Problem] = []
    for name, frame in frames.items():
        if frame is not None:
            out += codebook_problems(frame, tables[name], names[name])
    # Cross-table rules need the columns they read; codebook rules have already reported
    # missing ones.
    usable = {n: f for n, f in frames.items()
              if f is not None and set(tables[n].columns) <= set(f.columns)}
    for name, frame in usable.items():
        if bib_keys is not None:
            out += source_problems(frame, names[name], bib_keys)
    if "polls" in usable:
        out += date_order_problems(usable["polls"], names["polls"], "fieldwork_start",
                                   "fieldwork_end")
    if "events" in usable:
        out += date_order_problems(usable["events"], names["events"], "date", "date_end")
    if "results" in usable:
        if "polls" in usable:
            out += poll_link_problems(usable["results"], usable["polls"], names["results"])
        out += bounds_problems(usable["results"], names["results"])
        out += sum_problems(usable["results"], names["results"])
    return sorted(set(out))


def read_all(proj: Project) -> tuple[dict[str, pd.DataFrame | None], list[Problem]]:
    """The raw tables of data/ and the problems met while reading them."""
    tables = load_codebook(proj.codebook)
    frames, problems = {}, []
    for name, table in tables.items():
        path = proj.data / table.file
        frames[name], found = read_raw(path, proj.rel(path))
        problems += found
    return frames, problems


BIB_ENTRY = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s{}()]*)", re.M)
BIB_NON_ENTRIES = {"comment", "string", "preamble"}


def bib_keys_or_problem(path: Path, rel: str) -> tuple[set[str] | None, list[Problem]]:
    """The keys of references.bib (None if it cannot be read) and its problems."""
    if not path.is_file():
        return None, [Problem(rel, message="file is missing")]
    try:
        text = path.read_text(encoding="utf-8")
        keys = set(bib.parse(text))
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's file
        return None, [Problem(rel, message=f"cannot be parsed as BibTeX: {exc}")]
    # The parser drops an entry it cannot read without raising: report each one it dropped.
    problems = []
    for m in BIB_ENTRY.finditer(text):
        kind, key = m.group(1).lower(), m.group(2)
        if kind not in BIB_NON_ENTRIES and key not in keys:
            name = f"'{key}'" if key else "without a key"
            problems.append(Problem(rel, text.count("\n", 0, m.start()) + 1, message=(
                f"cannot be parsed as BibTeX: the @{kind} entry {name} could not be read; "
                "allowed: @type{key, field = {value}, ...} with balanced braces")))
    return keys, problems


def check(proj: Project, frames: Mapping[str, pd.DataFrame | None] | None = None,
          bib_keys: set[str] | None = None) -> list[Problem]:
    """Every problem in the project's data/ and references.bib (or in frames given instead)."""
    tables = load_codebook(proj.codebook)
    problems: list[Problem] = []
    if frames is None:
        frames, problems = read_all(proj)
    if bib_keys is None:
        bib_keys, found = bib_keys_or_problem(proj.bib, proj.rel(proj.bib))
        problems += found
    names = {n: proj.rel(proj.data / t.file) for n, t in tables.items()}
    return sorted(set(problems) | set(problems_in(frames, tables, bib_keys, names)))
