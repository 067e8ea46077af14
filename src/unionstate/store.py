"""Writing data/: canonical row order, one CSV dialect, the lock, and transactions.

Every table is written the same way, so that a rewrite changes only the rows that changed:
the codebook's column order, rows sorted (stably) by the table's `order` keys, UTF-8, "\\n"
endings, minimal quoting, an empty cell for a missing value.

The lock (portalocker: the same shared and exclusive modes on Linux, macOS and Windows) is on
a file in the system's temporary folder, never in the project, and the system drops it when
the process ends, however it ends. Readers (check, build, diff) share data/; a writer holds
it alone for the whole read-check-write; a command waits `wait` seconds, then gets BusyError.

A change to several files is one transaction (`commit`): the journal, data/.transaction/,
gets each file's new text (k.new) and old bytes (k.old), fsynced; renaming manifest.json into
place commits it; each file is then replaced by its k.new, manifest.json becomes done.json
and the journal is removed. The next command that takes the lock finishes a journal that a
killed run left, and says so: without a manifest it is removed (no file had changed); with
manifest.json it is completed; with rollback.json (an error while replacing) it is rolled
back from the k.old copies; with done.json it is only removed. An error while replacing in
the writing process itself (a full disk) rolls the change back at once.

FAULT_ENV names a step at which the writing process kills itself (SIGKILL), for the tests
of every interruption: journal, stage-K, manifest, replace-K, done (K counts files from 1).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import portalocker

from .codebook import Table
from .paths import Project
from .problems import BusyError, TransactionError

if TYPE_CHECKING:  # pandas is imported where a frame is written: a no-op build never loads it
    import pandas as pd

JOURNAL = ".transaction"
FAULT_ENV = "UNIONSTATE_FAULT"
WAIT = 30.0  # seconds a command waits for another one to finish with data/


def canonical_text(frame: pd.DataFrame, table: Table) -> str:
    """The text a table is stored as: `frame` in the codebook's column order (columns it does
    not know after them), rows sorted stably by the table's `order` keys compared as text (ISO
    dates sort chronologically; a year before the months of that year), empty cells last."""
    known = [c for c in table.columns if c in frame.columns]
    extra = [c for c in frame.columns if c not in table.columns]
    out = frame[known + extra]
    keys = [k for k in table.order if k in out.columns]
    if keys:
        text = out[keys].astype("string")
        order = text.sort_values(keys, na_position="last", kind="mergesort").index
        out = out.loc[order]
    return csv_text(out)


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of `frame`: header row, minimal quoting, "\\n" endings, empty for missing."""
    return frame.to_csv(index=False, lineterminator="\n")


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable where the platform allows it (POSIX); a no-op elsewhere."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- the lock

# (thread, folder) -> exclusive, for what this process holds: a command reads data/ it holds
# without waiting for itself (verify reads the report while it holds data/ to write its checks).
_HELD: dict[tuple[int, Path], bool] = {}


def _fault(step: str) -> None:
    """Die here, as a kill would, if the tests asked for it (FAULT_ENV)."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _lock_file(folder: Path) -> int:
    """A descriptor of the lock file of `folder`: in the system's temporary folder, so that no
    lock ever writes a file into the project, and named after the folder's device and inode,
    which are the same whatever path reaches it (a link, or another letter case on macOS and
    Windows)."""
    st = os.stat(folder)
    path = Path(tempfile.gettempdir()) / f"unionstate-{st.st_dev:x}-{st.st_ino:x}.lock"
    try:  # another user's lock file in a shared /tmp can be opened, not created again
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return os.open(path, os.O_RDONLY | os.O_CREAT, 0o444)


@contextlib.contextmanager
def _lock(proj: Project, exclusive: bool, wait: float,
          folder: Path | None = None) -> Iterator[Callable[[bool], None]]:
    """A shared or exclusive lock on `folder` (data/ by default), through portalocker: flock(2)
    on Linux and macOS, LockFileEx on Windows. Yields a function that turns it into the other
    kind."""
    folder = folder or proj.data
    fd = _lock_file(folder)
    held = None

    def take(excl: bool) -> None:
        nonlocal held
        if held == excl:
            return
        if held is not None:  # Windows cannot convert a lock in place; release, then retake
            portalocker.unlock(fd)
        flags = portalocker.LockFlags.EXCLUSIVE if excl else portalocker.LockFlags.SHARED
        deadline = time.monotonic() + wait
        while True:
            try:
                portalocker.lock(fd, flags | portalocker.LockFlags.NON_BLOCKING)
                held = excl
                return
            except portalocker.AlreadyLocked:
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"{proj.rel(folder)}/ is in use by another unionstate command (add-poll, "
                        f"check, build or diff) and was still in use after {wait:g} s; nothing "
                        "was changed. Run the command again when the other one has finished."
                    ) from None
                time.sleep(0.05)

    try:
        take(exclusive)
        yield take
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


@contextlib.contextmanager
def _holding(proj: Project, exclusive: bool, say: Callable[[str], None] | None,
             wait: float) -> Iterator[None]:
    """data/ locked, after finishing any interrupted change to it (and saying so)."""
    key = (threading.get_ident(), proj.data.resolve())
    if key in _HELD:
        if exclusive and not _HELD[key]:  # a write inside a read would share data/ with readers
            raise RuntimeError("data/ is held for reading; take it for writing first")
        yield
        return
    with _lock(proj, exclusive, wait) as take:
        if (proj.data / JOURNAL).exists():
            take(True)
            message = recover(proj)
            if message:
                (say or functools.partial(print, file=sys.stderr))(message)
            take(exclusive)
        _HELD[key] = exclusive
        try:
            yield
        finally:
            _HELD.pop(key, None)


def reading(proj: Project, say: Callable[[str], None] | None = None, wait: float = WAIT):
    """Hold data/ for reading (shared with other readers)."""
    return _holding(proj, False, say, wait)


def writing(proj: Project, say: Callable[[str], None] | None = None, wait: float = WAIT):
    """Hold data/ alone, for a whole read-check-write."""
    return _holding(proj, True, say, wait)


@contextlib.contextmanager
def building(proj: Project, say: Callable[[str], None] | None = None,
             wait: float = WAIT) -> Iterator[None]:
    """Hold data/ for reading (the kernel reads it too, under its own shared lock) and _build/
    alone: a second build or review build waits, so two builds never write the same _build/
    and figures/ at once, and add-poll waits until the build has finished."""
    with reading(proj, say=say, wait=wait):
        proj.build.mkdir(exist_ok=True)
        with _lock(proj, exclusive=True, wait=wait, folder=proj.build):
            yield


# ---------------------------------------------------------------- the transaction


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _write_file(path: Path, data: bytes, mode: int) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)


def file_mode(path: Path) -> int:
    """The permissions a rewrite of `path` keeps: its own, or those the umask gives a new file
    (a temporary file is created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask


def _utf8(proj: Project, path: Path, text: str) -> bytes:
    """`text` as UTF-8; TransactionError, before anything is written, for a text that has no
    UTF-8 form (a lone surrogate, such as YAML's "\\ud800", is half a UTF-16 pair)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TransactionError(
            f"{proj.rel(path)}: cannot be written as UTF-8: U+{ord(text[exc.start]):04X} at "
            f"character {exc.start + 1} is half of a UTF-16 surrogate pair, no character; "
            "nothing was changed") from None


def commit(proj: Project, texts: Mapping[Path, str], label: str) -> None:
    """Write every file of `texts` as one transaction (see the module's docstring).

    The caller holds `writing(proj)`. On an error the change is rolled back and the error
    raised again; if even that fails, the journal stays for the next command to finish.
    """
    encoded = {Path(path): _utf8(proj, Path(path), text) for path, text in texts.items()}
    journal = proj.data / JOURNAL
    journal.mkdir()
    _fsync_dir(proj.data)
    _fault("journal")
    entries = []
    try:
        for k, (path, new) in enumerate(encoded.items(), start=1):
            old = path.read_bytes() if path.exists() else None
            mode = file_mode(path)
            _write_file(journal / f"{k}.new", new, mode)
            if old is not None:
                _write_file(journal / f"{k}.old", old, mode)
            target = path.resolve().relative_to(proj.root.resolve()).as_posix()
            entries.append({"target": target, "new": f"{k}.new",
                            "old": None if old is None else f"{k}.old",
                            "new_sha256": _sha(new), "old_sha256": _sha(old)})
            _fault(f"stage-{k}")
        _fsync_dir(journal)
        manifest = json.dumps({"label": label, "files": entries}, indent=1).encode("utf-8")
        _write_file(journal / "manifest.partial", manifest, 0o644)
        os.replace(journal / "manifest.partial", journal / "manifest.json")
        _fsync_dir(journal)
    except BaseException:
        shutil.rmtree(journal, ignore_errors=True)  # nothing had been replaced
        raise
    _fault("manifest")
    try:
        for k, entry in enumerate(entries, start=1):
            os.replace(journal / entry["new"], proj.root / entry["target"])
            _fault(f"replace-{k}")
    except Exception:
        with contextlib.suppress(Exception):  # else the journal stays for the next command
            os.replace(journal / "manifest.json", journal / "rollback.json")
            _replay(proj, journal, entries, forward=False)
        raise
    for folder in {(proj.root / e["target"]).parent for e in entries}:
        _fsync_dir(folder)
    os.replace(journal / "manifest.json", journal / "done.json")
    _fault("done")
    _remove_journal(journal)


STATES = ("manifest.json", "rollback.json", "done.json")


def _remove_journal(journal: Path) -> None:
    """Remove the journal, its state file last: a kill half-way must not leave staged
    files without the state that says what they are."""
    for p in journal.iterdir():
        if p.name not in STATES:
            p.unlink()
    for name in STATES:
        (journal / name).unlink(missing_ok=True)
    journal.rmdir()
    _fsync_dir(journal.parent)


def _replay(proj: Project, journal: Path, entries: list[dict], forward: bool) -> None:
    """Give every target its new text (forward) or its old one back, then remove the journal."""
    for entry in entries:
        target = proj.root / entry["target"]
        now = target.read_bytes() if target.exists() else None
        if forward and (journal / entry["new"]).exists():
            os.replace(journal / entry["new"], target)
        elif forward and _sha(now) != entry["new_sha256"]:
            raise TransactionError(
                f"{proj.rel(journal)}: the interrupted change cannot be completed: "
                f"{entry['target']} is neither its new text nor staged; restore data/ from git "
                f"(git checkout -- data references.bib), then remove {proj.rel(journal)}")
        elif not forward and _sha(now) != entry["old_sha256"]:
            if entry["old"] is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(journal / entry["old"], target)
    for folder in {(proj.root / e["target"]).parent for e in entries}:
        _fsync_dir(folder)
    _remove_journal(journal)


def _entries(proj: Project, state: Path) -> tuple[str, list[dict]]:
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        entries = data["files"]
        for e in entries:
            target = (proj.root / e["target"]).resolve()
            if proj.root.resolve() not in target.parents or ".." in Path(e["target"]).parts:
                raise ValueError(e["target"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TransactionError(f"{proj.rel(state)}: the journal of an interrupted change cannot "
                               f"be read ({exc}); restore data/ from git, then remove "
                               f"{proj.rel(state.parent)}") from None
    return str(data.get("label", "a change")), entries


def recover(proj: Project) -> str | None:
    """Finish a change to data/ that a killed process left half done; a message, or None.

    The caller holds the exclusive lock.
    """
    journal = proj.data / JOURNAL
    if not journal.exists():
        return None
    names = [p.name for p in journal.iterdir()] if journal.is_dir() else []
    if "done.json" in names:
        label, _ = _entries(proj, journal / "done.json")
        _remove_journal(journal)
        said = f"{label} had been written whole; its journal was removed"
    elif "manifest.json" in names:
        label, entries = _entries(proj, journal / "manifest.json")
        _replay(proj, journal, entries, forward=True)
        targets = ", ".join(e["target"] for e in entries)
        said = (f"{label} was interrupted after it was committed; it has now been completed: "
                f"{targets} hold its new text")
    elif "rollback.json" in names:
        label, entries = _entries(proj, journal / "rollback.json")
        _replay(proj, journal, entries, forward=False)
        said = (f"{label} failed while writing; it has now been rolled back: every file holds "
                "its text from before it")
    else:
        if journal.is_dir():
            shutil.rmtree(journal)
        else:
            journal.unlink()
        said = (f"an interrupted change to data/ had not been committed "
                f"({', '.join(sorted(names)) or 'no files'} in its journal); it was rolled back: "
                "no data file had changed")
    return f"Recovered data/: {said}."
