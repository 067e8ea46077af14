"""The `unionstate` command's entry point (pyproject.toml, [project.scripts]).

Ctrl-C while the command line is still being imported ends the command as every later
interrupt does: a message and exit status 130, not a traceback. Ctrl-C is also held back
while a compiled extension module initialises: matplotlib's font library (a pybind11 module)
interrupted halfway leaves pybind11's state half built, and Python then aborts at exit
("Fatal Python error", status 134). An initialisation takes milliseconds.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from importlib.machinery import ExtensionFileLoader, PathFinder

from .problems import INTERRUPTED


@contextlib.contextmanager
def interrupts_held():
    """Run the block with SIGINT recorded instead of raised; if one came, raise it again after
    the block, for the handler in place before. Only the main thread receives signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        # None: a handler not set from Python, which cannot be put back; Python's default.
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
        if caught:
            signal.raise_signal(signal.SIGINT)  # runs the handler before it returns


class _HeldExtensionLoader(ExtensionFileLoader):
    """An extension module's loader whose initialisation runs with Ctrl-C held."""

    def create_module(self, spec):
        with interrupts_held():
            return super().create_module(spec)

    def exec_module(self, module):
        with interrupts_held():
            super().exec_module(module)


class _HeldExtensionFinder:
    """Finds modules exactly as the path finder after it does, giving extension modules a
    loader that holds Ctrl-C while they initialise."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is ExtensionFileLoader:
            spec.loader = _HeldExtensionLoader(spec.loader.name, spec.loader.path)
        return spec


def run() -> None:
    try:
        if _HeldExtensionFinder not in sys.meta_path:  # just before the path finder
            at = sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path)
            sys.meta_path.insert(at, _HeldExtensionFinder)
        from .cli import main
    except KeyboardInterrupt:
        print("Interrupted; nothing was changed.", file=sys.stderr)
        sys.exit(INTERRUPTED)
    main()
