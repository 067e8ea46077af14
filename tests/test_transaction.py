"""add-poll as one transaction: concurrent runs lose nothing, an interrupted run is finished
or rolled back by the next command, and no temporary file survives.

The interruption tests kill the writing process (SIGKILL, as a power cut or `kill -9` would)
at each step of the transaction through the fault-injection hook store.FAULT_ENV, then run
the next command and compare data/ byte for byte with either the untouched copy or a copy
to which the same poll was added without interruption.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project, copy_report  # tests/ is on sys.path (rootdir import mode)

from unionstate import store
from unionstate.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "add_poll"
GOOD = FIXTURES / "good.yaml"  # adds a poll, two results and a BibTeX entry: all four files
OTHER = FIXTURES / "existing_source.yaml"  # another poll, citing an existing source

# Every step of a four-file transaction at which a kill is injected.
STEPS = ["journal", *(f"stage-{k}" for k in range(1, 5)), "manifest",
         *(f"replace-{k}" for k in range(1, 5)), "done"]
COMMITTED = {"manifest", "replace-1", "replace-2", "replace-3", "replace-4", "done"}


def make_copy(dest: Path) -> Path:
    """data/ and references.bib of this checkout, copied to `dest` (conftest.copy_project)."""
    return copy_project(REPO, dest).root


def tree(root: Path) -> dict[str, bytes]:
    """Every file under the copy (a journal or temporary file left behind would show)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def command() -> list[str]:
    script = Path(sys.executable).with_name("unionstate")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "unionstate.cli"]


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("UNIONSTATE_ROOT", store.FAULT_ENV)}
    out.update(extra)
    return out


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """The copy before, and after an uninterrupted add-poll of GOOD."""
    before = make_copy(tmp_path_factory.mktemp("before"))
    after = make_copy(tmp_path_factory.mktemp("after"))
    result = run("add-poll", GOOD, "--root", after)
    assert result.exit_code == 0, result.output
    return {"before": tree(before), "after": tree(after)}


def killed_add_poll(root: Path, step: str) -> None:
    """add-poll of GOOD in a forked process that kills itself at `step`."""
    pid = os.fork()
    if pid == 0:  # the child: run the command; the hook kills it at the step
        try:
            os.environ[store.FAULT_ENV] = step
            CliRunner().invoke(main, ["add-poll", str(GOOD), "--root", str(root)])
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
        f"the add-poll did not die at step {step!r}"


# ---------------------------------------------------------------- interruption


@pytest.mark.parametrize("step", STEPS)
def test_killed_add_poll_is_finished_or_rolled_back_by_check(tmp_path, states, step):
    root = make_copy(tmp_path)
    killed_add_poll(root, step)
    assert (root / "data" / store.JOURNAL).exists()  # the kill left a half-done change
    result = run("check", "--root", root)
    assert result.exit_code == 0, result.output
    assert "Recovered data/" in result.stderr
    expected = "after" if step in COMMITTED else "before"
    assert tree(root) == states[expected], f"not the {expected} state after step {step}"
    # And the recovery happened once: a second check says nothing about it.
    again = run("check", "--root", root)
    assert again.exit_code == 0 and "Recovered" not in again.stderr


@pytest.mark.parametrize("step", ["stage-2", "replace-2"])
def test_retry_after_a_killed_add_poll(tmp_path, states, step):
    """The next add-poll finishes the interrupted one first: a retry of the same poll then
    either adds it (it was rolled back) or is refused because it is there (completed)."""
    root = make_copy(tmp_path)
    killed_add_poll(root, step)
    result = run("add-poll", GOOD, "--root", root)
    assert "Recovered data/" in result.stderr
    if step in COMMITTED:
        assert result.exit_code == 1
        assert "already in data/polls.csv" in result.stderr
    else:
        assert result.exit_code == 0, result.output
    assert tree(root) == states["after"]


@pytest.mark.parametrize("name", ["build", "diff"])
def test_build_and_diff_recover_first(tmp_path, states, monkeypatch, name):
    """build and diff finish an interrupted change before they read data/ (their work itself
    is replaced by a stand-in that records what it saw)."""
    import unionstate.build
    import unionstate.changes

    root = make_copy(tmp_path)
    killed_add_poll(root, "replace-1")
    seen = {}

    def stand_in(proj, *args, **kwargs):
        seen["tree"] = tree(root)
        raise unionstate.build.BuildError("stand-in") if name == "build" else \
            unionstate.changes.RevisionError("stand-in")

    monkeypatch.setattr(unionstate.build, "build", stand_in)
    monkeypatch.setattr(unionstate.changes, "diff", stand_in)
    result = CliRunner().invoke(main, [name, "--root", str(root)])
    assert "Recovered data/" in result.stderr
    assert "Traceback" not in result.output
    assert seen["tree"] == states["after"]


def test_error_while_replacing_rolls_back_in_process(tmp_path, states, monkeypatch):
    """An OSError in the middle of the renames (a full disk) restores every file at once."""
    root = make_copy(tmp_path)
    real = os.replace

    def fail_on_bib(src, dst):
        if Path(dst).name == "references.bib":
            raise OSError(28, "No space left on device (simulated)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_bib)
    result = run("add-poll", GOOD, "--root", root)
    assert result.exit_code == 1
    assert "rolled back" in result.stderr and "Traceback" not in result.output
    assert tree(root) == states["before"]


def _journal(root: Path, manifest: str, staged: dict[str, bytes]) -> None:
    journal = root / "data" / store.JOURNAL
    journal.mkdir()
    for name, data in staged.items():
        (journal / name).write_bytes(data)
    (journal / "manifest.json").write_text(manifest, encoding="utf-8")


def _entry(target: str, new: bytes) -> dict:
    import hashlib

    return {"target": target, "new": "1.new", "old": None,
            "new_sha256": hashlib.sha256(new).hexdigest(), "old_sha256": None}


@pytest.mark.parametrize("case", ["not-json", "outside-the-project", "new-text-lost"])
def test_a_journal_that_cannot_be_finished_is_refused_not_guessed(tmp_path, case):
    """A journal the next command cannot trust (unreadable, naming a file outside the project,
    or committed but with a file neither staged nor written) stops the command with a message
    (exit 2) that says how to restore data/, and nothing is written anywhere."""
    import json

    root = make_copy(tmp_path / "project")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the project's\n", encoding="utf-8")
    new = b"overwritten\n"
    if case == "not-json":
        _journal(root, "{half a manifest", {"1.new": new})
    elif case == "outside-the-project":
        _journal(root, json.dumps({"label": "x", "files": [_entry("../outside.txt", new)]}),
                 {"1.new": new})
    else:  # committed, but 1.new is gone and data/polls.csv does not hold it
        _journal(root, json.dumps({"label": "x", "files": [_entry("data/polls.csv", new)]}), {})
    before = tree(tmp_path)
    result = run("check", "--root", root)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    unreadable = f"data/{store.JOURNAL}/manifest.json: the journal of an interrupted change " \
                 "cannot be read"
    starts = {"not-json": unreadable, "outside-the-project": f"{unreadable} (../outside.txt)",
              "new-text-lost": f"data/{store.JOURNAL}: the interrupted change cannot be "
                               "completed: data/polls.csv is neither its new text nor staged"}
    assert result.stderr.startswith(starts[case]), result.stderr
    assert "restore data/ from git" in result.stderr
    assert tree(tmp_path) == before


# ---------------------------------------------------------------- concurrency


def test_two_add_polls_at_once_lose_nothing(tmp_path):
    """Two real processes add two different polls at the same moment: both land (the second
    waits for the first), and data/ passes check with both polls whole."""
    root = make_copy(tmp_path)
    procs = [subprocess.Popen([*command(), "add-poll", str(path), "--root", str(root)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env(), cwd=tmp_path)
             for path in (GOOD, OTHER)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in out + err
    polls = (root / "data/polls.csv").read_text(encoding="utf-8")
    log = (root / "data/CHANGELOG.md").read_text(encoding="utf-8")
    for poll_id in ("testpoll-2020-01", "testfocus-2019"):
        assert polls.count(f"\n{poll_id},") == 1
        assert log.count(f"added poll {poll_id};") == 1
    results = (root / "data/results.csv").read_text(encoding="utf-8")
    assert results.count(",testpoll-2020-01,") == 2
    assert "@misc{testpoll2020," in (root / "references.bib").read_text(encoding="utf-8")
    assert run("check", "--root", root).exit_code == 0
    assert not (root / "data" / store.JOURNAL).exists()


HOLDER = """
import sys, time
from unionstate import store
from unionstate.paths import Project
with store.writing(Project(__import__('pathlib').Path(sys.argv[1]))):
    print('locked', flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_add_poll_waits_or_refuses_clearly(tmp_path, states):
    """While another process holds data/, add-poll waits up to --wait seconds; past that it
    refuses with a message and changes nothing."""
    root = make_copy(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), "4"],
                              stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        refused = run("add-poll", GOOD, "--root", root, "--wait", "0.5")
        assert refused.exit_code == 3
        assert "is in use by another unionstate command" in refused.stderr
        assert "nothing was changed" in refused.stderr
        assert tree(root) == states["before"]
        waited = run("add-poll", GOOD, "--root", root, "--wait", "120")
        assert waited.exit_code == 0, waited.output
        # It could only take the lock once the holder had slept its 4 s.
        assert time.monotonic() - locked_at > 3.5, "add-poll did not wait for the lock"
    finally:
        holder.kill()
        holder.wait()
    assert tree(root) == states["after"]


BUILDER = HOLDER.replace("store.writing(", "store.building(")


def test_a_second_build_waits_for_the_first(tmp_path):
    """A build holds _build/ alone, so two builds never write _build/ and figures/ at once:
    while another build holds it, `build --wait 0.5` refuses before any cell runs and leaves
    the project as it was (data/ itself is only read, so the kernel can read it too)."""
    proj = copy_report(tmp_path / "project")
    before = tree(proj.root)
    reader = subprocess.Popen([sys.executable, "-c", BUILDER, str(proj.root), "30"],
                              stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert reader.stdout.readline().strip() == "locked"
        refused = run("build", "--root", proj.root, "--wait", "0.5")
    finally:
        reader.kill()
        reader.wait()
    assert refused.exit_code == 3, refused.output
    assert "_build/ is in use by another unionstate command" in refused.stderr
    assert "Running report.qmd" not in refused.output
    assert {k: v for k, v in tree(proj.root).items() if not k.startswith("_build")} == before


READER = HOLDER.replace("store.writing(", "store.reading(")


@contextlib.contextmanager
def held_elsewhere(script: str, root):
    """data/ held by another process running `script` (HOLDER or READER) until the block ends."""
    other = subprocess.Popen([sys.executable, "-c", script, str(root), "30"],
                             stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert other.stdout.readline().strip() == "locked"
        yield
    finally:
        other.kill()
        other.wait()


def test_readers_share_data_and_a_writer_waits_for_them(tmp_path, states):
    """While another process reads data/ (a build's kernel, a check), `check` reads it too at
    once, but add-poll refuses after its --wait; the lock leaves no file in the project."""
    root = make_copy(tmp_path)
    with held_elsewhere(READER, root):
        shared = run("check", "--root", root, "--wait", "0.5")
        refused = run("add-poll", GOOD, "--root", root, "--wait", "0.5")
    assert shared.exit_code == 0, shared.output
    assert refused.exit_code == 3, refused.output
    assert "is in use by another unionstate command" in refused.stderr
    assert tree(root) == states["before"]


def test_a_writer_keeps_readers_out(tmp_path, states):
    root = make_copy(tmp_path)
    with held_elsewhere(HOLDER, root):
        refused = run("check", "--root", root, "--wait", "0.5")
    assert refused.exit_code == 3, refused.output
    assert "data/ is in use by another unionstate command" in refused.stderr
    assert tree(root) == states["before"]


def test_a_command_reads_what_it_holds_but_never_writes_inside_a_read(tmp_path):
    """Within one thread, a read inside a write goes on at once (verify reads the report while
    it holds data/ to write); a write inside a read is refused, since other readers may hold
    data/ too."""
    from unionstate.paths import Project

    proj = Project(make_copy(tmp_path))
    with store.writing(proj, wait=0), store.reading(proj, wait=0):
        pass
    with (store.reading(proj, wait=0), pytest.raises(RuntimeError, match="held for reading"),
          store.writing(proj, wait=0)):
        pass
