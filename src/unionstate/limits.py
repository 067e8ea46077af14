"""Sane limits on what a command reads from a user's file, so that no file makes it hang,
run out of memory or fail with a traceback: a regular file (not a FIFO, a device such as
/dev/zero, or a terminal on /dev/stdin, which can block or never end) no larger than its limit;
a value (a YAML scalar, a CSV cell) of at most VALUE_CHARS characters (the longest cell of
data/ is a few hundred; Python's csv module refuses fields over 131,072); a poll file nested
at most DEPTH levels (it needs three), counted from the parser's events before any object is
built.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

POLL_FILE_BYTES = 1_000_000  # a poll file with a hundred results is some 30 kB
DATA_FILE_BYTES = 20_000_000  # each file of data/ is a few kB
VALUE_CHARS = 10_000
DEPTH = 20
SURROGATE = re.compile("[\ud800-\udfff]")


class LimitError(Exception):
    """A file or value beyond a limit: the message says which and what is allowed."""


def size_text(n: int) -> str:
    return f"{n:,} bytes" if n < 1_000_000 else f"{n / 1_000_000:g} MB"


def read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`; LimitError if it is not a regular file or
    holds more than `limit` bytes; OSError if it cannot be opened."""
    path = Path(path)
    kind = stat.S_IFMT(os.stat(path).st_mode)
    if kind != stat.S_IFREG:
        what = {stat.S_IFIFO: "a pipe (FIFO)", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device",
                stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}.get(kind, "not a file")
        raise LimitError(f"is {what}, not a regular file; allowed: a file saved on disk")
    # O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it does not
    # wait for a writer (and the fstat below refuses it).
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise LimitError("is not a regular file; allowed: a file saved on disk")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"is larger than {size_text(limit)}; allowed: at most "
                         f"{size_text(limit)}")
    return data


def long_value(text: str) -> str | None:
    """What is wrong with a value longer than VALUE_CHARS, or None."""
    if len(text) <= VALUE_CHARS:
        return None
    return (f"is {len(text):,} characters long; allowed: at most {VALUE_CHARS:,} characters "
            "per value")


def lone_surrogate(text: str) -> str | None:
    """What is wrong with a text holding a lone surrogate (a "\\ud800" escape in YAML
    names half of a UTF-16 pair, which is no character and cannot be written as UTF-8)."""
    m = SURROGATE.search(text)
    if m is None:
        return None
    return (f"holds U+{ord(m.group()):04X} at character {m.start() + 1}, half of a UTF-16 "
            "surrogate pair and no character; allowed: text (write the character itself, "
            "or its \\U escape)")
