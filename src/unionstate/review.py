"""The review edition: `uv run unionstate build --review [REV]`.

Renders report-review.pdf and report-review.docx (and report-review.html) through the Quarto
profile `_quarto-review.yml` (quarto.org/docs/projects/profiles.html), which adds to the normal
edition:

- line numbers in the PDF (Typst `par.line` numbering) and a "Draft for review" mark with the
  version at the top of every PDF page, from `_build/review/mark.typ`;
- the computed front matter (unionstate.frontmatter) with a "Draft for review" abstract, from
  `_build/review/front-matter.yml` (the profile's `metadata-files`);
- an appendix listing every number that changed since git revision REV (the list of
  `unionstate diff REV`), then the checksums and package versions of the edition. Chapter 09
  calls `appendix()`, which prints nothing unless the environment names a review revision,
  so the normal edition and the preview never show it.

Without Quarto nothing is rendered: the command says how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from . import frontmatter, tables
from .paths import Project, project
from .text import Md

PROFILE = "review"
PROFILE_FILE = "_quarto-review.yml"
REVIEW_ENV = "UNIONSTATE_REVIEW"  # the revision the changes are counted from
OUTPUTS = ("report-review.pdf", "report-review.docx")


class ReviewError(Exception):
    """The review edition cannot be made (the message says why; nothing was rendered)."""


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
    return Md("\n\n".join([
        '::: {.content-visible when-profile="review"}',
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
        ":::",
    ]))


def appendix(proj: Project | None = None) -> Md:
    """What chapter 09 prints: the review appendix in a review build, nothing otherwise."""
    rev = os.environ.get(REVIEW_ENV)
    if not rev:
        return Md("")
    from .changes import diff

    proj = proj or project()
    return appendix_markdown(proj, rev, diff(proj, rev))


def prepare(proj: Project, rev: str) -> list[Path]:
    """Check REV and write the files the profile reads; return them."""
    from .changes import RevisionError, diff

    try:
        diff(proj, rev)
    except RevisionError as exc:
        raise ReviewError(f"cannot read data/ at revision '{rev}': {exc}") from exc
    meta = front_matter(proj, rev)
    out = review_dir(proj)
    out.mkdir(parents=True, exist_ok=True)
    fm = out / "front-matter.yml"
    fm.write_text("# Written by `unionstate build --review`.\n"
                  + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mark = out / "mark.typ"
    mark.write_text(mark_typst(meta["version"], meta["date"]), encoding="utf-8")
    return [fm, mark]


def render(proj: Project, rev: str, say: Callable[[str], None] = print) -> list[Path]:
    """Make the review edition with Quarto. Raises ReviewError (nothing rendered) when Quarto
    is missing or REV cannot be read."""
    if shutil.which("quarto") is None:
        from .build import QUARTO_HINT

        raise ReviewError("the review edition is typeset by Quarto, which is not installed. "
                          + QUARTO_HINT)
    prepare(proj, rev)
    jupyter_path = os.pathsep.join(p for p in (str(Path(sys.prefix) / "share" / "jupyter"),
                                               os.environ.get("JUPYTER_PATH", "")) if p)
    env = dict(os.environ, QUARTO_PYTHON=sys.executable, JUPYTER_PATH=jupyter_path,
               **{REVIEW_ENV: rev})
    say(f"Rendering the review edition (changes since {rev}) with Quarto's '{PROFILE}' profile")
    done = subprocess.run(["quarto", "render", proj.report.name, "--profile", PROFILE],
                          cwd=proj.root, env=env)
    if done.returncode != 0:
        raise ReviewError(f"quarto render --profile {PROFILE} failed (exit {done.returncode})")
    made = [proj.root / name for name in OUTPUTS]
    missing = [p.name for p in made if not p.exists()]
    if missing:
        raise ReviewError(f"Quarto finished but did not write {', '.join(missing)}")
    return made


def cli_review(proj: Project, rev: str, say: Callable[..., None]) -> int:
    """`unionstate build --review REV`: the exit status; messages instead of tracebacks."""
    from .problems import DataError

    try:
        made = render(proj, rev, say)
    except ReviewError as exc:
        say(f"No review edition made: {exc}", err=True)
        return 1
    except DataError as exc:
        say(f"No review edition made: data/ does not validate:\n{exc}", err=True)
        return 1
    say("Wrote " + ", ".join(proj.rel(p) for p in made))
    return 0
