"""Writing data/: canonical row order, one CSV dialect, and atomic replacement of files.

Every table is written the same way, so that a rewrite changes only the rows that changed:
the codebook's column order, rows sorted by the table's `order` keys (stable, so a table
without keys keeps its order), UTF-8, "\\n" line endings, minimal quoting, and an empty cell
for a missing value. A file is replaced atomically: the new text goes to a temporary file
in the same folder, is flushed and fsynced, and then os.replace() swaps it in, so a reader
(or a crash) sees either the old file whole or the new one whole.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .codebook import Table


def canonical(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """`frame` in the codebook's column order, rows sorted by the table's `order` keys.

    Cells are compared as text (ISO dates sort chronologically as text; a date given to the
    year sorts before the months of that year); empty cells sort last. The sort is stable.
    Columns the codebook does not know are kept, after the codebook's columns.
    """
    known = [c for c in table.columns if c in frame.columns]
    extra = [c for c in frame.columns if c not in table.columns]
    out = frame[known + extra]
    keys = [k for k in table.order if k in out.columns]
    if keys:
        text = out[keys].astype("string")
        order = text.sort_values(keys, na_position="last", kind="mergesort").index
        out = out.loc[order]
    return out.reset_index(drop=True)


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of `frame`: header row, minimal quoting, "\\n" endings, empty for missing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow(["" if pd.isna(v) else str(v) for v in row])
    return buffer.getvalue()


def canonical_text(frame: pd.DataFrame, table: Table) -> str:
    """The text a table is stored as."""
    return csv_text(canonical(frame, table))


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable where the platform allows it (POSIX); a no-op elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stage(path: Path, text: str) -> Path:
    """Write `text` to a new temporary file next to `path`, flushed and fsynced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); keep the mode the replaced file had, or the
        # mode a new file gets under the user's umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` (UTF-8, line endings as given) atomically."""
    path = Path(path)
    tmp = _stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as it stands (call canonical() first) to `path` atomically."""
    write_text_atomic(path, csv_text(frame))


def write_all_atomic(texts: Mapping[Path, str]) -> None:
    """Replace several files, all or none as far as the file system allows.

    Every new text is staged (written and fsynced) before any file is replaced. If a
    replacement fails, the files already replaced get their old bytes back and the error is
    raised again; files that did not exist before are removed.
    """
    paths = [Path(p) for p in texts]
    before = {p: p.read_bytes() if p.exists() else None for p in paths}
    staged: dict[Path, Path] = {}
    try:
        for p in paths:
            staged[p] = _stage(p, texts[p])
        done: list[Path] = []
        try:
            for p in paths:
                os.replace(staged[p], p)
                done.append(p)
        except BaseException:
            for p in reversed(done):
                _restore(p, before[p])
            raise
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    for folder in {p.parent for p in paths}:
        _fsync_dir(folder)


def _restore(path: Path, old: bytes | None) -> None:
    try:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            write_text_atomic(path, old.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        pass  # best effort: the original error is the one to report
