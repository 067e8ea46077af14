"""The codebook (data/codebook.yaml): columns, types and allowed codes of every table."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    type: str = "string"
    required: bool = False
    unique: bool = False
    pattern: str | None = None
    codes: dict[str, str] = field(default_factory=dict)
    range: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    file: str
    description: str
    order: tuple[str, ...]
    columns: dict[str, Column]


@cache
def _load(path: Path) -> dict[str, Table]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = {}
    for name, spec in raw["tables"].items():
        columns = {
            col: Column(
                name=col,
                description=c["description"],
                type=c.get("type", "string"),
                required=bool(c.get("required", False)),
                unique=bool(c.get("unique", False)),
                pattern=c.get("pattern"),
                codes={str(k): v for k, v in (c.get("codes") or {}).items()},
                range=tuple(c["range"]) if c.get("range") else None,
            )
            for col, c in spec["columns"].items()
        }
        tables[name] = Table(name, spec["file"], spec["description"], tuple(spec["order"]), columns)
    return tables


def load(path: Path) -> dict[str, Table]:
    """Tables of the codebook at `path`, keyed by table name (polls, results, events)."""
    return _load(Path(path).resolve())
