"""After an update the nbval notebooks stay green: a synthetic poll added to a copy of the
project with `unionstate add-poll`, the copy rebuilt, and every notebook in tests/notebooks/
run against the copy ($UNIONSTATE_ROOT) by the real command, `pytest --nbval`.

A control run bites first: after add-poll and before the rebuild, the figure files in the
copy lack the new poll's results, and charts.ipynb must fail, naming them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project  # tests/ is on sys.path (pytest rootdir import mode)

from unionstate.cli import main
from unionstate.readback import read_marks
from unionstate.report import Report

POLL_FILE = ("update", "synthetic-2099.yaml")
NEW_IDS = {"blr-synthetic-2099-independent", "blr-synthetic-2099-one-state"}
# What a build reads besides data/ and references.bib (which copy_project copies).
BUILD_PARTS = ["chapters", "figures", "report.qmd", "_quarto.yml"]


def nbval(repo_root: Path, root: Path, *notebooks: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "UNIONSTATE_ROOT": str(root)}
    paths = [str(repo_root / "tests" / "notebooks" / n) for n in notebooks]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", *paths],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def updated(tmp_path_factory, repo_root, fixtures_dir):
    proj = copy_project(repo_root, tmp_path_factory.mktemp("update-nbval") / "project")
    for part in BUILD_PARTS:
        src = repo_root / part
        if src.is_dir():
            shutil.copytree(src, proj.root / part)
        else:
            shutil.copy2(src, proj.root / part)
    runner = CliRunner()
    added = runner.invoke(main, ["add-poll", str(fixtures_dir.joinpath(*POLL_FILE)),
                                 "--root", str(proj.root)])
    assert added.exit_code == 0, added.output
    stale = nbval(repo_root, proj.root, "charts.ipynb")
    built = runner.invoke(main, ["build", "--force", "--root", str(proj.root)])
    assert built.exit_code == 0, built.output
    return {"proj": proj, "stale": stale}


def test_the_copy_draws_the_new_poll(updated):
    report = Report.load(updated["proj"].root)
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
    run = nbval(repo_root, updated["proj"].root, *notebooks)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
