"""The `unionstate` command's entry point (pyproject.toml, [project.scripts]).

Ctrl-C while Python is still importing the command line (click and the package) ends the
command as every later interrupt does: a message and exit status 130, not a traceback.
"""

from __future__ import annotations

import sys

from .problems import INTERRUPTED


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("Interrupted; nothing was changed.", file=sys.stderr)
        sys.exit(INTERRUPTED)
    main()
