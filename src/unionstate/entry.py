"""The `unionstate` command's entry point (pyproject.toml, [project.scripts]).

Ctrl-C while Python is still importing the command line (click and the package) ends the
command as every later interrupt does: a message and exit status 130, not a traceback.

Ctrl-C is also held back while a compiled extension module initialises, and acted on as soon
as it has: matplotlib's font library (matplotlib.ft2font, a pybind11 module) interrupted
halfway through its initialisation leaves pybind11's state half built, and Python then
aborts while it shuts down ("Fatal Python error: PyThreadState_Get ... finalizing", exit
status 134) after the command has already said "Interrupted; nothing was changed.". The
initialisation of an extension takes milliseconds, so the interrupt is only postponed.
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
    """Run the block with SIGINT recorded instead of raised; if one came, act on it after
    the block, as the handler in place before would have (KeyboardInterrupt by default).
    Only the main thread receives signals, so elsewhere this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        # None: a handler not set from Python, which cannot be put back; Python's default.
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
        if caught and (previous is None or callable(previous)):
            (previous or signal.default_int_handler)(signal.SIGINT, caught[0])
        elif caught and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


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
    loader that holds Ctrl-C while they initialise (see the module docstring)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is ExtensionFileLoader:
            spec.loader = _HeldExtensionLoader(spec.loader.name, spec.loader.path)
        return spec

    @staticmethod
    def invalidate_caches():
        pass  # the path finder after it has the caches


def hold_interrupts_in_extension_imports() -> None:
    """Put _HeldExtensionFinder just before the path finder in sys.meta_path (once)."""
    if any(f is _HeldExtensionFinder for f in sys.meta_path):
        return
    at = sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path)
    sys.meta_path.insert(at, _HeldExtensionFinder)


def run() -> None:
    try:
        hold_interrupts_in_extension_imports()
        from .cli import main
    except KeyboardInterrupt:
        print("Interrupted; nothing was changed.", file=sys.stderr)
        sys.exit(INTERRUPTED)
    main()
