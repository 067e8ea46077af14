"""`unionstate build`: the report made in four stages, each handing its result to the next.

    notebook   unionstate.qmd.to_notebook    report.qmd and its chapters as one notebook;
    execution  unionstate.kernel.run         that notebook run once, in one Jupyter kernel,
                                             which writes every figure to a staging folder;
    outputs    unionstate.outputs.write      figures/ replaced by that folder, whole, then
                                             _build/report.ipynb and the preview
                                             _build/report.html (each written whole);
    editions   unionstate.typeset.render     where `quarto` is on the PATH, Quarto typesets
                                             that notebook to report.html, report.pdf (Typst)
                                             and report.docx, executing nothing.

_build/state.json records the content hash of every stage's inputs and the SHA-256 of every
file the stages wrote. A stage runs again when its inputs changed, or when a file it wrote is
missing, altered or joined by another (junk in figures/, a `git checkout` of figures/, a half
file left by a kill). A failed build says what it changed: nothing before the swap of
figures/, and after it, which files hold the new build and which may not.

The review edition (`build --review REV`, unionstate.review) is the same stages with the review
profile, in _build/review/; it leaves figures/, state.json and the normal notebook alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .outputs import NOTEBOOK, PREVIEW, write_atomic
from .paths import Project
from .problems import UserError

UNCHANGED = "figures/ was left unchanged."
STATE = "state.json"
REPLACED = ("figures/ was replaced and already holds this build's charts; the notebook, the "
            "preview and the Quarto formats may be out of date: fix the problem and run "
            "`unionstate build` again.")


class BuildError(UserError):
    """A cell or Quarto failed; says what the build changed."""


class Interrupted(Exception):
    """The build was stopped (Ctrl-C); says what it left behind."""

    def __init__(self, figures_replaced: bool):
        super().__init__(
            "figures/ already holds the new charts, but the notebook, the preview and the "
            "Quarto formats may be out of date; run `unionstate build` again to finish."
            if figures_replaced else
            "figures/ was left as it was, and nothing else was finished; run "
            "`unionstate build` again.")


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    quarto: bool = False
    skipped: list[str] = field(default_factory=list)
    changes: str = ""
    # Charts whose plotted data (figures/<label>.csv) changed, with the file that holds their
    # hand-written caption and fig-alt: (label, file).
    redrawn: list[tuple[str, str]] = field(default_factory=list)
    staging: Path | None = None  # the kernel's figures, once they ran

    @property
    def figures_replaced(self) -> bool:
        """figures/ holds this build's charts: outputs.swap_in moved the staging folder there."""
        return self.staging is not None and not self.staging.exists()


# What each stage reads (Quarto's freeze would miss a changed CSV: quarto-dev/quarto-cli#6793).
# CITATION.cff and pyproject.toml give the front matter's authors and licence.
PACKAGE = "the unionstate package"
CONTENT_INPUTS = ["data/*", "references.bib", "report.qmd", "chapters/*.qmd", "CITATION.cff",
                  "pyproject.toml", PACKAGE]
TYPESET_INPUTS = [*CONTENT_INPUTS, "_quarto.yml"]
DATA_INPUTS = ["data/*", "references.bib"]


def inputs_hash(proj: Project, patterns: list[str]) -> str:
    """SHA-256 over the names and bytes of every file the patterns match."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent  # the one that runs, wherever the project lives
    for pattern in patterns:
        paths = ([*package.glob("*.py"), *package.glob("*.css"), *package.glob("*.html")]
                 if pattern == PACKAGE else proj.root.glob(pattern))
        for path in sorted(paths):
            if path.is_file():
                digest.update(f"{pattern}:{path.name}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def digests(proj: Project, paths: list[Path]) -> dict[str, str]:
    """{path relative to the root: SHA-256 of its bytes} of the files that exist."""
    return {proj.rel(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(paths) if p.is_file()}


def _still(proj: Project, recorded: dict[str, str] | None, folder: Path | None = None) -> bool:
    """Every file recorded is there with the bytes recorded, and `folder` holds no other."""
    others = folder.glob("*") if folder is not None else []
    return bool(recorded) and digests(proj, [*(proj.root / n for n in recorded), *others]) == recorded


def _state(proj: Project) -> dict:
    try:
        state = json.loads((proj.build / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(proj: Project, state: dict) -> None:
    write_atomic(proj.build / STATE, json.dumps(state, indent=1, sort_keys=True))


def build(proj: Project, say: Callable[[str], None] = print, force: bool = False,
          review: str | None = None) -> Outcome:
    """Run the stages whose inputs changed or whose outputs are not as recorded; all of them
    when forced. With `review`, make the review edition against that git revision instead.

    Raises BuildError (a cell or Quarto failed, or a file could not be written; the message
    says what was changed), kernel.DataInvalid (a cell found data/ or the revision unusable,
    before any figure was replaced) and Interrupted (Ctrl-C; says whether figures/ was
    replaced). The state is saved only after the stages it covers, so the next build redoes
    whatever was not finished."""
    outcome = Outcome()
    try:
        if review is not None:
            return _review(proj, say, review, outcome)
        return _build(proj, say, force, outcome)
    except KeyboardInterrupt:
        raise Interrupted(outcome.figures_replaced) from None
    except (OSError, BuildError) as exc:
        if isinstance(exc, OSError):
            where = f"{proj.rel(Path(exc.filename))}: " if exc.filename else ""
            exc = BuildError(f"could not write {where}{exc.strerror or exc}.")
            exc.exit_code = 2
        if outcome.figures_replaced:
            exc.args = (f"{exc}\n{REPLACED}",)
        raise exc from None


def _execute(proj: Project, say: Callable[[str], None], folder: Path, review: str | None = None):
    """The notebook and execution stages; on failure figures/ is untouched, and says so."""
    from . import kernel, qmd

    nb = qmd.to_notebook(proj.report, proj.root)
    try:
        return kernel.run(proj, nb, folder, say, review=review)
    except kernel.CellError as exc:
        raise BuildError(f"{exc}\n{UNCHANGED}") from None
    except kernel.DataInvalid as exc:
        exc.args = (f"{exc}\nNo figure was drawn; {UNCHANGED}",)
        raise


def _build(proj: Project, say: Callable[[str], None], force: bool, outcome: Outcome) -> Outcome:
    from . import outputs
    from .frontmatter import version

    outputs.recover(proj)
    before = _state(proj)
    now = {"content": inputs_hash(proj, CONTENT_INPUTS) + " " + version(proj),
           "typeset": inputs_hash(proj, TYPESET_INPUTS),
           "data": inputs_hash(proj, DATA_INPUTS)}
    kept = _still(proj, before.get("outputs"), proj.figures)
    if force or now["content"] != before.get("content") or not kept:
        if not force and now["content"] == before.get("content"):
            say("Outputs of the last build are missing or were changed since: running again.")
        say("Running report.qmd and its chapters in one kernel:")
        # Import the HTML exporter while the kernel works: the parent would otherwise sit idle.
        threading.Thread(target=lambda: __import__("nbconvert.exporters.html"), daemon=True).start()
        executed = _execute(proj, say, proj.build)
        outcome.staging = executed.staging
        outcome.written, outcome.redrawn = outputs.write(proj, executed)
        numbers = executed.numbers
        if before.get("numbers") is not None and now["data"] != before.get("data"):
            from .changes import compare, format_changes

            outcome.changes = format_changes(compare(before["numbers"], numbers))
        before = {}  # the typeset outputs, if any, are now older than the notebook
    else:
        numbers = before["numbers"]
        outcome.skipped.append("cells, figures and preview (no input changed, outputs as "
                               "recorded)")
    made = [*proj.figures.glob("*.*"), proj.build / NOTEBOOK, proj.build / PREVIEW]
    state = {**now, "numbers": numbers, "outputs": digests(proj, made),
             "typeset_done": before.get("typeset_done"),
             "typeset_outputs": before.get("typeset_outputs")}
    _write_state(proj, state)
    if shutil.which("quarto"):
        import nbformat

        from . import typeset

        if force or now["typeset"] != before.get("typeset_done") \
                or not _still(proj, before.get("typeset_outputs")):
            path = proj.build / NOTEBOOK
            outcome.written += _typeset(proj, say, nbformat.read(path, as_version=4), path,
                                        typeset.front_matter(proj))
            state.update(outputs=digests(proj, made), typeset_done=now["typeset"],
                         typeset_outputs=digests(proj, [proj.root / n for n in typeset.OUTPUTS]))
            _write_state(proj, state)
        else:
            outcome.skipped.append("Quarto formats (no input changed, outputs as recorded)")
        outcome.quarto = True
    return outcome


def _typeset(proj: Project, say: Callable[[str], None], nb, path: Path, meta: dict,
             **names) -> list[Path]:
    """The editions stage: the executed notebook written to `path` with the front matter
    `meta`, typeset by Quarto (the review edition names its own input and outputs)."""
    from . import typeset
    from .outputs import write_notebook

    write_notebook(nb, path, meta)
    try:
        return typeset.render(proj, path, meta, say, **names)
    except typeset.QuartoError as exc:
        raise BuildError(str(exc)) from None


def _review(proj: Project, say: Callable[[str], None], rev: str, outcome: Outcome) -> Outcome:
    """The review edition: the stages with the review profile (unionstate.review)."""
    from . import review

    review.require_quarto()
    meta = review.prepare(proj, rev)
    folder = review.review_dir(proj)
    say(f"Running report.qmd for the review edition (changes since {rev}) in one kernel:")
    executed = _execute(proj, say, folder, review=rev)
    shutil.rmtree(executed.staging, ignore_errors=True)  # the notebook holds every figure
    outcome.written = _typeset(proj, say, executed.nb, folder / review.NOTEBOOK, meta,
                               name=review.INPUT, outputs=(*review.OUTPUTS, review.HTML))
    missing = [name for name in review.OUTPUTS if proj.root / name not in outcome.written]
    if missing:
        raise BuildError(f"Quarto finished but did not write {', '.join(missing)}")
    outcome.quarto = True
    return outcome
