"""No traceback, no hang, on a hostile poll file or data/ file: each case ends in one line
naming the file (and field), an exit status, and nothing changed (issue 24). The limits are
unionstate.limits'; the expected words are typed here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project, set_cell  # tests/ is on sys.path (rootdir import mode)

from unionstate.cli import main
from unionstate.paths import Project

REPO = Path(__file__).resolve().parents[1]
GOOD = Path(__file__).resolve().parent / "fixtures" / "add_poll" / "good.yaml"
NOTES = 'notes: A note with "quotes", and a comma'


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


def invoke(args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def unionstate(*args, stdin=None, timeout=60) -> subprocess.CompletedProcess:
    """The command in its own process (a hang ends the test, not the suite)."""
    return subprocess.run([sys.executable, "-m", "unionstate.cli", *map(str, args)],
                          stdin=stdin, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def root(tmp_path) -> Path:
    return copy_project(REPO, tmp_path / "copy").root


def with_notes(text: str) -> str:
    good = GOOD.read_text(encoding="utf-8")
    assert NOTES in good
    return good.replace(NOTES, text)


# (id, poll file text, words of the one message line)
POLL_FILES = [
    ("nested-flow", with_notes("notes: " + "[" * 1000 + "]" * 1000),
     ["odd.yaml: line ", "nest more than 20 levels deep"]),
    ("nested-block", with_notes("notes:\n  " + "- " * 1000 + "x"),
     ["odd.yaml: line ", "nest more than 20 levels deep"]),
    ("over-csv-field-limit", with_notes("notes: " + "x" * 140_000),
     ["odd.yaml, notes: is 140,000 characters long", "at most 10,000 characters"]),
    ("over-value-limit", with_notes("notes: " + "x" * 10_001),
     ["odd.yaml, notes: is 10,001 characters long"]),
    ("long-result-value", GOOD.read_text(encoding="utf-8").replace(
        "option: Part of Russia", "option: " + "y" * 20_000),
     ["odd.yaml, results[1].option: is 20,000 characters long"]),
    ("lone-surrogate", with_notes('notes: "a\\ud800b"'),
     ["odd.yaml, notes: holds U+D800 at character 2", "surrogate"]),
    ("surrogate-in-bibtex", GOOD.read_text(encoding="utf-8").split("bibtex: |")[0]
     + 'bibtex: "@misc{testpoll2020, author = {{Test Pollster}}, title = {T\\udc80}}"\n',
     ["odd.yaml, bibtex: holds U+DC80 at character"]),
    ("not-utf-8", None, ["odd.yaml: is not UTF-8 text"]),
    ("too-large", with_notes(NOTES) + "# " + "z" * 1_000_000 + "\n",
     ["odd.yaml: is larger than 1 MB"]),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in POLL_FILES],
                         ids=[c[0] for c in POLL_FILES])
def test_add_poll_refuses_a_hostile_poll_file_in_one_line(root, tmp_path, monkeypatch, text,
                                                          words):
    path = tmp_path / "odd.yaml"
    if text is None:  # a surrogate written into the file itself: not UTF-8 at all
        path.write_bytes(with_notes("notes: a\ud800b").encode("utf-8", "surrogatepass"))
    else:
        path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = tree(root)
    result = invoke(["add-poll", "odd.yaml", "--root", root])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[1:] == ["Nothing was changed."], lines
    assert all(w in lines[0] for w in words), lines[0]
    assert len(lines[0]) < 300
    assert tree(root) == before


def test_add_poll_of_dev_zero_is_refused_at_once(root):
    before = tree(root)
    done = unionstate("add-poll", "/dev/zero", "--root", root, timeout=30)
    assert done.returncode == 2
    assert done.stderr == ("/dev/zero: is a device, not a regular file; allowed: a file saved "
                           "on disk\nNothing was changed.\n")
    assert tree(root) == before


def test_add_poll_of_a_fifo_neither_hangs_nor_holds_the_lock(root, tmp_path):
    fifo = tmp_path / "new.yaml"
    os.mkfifo(fifo)
    before = tree(root)
    done = unionstate("add-poll", fifo, "--root", root, "--wait", "0", timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{fifo}: is a pipe (FIFO), not a regular file")
    assert tree(root) == before


def test_add_poll_of_stdin_left_open_does_not_hang(root):
    """A pipe that nobody closes (`… | unionstate add-poll /dev/stdin` with a writer that
    never ends): refused at once, before any lock on data/ is taken."""
    with subprocess.Popen(["sleep", "120"], stdout=subprocess.PIPE) as writer:
        try:
            done = unionstate("add-poll", "/dev/stdin", "--root", root, stdin=writer.stdout,
                              timeout=30)
        finally:
            writer.kill()
    assert done.returncode == 2
    assert "/dev/stdin: is a pipe (FIFO), not a regular file" in done.stderr


def test_add_poll_reads_stdin_redirected_from_a_file(root, tmp_path):
    """The limit is on what cannot end, not on /dev/stdin: `< new.yaml` is a regular file."""
    with GOOD.open("rb") as handle:
        done = unionstate("add-poll", "/dev/stdin", "--dry-run", "--root", root, stdin=handle)
    assert done.returncode == 0, done.stderr
    assert "Dry run: would add poll 'testpoll-2020-01'" in done.stdout


def test_the_poll_file_is_read_before_data_is_locked(root, tmp_path, monkeypatch):
    """A poll file that cannot be read is refused while another command holds data/: no
    waiting for the lock (--wait 0 would otherwise end in 'busy')."""
    from unionstate.paths import Project
    from unionstate.store import writing

    (tmp_path / "odd.yaml").write_text(with_notes('notes: "a\\ud800b"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with writing(Project(root), say=lambda m: None, wait=0):
        done = unionstate("add-poll", "odd.yaml", "--root", root, "--wait", "0")
    assert done.returncode == 2
    assert done.stderr.startswith("odd.yaml, notes: holds U+D800"), done.stderr


# ---------------------------------------------------------------- the bibtex: block

BIB_BLOCK = """bibtex: |
  @misc{testpoll2020,
    author = {{Test Pollster}},
    title  = {Test Poll, January 2020},
    note   = {Test fixture; fictional},
  }
"""

# (id, the block's replacement, words of a "odd.yaml, bibtex: " line)
BIB_CASES = [
    ("string", BIB_BLOCK + '  @string{pollster = "Evil"}\n', "holds a @string block"),
    ("preamble", BIB_BLOCK.replace("bibtex: |\n", 'bibtex: |\n  @preamble{"\\input{x}"}\n'),
     "holds a @preamble block"),
    ("comment", BIB_BLOCK + "  @comment{anything}\n", "holds a @comment block"),
    ("string-on-the-entry-line", BIB_BLOCK.replace("  }\n", '  } @string{x = "y"}\n'),
     "holds a @string block"),
    ("latex-link", BIB_BLOCK.replace("Test Poll, January 2020",
                                     "\\href{javascript:alert(1)}{Test}"),
     "field title: holds a LaTeX command or math"),
    ("math", BIB_BLOCK.replace("Test Poll, January 2020", "Poll $\\frac$ Ltd"),
     "field title: holds a LaTeX command or math"),
    ("script-url", BIB_BLOCK.replace("note   = {Test fixture; fictional},",
                                     "url = {javascript:alert(1)},"),
     "field url: 'javascript:alert(1)' is not a web address"),
]


@pytest.mark.parametrize(("block", "words"), [c[1:] for c in BIB_CASES],
                         ids=[c[0] for c in BIB_CASES])
def test_the_bibtex_block_holds_one_plain_entry(root, tmp_path, monkeypatch, block, words):
    good = GOOD.read_text(encoding="utf-8")
    assert good.endswith(BIB_BLOCK)
    (tmp_path / "odd.yaml").write_text(good.replace(BIB_BLOCK, block), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = tree(root)
    result = invoke(["add-poll", "odd.yaml", "--root", root])
    assert result.exit_code == 1, result.output
    assert any(line.startswith("odd.yaml, bibtex: ") and words in line
               for line in result.stderr.splitlines()), result.stderr
    assert tree(root) == before


def test_escaped_bibtex_characters_are_plain_text(root, tmp_path, monkeypatch):
    good = GOOD.read_text(encoding="utf-8")
    (tmp_path / "ok.yaml").write_text(good.replace("Test Poll, January 2020",
                                                   "Test \\$5 \\& 10\\% Poll"),
                                      encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke(["add-poll", "ok.yaml", "--dry-run", "--root", root])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- data/*.csv read by check


@pytest.mark.parametrize(("value", "words"), [
    ("x" * 10_001, "data/polls.csv, line {line}, column 'notes': is 10,001 characters long"),
    ("x" * 140_000, "data/polls.csv: is not a readable CSV table: a value on line {line} is longer "
                    "than 131,072 characters; allowed: at most 10,000 characters per value"),
], ids=["over-value-limit", "over-csv-field-limit"])
def test_check_refuses_an_overlong_cell(root, value, words):
    line = set_cell(Project(root), "polls.csv", "zois-2021-03", "notes", "PLACEHOLDER")
    path = root / "data" / "polls.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("PLACEHOLDER", value),
                    encoding="utf-8")
    words = words.format(line=line)
    result = invoke(["check", "--root", root])
    assert result.exit_code == 1
    assert any(line.startswith(words) for line in result.stderr.splitlines()), \
        result.stderr[:2000]


def test_check_does_not_read_a_fifo_or_an_endless_file(root):
    polls = root / "data" / "polls.csv"
    polls.unlink()
    os.mkfifo(polls)
    results = root / "data" / "results.csv"
    results.unlink()
    results.symlink_to("/dev/zero")
    done = unionstate("check", "--root", root, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert "data/polls.csv: is a pipe (FIFO), not a regular file; allowed: a file saved on " \
           "disk" in lines
    assert any(line.endswith("data/results.csv: is a device, not a regular file; allowed: a "
                             "file saved on disk") for line in lines), lines


def test_check_does_not_read_a_bibliography_that_never_ends(root):
    bib = root / "references.bib"
    bib.unlink()
    os.mkfifo(bib)
    done = unionstate("check", "--root", root, timeout=60)
    assert done.returncode == 1
    assert "references.bib: is a pipe (FIFO), not a regular file; allowed: a file saved on " \
           "disk" in done.stderr.splitlines()


def test_check_refuses_a_data_file_over_its_size_limit(root):
    events = root / "data" / "events.csv"
    with events.open("a", encoding="utf-8") as handle:
        handle.write(("\n" * 999 + "\n") * 20_001)  # blank lines: 20,001,000 bytes more
    result = invoke(["check", "--root", root])
    assert result.exit_code == 1
    assert "data/events.csv: is larger than 20 MB; allowed: at most 20 MB" in \
        result.stderr.splitlines()


def test_a_lone_surrogate_never_reaches_a_file(root):
    """store.commit refuses, before its journal, a text with no UTF-8 form (add-poll refuses
    it earlier, naming the field; this is the last line of defence for every writer)."""
    from unionstate.problems import TransactionError
    from unionstate.store import commit

    proj = Project(root)
    before = tree(root)
    with pytest.raises(TransactionError, match=r"data/CHANGELOG.md: cannot be written as "
                                               r"UTF-8: U\+D800 at character 2"):
        commit(proj, {proj.data / "polls.csv": "ok\n", proj.data / "CHANGELOG.md": "a\ud800b"},
               label="test")
    assert tree(root) == before
    assert not (proj.data / ".transaction").exists()
