"""Shared fixtures: the repository root and throw-away copies of the project's data.

Tests never write to the real data/ or references.bib. They copy both into pytest's tmp_path
(`project_copy`) and break the copy, with the helpers below:

    def test_something(project_copy, set_cell):
        line = set_cell(project_copy, "results.csv", "blr-nasb-2020-independent", "stance", "x")
        problems = check(project_copy)  # one of them is at that file line

The helpers are fixtures that return plain functions, so any test module can use them without
importing from conftest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from unionstate.paths import Project
from unionstate.paths import project as make_project

REPO_ROOT = Path(__file__).resolve().parents[1]
# tests/ holds readback.py, which only the tests use. pytest puts this folder on its own
# sys.path; the Jupyter kernels that run the nbval notebooks (nbval's, test_nbval_meta's,
# shared_build's) are other processes, started from this one: they find it through
# PYTHONPATH, which they inherit.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")] if p)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The two source articles live beside the checkout, in ../shared/sources, unless
# UNIONSTATE_SOURCES names their folder.
SOURCES = Path(os.environ.get("UNIONSTATE_SOURCES") or REPO_ROOT.parent / "shared" / "sources")
# Everything the report is built from (not .git, not outputs).
PROJECT_PARTS = ["data", "chapters", "figures", "references.bib", "report.qmd", "_quarto.yml",
                 "_quarto-review.yml", "CITATION.cff", "pyproject.toml"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of this checkout (the folder holding data/ and references.bib)."""
    assert (REPO_ROOT / "data" / "codebook.yaml").is_file(), REPO_ROOT
    return REPO_ROOT


@pytest.fixture(scope="session")
def repo_project(repo_root: Path) -> Project:
    """The real project, for read-only tests."""
    return make_project(repo_root)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def sources_dir() -> Path:
    """The two source articles (outside the repository)."""
    if not SOURCES.is_dir():
        pytest.skip(f"source articles not found at {SOURCES}: put them there or set "
                    "UNIONSTATE_SOURCES to their folder")
    return SOURCES


def copy_project(repo_root: Path, dest: Path) -> Project:
    """Copy data/ and references.bib of the checkout at repo_root into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo_root / "data", dest / "data")
    shutil.copy2(repo_root / "references.bib", dest / "references.bib")
    return make_project(dest)


def quarto_files(src: Path = REPO_ROOT, config: str = "_quarto.yml") -> list[str]:
    """Every file of the checkout that a Quarto configuration names (its `css:`,
    `include-after-body:` and any other option whose value is a path to a file), relative to
    the root: Quarto fails or silently drops them when they are missing."""
    import yaml

    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "\n" not in node and (src / node).is_file():
            found.append(node)

    walk(yaml.safe_load((src / config).read_text(encoding="utf-8")))
    return sorted(set(found))


def copy_report(dest: Path, src: Path = REPO_ROOT) -> Project:
    """Copy everything the report is built from (data, chapters, figures, bibliography,
    report.qmd, _quarto.yml and every file it names, such as src/unionstate/report.css) into
    dest; no .git, no outputs."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in [*PROJECT_PARTS, *quarto_files(src)]:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part)
        elif (src / part).exists():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dest / part)
    return make_project(dest)


@pytest.fixture
def project_copy(tmp_path: Path, repo_root: Path) -> Project:
    """A Project for a fresh copy of the real data/ and references.bib under tmp_path."""
    return copy_project(repo_root, tmp_path / "project")


# ---------------------------------------------------------------- editing a copy


def _data_path(proj: Project, name: str) -> Path:
    path = proj.root / name if name == "references.bib" else proj.data / name
    # Refuse to touch anything outside the copy (in particular the real repository).
    assert REPO_ROOT not in path.resolve().parents, f"refusing to edit the real {path}"
    return path


def read_rows(proj: Project, name: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (file line, row) pairs of data/<name>; the header is line 1."""
    text = (proj.data / name).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = []
    start = reader.line_num + 1
    for cells in reader:
        rows.append((start, dict(zip(header, cells, strict=False))))
        start = reader.line_num + 1
    return header, rows


def write_rows(proj: Project, name: str, header: Sequence[str],
               rows: Iterable[dict[str, str] | Sequence[str]]) -> None:
    """Overwrite data/<name> with a header and rows (dicts keyed by column, or lists)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    _data_path(proj, name).write_text(out.getvalue(), encoding="utf-8")


def overwrite(proj: Project, name: str, content: str | bytes | Path) -> Path:
    """Overwrite data/<name> (or references.bib) of a copy with text, bytes or a file's bytes."""
    path = _data_path(proj, name)
    if isinstance(content, Path):
        content = content.read_bytes()
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def set_cell(proj: Project, name: str, key: str, column: str, value: str) -> int:
    """Set one cell of data/<name>, in the row whose first column is `key`; return its file line.

    Only that cell changes meaning: the file is rewritten with the csv module, so quoting
    may differ but every other value stays the same.
    """
    header, rows = read_rows(proj, name)
    assert column in header, f"{name} has no column {column!r}"
    hits = [line for line, row in rows if row[header[0]] == key]
    assert len(hits) == 1, f"{name}: expected one row with {header[0]} = {key!r}, found {hits}"
    for _, row in rows:
        if row[header[0]] == key:
            row[column] = value
    write_rows(proj, name, header, [row for _, row in rows])
    # Line numbers are unchanged as long as no cell spans lines (none in data/ does).
    _, after = read_rows(proj, name)
    assert [line for line, _ in after] == [line for line, _ in rows]
    return hits[0]


def get_cell(proj: Project, name: str, key: str, column: str) -> str:
    header, rows = read_rows(proj, name)
    (row,) = [row for _, row in rows if row[header[0]] == key]
    return row[column]


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under root, keyed by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(name="set_cell")
def set_cell_fixture() -> Callable[[Project, str, str, str, str], int]:
    """set_cell(project, "results.csv", row_key, column, value) -> file line of that row."""
    return set_cell


@pytest.fixture(name="get_cell")
def get_cell_fixture() -> Callable[[Project, str, str, str], str]:
    """get_cell(project, "results.csv", row_key, column) -> the cell's text."""
    return get_cell


@pytest.fixture(name="read_rows")
def read_rows_fixture():
    """read_rows(project, "polls.csv") -> (header, [(file line, row dict), ...])."""
    return read_rows


@pytest.fixture(name="write_rows")
def write_rows_fixture():
    """write_rows(project, "polls.csv", header, rows): overwrite one CSV of a copy."""
    return write_rows


@pytest.fixture(name="overwrite")
def overwrite_fixture():
    """overwrite(project, "results.csv" | "references.bib", text | bytes | Path)."""
    return overwrite


@pytest.fixture(name="tree_digest")
def tree_digest_fixture():
    """tree_digest(folder) -> {relative path: sha256} of every file under it."""
    return tree_digest


# ---------------------------------------------------------------- one build, shared

FAKE_QUARTO = """#!{python}
# A stand-in for Quarto: records how it was called and the file it was given, writes one
# placeholder per format that `--to` names (Quarto's default: the first format of the front
# matter, else HTML), each where Quarto would (the format's `output-file`, else the input's name
# with the format's extension), and prints "Output created:" once, for the first of them, as
# `quarto render` does (quarto-cli src/command/render/cmd.ts: renderResultFinalOutput).
import json, os, pathlib, shutil, sys
import yaml
record = pathlib.Path({record!r})
n = len(list(record.glob("call-*.json")))
args = sys.argv[1:]
given = pathlib.Path(args[1]) if len(args) > 1 else None
if given is not None and given.is_file():
    shutil.copyfile(given, record / f"call-{{n}}-input")
(record / f"call-{{n}}.json").write_text(json.dumps({{"argv": args, "cwd": os.getcwd()}}))
meta = {{}}
if given is not None and given.suffix == ".ipynb":
    first = json.loads(given.read_text(encoding="utf-8"))["cells"][0]
    text = "".join(first["source"])
    if first["cell_type"] == "raw" and text.startswith("---"):
        meta = yaml.safe_load(text.strip().strip("-")) or {{}}
listed = meta.get("format") or {{}}
listed = {{listed: {{}}}} if isinstance(listed, str) else listed
to = args[args.index("--to") + 1].split(",") if "--to" in args else (list(listed)[:1] or ["html"])
stem = given.stem if given is not None else "report"
made = []
for fmt in to:
    ext = {{"html": "html", "typst": "pdf", "docx": "docx"}}[fmt]
    name = (listed.get(fmt) or {{}}).get("output-file") or f"{{stem}}.{{ext}}"
    pathlib.Path(name).write_text(f"written by the fake quarto as {{fmt}}")
    made.append(name)
print(f"Output created: {{made[0]}}", file=sys.stderr)
"""


def fake_output(fmt: str) -> str:
    """What the fake `quarto` writes into each output of format `fmt`."""
    return f"written by the fake quarto as {fmt}"


@dataclass
class QuartoCall:
    argv: list[str]
    cwd: Path
    input: Path | None


def fake_quarto(folder: Path) -> tuple[Path, Path]:
    """A `quarto` executable in folder/bin that records its calls in folder/record;
    returns (the bin folder to put on PATH, the record folder)."""
    bin_dir, record = folder / "bin", folder / "record"
    bin_dir.mkdir(parents=True)
    record.mkdir()
    exe = bin_dir / "quarto"
    exe.write_text(FAKE_QUARTO.format(python=sys.executable, record=str(record)), encoding="utf-8")
    exe.chmod(0o755)
    return bin_dir, record


def quarto_calls(record: Path) -> list[QuartoCall]:
    """The calls a fake quarto recorded, in order."""
    out = []
    for n in range(len(list(record.glob("call-*.json")))):
        info = json.loads((record / f"call-{n}.json").read_text(encoding="utf-8"))
        given = record / f"call-{n}-input"
        out.append(QuartoCall(info["argv"], Path(info["cwd"]), given if given.exists() else None))
    return out


class SharedBuild:
    """tests/shared_build.py, running in processes of their own: the builds several test
    modules read, run while the tests that need no build do.

    One set per pytest run, however many processes run the tests: the first pytest process
    (the controller, under pytest-xdist) makes its folder and gives it to the workers
    (pytest_configure_node); the first process to finish collecting starts the builders,
    one per chain of stages that depend on each other (CHAINS), with the stages the collected
    tests read; every process waits for a stage's file, <folder>/stages/<stage>.json, which
    a builder writes whole (a rename); and the first process stops what is left of them and
    removes the folder when the run ends."""

    TIMEOUT = 1800  # seconds for everything a builder does
    # The fixture that reads each stage (conftest, test_build, test_nbval_meta, test_update,
    # test_review, test_update_nbval).
    STAGES = {"built": "built", "failed_build": "failed", "meta": "meta", "updated": "updated",
              "review_built": "review", "nbval_after_update": "update-nbval"}
    # Stages that build on each other or share a kernel run in one process, in this order; the
    # chains run at once.
    CHAINS = (("built", "updated"), ("failed", "review"), ("meta", "update-nbval"))
    # A stage that reads what another chain's stage made, and waits for it.
    NEEDS = {"update-nbval": "updated"}

    def __init__(self, work: Path) -> None:
        self.work = work
        self.procs: dict[int, subprocess.Popen] = {}

    @classmethod
    def chain(cls, stage: str) -> int:
        return next(i for i, chain in enumerate(cls.CHAINS) if stage in chain)

    def _pid(self, chain: int) -> Path:
        return self.work / f"pid-{chain}"

    def start(self, stages: list[str]) -> None:
        """Start the builder of each chain holding some of `stages`, unless a process of this
        run already has."""
        import fcntl

        with (self.work / "start.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            env = {k: v for k, v in os.environ.items() if k != "UNIONSTATE_ROOT"}
            stages = [*stages, *(self.NEEDS[s] for s in stages if s in self.NEEDS)]
            for i, chain in enumerate(self.CHAINS):
                wanted = [stage for stage in chain if stage in stages]
                if not wanted or self._pid(i).exists():
                    continue
                # A session of its own, so that stop() can end it with everything it started
                # (its kernels also stop by themselves when their parent goes).
                with (self.work / f"stderr-{i}.txt").open("w", encoding="utf-8") as log:
                    self.procs[i] = subprocess.Popen(
                        [sys.executable, str(Path(__file__).with_name("shared_build.py")),
                         str(self.work), str(i), *wanted], cwd=self.work, env=env,
                        stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
                self._pid(i).write_text(str(self.procs[i].pid), encoding="utf-8")

    def stage(self, name: str) -> dict:
        """What a builder reported when it finished stage `name` (waits for it)."""
        import time

        chain = self.chain(name)
        if not self._pid(chain).exists():  # asked for by a fixture no collected test names
            self.start(list(self.CHAINS[chain]))
        path = self.work / "stages" / f"{name}.json"
        end = self.work / "stages" / f"_exit-{chain}.json"
        proc = self.procs.get(chain)
        deadline = time.monotonic() + self.TIMEOUT
        while not path.exists():
            stopped = end.exists() or (proc is not None and proc.poll() is not None)
            if stopped and not path.exists():
                log = self.work / f"stderr-{chain}.txt"
                tail = log.read_text(encoding="utf-8")[-6000:] if log.exists() else ""
                pytest.fail(f"tests/shared_build.py stopped before '{name}':\n{tail}")
            if time.monotonic() > deadline:
                pytest.fail(f"tests/shared_build.py did not finish '{name}' in {self.TIMEOUT} s")
            time.sleep(0.05)
        return json.loads(path.read_text(encoding="utf-8"))

    def stop(self) -> None:
        """End the builders and everything they started; remove their folder."""
        import contextlib

        for pid in self.work.glob("pid-*"):
            with contextlib.suppress(OSError, ValueError):  # already gone
                os.killpg(int(pid.read_text(encoding="utf-8")), signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)


SHARED = pytest.StashKey[SharedBuild]()
OWNER = pytest.StashKey[bool]()
SHARED_KEY = "unionstate_shared_build"  # in an xdist worker's workerinput


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and SHARED_KEY in workerinput:
        config.stash[SHARED] = SharedBuild(Path(workerinput[SHARED_KEY]))
    else:
        config.stash[SHARED] = SharedBuild(Path(tempfile.mkdtemp(prefix="unionstate-shared-")))
        config.stash[OWNER] = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, in the controller, for each worker it starts: the same shared build."""
    node.workerinput[SHARED_KEY] = str(node.config.stash[SHARED].work)


# The order in which the test modules go to the pytest-xdist workers (addopts sets
# --no-loadscope-reorder, so xdist keeps it; by default it sends the modules with the most
# tests first, which left the three notebooks' kernels for the end). First the notebooks and
# the long modules that need no shared build, while the builders run; the accessibility tests
# once the preview is likely built; then the short modules; last those that only read what the
# builders reported, so that both workers finish about together. A module not named here goes
# with the short ones. This only changes how long a run takes, never what it checks.
RUN_ORDER = ["tests/notebooks/", "tests/test_check.py", "tests/test_odd_values.py",
             "tests/test_transaction.py", "tests/test_add_poll.py", "tests/test_a11y.py", None,
             "tests/test_build.py", "tests/test_quarto.py", "tests/test_nbval_meta.py",
             "tests/test_review.py", "tests/test_update.py", "tests/test_update_nbval.py"]


def _run_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    return next((i for i, prefix in enumerate(RUN_ORDER) if prefix and path.startswith(prefix)),
                RUN_ORDER.index(None))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_run_rank)  # stable: each module's tests, each notebook's cells, in order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the shared builds, with just the stages the collected tests read."""
    wanted = {fixture for item in session.items for fixture in getattr(item, "fixturenames", ())}
    stages = [stage for fixture, stage in SharedBuild.STAGES.items() if fixture in wanted]
    if stages:
        session.config.stash[SHARED].start(stages)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(OWNER, False):
        config.stash[SHARED].stop()


@pytest.fixture(scope="session")
def shared_build(request) -> SharedBuild:
    return request.config.stash[SHARED]


def outcome(data: dict) -> SimpleNamespace:
    """A build's Outcome, as the shared build reported it."""
    return SimpleNamespace(written=[Path(p) for p in data["written"]], skipped=data["skipped"],
                           changes=data["changes"], quarto=data["quarto"],
                           redrawn=[tuple(r) for r in data["redrawn"]])


@dataclass
class Built:
    proj: Project
    outcome: SimpleNamespace
    quarto_calls: list[QuartoCall]


@pytest.fixture(scope="session")
def built(shared_build) -> Built:
    """One full build of a copy of the project (its figures/ deleted first, so that every
    figure file comes from this build), with a fake `quarto` on PATH that recorded what the
    build gave Quarto. Shared by test_build, test_quarto and test_update: read only."""
    data = shared_build.stage("built")
    return Built(make_project(Path(data["root"])), outcome(data["outcome"]),
                 quarto_calls(Path(data["record"]) / "record"))


@pytest.fixture(scope="session")
def failed_build(shared_build) -> dict:
    """tests/shared_build.py's stage "failed": a build whose first chapter ends in a failing cell."""
    return shared_build.stage("failed")


EXAMPLE_POLL = "example-2026-01"  # examples/new-poll.yaml's poll, fictional


def skip_if_example_in_data(root: Path = REPO_ROOT) -> None:
    """Tests that add examples/new-poll.yaml to a copy cannot where the data already holds it
    (a user tried the example on the real data); test_example_is_not_in_the_real_data then
    fails alone, saying how to take it out."""
    if EXAMPLE_POLL in (root / "data" / "polls.csv").read_text(encoding="utf-8"):
        pytest.skip(f"data/polls.csv holds the fictional example poll {EXAMPLE_POLL}; take it "
                    f"out with `uv run unionstate remove-poll {EXAMPLE_POLL}`")
