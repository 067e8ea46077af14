"""What the report's cells call (`r = Report.load()`): the data, its numbers as text, the
figures and the tables."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from . import charts, figures, tables
from .bib import entries
from .data import Dataset, load
from .facts import Facts
from .paths import FIGURES_ENV, Project, project
from .text import Md, Shown, md
from .views import published_in_month, results_view, when

# label -> chart function; the chapters cite them by these labels.
CHARTS: dict[str, Callable[[Dataset], tuple[Figure, pd.DataFrame]]] = {
    "fig-timeline": charts.timeline,
    "fig-blr-opinion": lambda ds: charts.opinion(ds, "BLR"),
    "fig-rus-opinion": lambda ds: charts.opinion(ds, "RUS"),
    "fig-mirror": charts.mirror,
}
# label -> the results a chart draws, without drawing it (for the charts that draw results).
RESULT_ROWS: dict[str, Callable[[Dataset], pd.DataFrame]] = {
    "fig-blr-opinion": lambda ds: charts.opinion_rows(ds, "BLR"),
    "fig-rus-opinion": lambda ds: charts.opinion_rows(ds, "RUS"),
    "fig-mirror": charts.mirror_rows,
}


def _sources(rows: pd.DataFrame) -> set[str]:
    """The bib keys in the rows' `sources` (';'-separated) and `source` columns."""
    return {key for col in ("sources", "source") if col in rows
            for cell in rows[col].dropna() for key in str(cell).split(";")}


class _Lazy(Mapping):
    """A read-only mapping whose values are computed on first use (for inline expressions)."""

    def __init__(self, keys, compute):
        self._keys, self._compute = list(keys), cache(compute)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(f"{key!r}: not one of {', '.join(self._keys)}")
        return self._compute(key)

    def __iter__(self) -> Iterator:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass
class Report:
    ds: Dataset
    proj: Project
    figures_dir: Path | None = None
    _drawn: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: str | Path | None = None) -> Report:
        proj = project(root)
        staging = os.environ.get(FIGURES_ENV)  # in the kernel of `unionstate build`
        return cls(load(proj), proj, Path(staging) if staging else None)

    @cached_property
    def view(self) -> pd.DataFrame:
        return results_view(self.ds)

    @cached_property
    def shares(self) -> dict[str, Shown]:
        """result_id -> the figure at its source's precision ('62%', 'one in six'), shown in
        the report linked to its provenance."""
        return {r.result_id: Shown(r.text, r.result_id) for r in self.view.itertuples()}

    @cached_property
    def when(self) -> dict[str, Md]:
        """poll_id or result_id -> fieldwork in words ('June 2020')."""
        return {k: Md(v) for k, v in when(self.ds).items()}

    @cached_property
    def publication_months(self) -> Md:
        """The polls whose month may be that of their publication, in words, or 'none'."""
        return Md("; ".join(md(p) for p in published_in_month(self.ds, entries(self.proj.bib)))
                  or "none")

    @cached_property
    def facts(self) -> Facts:
        """Sentences about the dataset itself: `F.sample_sizes`..."""
        return Facts(self.ds, entries(self.proj.bib))

    @cached_property
    def captions(self) -> Mapping[str, Md]:
        """fig-/tbl- label -> the citations of every source behind it."""
        table_keys = {
            "tbl-goals": lambda: set(self.ds.goals["source"]),
            "tbl-elites": lambda: set(self.ds.elites["source"]),
            "tbl-arguments": lambda: {"shraibman", "melyantsou2021"},
            "tbl-indicators": lambda: _sources(self.view[self.view["stance"].isin(
                set(self.ds.indicators["stance"].astype(str)))]),
            "tbl-polls": lambda: set(self.ds.polls["source"]) | set(self.ds.results["source"]),
        }

        def compute(label: str) -> Md:
            keys = table_keys[label]() if label in table_keys else _sources(self._draw(label)[1])
            return Md(tables.sources(self.ds, keys))

        return _Lazy([*CHARTS, *table_keys], compute)

    def _draw(self, label: str) -> tuple[Figure, pd.DataFrame]:
        if label not in self._drawn:
            if label not in CHARTS:
                raise KeyError(f"no figure '{label}'; figures: {', '.join(CHARTS)}")
            self._drawn[label] = CHARTS[label](self.ds)
        return self._drawn[label]

    def figure(self, label: str):
        """A figure for display: the Figure itself, or in a build (`figures_dir` set) the files
        written there."""
        fig, rows = self._draw(label)
        if self.figures_dir is None:
            return fig
        return figures.save(fig, rows, label, self.figures_dir)

    def plotted(self, label: str) -> pd.DataFrame:
        """The exact rows a figure draws."""
        return self._draw(label)[1]

    def results_drawn(self, label: str) -> pd.DataFrame | None:
        """The results a figure draws (None for a chart of events), without drawing it."""
        if label in self._drawn:
            rows = self._drawn[label][1]
            return rows if "result_id" in rows else None
        return RESULT_ROWS[label](self.ds) if label in RESULT_ROWS else None

    def table(self, label: str) -> Md:
        builders = {"tbl-goals": tables.goals, "tbl-elites": tables.elites,
                    "tbl-arguments": tables.arguments, "tbl-indicators": tables.indicators,
                    "tbl-polls": tables.polls,
                    "tbl-qualifiers": lambda ds: tables.qualifiers(ds, self.proj)}
        if label not in builders:
            raise KeyError(f"no table '{label}'; tables: {', '.join(builders)}")
        return tables.markdown(builders[label](self.ds))
