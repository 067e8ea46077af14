"""The review edition: `uv run unionstate build --review [REV]`.

Makes report-review.pdf and report-review.docx (and report-review.html) at the project root,
adding to the normal edition:

- line numbers in the PDF (Typst `par.line` numbering) and a "Draft for review" mark with the
  version at the top of every PDF page, from `_build/review/mark.typ`;
- the computed front matter (unionstate.frontmatter) with a "Draft for review" abstract;
- an appendix listing every number that changed since git revision REV (the list of
  `unionstate diff REV`), then the checksums and package versions of the edition. Chapter 09
  calls `appendix()`, which prints nothing unless the kernel's environment names a review
  revision (UNIONSTATE_REVIEW), and only the review build sets it (kernel.kernel_env), so the
  normal edition and the preview never show it.

It is the build (unionstate.build) with the review profile, with its own files, so that it
never disturbs the normal build's figures/, _build/state.json or notebook:

1. `prepare` writes the two files the profile names into _build/review/;
2. one kernel run of report.qmd (unionstate.kernel) with UNIONSTATE_REVIEW=REV, its staging
   and connection files in _build/review/ (the staged figures are discarded: the notebook
   holds every figure it shows); chapter 09's `appendix()` reads data/ at REV there, once;
3. the executed notebook is saved as _build/review/report.ipynb, its first (raw) cell the
   front matter (`notebook_front_matter`): _quarto.yml's options, report.qmd's header, the
   profile's options on top, then the computed keys with the review's own (abstract,
   version), and `execute: enabled: false` last;
4. Quarto typesets a copy of it at the project root, `report-review.ipynb` (unionstate.typeset,
   no --execute: Quarto starts no kernel), removed afterwards; so `_build/review/mark.typ` and
   every other relative path resolve from the root, and the outputs are named after that copy.

Why our own merge of the profile: the copy is not one of the project's render targets, so
Quarto renders it as a single file, without _quarto.yml, and so without the project profile
`--profile review` would merge (quarto.org/docs/projects/profiles.html). The profile's
`metadata-files` is left out of the merge: it names _build/review/front-matter.yml, whose
keys step 3 writes into the front matter itself. _quarto-review.yml stays a valid Quarto
profile: with the two files under _build/review/ written (`prepare`), `UNIONSTATE_REVIEW=REV
quarto render report.qmd --profile review` would make the same edition, executing the report
in Quarto's kernel instead.

Without Quarto nothing is run or written: the command says how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import yaml

from . import frontmatter, tables
from .paths import REVIEW_ENV, Project, project
from .problems import UserError
from .text import Md

PROFILE_FILE = "_quarto-review.yml"
OUTPUTS = ("report-review.pdf", "report-review.docx")
HTML = "report-review.html"
# What Quarto is given, copied to the project root; Quarto names its outputs after it.
INPUT = "report-review.ipynb"
NOTEBOOK = "report.ipynb"  # in _build/review/
# Profile options not merged into the front matter (see the module docstring).
NOT_MERGED = ("metadata-files",)


class ReviewError(UserError):
    """The review edition cannot be made (the message says why; nothing was written)."""


def review_dir(proj: Project) -> Path:
    return proj.build / "review"


def mark_text(version: str, built: str) -> str:
    return f"Draft for review · version {version} · built {built}"


def mark_typst(version: str, built: str) -> str:
    """Typst set rules for the review PDF: numbered lines, and the mark atop every page."""
    text = mark_text(version, built).replace("\\", "\\\\").replace('"', '\\"')
    return (
        "// Written by `unionstate build --review`; included by _quarto-review.yml.\n"
        '#set par.line(numbering: "1")\n'
        f'#set page(header: align(right, text(size: 8pt, fill: rgb("#8b0000"), "{text}")))\n'
    )


def front_matter(proj: Project, rev: str) -> dict:
    meta = frontmatter.computed(proj)
    meta["abstract-title"] = "Draft for review"
    meta["abstract"] = (
        f"{mark_text(meta['version'], meta['date'])}; not for citation. Lines of the PDF are "
        f"numbered for comments. Every number that changed since version {rev} is listed in "
        "the appendix, section \"Changes since the version reviewed\".")
    return meta


def changes_table(changes: list[tuple[str, str, str]], rev: str) -> Md:
    """The change list as a pipe table (or one sentence when nothing changed)."""
    if not changes:
        return Md(f"No number in the report changed since version {rev}.")
    frame = pd.DataFrame(changes, columns=["Where", f"At {rev}", "Now"])
    frame.attrs["layout"] = tables.Layout({"Where": 30, f"At {rev}": 35, "Now": 35})
    return tables.markdown(frame)


def _edition(proj: Project) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """tables.reproducibility split into (file, SHA-256) and (software, version) pairs."""
    rows = tables.reproducibility(proj)
    files, software = [], []
    for item, value in zip(rows["Item"], rows["Version or SHA-256"], strict=True):
        value = str(value).strip("`")
        (files if re.fullmatch(r"[0-9a-f]{64}", value) else software).append((item, value))
    return files, software


def checksums(proj: Project) -> str:
    """`sha256sum` lines for every file the report is computed from."""
    return "\n".join(f"{digest}  {path}" for path, digest in _edition(proj)[0])


def versions(proj: Project) -> Md:
    frame = pd.DataFrame(_edition(proj)[1], columns=["Software", "Version"])
    frame.attrs["layout"] = tables.Layout({"Software": 40, "Version": 60})
    return tables.markdown(frame)


def appendix_markdown(proj: Project, rev: str, changes: list[tuple[str, str, str]]) -> Md:
    # No `when-profile` condition around it: a single-file render has no active profile, and
    # the appendix is already printed by review builds only (see `appendix`).
    return Md("\n\n".join([
        "## Changes since the version reviewed {#sec-review-changes}",
        f"Every number the report shows that differs between the data at version {rev} and the "
        "data of this edition (the list `uv run unionstate diff` prints): in the prose, in the "
        "latest readings, in each chart and in the poll inventory.",
        changes_table(changes, rev),
        "## Checksums and software of this edition {#sec-review-checksums}",
        "SHA-256 checksums of the files this edition is computed from (compare a copy's with "
        "the output of `sha256sum`), and the software that computed it; "
        "`docs/reproducing.md` explains how to rebuild it.",
        "```\n" + checksums(proj) + "\n```",
        versions(proj),
    ]))


def appendix(proj: Project | None = None) -> Md:
    """What chapter 09 prints: the review appendix in a review build, nothing otherwise."""
    rev = os.environ.get(REVIEW_ENV)
    if not rev:
        return Md("")
    from .changes import RevisionError, diff

    proj = proj or project()
    try:
        changes = diff(proj, rev)
    except RevisionError as exc:
        raise RevisionError(f"cannot read data/ at revision '{rev}': {exc}") from None
    return appendix_markdown(proj, rev, changes)


def require_quarto() -> None:
    """ReviewError unless Quarto is on the PATH: the review edition exists only typeset."""
    if shutil.which("quarto") is None:
        from .typeset import QUARTO_HINT

        raise ReviewError("No review edition made: the review edition is typeset by Quarto, "
                          "which is not installed. " + QUARTO_HINT)


def prepare(proj: Project, rev: str) -> Path:
    """Write the files the profile names into _build/review/; return that folder. A REV that
    names no commit is refused first, before any file is written or any cell runs (the
    kernel's `appendix` reads data/ at REV, and says what else is wrong with it)."""
    import subprocess

    try:
        known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                               cwd=proj.root, capture_output=True).returncode == 0
    except FileNotFoundError:
        raise ReviewError("No review edition made: git is not installed, and the review "
                          "edition lists the changes since a git revision.") from None
    if not known:
        raise ReviewError(f"No review edition made: '{rev}' is not a commit, branch or tag of "
                          "this repository; allowed: any revision `git log` shows, such as "
                          "HEAD~1 or a commit hash.")
    meta = front_matter(proj, rev)
    out = review_dir(proj)
    out.mkdir(parents=True, exist_ok=True)
    fm = out / "front-matter.yml"
    fm.write_text("# Written by `unionstate build --review`.\n"
                  + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mark = out / "mark.typ"
    mark.write_text(mark_typst(meta["version"], meta["date"]), encoding="utf-8")
    return out


def notebook_front_matter(proj: Project, rev: str) -> dict:
    """_quarto.yml and report.qmd's header, the profile's options on top, then the computed
    keys and the review's own (see the module docstring); execution stays off whatever the
    profile says (typeset.front_matter sets it last)."""
    from . import qmd, typeset

    profile = {k: v for k, v in typeset.project_options(proj, PROFILE_FILE).items()
               if k not in NOT_MERGED}
    # front_matter(p, rev) holds the computed keys of the normal edition and the review's own.
    return typeset.front_matter(proj, qmd.header(proj.report),
                                typeset.merge(profile, front_matter(proj, rev)))
