"""The `unionstate` command: check the data, build the report, add a poll, show what changed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .paths import project


def _root_option(f):
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Project folder (default: the nearest folder holding data/codebook.yaml).",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unionstate")
def main() -> None:
    """A reproducible report on Belarus–Russia integration, rebuilt from data/."""


@main.command("check")
@_root_option
def check_cmd(root: Path | None) -> None:
    """Validate data/ and references.bib against the codebook and the cross-table rules.

    Prints one line per problem (file, line, column, what is wrong, what is allowed) and
    exits 1 if there is any; changes nothing on disk.
    """
    from .validate import check

    proj = project(root)
    problems = check(proj)
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        click.echo(f"{len(problems)} problem(s) found; nothing was changed.", err=True)
        sys.exit(1)
    click.echo(f"data/ is valid: {proj.rel(proj.data)} and {proj.rel(proj.bib)} pass every rule.")


@main.command("build")
@_root_option
@click.option("--force", is_flag=True, help="Run everything even if no input changed.")
def build_cmd(root: Path | None, force: bool) -> None:
    """Run every cell of the report and write figures/, _build/report.ipynb and a preview.

    Where Quarto is installed it also renders report.html, report.pdf and report.docx.
    """
    from .build import QUARTO_HINT, BuildError, build
    from .problems import DataError
    from .qmd import QmdError

    proj = project(root)
    try:
        outcome = build(proj, say=click.echo, force=force)
    except (BuildError, QmdError) as exc:
        click.echo(f"Build failed: {exc}", err=True)
        sys.exit(1)
    except DataError as exc:
        click.echo(f"Build stopped: data/ does not validate:\n{exc}", err=True)
        sys.exit(1)
    for what in outcome.skipped:
        click.echo(f"Skipped {what}.")
    if outcome.changes:
        click.echo("The data changed since the last build; numbers in the report that moved:")
        click.echo(outcome.changes)
    click.echo(f"Wrote {len(outcome.written)} files" + (":" if outcome.written else "."))
    for path in outcome.written:
        click.echo(f"  {proj.rel(path)}")
    if not outcome.quarto:
        click.echo(QUARTO_HINT)


@main.command("diff")
@click.argument("rev", default="HEAD")
@_root_option
def diff_cmd(rev: str, root: Path | None) -> None:
    """List every number in the report that differs between the data at git revision REV
    (default: the last commit) and the data now, as: where, old value -> new value."""
    from .changes import RevisionError, diff, format_changes
    from .problems import DataError

    proj = project(root)
    try:
        click.echo(format_changes(diff(proj, rev)))
    except RevisionError as exc:
        click.echo(f"Cannot read data/ at revision '{rev}': {exc}", err=True)
        sys.exit(2)
    except DataError as exc:
        click.echo(f"The data does not validate:\n{exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
