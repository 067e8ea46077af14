"""Every command fails clearly: outside a project, on a broken codebook, on an old revision,
on a broken references.bib. A message, an exit status, no traceback, nothing changed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project  # tests/ is on sys.path (rootdir import mode)

from unionstate.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "add_poll"
COMMANDS = [["check"], ["add-poll", str(FIXTURES / "good.yaml")], ["diff"], ["build"]]


def make_copy(dest: Path) -> Path:
    """data/ and references.bib of this checkout, copied to `dest` (conftest.copy_project)."""
    return copy_project(REPO, dest).root


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


def invoke(args, **kwargs):
    result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_outside_a_project(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UNIONSTATE_ROOT", raising=False)
    result = invoke(args)
    assert result.exit_code == 2
    assert "No unionstate project" in result.stderr and "--root" in result.stderr
    assert list(tmp_path.iterdir()) == []


BROKEN_CODEBOOKS = [
    # (how the codebook is broken, words of the message)
    (lambda t: t + "  bad: [\n", ("is not readable YAML", "line")),
    (lambda t: "- just\n- a list\n", ("tables: is missing",)),
    (lambda t: t.replace("type: number", "type: float", 1),
     ("share_low.type", "'float' is not a type", "allowed: string, number")),
    (lambda t: t.replace("required: true", "requird: true", 1),
     ("poll_id.requird", "is not a column key")),
    (lambda t: t.replace('pattern: "[a-z0-9]+(-[a-z0-9]+)*"', 'pattern: "[a-z"', 1),
     ("poll_id.pattern", "is not a regular expression")),
    (lambda t: t.replace("range: [0, 100]", "range: [0, hundred]", 1),
     ("share_low.range", "'hundred' is not a number")),
    (lambda t: t.replace("range: [0, 100]", "range: [0, true]", 1),  # YAML true is no bound
     ("share_low.range", "True is not a number")),
    (lambda t: t.replace("      qualifier:\n", "      precision:\n", 1),
     ("has no column 'qualifier'",)),
    (lambda t: t.replace("codes_from: results.stance", "codes_from: results.stances"),
     ("codes_from", "names no column")),
    (lambda t: t.replace("order: [country, fieldwork_start, poll_id]",
                         "order: [country, fieldwork, poll_id]"),
     ("tables.polls.order", "allowed: a list of its columns (poll_id, country")),
    (lambda t: t.replace("min_rows: 1", "min_rows: -1", 1),
     ("tables.polls.min_rows", "allowed: a whole number, 0 or more")),
    (lambda t: t.replace("    min_rows: 1\n", "    min_row: 1\n", 1),
     ("tables.polls.min_row", "is not a table key", "allowed: file, description, order")),
    (lambda t: t.replace("file: polls.csv", "file: ../polls.csv"),
     ("tables.polls.file", "allowed: a file name in data/ ending in .csv")),
    (lambda t: t.replace("unique: true", "unique: yes please", 1),
     ("poll_id.unique", "allowed: true or false")),
]


@pytest.mark.parametrize("args", [["check"], ["add-poll", str(FIXTURES / "good.yaml")]],
                         ids=lambda a: a[0])
@pytest.mark.parametrize(("breaks", "words"), BROKEN_CODEBOOKS)
def test_broken_codebook(tmp_path, args, breaks, words):
    root = make_copy(tmp_path)
    path = root / "data" / "codebook.yaml"
    path.write_text(breaks(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = tree(root)
    result = invoke([*args, "--root", root])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("data/codebook.yaml")
    for word in words:
        assert word in result.stderr, result.stderr
    assert tree(root) == before


def test_non_utf8_codebook(tmp_path):
    root = make_copy(tmp_path)
    (root / "data" / "codebook.yaml").write_bytes(b"\xff\xfe tables")
    result = invoke(["check", "--root", root])
    assert result.exit_code == 2
    assert "data/codebook.yaml: is not UTF-8 text" in result.stderr


def test_add_poll_stops_on_an_already_broken_bib(tmp_path):
    root = make_copy(tmp_path)
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n@misc{broken,\n  title = {Open\n",
                   encoding="utf-8")
    before = tree(root)
    result = invoke(["add-poll", FIXTURES / "existing_source.yaml", "--root", root])
    assert result.exit_code == 1
    assert "references.bib" in result.stderr and "fix data/ first" in result.stderr
    assert tree(root) == before


def test_add_poll_refuses_a_stray_entry_in_its_bibtex_block(tmp_path, monkeypatch):
    root = make_copy(tmp_path)
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    assert text.endswith("  }\n")
    (tmp_path / "stray.yaml").write_text(text + "  @misc{\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = tree(root)
    result = invoke(["add-poll", "stray.yaml", "--root", root])
    assert result.exit_code == 1
    assert any(line.startswith("stray.yaml, bibtex: ") and "@misc entry without a key" in line
               for line in result.stderr.splitlines()), result.stderr
    assert tree(root) == before


# ---------------------------------------------------------------- diff


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository with three commits: no codebook, a codebook of polls only, today's."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "data" / "README.md").write_text("nothing yet\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "no codebook")
    shutil.copy2(REPO / "data" / "polls.csv", root / "data" / "polls.csv")
    shutil.copy2(REPO / "references.bib", root / "references.bib")
    codebook = (REPO / "data" / "codebook.yaml").read_text(encoding="utf-8")
    polls_only = codebook.split("\n  events:\n")[0].replace("\n  results:", "\n  xresults:")
    (root / "data" / "codebook.yaml").write_text(polls_only, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "an older, smaller codebook")
    shutil.rmtree(root / "data")
    make_copy(root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "today's data")
    return root


@pytest.mark.parametrize(("rev", "words"), [
    ("HEAD~2", ("has no data/codebook.yaml",)),
    ("HEAD~1", ("its codebook does not describe the report's tables",)),
    ("no-such-revision", ("it is not a commit, branch or tag", "such as HEAD~1")),
])
def test_diff_on_revisions_it_cannot_read(repo, rev, words):
    before = tree(repo)
    result = invoke(["diff", rev, "--root", repo])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Cannot compare with revision '{rev}'")
    for word in words:
        assert word in result.stderr
    assert tree(repo) == before


def test_diff_with_a_header_only_results_table(repo):
    path = repo / "data" / "results.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    before = tree(repo)
    result = invoke(["diff", "--root", repo])
    assert result.exit_code == 1
    assert "data/results.csv: has 0 data rows" in result.stderr
    assert tree(repo) == before


def test_ctrl_c_while_the_command_line_is_imported_is_not_a_traceback(monkeypatch, capsys):
    """The console script runs unionstate.entry:run, which imports the command line itself:
    an interrupt during that import (click, the package) exits 130 with a message."""
    import builtins

    from unionstate import entry

    real_import = builtins.__import__

    def interrupted(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "cli" and level == 1:
            raise KeyboardInterrupt
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as stopped:
        entry.run()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "Interrupted; nothing was changed.\n"


def test_the_console_script_is_the_entry_point():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"] == {"unionstate": "unionstate.entry:run"}


# A real SIGINT, sent while matplotlib's font library (matplotlib.ft2font, a pybind11
# extension) initialises: the signal is raised from inside the first import that its
# initialisation makes. Then the console script's entry point runs `check`, which imports
# matplotlib (through pandera). Without the entry point's hold on Ctrl-C during extension
# initialisation, Python aborts while shutting down (exit 134, "Fatal Python error").
SIGINT_IN_FT2FONT = """
import builtins, os, signal, sys
# As in a terminal: Python's own handler (a pytest-xdist worker's children inherit SIG_IGN).
signal.signal(signal.SIGINT, signal.default_int_handler)
real = builtins.__import__
state = {"inside": False, "sent": False}

def hook(name, globals=None, locals=None, fromlist=(), level=0):
    if fromlist and "ft2font" in fromlist:
        state["inside"] = True
    elif state["inside"] and not state["sent"]:
        state["sent"] = True
        os.kill(os.getpid(), signal.SIGINT)
    return real(name, globals, locals, fromlist, level)

builtins.__import__ = hook
sys.argv = ["unionstate", "check", "--root", sys.argv[1]]
from unionstate.entry import run
try:
    run()
finally:
    print("signal sent:", state["sent"])
"""


def test_ctrl_c_while_matplotlib_loads_its_font_library(tmp_path):
    root = make_copy(tmp_path / "copy")
    before = tree(root)
    done = subprocess.run([sys.executable, "-c", SIGINT_IN_FT2FONT, str(root)],
                          capture_output=True, text=True, timeout=120)
    assert "signal sent: True" in done.stdout  # the interrupt really came during the import
    assert done.stderr == "Interrupted; nothing was changed.\n"
    assert done.returncode == 130
    assert tree(root) == before
