"""After an update the nbval notebooks stay green: a synthetic poll added to a copy of the
project with `unionstate add-poll`, the copy rebuilt, and every notebook in tests/notebooks/
run against the copy ($UNIONSTATE_ROOT), each cell's outputs compared with the stored ones by
nbval's own comparison (test_nbval_meta.Runner, which the meta-test shows fails the same cells
as the real command, `pytest --nbval`).

A control run bites first: with the figure files of before the poll, the copy's figures lack
the new poll's results, and charts.ipynb must fail, naming them. The update itself is the one
tests/shared_build.py makes for tests/test_update.py (its "updated" stage); the notebook runs
are its "update-nbval" stage.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from readback import read_marks

from unionstate.report import Report

NEW_IDS = {"blr-synthetic-2026-independent", "blr-synthetic-2026-one-state"}


@pytest.fixture(scope="module")
def nbval_after_update(shared_build) -> dict:
    """tests/shared_build.py's "update-nbval" stage: the failing cells (index -> nbval's
    report) of every notebook run against the updated copy, and of charts.ipynb run against
    that copy with the figure files of before the poll."""
    return shared_build.stage("update-nbval")


def test_the_copy_draws_the_new_poll(nbval_after_update):
    report = Report.load(Path(nbval_after_update["root"]))
    assert set(read_marks(report.figure("fig-blr-opinion"))) >= NEW_IDS
    assert "blr-synthetic-2026-one-state" in read_marks(report.figure("fig-mirror"))


def test_stale_figure_files_fail_the_charts_notebook(nbval_after_update):
    failures = nbval_after_update["stale"]
    assert failures, "charts.ipynb passed with the figure files of before the poll"
    assert any("blr-synthetic-2026-independent missing" in text for text in failures.values()), \
        "\n\n".join(failures.values())


def test_every_nbval_notebook_passes_after_the_update(nbval_after_update, repo_root):
    notebooks = sorted(p.name for p in (repo_root / "tests" / "notebooks").glob("*.ipynb"))
    assert notebooks and sorted(nbval_after_update["failures"]) == notebooks
    failing = {name: f for name, f in nbval_after_update["failures"].items() if f}
    assert not failing, "\n\n".join(t for f in failing.values() for t in f.values())
