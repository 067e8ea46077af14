"""The `unionstate` command: check the data, build the report, add a poll, show what changed.

A thin layer, as sqlite-utils' cli.py is: each command calls the package and turns the
package's errors (problems.UserError and its kinds, and OSError from the file system) into a
message and an exit status here, at the edge, and nowhere else. No command shows a traceback
for a user's mistake.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from .paths import ROOT_ENV, Project, project
from .problems import INTERRUPTED, UserError  # INTERRUPTED: the shell's status for Ctrl-C


def _say(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int) -> None:
    _say(message)
    sys.exit(code)


def _refuse(problems: list, written: str = "changed") -> None:
    for p in problems:
        _say(str(p))
    _fail(f"{len(problems)} problem(s) found; nothing was {written}.", 1)


def _change(proj: Project, dry_run: bool, wait: float, plan, label, what: str):
    """Plan a change under the lock on data/ (shared for a dry run) and, unless it is a dry
    run, write it as one transaction; problems, or an error while writing, end the command."""
    from .store import commit, reading, writing

    with (reading if dry_run else writing)(proj, say=_say, wait=wait):
        change = plan()
        if change.problems:
            _refuse(change.problems)
        if dry_run:
            return change
        try:
            commit(proj, change.texts, label=label(change))
        except OSError as exc:
            _fail(f"Could not write the {what}: {exc.strerror or exc}; it was rolled back: no "
                  "file was changed.", 1)
        except KeyboardInterrupt:
            _fail("Interrupted while writing: data/ holds the old files, or the new ones once "
                  "the next unionstate command has finished the change; never a mix.",
                  INTERRUPTED)
    return change


def _edge(f):
    """The edge of a command: the project its --root names (as `proj`), and the package's
    errors turned into a message and an exit status."""

    @functools.wraps(f)
    def wrapper(*args, root: Path | None, **kwargs):
        try:
            return f(*args, proj=_project(root), **kwargs)
        except UserError as exc:
            _fail(str(exc), exc.exit_code)
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            _fail(f"{where}{exc.strerror or exc}; nothing was changed.", 2)
        except KeyboardInterrupt:
            _fail("Interrupted; nothing was changed.", INTERRUPTED)

    return wrapper


def _project(root: Path | None) -> Project:
    """The project, or a message saying there is none here."""
    proj = project(root)
    if not proj.codebook.is_file():
        if root:
            where = f"in {root}"
        elif os.environ.get(ROOT_ENV):
            where = f"in {proj.root} (set by ${ROOT_ENV})"
        else:
            where = f"in {Path.cwd()} or any folder above it"
        _fail(f"No unionstate project {where}: there is no data/codebook.yaml. Run the "
              "command inside a checkout of the report, or give its folder with --root.", 2)
    return proj


_wait_option = click.option(
    "--wait", type=click.FloatRange(min=0), default=30.0, show_default=True,
    help="Seconds to wait for another unionstate command that is using data/.")
_root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder (default: the nearest folder holding data/codebook.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unionstate")
def main() -> None:
    """A reproducible report on Belarus–Russia integration, rebuilt from data/."""


@main.command("check", short_help="Validate data/ and references.bib; change nothing.")
@_root_option
@_wait_option
@_edge
def check_cmd(proj: Project, wait: float) -> None:
    """Validate data/ and references.bib against the codebook and the cross-table rules.

    Prints one line per problem (file, line, column, what is wrong, what is allowed) and
    exits 1 if there is any; changes nothing on disk.
    """
    from .store import reading
    from .validate import check

    with reading(proj, say=_say, wait=wait):
        problems = check(proj)
    if problems:
        _refuse(problems)
    click.echo(f"data/ is valid: {proj.rel(proj.data)} and {proj.rel(proj.bib)} pass every rule.")


@main.command("build", short_help="Build the report: figures/, preview, Quarto formats.")
@_root_option
@click.option("--force", is_flag=True, help="Run everything even if no input changed.")
@click.option("--review", metavar="[REV]", is_flag=False, flag_value="HEAD", default=None,
              help="Make the review edition instead: report-review.pdf and .docx with line "
                   "numbers, a draft mark and the numbers changed since git revision REV "
                   "(default HEAD). Needs Quarto.")
@_wait_option
@_edge
def build_cmd(proj: Project, force: bool, review: str | None, wait: float) -> None:
    """Run every cell of the report and write figures/, _build/report.ipynb and a preview.

    Where Quarto is installed it also renders report.html, report.pdf and report.docx.
    """
    from .build import BuildError, Interrupted, build
    from .kernel import DataInvalid
    from .problems import QmdError
    from .store import building
    from .typeset import QUARTO_HINT

    before = _digests([*proj.figures.glob("*.*"), *proj.build.glob("report.*"),
                       *(proj.root / f"report.{ext}" for ext in ("html", "pdf", "docx"))])
    if review is not None:
        from .review import require_quarto

        require_quarto()  # before anything is written
    edition = "No review edition made" if review is not None else "Build failed"
    try:
        # A build holds data/ alone: add-poll and a second build wait until it has finished.
        with building(proj, say=_say, wait=wait):
            outcome = build(proj, say=click.echo, force=force, review=review)
    except (BuildError, QmdError) as exc:
        _fail(f"{edition}: {exc}", getattr(exc, "exit_code", 1))
    except DataInvalid as exc:  # the first cell found data/ invalid, or the revision unreadable
        _fail(f"{edition if review is not None else 'Build stopped'}: {exc}", exc.exit_code)
    except Interrupted as exc:
        _fail("Review edition interrupted: data/ and figures/ were left as they were; the "
              "review files may be incomplete, so build it again." if review is not None
              else f"Build interrupted: {exc}", INTERRUPTED)
    for what in outcome.skipped:
        click.echo(f"Skipped {what}.")
    if outcome.changes:
        click.echo("The data changed since the last build; numbers in the report that moved:")
        click.echo(outcome.changes)
    if outcome.redrawn:
        click.echo("Charts whose plotted data changed; their caption and alt text (fig-alt) are "
                   "written by hand, so check that they still describe the chart:")
        for label, file in outcome.redrawn:
            click.echo(f"  {label} ({file})")
    _re_read_since_head(proj)
    after = _digests(outcome.written)
    changed = [p for p in outcome.written if before.get(p) != after.get(p)]
    same = len(outcome.written) - len(changed)
    click.echo(f"Changed {len(changed)} file{'' if len(changed) == 1 else 's'}"
               + (f" ({same} rewritten the same)" if same else "")
               + (":" if changed else "."))
    for path in changed:
        click.echo(f"  {proj.rel(path)}")
    if outcome.quarto:
        files = ", ".join(proj.rel(proj.root / f"report.{e}") for e in ("html", "pdf", "docx"))
        click.echo(f"The report: {files} (open report.html in a web browser).")
    else:
        click.echo(QUARTO_HINT)
        click.echo(f"The report: {proj.rel(proj.build / 'report.html')} (the preview without "
                   "Quarto; open it in a web browser).")


def _re_read_since_head(proj: Project) -> None:
    """After every build, while data/ differs from the last commit: the passages to re-read
    (as `unionstate diff` lists them), not only in the first build after the change."""
    from .changes import RevisionError, data_differs, diff, format_passages, passages

    if not data_differs(proj):  # no git, or data/ as committed: nothing to list
        return
    try:
        found = passages(proj, diff(proj, "HEAD"))
    except RevisionError:
        return  # no commit to compare with (a fresh `git init`), or no git
    if found:
        click.echo(format_passages(found, "the last commit; `unionstate diff` lists them"))


def _digests(paths) -> dict[Path, str]:
    """What the build's outputs hold (before it runs, and after), so that it lists only what
    it changed."""
    import hashlib

    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


@main.command("diff", short_help="List the report's numbers that changed since a revision.")
@click.argument("rev", default="HEAD")
@_root_option
@_wait_option
@_edge
def diff_cmd(rev: str, proj: Project, wait: float) -> None:
    """List every number the report shows that differs between the data at git revision REV
    (default: the last commit) and the data now, one line each: where it is shown (chapter
    file and line, chart or table), what it is, old -> new. Then the hand-written passages to
    re-read (sentences marked `<!-- re-read -->`, captions and alt text of changed charts)."""
    from .changes import RevisionError, diff, format_changes, format_passages, passages
    from .problems import DataError
    from .store import reading

    try:
        with reading(proj, say=_say, wait=wait):
            changes = diff(proj, rev)
    except RevisionError as exc:
        _fail(f"Cannot compare with revision '{rev}': {exc}", 2)
    except DataError as exc:
        _fail(f"The data now does not validate (see `unionstate check`):\n{exc}", 1)
    click.echo(format_changes(changes))
    text = format_passages(passages(proj, changes), f"revision {rev}")
    if text:
        click.echo("\n" + text)


@main.command("add-poll", short_help="Add one poll and its results from a YAML file.")
@click.argument("yaml_file", metavar="NEW.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Check the poll and print the rows, bib key and changelog line that would "
                   "be added; write nothing.")
@click.option("--replace", is_flag=True,
              help="Correct a poll already in data/: the file's poll takes the place of the "
                   "one with its poll_id (its results, checks and, where nothing else cites "
                   "it, its references.bib entry), as one change. Verify it again after.")
@_root_option
@_wait_option
@_edge
def add_poll_cmd(yaml_file: Path, dry_run: bool, replace: bool, proj: Project,
                 wait: float) -> None:
    """Add one poll (and its results) from a YAML file to data/, after checking it.

    The YAML holds the data/polls.csv fields at the top level, a `results:` list of
    data/results.csv fields (poll_id left out: it is the new poll; give "a;b" only for a
    figure that covers several waves including the new one, earliest first), and optionally
    `bibtex:`, one BibTeX entry to append to references.bib if the poll's source is new.
    Values are read as the exact text written (16.67 stays 16.67, 2021-03 stays a month);
    leave a field empty for a missing value. A full, commented example is in
    examples/new-poll.yaml. A short one:

    \b
        poll_id: example-2026-01
        country: BLR
        pollster: Example Polling Ltd
        fieldwork_start: 2026-01
        fieldwork_end: 2026-01
        population: Adults (example)
        mode: online
        sample_size: 1000
        source: example2026
        locator: Example locator
        results:
          - result_id: blr-example-2026-status-quo
            question: Preferred relations with Russia
            option: Two independent states
            stance: status_quo
            share_low: 62
            share_high: 62
            qualifier: exact
            source: example2026
            locator: Example locator
        bibtex: |
          @misc{example2026, author = {{Example Polling Ltd}}, title = {Example}}

    Every rule of `unionstate check` is applied to the data as it would be after the
    addition, plus: the poll_id is new, every key is a known column, and the source is in
    references.bib or defined by `bibtex:`. Any problem is listed (one per line, naming
    the YAML field, e.g. results[2].stance) and nothing is written: exit 1, or exit 2 if
    the file is not a readable YAML mapping. Otherwise data/polls.csv and data/results.csv
    are rewritten in canonical order, the entry is appended to references.bib and a line
    to data/CHANGELOG.md, as one transaction: all four files change, or none.

    The command holds data/ alone from before it reads it until after it has written: a
    second add-poll waits (--wait seconds, then gives up, changing nothing). An add-poll
    that is killed is finished or rolled back by the next unionstate command.
    """
    from .pollfile import YamlError, load_yaml

    try:  # read before the lock: a slow file (a pipe, a terminal) holds up no other command
        doc = load_yaml(yaml_file, str(yaml_file))
    except YamlError as exc:
        _fail(f"{exc}\nNothing was changed.", 2)
    from .addpoll import describe, plan  # pandas: not needed to refuse the file
    verb = "add-poll --replace" if replace else "add-poll"
    addition = _change(proj, dry_run, wait,
                       lambda: plan(proj, doc, str(yaml_file), replace),
                       lambda add: f"{verb} of '{add.poll_id}' ({yaml_file})", "addition")
    for line in describe(addition, proj, dry_run):
        click.echo(line)


@main.command("remove-poll", short_help="Withdraw one poll, its results and its checks.")
@click.argument("poll_id")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; write nothing.")
@_root_option
@_wait_option
@_edge
def remove_poll_cmd(poll_id: str, dry_run: bool, proj: Project, wait: float) -> None:
    """Remove poll POLL_ID from data/polls.csv, every result in data/results.csv that names
    it, its references.bib entry where nothing else (data/ or a chapter) cites it, and its
    checks (tests/verified.yaml, its cards in tests/notebooks/), with a line in
    data/CHANGELOG.md: one transaction under the lock on data/, all files or none. After
    `add-poll` then `remove-poll` of the same poll, data/*.csv and references.bib are
    byte for byte as before.
    """
    from .addpoll import plan_removal

    rem = _change(proj, dry_run, wait, lambda: plan_removal(proj, poll_id),
                  lambda rem: f"remove-poll of '{poll_id}'", "removal")
    would = "Dry run: would remove" if dry_run else "Removed"
    n = len(rem.results)
    click.echo(f"{would} poll '{poll_id}' and {n} result{'' if n == 1 else 's'}"
               + (f": {', '.join(rem.results)}" if n else "") + ".")
    if rem.bib_removed:
        click.echo(f"references.bib: {'would remove' if dry_run else 'removed'} entry "
                   f"{', '.join(rem.bib_removed)} (nothing else cites it).")
    for path in rem.texts:
        click.echo(f"  {'would rewrite' if dry_run else 'rewrote'} {proj.rel(path)}")
    click.echo(f"  {rem.changelog_line}")


@main.command("verify", short_help="Type a poll's figures again from the source; write its checks.")
@click.argument("poll_id")
@click.option("--entries", "entries_file", metavar="FILE.yaml",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Give the figures in a file instead of typing them at prompts "
                   "(poll_id: ..., figures: {result_id: \"57%\", ...}).")
@_root_option
@_wait_option
@_edge
def verify_cmd(poll_id: str, entries_file: Path | None, proj: Project, wait: float) -> None:
    """A second, blind entry of the figures of POLL_ID, as double data entry does it.

    For each figure the poll, question, option and locator are shown, never the value:
    type the figure as the source prints it ("57%", "75-76%", "about 30%", "some 43-48%",
    "more than 40%", "one in six", "half of <result_id>"). Where every entry agrees with
    data/results.csv, the checks that the nbval notebooks run for the poll are written
    (its cards in tests/notebooks/ and its entry in tests/verified.yaml) as one
    transaction; where one disagrees, it is named with both values and nothing is written.
    """
    from .problems import DataError
    from .report import Report
    from .store import commit, reading, writing
    from .verify import VerifyError, plan, precheck, read_entries

    try:
        if entries_file is not None:
            file_poll, answers = read_entries(entries_file, str(entries_file))
            if file_poll is not None and file_poll != poll_id:
                _fail(f"{entries_file}, poll_id: '{file_poll}' is not the poll given on the "
                      f"command line ('{poll_id}'); nothing was written.", 1)
            label = str(entries_file)
        else:
            with reading(proj, say=_say, wait=wait):
                report = Report.load(proj.root)
                asked = precheck(proj, report, poll_id)
            answers, label = {}, "your entry"
            click.echo(f"Poll {poll_id} ({report.when[poll_id]}): type each figure as the "
                       "source prints it.")
            for q in asked:
                click.echo(f"\n{q.result_id}\n  question: {q.question}\n  option:   {q.option}"
                           f"\n  where:    {q.source}, {q.locator}")
                answers[q.result_id] = click.prompt("  figure", type=str)
        with writing(proj, say=_say, wait=wait):
            v = plan(proj, Report.load(proj.root), poll_id, answers, label)
            if v.problems:
                _refuse(v.problems, "written")
            commit(proj, v.texts, label=f"verify of '{poll_id}'")
    except VerifyError as exc:
        _fail(f"{exc}\nNothing was written.", 2)
    except DataError as exc:
        _fail(f"data/ does not validate (see `unionstate check`):\n{exc}\nNothing was written.", 1)
    click.echo(f"Verified poll '{poll_id}': {v.figures} figure(s) agree with data/results.csv.")
    for path in v.texts:
        click.echo(f"  wrote {proj.rel(path)}")
    click.echo("Next: `uv run unionstate build`, re-read what it lists, then `uv run pytest`.")


if __name__ == "__main__":
    main()
