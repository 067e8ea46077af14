"""Reading the cells of data/: numbers, whole numbers, dates and multi-wave poll ids. Only ASCII
digits count: Python's int() and float() also read '1_0', '١٠' or ' 1e3 '."""

from __future__ import annotations

import calendar
import re
from datetime import date

ISO_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
WHOLE = re.compile(r"[0-9]+", re.ASCII)
# Month names as the report writes them (not the locale's, which calendar.month_name gives).
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


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
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), "month"
        d = date(year, month, day)
        return d, d, "day"
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    """A decimal number written with ASCII digits ('62', '16.67', '-5'), else None."""
    return float(text) if isinstance(text, str) and DECIMAL.fullmatch(text.strip()) else None


def parse_integer(text: str) -> int | None:
    """A whole number written with ASCII digits ('1200', '0800'), else None."""
    return int(text) if isinstance(text, str) and WHOLE.fullmatch(text.strip()) else None


def shortest(text: str) -> str | None:
    """The one way data/ writes a number ('054' -> '54', '54.50' -> '54.5', '-0.0' -> '0');
    None if it is not one."""
    if parse_number(text) is None:
        return None
    digits = text.strip()
    whole, _, frac = digits.removeprefix("-").partition(".")
    out = (whole.lstrip("0") or "0") + ("." + frac.rstrip("0") if frac.rstrip("0") else "")
    return f"-{out}" if digits.startswith("-") and out != "0" else out


def split_ids(cell: str) -> list[str]:
    """The poll ids of a results.csv poll_id cell ('a;b' names two waves)."""
    return [p for p in str(cell).split(";") if p]


def yaml_error(exc) -> str:
    """What a YAML parser's error says, for a message that names the file first:
    'line 3, column 5: while parsing a block mapping: expected <block end>'."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = ": ".join(x for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
    return where + (what or " ".join(str(exc).split()))
