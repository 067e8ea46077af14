"""The codebook (data/codebook.yaml): columns, types and allowed codes of every table; one that
does not read as the keys below allow raises CodebookError naming the key and what is allowed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from .parse import yaml_error
from .problems import CodebookError

TYPES = ("string", "number", "integer", "date")
COLUMN_KEYS = ("description", "type", "required", "unique", "pattern", "codes", "codes_from",
               "range")
TABLE_KEYS = ("file", "description", "order", "min_rows", "columns")
LABEL = "data/codebook.yaml"  # as messages name it


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    type: str = "string"
    required: bool = False
    unique: bool = False
    pattern: str | None = None
    codes: dict[str, str] = field(default_factory=dict)
    # [min, max] of a number; for a date, the window of years allowed.
    range: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    file: str
    order: tuple[str, ...]
    columns: dict[str, Column]
    min_rows: int = 0


# Columns the package reads by name: a codebook without them cannot describe this report.
NEEDED = {
    "polls": ("poll_id", "country", "fieldwork_start", "fieldwork_end", "source"),
    "results": ("result_id", "poll_id", "stance", "share_low", "share_high", "qualifier",
                "derivation", "source"),
}


def _fail(where: str, message: str):
    raise CodebookError(f"{LABEL}, {where}: {message}")


def _require(ok: object, where: str, message: str):
    if not ok:
        _fail(where, message)


def _column(name: str, c, where: str, codes_of: dict) -> Column:
    _require(isinstance(c, dict), where, "is not a mapping; allowed: a mapping of column keys")
    for key in c:
        _require(key in COLUMN_KEYS, f"{where}.{key}",
                 f"is not a column key; allowed: {', '.join(COLUMN_KEYS)}")
    _require(isinstance(c.get("description"), str), f"{where}.description", "is missing; allowed: a text")
    kind = c.get("type", "string")
    _require(kind in TYPES, f"{where}.type", f"{kind!r} is not a type; allowed: {', '.join(TYPES)}")
    for flag in ("required", "unique"):
        _require(isinstance(c.get(flag, False), bool), f"{where}.{flag}", "allowed: true or false")
    pattern = c.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            _fail(f"{where}.pattern", f"is not a regular expression ({exc})")
    codes = c.get("codes")
    if "codes_from" in c:
        ref = c["codes_from"]
        _require(ref in codes_of, f"{where}.codes_from", f"{ref!r} names no column with codes "
                 f"defined above it; allowed: {', '.join(codes_of) or 'none'}")
        codes = codes_of[ref]
    elif codes is not None:
        _require(isinstance(codes, dict) and codes, f"{where}.codes",
                 "allowed: a mapping of codes to their meaning")
        codes = {str(k): str(v) for k, v in codes.items()}
    rng = c.get("range")
    if rng is not None:
        _require(isinstance(rng, list) and len(rng) == 2, f"{where}.range",
                 "allowed: [min, max], null for no bound")
        for bound in rng:
            _require(bound is None or (isinstance(bound, int | float) and not isinstance(bound, bool)),
                     f"{where}.range", f"{bound!r} is not a number; allowed: a number or null")
        rng = tuple(rng)
    return Column(name, c["description"], kind, c.get("required", False), c.get("unique", False),
                  None if pattern is None else str(pattern), codes or {}, rng)


@cache
def _load(text: str) -> dict[str, Table]:
    """The tables of a codebook text, parsed once per text. libyaml (about ten times faster) where
    PyYAML has it; an error is reported as the pure-Python parser words it."""
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CodebookError(f"{LABEL}: is not readable YAML: {yaml_error(exc)}") from None
    _require(isinstance(raw, dict) and isinstance(raw.get("tables"), dict) and raw["tables"], "tables",
             "is missing or empty; allowed: a mapping of table names to tables")
    tables: dict[str, Table] = {}
    codes_of: dict[str, dict[str, str]] = {}
    for name, spec in raw["tables"].items():
        where = f"tables.{name}"
        _require(isinstance(spec, dict), where,
                 "is not a mapping; allowed: file, description, order, columns")
        for key in spec:
            _require(key in TABLE_KEYS, f"{where}.{key}",
                     f"is not a table key; allowed: {', '.join(TABLE_KEYS)}")
        _require(isinstance(spec.get("file"), str) and re.fullmatch(r"[\w.-]+\.csv", spec["file"]),
                 f"{where}.file", "allowed: a file name in data/ ending in .csv")
        _require(isinstance(spec.get("columns"), dict) and spec["columns"], f"{where}.columns",
                 "is missing or empty; allowed: a mapping of columns")
        columns = {}
        for col, c in spec["columns"].items():
            column = columns[str(col)] = _column(str(col), c, f"{where}.columns.{col}", codes_of)
            if column.codes:
                codes_of[f"{name}.{col}"] = column.codes
        order = spec.get("order") or []
        _require(isinstance(order, list) and all(k in columns for k in order), f"{where}.order",
                 f"allowed: a list of its columns ({', '.join(columns)})")
        min_rows = spec.get("min_rows", 0)
        _require(isinstance(min_rows, int) and not isinstance(min_rows, bool) and min_rows >= 0,
                 f"{where}.min_rows", "allowed: a whole number, 0 or more")
        tables[str(name)] = Table(str(name), spec["file"], tuple(order), columns, min_rows)
    for needed, cols in NEEDED.items():
        _require(needed in tables, "tables", f"has no table '{needed}'; the report needs polls and results")
        for col in cols:
            _require(col in tables[needed].columns, f"tables.{needed}.columns",
                     f"has no column '{col}', which the report reads; add it back")
    for col in ("stance", "qualifier"):
        _require(tables["results"].columns[col].codes, f"tables.results.columns.{col}.codes",
                 "is missing; allowed: a mapping of codes to their meaning")
    return tables


def load(path: Path) -> dict[str, Table]:
    """Tables of the codebook at `path`, keyed by table name."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodebookError(f"{LABEL}: file is missing; this folder is not a unionstate "
                            "project (or its codebook was removed)") from None
    except OSError as exc:
        raise CodebookError(f"{LABEL}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{LABEL}: is not UTF-8 text ({exc.reason} at byte "
                            f"{exc.start})") from None
    return _load(text)
