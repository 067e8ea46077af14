"""The nbval notebooks bite: shift any cited figure in data/results.csv and the notebook cell
that checks it fails, naming it.

For every figure a notebook in tests/notebooks/ checks (a `card(r, "<result_id>", …)` cell),
the project is copied to a temporary folder (data/, references.bib, figures/) and that figure
is shifted in data/results.csv: both bounds up one point. Figures tied by a derivation move
together so that data/ stays valid and the notebook, not the validator, has to catch it:

- a 'half of' row and its parent: the row up one point, the parent up two (and the reverse);
- a 'fraction' ("one in six"), where a one-point shift is not 100/N: the next fraction down,
  one in seven, with rows 'about the same as' it.

Each notebook also gets one figure shifted in a figure file (figures/<label>.csv) instead.

A card prints each layer on its own line (the data row, the prose, each chart's drawn mark,
each figure file), so a shift of data/ alone would fail a card even if the prose and charts
ignored it. Each layer is therefore also shifted alone, in an unchanged copy, by a cell run
after the notebook's setup cell (LAYER_SHIFTS): the prose text of one figure, the drawn mark
of one figure in one chart (its elements moved one point along the share axis), and the data
row of one figure after the prose and charts were made from the data as it was. Each alone
must fail that figure's card, and only in the line of its layer.

Runs: a run of a notebook takes about a second (it draws every chart it reads back), so the
shifts of one notebook are made up to BATCH at a time, in one copy, as long as no two of them
move the same result. The notebook then runs against the copy ($UNIONSTATE_ROOT) and must fail
exactly the cells of the figures that moved, no other, each with its own shifted result_id in
its differing output lines. So every cited figure still has a run where it moved and its cell
failed, naming it; and in every run the cells of the figures that did not move pass, which is
also what an unchanged copy would show (the suite's own nbval run checks the checkout itself).

Where: the runs happen in tests/shared_build.py's process (`run_meta`), which conftest.py starts
when collection ends, so that they overlap the tests that need no kernel; the tests below make
their assertions on what it reports.

Speed: starting a kernel and importing pandas, matplotlib and pandera takes most of a notebook
run, so all the runs share one kernel: before each run the kernel's namespace is reset and
$UNIONSTATE_ROOT pointed at the copy,
every cell is executed with nbclient and its outputs compared with the stored ones by nbval's
own comparison (IPyNbCell.compare_outputs). One run goes through the real command,
`pytest --nbval --nbval-current-env`, in a subprocess, and its failing cells must be the
same as the in-process run's.
"""

from __future__ import annotations

import copy
import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager
from nbval.plugin import IPyNbCell, coalesce_streams, nocolors

from unionstate.paths import project
from unionstate.validate import check

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "tests" / "notebooks"
CARD = re.compile(r'^(?:card|verified)\(\s*r\s*,\s*"([a-z0-9]+(?:-[a-z0-9]+)*)"', re.MULTILINE)
DERIVATION = re.compile(r"(half of|about the same as) (\S+)")
# What nbval leaves out of the comparison (IPyNbFile.__init__, nbval 0.11, without --nbdime).
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name",
                "execution_count", "application/vnd.jupyter.widget-view+json",
                "image/png", "image/jpeg")
RESET = """get_ipython().run_line_magic("reset", "-f")
import os as __os
__os.environ["UNIONSTATE_ROOT"] = {root!r}
del __os
"""
# The figure-file shift of each notebook: (figure file, result_id).
FILE_SHIFTS = {
    "belarus.ipynb": ("fig-mirror", "blr-nasb-2020-incorporation"),
    "russia.ipynb": ("fig-rus-opinion", "rus-vciom-no-further"),
}
# The figure whose batch is run again through `pytest --nbval` in a subprocess.
SUBPROCESS_SHIFT = ("russia.ipynb", "rus-levada-economic")
# One layer shifted alone per notebook: (layer, result_id, chart). What each changes, in the
# kernel, after the setup cell (`r = Report.load()`); the card's line of that layer starts
# with the prefix given by LAYER_LINE.
LAYER_SHIFTS = {
    "belarus.ipynb": [("prose", "blr-nasb-2020-equal-union", None),
                      ("mark", "blr-nasb-2020-independent", "fig-blr-opinion"),
                      ("data", "blr-zois-2021-closer-union", None)],
    "russia.ipynb": [("prose", "rus-vciom-no-further", None),
                     ("mark", "rus-levada-political", "fig-mirror"),
                     ("data", "rus-levada-current-level", None)],
}
LAYER_PATCH = {
    "prose": """r.shares[{rid!r}] = type(r.shares[{rid!r}])("(prose shifted)")
""",
    "mark": """from readback import read_marks as __marks
__fig = r.figure({label!r})
for __el in __marks(__fig)[{rid!r}].parts:  # the share axis is x in every chart
    if __el.kind == "marker":
        __xy = __el.artist.get_offsets().copy()
        __xy[__el.index, 0] += 1
        __el.artist.set_offsets(__xy)
    else:
        __segs = [__s.copy() for __s in __el.artist.get_segments()]
        __segs[__el.index][:, 0] += 1
        __el.artist.set_segments(__segs)
del __marks, __fig, __el
""",
    # Prose, view and every chart made first; then the data row alone moves.
    "data": """from unionstate.report import CHARTS as __charts
r.shares, r.view, r.when
for __label in __charts:
    r.figure(__label)
__rows = r.ds.results["result_id"] == {rid!r}
r.ds.results.loc[__rows, "share_low"] = r.ds.results.loc[__rows, "share_low"] + 1
r.ds.results.loc[__rows, "share_high"] = r.ds.results.loc[__rows, "share_high"] + 1
del __charts, __label, __rows
""",
}
# The most shifts made together in one copy (see the module's docstring).
BATCH = 3


# ---------------------------------------------------------------- notebooks and copies


def card_cells(notebook: Path) -> dict[int, str]:
    """Index of each code cell that checks a figure -> its result_id."""
    nb = nbformat.read(notebook, as_version=4)
    out = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            ids = CARD.findall(cell.source)
            if len(ids) == 1:
                out[index] = ids[0]
    return out


def checked() -> dict[str, str]:
    """result_id -> the notebook (file name) whose card cell checks it."""
    out = {}
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for rid in card_cells(notebook).values():
            out[rid] = notebook.name
    return out


def read_results(root: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (root / "data" / "results.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for folder in ("data", "figures"):
        shutil.copytree(ROOT / folder, dest / folder)
    shutil.copy2(ROOT / "references.bib", dest / "references.bib")
    return dest


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _text(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


def shift(rows: list[dict[str, str]], rid: str) -> set[str]:
    """Shift figure rid in rows (in place), moving what derives from it or what it derives
    from so that data/ stays valid; return every result_id whose bounds changed."""
    by_id = {r["result_id"]: r for r in rows}
    before = {k: (r["share_low"], r["share_high"]) for k, r in by_id.items()}

    def bounds(r):
        return _num(r["share_low"]), _num(r["share_high"])

    def set_bounds(r, lo, hi):
        r["share_low"], r["share_high"] = _text(lo), _text(hi)

    def base(r):
        """The row r's bounds come from (following derivations) and the factor to it."""
        factor = 1.0
        while r["qualifier"] == "derived":
            rule, parent = DERIVATION.fullmatch(r["derivation"]).groups()
            factor *= 0.5 if rule == "half of" else 1.0
            r = by_id[parent]
        return r, factor

    root, factor = base(by_id[rid])
    lo, hi = bounds(root)
    if root["qualifier"] == "fraction":
        n = round(100 / lo) + 1  # one in N -> one in N+1
        lo = hi = round(100 / n, 2)
    else:
        # One point on the target: the root moves by 1 / factor.
        lo, hi = lo + 1 / factor, None if hi is None else hi + 1 / factor
    set_bounds(root, lo, hi)
    # Re-derive every derived row from its parent, parents first.
    changed = True
    while changed:
        changed = False
        for r in rows:
            if r["qualifier"] != "derived":
                continue
            rule, parent = DERIVATION.fullmatch(r["derivation"]).groups()
            f = 0.5 if rule == "half of" else 1.0
            plo, phi = bounds(by_id[parent])
            want = (_text(plo * f), _text(None if phi is None else phi * f))
            if (r["share_low"], r["share_high"]) != want:
                r["share_low"], r["share_high"] = want
                changed = True
    return {k for k, r in by_id.items() if (r["share_low"], r["share_high"]) != before[k]}


def shift_figure_file(root: Path, label: str, rid: str) -> None:
    path = root / "figures" / f"{label}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames), list(reader)
    for r in rows:
        if r["result_id"] == rid:
            r["share_low"] = _text(_num(r["share_low"]) + 1)
            if r["share_high"]:
                r["share_high"] = _text(_num(r["share_high"]) + 1)
    write_csv(path, fields, rows)


# ---------------------------------------------------------------- nbval's comparison


class _Comparison:
    """The parts of an nbval cell item that IPyNbCell.compare_outputs reads, so that the
    in-process runs compare outputs with nbval's own code."""

    compare_outputs = IPyNbCell.compare_outputs
    format_output_compare = IPyNbCell.format_output_compare
    sanitize = IPyNbCell.sanitize
    colors = nocolors
    config = None

    def __init__(self):
        self.parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns={})
        # No pytest assertion rewriting here: nbval then shows both outputs in full.
        self.ihook = SimpleNamespace(pytest_assertrepr_compare=lambda **_: [])
        self.comparison_traceback: list[str] = []


@dataclass
class Run:
    """One notebook run against one copy: failing cell index -> nbval's report of it."""

    notebook: str
    failures: dict[int, str] = field(default_factory=dict)


class Runner:
    """One kernel, re-run against many notebooks and copies of the project."""

    def __init__(self):
        km = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME,
                           kernel_spec_manager=NbvalKernelspecManager())
        self.client = NotebookClient(nbformat.v4.new_notebook(), km=km, timeout=120,
                                     allow_errors=True, kernel_name=CURRENT_ENV_KERNEL_NAME)

    def _execute(self, cell, index: int):
        cell = copy.deepcopy(cell)
        cell.outputs = []
        self.client.execute_cell(cell, index)
        return cell

    def run(self, notebook: Path, root: Path, patch: str | None = None) -> Run:
        """One run of `notebook` against the copy at `root`, in a namespace emptied first
        (%reset -f), as a fresh kernel would start it; `patch`, if given, runs right after
        the setup cell (the one calling Report.load)."""
        ref = nbformat.read(notebook, as_version=4)
        self.client.nb = copy.deepcopy(ref)  # nbclient stores each executed cell at its index
        out = Run(notebook.name)
        self._execute(nbformat.v4.new_code_cell(RESET.format(root=str(root))), 0)
        for index, ref_cell in enumerate(ref.cells):
            if ref_cell.cell_type != "code":
                continue
            test = self._execute(ref_cell, index).outputs
            if patch and "Report.load(" in ref_cell.source:
                done = self._execute(nbformat.v4.new_code_cell(patch), index).outputs
                assert not [o for o in done if o.output_type == "error"], done
            errors = [o for o in test if o.output_type == "error"]
            if errors:
                out.failures[index] = (f"Cell execution caused an exception\n{ref_cell.source}\n"
                                       f"{errors[0].ename}: {errors[0].evalue}")
                continue
            if ref_cell.get("execution_count") is None:
                continue  # nbval does not compare the outputs of an unrun cell
            comparison = _Comparison()
            if not comparison.compare_outputs(coalesce_streams(copy.deepcopy(test)),
                                              coalesce_streams(copy.deepcopy(ref_cell.outputs))):
                out.failures[index] = ("Cell outputs differ\n" + ref_cell.source + "\n"
                                       + "\n".join(comparison.comparison_traceback))
        return out

    def __enter__(self) -> Runner:
        """Start the kernel every run of this runner shares; it stops at the `with`'s end."""
        self._kernel = self.client.setup_kernel(cwd=str(NOTEBOOKS))
        self._kernel.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._kernel.__exit__(*exc)

    def jobs(self, jobs: list[tuple]) -> list[Run]:
        """One run per (notebook, root[, patch]), in order, all in this runner's one kernel."""
        return [self.run(*job) for job in jobs]


# ---------------------------------------------------------------- the runs


@dataclass
class Shift:
    """One figure shifted: in data/results.csv (label None) or in figures/<label>.csv."""

    target: str
    label: str | None
    moved: set[str]  # every result_id whose bounds it changes: their cells must fail

    @property
    def name(self) -> str:
        return f"shift {self.target}" if self.label is None else f"file {self.label} {self.target}"


@dataclass
class Batch:
    """Shifts of one notebook's figures made together in one copy, moving disjoint results."""

    notebook: str
    shifts: list[Shift]
    root: Path | None = None

    @property
    def moved(self) -> set[str]:
        return set().union(*(s.moved for s in self.shifts))


def _plan() -> list[Batch]:
    """Every shift, grouped into batches: each notebook's shifts in result_id order (its file
    shift last), each put in the first batch of its notebook that has room and moves none of
    the results it moves."""
    _, rows = read_results(ROOT)
    shifts: dict[str, list[Shift]] = {}
    for rid, notebook in sorted(checked().items()):
        shifts.setdefault(notebook, []).append(Shift(rid, None, shift(copy.deepcopy(rows), rid)))
    for notebook, (label, rid) in FILE_SHIFTS.items():
        shifts.setdefault(notebook, []).append(Shift(rid, label, {rid}))
    batches: list[Batch] = []
    for notebook in sorted(shifts):
        mine: list[Batch] = []
        for one in shifts[notebook]:
            fits = (b for b in mine if len(b.shifts) < BATCH and not b.moved & one.moved)
            batch = next(fits, None)
            if batch is None:
                batch = Batch(notebook, [])
                mine.append(batch)
            batch.shifts.append(one)
        batches += mine
    return batches


def _make(batch: Batch, root: Path) -> None:
    """Copy the project to root and make the batch's shifts there."""
    batch.root = copy_project(root)
    fields, rows = read_results(root)
    for one in batch.shifts:
        if one.label is None:
            assert shift(rows, one.target) == one.moved
    write_csv(root / "data" / "results.csv", fields, rows)
    for one in batch.shifts:
        if one.label is not None:
            shift_figure_file(root, one.label, one.target)


def _diff_lines(report: str, reference: str) -> list[str]:
    """The lines of the newly computed output in nbval's report that the stored one lacks."""
    _, _, computed = report.partition("disagrees with newly computed (test) output:")
    stored = {line.strip() for line in reference.splitlines()}
    return [line.strip() for line in computed.splitlines()
            if line.strip() and line.strip() not in stored and not line.strip().startswith(">>>")]


def run_meta(base: Path, runner: Runner) -> dict:
    """Every run of the meta-test, in copies under `base`, in the kernel of `runner` (an open
    Runner); the results as JSON-able data.

    tests/shared_build.py calls this in its own process (started by conftest.py when
    collection ends), so that these kernels run while pytest runs other tests."""
    batches = _plan()
    for n, batch in enumerate(batches):
        _make(batch, base / f"batch-{n}")

    # The real command, in a subprocess started first so that it overlaps the kernels.
    name, rid = SUBPROCESS_SHIFT
    sub = next(n for n, b in enumerate(batches) if b.notebook == name
               and any(s.target == rid and s.label is None for s in b.shifts))
    nb_dir = base / "subprocess-notebook"
    nb_dir.mkdir()
    shutil.copy2(NOTEBOOKS / name, nb_dir / name)
    (nb_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = dict(os.environ, UNIONSTATE_ROOT=str(batches[sub].root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p",
         "no:cacheprovider", "-q", "-rf", name],
        cwd=nb_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    try:
        # One kernel for every run (the pytest subprocess has its own): a kernel's start
        # and imports cost more than most runs.
        runs = runner.jobs([(NOTEBOOKS / b.notebook, b.root) for b in batches])
        unchanged = copy_project(base / "layers")
        layers = [(name, layer, rid, label) for name, shifts in sorted(LAYER_SHIFTS.items())
                  for layer, rid, label in shifts]
        layer_runs = runner.jobs([
            (NOTEBOOKS / name, unchanged, LAYER_PATCH[layer].format(rid=rid, label=label))
            for name, layer, rid, label in layers])
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    results = [{"notebook": b.notebook, "root": str(b.root),
                "shifts": [[s.target, s.label, sorted(s.moved)] for s in b.shifts],
                "failures": {str(i): r for i, r in run.failures.items()},
                "problems": [str(p) for p in check(project(b.root))]}
               for b, run in zip(batches, runs, strict=True)]
    return {"batches": results, "subprocess": [sub, proc.returncode, output],
            "layers": [{"notebook": name, "layer": layer, "rid": rid, "label": label,
                        "failures": {str(i): t for i, t in run.failures.items()}}
                       for (name, layer, rid, label), run in zip(layers, layer_runs, strict=True)]}


@pytest.fixture(scope="module")
def meta(shared_build):
    data = shared_build.stage("meta")
    runs = []
    for r in data["batches"]:
        batch = Batch(r["notebook"], [Shift(t, label, set(moved)) for t, label, moved in r["shifts"]],
                      Path(r["root"]))
        runs.append((batch, Run(r["notebook"], {int(i): t for i, t in r["failures"].items()}),
                     r["problems"]))
    sub, code, output = data["subprocess"]
    return SimpleNamespace(runs=runs, subprocess=(runs[sub], code, output),
                           layers=data["layers"])


def _expected_cells(batch: Batch) -> set[int]:
    cells = card_cells(NOTEBOOKS / batch.notebook)
    return {i for i, rid in cells.items() if rid in batch.moved}


def _run_of(meta, name: str):
    """The batch that made the shift called `name`, its run and check's problems."""
    found = [(b, run, problems) for b, run, problems in meta.runs
             if any(s.name == name for s in b.shifts)]
    assert len(found) == 1, f"{name}: in {len(found)} batches"
    return found[0]


def _check_batch(batch: Batch, run: Run, problems: list[str]) -> None:
    """The batch left data/ valid and failed exactly the cells of the results it moved."""
    assert problems == [], "the shifts must leave data/ valid"
    assert run.failures, f"{batch.notebook} passed with {[s.name for s in batch.shifts]}"
    assert set(run.failures) == _expected_cells(batch), (
        f"with {[s.name for s in batch.shifts]}, {batch.notebook} should fail the cells of "
        f"{sorted(batch.moved)} and no others; failing: {sorted(run.failures)}")


def _differing(batch: Batch, run: Run, rid: str) -> list[str]:
    """The lines of rid's cell output that differ from the stored ones (its cell failed)."""
    index = next(i for i, r in card_cells(NOTEBOOKS / batch.notebook).items() if r == rid)
    assert index in run.failures, f"the cell of {rid} passed"
    report = run.failures[index]
    assert report.startswith("Cell outputs differ"), report
    ref = nbformat.read(NOTEBOOKS / batch.notebook, as_version=4)
    return _diff_lines(report, "".join(o.get("text", "") for o in ref.cells[index].outputs))


def test_batches_move_disjoint_results_and_cover_every_figure():
    batches = _plan()
    for batch in batches:
        assert 1 <= len(batch.shifts) <= BATCH
        moved = [s.moved for s in batch.shifts]
        assert sum(map(len, moved)) == len(set().union(*moved)), batch
    data_shifts = sorted(s.target for b in batches for s in b.shifts if s.label is None)
    assert data_shifts == sorted(checked())
    # Fewer runs than shifts, and none that shifts every figure its notebook checks.
    assert len(batches) < len(data_shifts)
    for batch in batches:
        assert batch.moved < set(card_cells(NOTEBOOKS / batch.notebook).values())


@pytest.mark.parametrize("rid", sorted(checked()))
def test_shifted_figure_fails_its_cell(meta, rid):
    batch, run, problems = _run_of(meta, f"shift {rid}")
    _check_batch(batch, run, problems)
    mine = next(s for s in batch.shifts if s.name == f"shift {rid}")
    assert rid in mine.moved
    checked_here = set(card_cells(NOTEBOOKS / batch.notebook).values())
    for moved in sorted(mine.moved & checked_here):
        lines = _differing(batch, run, moved)
        if _written_by_verify(batch.notebook, moved):
            # Its first line names it and holds no number; the data line must differ.
            assert any(line.startswith("data/results.csv: ") for line in lines), lines
        else:
            assert any(moved in line for line in lines), (
                f"the differing output of the cell of {moved} does not name it: {lines}")


@pytest.mark.parametrize("notebook", sorted(FILE_SHIFTS))
def test_shifted_figure_file_fails_its_cell(meta, notebook):
    label, rid = FILE_SHIFTS[notebook]
    batch, run, problems = _run_of(meta, f"file {label} {rid}")
    _check_batch(batch, run, problems)
    lines = _differing(batch, run, rid)
    # Only the line read from the figure file differs: data/ and the chart still agree.
    assert lines and all(line.startswith(f"figures/{label}.csv: ") for line in lines), lines


def test_pytest_nbval_agrees(meta):
    """The real `pytest --nbval --nbval-current-env` fails the same cells, naming the figure."""
    (batch, run, _), code, output = meta.subprocess
    assert code == 1, output
    failed = {int(n) for n in re.findall(rf"FAILED {re.escape(batch.notebook)}::Cell (\d+)", output)}
    # nbval numbers the code cells from 0; the in-process runs index all cells.
    nb = nbformat.read(NOTEBOOKS / batch.notebook, as_version=4)
    code_index = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert {code_index[n] for n in failed} == set(run.failures), output
    _, target = SUBPROCESS_SHIFT
    header = [line for line in output.splitlines()
              if line.lstrip("+- ").startswith(target + " ")]
    assert header, f"nbval's diff does not show the header line of {target}:\n{output}"


def _written_by_verify(notebook: str, rid: str) -> bool:
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    return any(c.get("id") == f"verified-{rid}" for c in nb.cells)


def _layer_line(layer: str, label: str | None, line: str) -> bool:
    """Whether a line of a card is the line of `layer` (see readback.card and verify.card_lines)."""
    text = line.strip().lstrip("+- ").strip()
    if layer == "prose":
        return text.startswith("prose: ")
    if layer == "mark":
        return text.startswith(f"{label} ") or text.startswith(f"{label}:")
    return not text.startswith(("prose: ", "fig-", "figures/"))  # the data row's line


@pytest.mark.parametrize("notebook, layer, rid, label", [
    (name, layer, rid, label) for name, shifts in sorted(LAYER_SHIFTS.items())
    for layer, rid, label in shifts])
def test_each_layer_alone_fails_its_card(meta, notebook, layer, rid, label):
    """The prose, one chart's drawn mark, or the data row, shifted alone: the card of that
    figure fails, no other, and only in the line of that layer."""
    (found,) = [r for r in meta.layers if (r["notebook"], r["layer"], r["rid"]) ==
                (notebook, layer, rid)]
    failures = {int(i): t for i, t in found["failures"].items()}
    cells = card_cells(NOTEBOOKS / notebook)
    assert set(failures) == {i for i, r in cells.items() if r == rid}, (
        f"{layer} of {rid} shifted alone: failing cells {sorted(failures)}")
    (index,) = failures
    ref = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    lines = _diff_lines(failures[index], "".join(o.get("text", "") for o in ref.cells[index].outputs))
    assert lines and all(_layer_line(layer, label, line) for line in lines), lines
