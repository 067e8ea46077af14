"""The loader: data/ as validated pandas DataFrames with proper dtypes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import pandas as pd

from .codebook import Table
from .codebook import load as load_codebook
from .parse import parse_date, split_ids
from .paths import Project, project
from .problems import CodebookError, DataError
from .store import reading
from .validate import check, read_all


@dataclass(frozen=True)
class Dataset:
    """The tables of data/ (one per codebook table), validated and typed."""

    polls: pd.DataFrame
    results: pd.DataFrame
    events: pd.DataFrame
    goals: pd.DataFrame
    elites: pd.DataFrame
    arguments: pd.DataFrame
    indicators: pd.DataFrame

    @cached_property
    def result_polls(self) -> pd.DataFrame:
        """One row per (result, poll) pair: how multi-wave figures link to each wave."""
        pairs = self.results[["result_id", "poll_id"]].copy()
        pairs["poll_id"] = pairs["poll_id"].map(split_ids)
        return pairs.explode("poll_id", ignore_index=True).astype("string")

    def result(self, result_id: str) -> pd.Series:
        match = self.results[self.results["result_id"] == result_id]
        if len(match) != 1:
            raise KeyError(f"no result '{result_id}' in data/results.csv")
        return match.iloc[0]


def _typed(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name, col in table.columns.items():
        raw = frame[name]
        if col.codes:
            out[name] = raw.astype(pd.CategoricalDtype(list(col.codes)))
        elif col.type in ("number", "integer"):
            out[name] = pd.to_numeric(raw).astype("Float64" if col.type == "number" else "Int64")
        else:
            out[name] = raw.astype("string")
        if col.type == "date":
            parsed = raw.map(lambda v: parse_date(v) or (None, None, None))
            out[f"{name}_first"], out[f"{name}_last"] = (pd.to_datetime(parsed.str[i]) for i in (0, 1))
            out[f"{name}_precision"] = parsed.str[2].astype("string")
    return out.reset_index(drop=True)


def load(proj: Project | None = None) -> Dataset:
    """Read, validate and type data/, or raise DataError listing every problem. The shared
    lock (store.reading) makes an add-poll running at the same time seen whole or not at all."""
    proj = proj or project()
    tables = load_codebook(proj.codebook)
    names = [f.name for f in fields(Dataset)]
    missing = [name for name in names if name not in tables]
    if missing:
        raise CodebookError(f"data/codebook.yaml, tables: has no table {', '.join(missing)}, "
                            "which the report reads; allowed: a codebook describing every table")
    with reading(proj):
        frames, problems = read_all(proj)
        problems += check(proj, frames)
    if problems:
        raise DataError(problems)
    return Dataset(**{name: _typed(frames[name], tables[name]) for name in names})
