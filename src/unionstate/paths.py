"""Where the project's files are: one place, so that tests can point the package at a copy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "UNIONSTATE_ROOT"
# Set in the kernel of a review build only: the revision its changes are counted from
# (unionstate.review).
REVIEW_ENV = "UNIONSTATE_REVIEW"
# Set in the kernel of a build only: the folder where every figure a cell shows is written
# (unionstate.kernel, Report.load).
FIGURES_ENV = "UNIONSTATE_FIGURES"


@dataclass(frozen=True)
class Project:
    """The files of one checkout of the report (or of a temporary copy of it)."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def bib(self) -> Path:
        return self.root / "references.bib"

    @property
    def codebook(self) -> Path:
        return self.data / "codebook.yaml"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @property
    def report(self) -> Path:
        return self.root / "report.qmd"

    @property
    def build(self) -> Path:
        return self.root / "_build"

    def rel(self, path: Path) -> str:
        """A path as a user in the project root would type it."""
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def find_root(start: Path | None = None) -> Path:
    """The project root: $UNIONSTATE_ROOT, else the nearest folder holding data/codebook.yaml."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "data" / "codebook.yaml").is_file():
            return folder
    return here


def project(root: Path | str | None = None) -> Project:
    return Project(Path(root).resolve() if root else find_root())
