"""`unionstate build`: report.qmd and its chapters run once in one Jupyter kernel (kernel),
figures/, the notebook and the preview written whole (outputs), then typeset by Quarto where it
is installed (typeset). _build/state.json records each stage's input hash and the SHA-256 of
every file it wrote: a stage runs again when its inputs changed or its outputs are not as
recorded. A failed build says what it changed. `build --review` makes the review edition.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import kernel, outputs, typeset
from .changes import compare, format_changes
from .frontmatter import version
from .outputs import NOTEBOOK, PREVIEW, write_atomic, write_notebook
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
    # (label, file with its hand-written caption and fig-alt) of charts whose data changed
    redrawn: list[tuple[str, str]] = field(default_factory=list)
    staging: Path | None = None  # the kernel's figures, once they ran

    @property
    def figures_replaced(self) -> bool:  # outputs.swap_in moved the staging folder to figures/
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


def build(proj: Project, say: Callable[[str], None] = print, force: bool = False,
          review: str | None = None) -> Outcome:
    """Run the stages whose inputs changed or whose outputs are not as recorded (all if forced),
    or the review edition against git revision `review`; state saved after the stages it covers."""
    outcome = Outcome()
    try:
        if review is not None:
            return _review(proj, say, review, outcome)
        return _build(proj, say, force, outcome)
    except KeyboardInterrupt:
        raise Interrupted(outcome.figures_replaced) from None
    except (OSError, BuildError, typeset.QuartoError) as exc:
        if isinstance(exc, OSError):
            where = f"{proj.rel(Path(exc.filename))}: " if exc.filename else ""
            exc = BuildError(f"could not write {where}{exc.strerror or exc}.")
            exc.exit_code = 2
        elif isinstance(exc, typeset.QuartoError):  # Quarto failed, or _quarto.yml cannot be read
            exc = BuildError(str(exc))
        if outcome.figures_replaced:
            exc.args = (f"{exc}\n{REPLACED}",)
        raise exc from None


def _execute(proj: Project, say: Callable[[str], None], folder: Path, review: str | None = None):
    """The notebook and execution stages; on failure figures/ is untouched, and says so."""
    from . import qmd

    nb = qmd.to_notebook(proj.report, proj.root)
    try:
        return kernel.run(proj, nb, folder, say, review=review)
    except kernel.CellError as exc:
        raise BuildError(f"{exc}\n{UNCHANGED}") from None
    except kernel.DataInvalid as exc:
        exc.args = (f"{exc}\nNo figure was drawn; {UNCHANGED}",)
        raise


def _build(proj: Project, say: Callable[[str], None], force: bool, outcome: Outcome) -> Outcome:
    outputs.recover(proj)
    try:
        before = json.loads((proj.build / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    before = before if isinstance(before, dict) else {}
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
    write_atomic(proj.build / STATE, json.dumps(state, indent=1, sort_keys=True))
    if shutil.which("quarto"):
        import nbformat

        if force or now["typeset"] != before.get("typeset_done") \
                or not _still(proj, before.get("typeset_outputs")):
            path, meta = proj.build / NOTEBOOK, typeset.front_matter(proj)
            write_notebook(nbformat.read(path, as_version=4), path, meta)
            outcome.written += typeset.render(proj, path, meta, say)
            state.update(outputs=digests(proj, made), typeset_done=now["typeset"],
                         typeset_outputs=digests(proj, [proj.root / n for n in typeset.OUTPUTS]))
            write_atomic(proj.build / STATE, json.dumps(state, indent=1, sort_keys=True))
        else:
            outcome.skipped.append("Quarto formats (no input changed, outputs as recorded)")
        outcome.quarto = True
    return outcome


def _review(proj: Project, say: Callable[[str], None], rev: str, outcome: Outcome) -> Outcome:
    """The review edition: the stages with the review profile (unionstate.review)."""
    from . import review

    review.require_quarto()
    meta = review.prepare(proj, rev)
    folder = review.review_dir(proj)
    say(f"Running report.qmd for the review edition (changes since {rev}) in one kernel:")
    executed = _execute(proj, say, folder, review=rev)
    shutil.rmtree(executed.staging, ignore_errors=True)  # the notebook holds every figure
    write_notebook(executed.nb, folder / review.NOTEBOOK, meta)
    outcome.written = typeset.render(proj, folder / review.NOTEBOOK, meta, say, name=review.INPUT,
                                     outputs=(*review.OUTPUTS, review.HTML))
    missing = [name for name in review.OUTPUTS if proj.root / name not in outcome.written]
    if missing:
        raise BuildError(f"Quarto finished but did not write {', '.join(missing)}")
    outcome.quarto = True
    return outcome
