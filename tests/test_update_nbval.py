"""After an update the nbval notebooks stay green: a synthetic poll added to a copy of the
project with `unionstate add-poll`, the copy rebuilt, and every notebook in tests/notebooks/
run against the copy ($UNIONSTATE_ROOT) by the real command, `pytest --nbval`.

A control run bites first: with the figure files of before the poll, the copy's figures lack
the new poll's results, and charts.ipynb must fail, naming them. The update itself is the one
tests/shared_build.py makes for tests/test_update.py (its "updated" stage).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unionstate.readback import read_marks
from unionstate.report import Report

NEW_IDS = {"blr-synthetic-2099-independent", "blr-synthetic-2099-one-state"}


def nbval(repo_root: Path, root: Path, *notebooks: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "UNIONSTATE_ROOT": str(root)}
    paths = [str(repo_root / "tests" / "notebooks" / n) for n in notebooks]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", *paths],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def updated(shared_build, tmp_path_factory, repo_root):
    """tests/shared_build.py's "updated" stage: a copy of the project under git, the synthetic
    poll of tests/fixtures/update/ added with `unionstate add-poll`, and built again.

    The control: a copy of that project with the figure files as they were before the poll
    (this checkout's figures/), which charts.ipynb must reject."""
    root = Path(shared_build.stage("updated")["root"])
    stale_root = tmp_path_factory.mktemp("update-nbval") / "stale"
    shutil.copytree(root, stale_root, ignore=shutil.ignore_patterns(".git", "_build", "figures"))
    shutil.copytree(repo_root / "figures", stale_root / "figures")
    return {"root": root, "stale": nbval(repo_root, stale_root, "charts.ipynb")}


def test_the_copy_draws_the_new_poll(updated):
    report = Report.load(updated["root"])
    assert set(read_marks(report.figure("fig-blr-opinion"))) >= NEW_IDS
    assert "blr-synthetic-2099-one-state" in read_marks(report.figure("fig-mirror"))
    assert "blr-synthetic-2099-independent" in read_marks(report.figure("fig-status-quo"))


def test_stale_figure_files_fail_the_charts_notebook(updated):
    out = updated["stale"].stdout + updated["stale"].stderr
    assert updated["stale"].returncode != 0, out
    assert "blr-synthetic-2099-independent missing" in out, out


def test_every_nbval_notebook_passes_after_the_update(updated, repo_root):
    notebooks = sorted(p.name for p in (repo_root / "tests" / "notebooks").glob("*.ipynb"))
    assert notebooks
    run = nbval(repo_root, updated["root"], *notebooks)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
