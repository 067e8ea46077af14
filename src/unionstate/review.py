"""The review edition (`unionstate build --review [REV]`): the build with _quarto-review.yml,
writing only _build/review/ and report-review.*: numbered lines and a draft mark on every PDF
page, a draft abstract, and an appendix of every number changed since git revision REV. The
profile is merged into the front matter here: Quarto renders report-review.ipynb, no render
target, as a single file, without the profile (quarto.org/docs/projects/profiles.html).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from . import frontmatter, tables, typeset
from .changes import RevisionError, diff
from .paths import REVIEW_ENV, Project
from .problems import UserError
from .text import Md

PROFILE_FILE = "_quarto-review.yml"
OUTPUTS = ("report-review.pdf", "report-review.docx")
HTML = "report-review.html"
# What Quarto is given, copied to the project root; Quarto names its outputs after it.
INPUT = "report-review.ipynb"
NOTEBOOK = "report.ipynb"  # in _build/review/


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


def appendix(proj: Project) -> Md:
    """What chapter 09 prints: the review appendix in a review build, nothing otherwise. No
    `when-profile` condition around it: a single-file render has no active profile."""
    rev = os.environ.get(REVIEW_ENV)
    if not rev:
        return Md("")
    try:
        changes = diff(proj, rev)
    except RevisionError as exc:
        raise RevisionError(f"cannot read data/ at revision '{rev}': {exc}") from None
    # tables.reproducibility split into files (with their SHA-256) and software.
    rows = tables.reproducibility(proj)
    files, software = [], []
    for item, value in zip(rows["Item"], rows["Version or SHA-256"], strict=True):
        value = str(value).strip("`")
        (files if re.fullmatch(r"[0-9a-f]{64}", value) else software).append((item, value))
    versions = pd.DataFrame(software, columns=["Software", "Version"])
    versions.attrs["layout"] = tables.Layout({"Software": 40, "Version": 60})
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
        "```\n" + "\n".join(f"{digest}  {path}" for path, digest in files) + "\n```",
        tables.markdown(versions),
    ]))


def require_quarto() -> None:
    """ReviewError unless Quarto is on the PATH: the review edition exists only typeset."""
    if shutil.which("quarto") is None:
        raise ReviewError("No review edition made: the review edition is typeset by Quarto, "
                          "which is not installed. " + typeset.QUARTO_HINT)


def prepare(proj: Project, rev: str) -> dict:
    """Refuse a REV that names no commit; write the files the profile names into _build/review/;
    return the front matter: the normal edition's, with the profile's and the review's keys."""
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
    (out / "front-matter.yml").write_text(
        "# Written by `unionstate build --review`.\n"
        + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (out / "mark.typ").write_text(mark_typst(meta["version"], meta["date"]), encoding="utf-8")
    profile = typeset.project_options(proj, PROFILE_FILE)
    profile.pop("metadata-files", None)
    return typeset.front_matter(proj, computed=typeset.merge(profile, meta))
