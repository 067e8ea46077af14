"""Where the project's files are: one place, so that tests can point the package at a copy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "UNIONSTATE_ROOT"
# Set in a review build's kernel: the revision its changes are counted from.
REVIEW_ENV = "UNIONSTATE_REVIEW"
# Set in a build's kernel: the folder where every figure a cell shows is written.
FIGURES_ENV = "UNIONSTATE_FIGURES"


@dataclass(frozen=True)
class Project:
    """The files of one checkout of the report (or of a temporary copy of it)."""

    root: Path

    data = property(lambda self: self.root / "data")
    bib = property(lambda self: self.root / "references.bib")
    codebook = property(lambda self: self.data / "codebook.yaml")
    figures = property(lambda self: self.root / "figures")
    chapters = property(lambda self: self.root / "chapters")
    report = property(lambda self: self.root / "report.qmd")
    build = property(lambda self: self.root / "_build")

    def rel(self, path: Path) -> str:
        """A path as a user in the project root would type it."""
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def project(root: Path | str | None = None) -> Project:
    """The project at `root`, else at $UNIONSTATE_ROOT, else in the nearest folder up holding
    data/codebook.yaml (else the current one)."""
    root = root or os.environ.get(ROOT_ENV)
    if root:
        return Project(Path(root).resolve())
    here = Path.cwd().resolve()
    found = [f for f in (here, *here.parents) if (f / "data" / "codebook.yaml").is_file()]
    return Project(found[0] if found else here)
