"""Problems found in data/ and the errors the package raises for a user's mistake; the command
line turns each into a message and an exit status, so nothing heavy is imported here."""

from __future__ import annotations

from dataclasses import dataclass, field

INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place of one file. `kind` names the rule that found it, for
    programs; it is not part of the text, so two problems differing only in kind are one."""

    file: str
    line: int = 0  # line in the file, the header being line 1; 0 for the file as a whole
    column: str = ""
    message: str = ""
    kind: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = (self.file, self.line and f"line {self.line}",
                 self.column and f"column '{self.column}'")
        return f"{', '.join(w for w in where if w)}: {self.message}"


class UserError(Exception):
    """A mistake in the user's input or environment: the CLI prints it, with no traceback."""

    exit_code = 1


class DataError(UserError):
    """Raised by the loader when data/ does not validate; carries every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CodebookError(UserError):
    """data/codebook.yaml cannot be read or does not describe the tables."""

    exit_code = 2


class BusyError(UserError):
    """Another command holds data/ for longer than this one may wait."""

    exit_code = 3


class TransactionError(UserError):
    """An interrupted change to data/ that cannot be completed or rolled back automatically."""

    exit_code = 2


class QmdError(Exception):
    """A problem with the report's source files (named file and line)."""
