"""The execution stage of `unionstate build`: the notebook run once in one Jupyter kernel, handed
what it needs in its environment (`kernel_env`), answering through Jupyter's messages, never
parsed stdout: cell outputs, `user_expressions` for inline `{python} expr`, numbers.json."""

from __future__ import annotations

import ast
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .paths import FIGURES_ENV, REVIEW_ENV, ROOT_ENV, Project
from .problems import UserError

CELL_TIMEOUT = 300
STAGING = "figures-staging"  # in _build/ (or _build/review/): where the kernel writes figures
NUMBERS = "numbers.json"  # in the staging folder, written by finish()
FINISH = "import unionstate.kernel\nunionstate.kernel.finish()"
# Errors a cell raises for a user's mistake (unionstate.problems), with their exit status.
USER_ERRORS = {"DataError": 1, "CodebookError": 2, "BusyError": 3, "TransactionError": 2,
               "RevisionError": 2}


class CellError(Exception):
    """A cell failed (the message names the chapter, the line and the cell)."""


class DataInvalid(UserError):
    """A cell stopped on a user's mistake: data/, its codebook or a review revision unusable."""


@dataclass
class Executed:
    nb: object  # the notebook, every cell run and every inline expression resolved
    numbers: dict[str, str]  # where -> the number as the report shows it
    staging: Path


def kernel_env(proj: Project, staging: Path, review: str | None = None) -> dict[str, str]:
    """This process's environment with what the kernel is handed (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k != REVIEW_ENV}
    env.update({ROOT_ENV: str(proj.root), FIGURES_ENV: str(staging)})
    return {**env, REVIEW_ENV: review} if review else env


def _where(cell) -> str:
    info = cell.metadata.get("unionstate", {})
    return f"{info.get('file', '?')}, line {info.get('line', '?')}"


def run(proj: Project, nb, folder: Path, say: Callable[[str], None] = print,
        review: str | None = None) -> Executed:
    """Run every cell of `nb` in one kernel, its figures to <folder>/figures-staging/ (removed
    if a cell fails: CellError, DataInvalid)."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # IPC sockets: the kernel talks over local files, not TCP ports.
    km = KernelManager(kernel_name="python3", transport="ipc",
                       connection_file=str(folder / "kernel.json"))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(proj.root)}})
    chapter, counts = None, {}
    try:
        with client.setup_kernel(cwd=str(proj.root), env=kernel_env(proj, staging, review)):
            for index, cell in enumerate(nb.cells):
                file = cell.metadata.get("unionstate", {}).get("file")
                if file != chapter:
                    chapter = file
                    say(f"  running {file}")
                counts[file] = counts.get(file, 0) + (cell.cell_type == "code")
                if cell.cell_type == "code":
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as exc:
                        _raise(exc.ename, exc.evalue,
                               f"{_where(cell)} (code cell {counts[file]} of {file})")
                else:
                    _resolve_inline(client, cell)
            _request(client, FINISH, where="writing the figures")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        try:
            if km.has_kernel:  # nbclient leaves a kernel manager it was given running
                km.shutdown_kernel(now=True)
        finally:  # even when the shutdown itself is interrupted or fails
            for path in [*folder.glob("kernel-ipc-*"), folder / "kernel.json"]:
                path.unlink(missing_ok=True)
    numbers = json.loads((staging / NUMBERS).read_text(encoding="utf-8"))
    (staging / NUMBERS).unlink()
    return Executed(nb, numbers, staging)


def _raise(ename: str, evalue: str, where: str):
    if ename in USER_ERRORS:  # a user's mistake the report's code found, not a bug in a cell
        head = "data/ does not validate:\n" if ename == "DataError" else ""
        error = DataInvalid(f"{head}{evalue}\n(found by {where})")
        error.exit_code = USER_ERRORS[ename]
        raise error
    raise CellError(f"{where} failed:\n{ename}: {evalue}")


def _request(client, code: str = "", expressions: dict[str, str] | None = None,
             where: str = "") -> dict:
    """One execute request outside the notebook (no cell, no history); its reply's content."""
    msg_id = client.kc.execute(code, silent=not expressions, store_history=False,
                               user_expressions=expressions or {}, allow_stdin=False)
    content = (client.wait_for_reply(msg_id) or {}).get("content", {})
    if content.get("status") != "ok":
        _raise(content.get("ename", "Error"), content.get("evalue", "no reply"), where)
    return content


def _shown(value: dict) -> str:
    """An inline expression's value as the report shows it: its Markdown, else its text (a
    string without the quotes of its repr, as str() would show it)."""
    data = value.get("data", {})
    if "text/markdown" in data:
        return data["text/markdown"]
    text = data.get("text/plain", "")
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return literal if isinstance(literal, str) else text


def _resolve_inline(client, cell) -> None:
    from . import qmd

    exprs = qmd.inline_expressions(cell.source)
    if not exprs:
        return
    names = {f"e{i}": expr for i, expr in enumerate(exprs)}
    values = _request(client, expressions=names)["user_expressions"]
    texts = []
    for name, expr in names.items():
        value = values.get(name, {})
        if value.get("status") != "ok":
            _raise(value.get("ename", "Error"), value.get("evalue", ""),
                   f"{_where(cell)}: the inline expression `{expr}`")
        texts.append(_shown(value))
    cell.metadata.setdefault("unionstate", {})["qmd_source"] = cell.source
    cell.source = qmd.resolve_inline(cell.source, texts)


def finish() -> None:
    """In the kernel, after the last cell: every chart no cell showed, and numbers.json (every
    number the report shows), into the staging folder."""
    from .changes import numbers
    from .report import CHARTS, Report

    staging = Path(os.environ[FIGURES_ENV])
    report = Report.load()
    for label in CHARTS:
        if not (staging / f"{label}.svg").exists():
            report.figure(label)
    (staging / NUMBERS).write_text(json.dumps(numbers(report), sort_keys=True), encoding="utf-8")
