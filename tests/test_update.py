"""When a poll arrives: one command adds it, the report follows, and the change is visible.

The commands run in tests/shared_build.py (started by conftest.py while other tests run), on a
copy of the session's built project put under git, with a clearly synthetic poll from
tests/fixtures/update/ (never added to data/)."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from conftest import outcome

from unionstate.paths import Project

REPO = Path(__file__).resolve().parents[1]
POLL = REPO / "tests" / "fixtures" / "update" / "synthetic-2026.yaml"
NEW_IDS = {"blr-synthetic-2026-independent", "blr-synthetic-2026-one-state"}


def ids_in(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row.get("result_id") for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def updated(built, shared_build):
    """tests/shared_build.py's second stage: the session's built project copied and put under
    git, built again with nothing changed, the synthetic poll added with `add-poll`, `diff`
    run, and built again; the first build is the session's own."""
    data = shared_build.stage("updated")
    return {"proj": Project(Path(data["root"])), "first": built.outcome,
            "again": outcome(data["again"]), "added": SimpleNamespace(**data["added"]),
            "diff": SimpleNamespace(**data["diff"]), "after_build": outcome(data["after_build"]),
            "before": data["before"], "after": data["after"]}


def test_a_build_with_nothing_changed_skips_the_work(updated):
    assert updated["first"].written and not updated["first"].skipped
    assert updated["again"].written == []
    assert any("no input changed" in s for s in updated["again"].skipped)


def test_add_poll_accepts_the_synthetic_poll(updated):
    assert updated["added"].exit_code == 0, updated["added"].output


def test_new_poll_shows_up_in_every_chart_it_belongs_to(updated):
    figures = updated["proj"].figures
    assert ids_in(figures / "fig-blr-opinion.csv") >= NEW_IDS
    assert "blr-synthetic-2026-one-state" in ids_in(figures / "fig-mirror.csv")
    assert not NEW_IDS & ids_in(figures / "fig-rus-opinion.csv")


def test_new_poll_shows_up_in_the_inventory_and_the_latest_readings(updated):
    nb = nbformat.read(updated["proj"].build / "report.ipynb", as_version=4)
    outputs = "\n".join(o.get("data", {}).get("text/markdown", "")
                        for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "synthetic-2026-01" in outputs  # the poll inventory table
    assert "Synthetic Test Polling (fictional)" in prose  # a latest-reading sentence
    assert "55%" in updated["after"]["latest reading blr-status-quo"]


def test_figures_the_articles_cite_stay_as_they_are(updated):
    before, after = updated["before"], updated["after"]
    cited = [k for k in before if k.startswith("text ")]
    assert cited and all(after[k] == before[k] for k in cited)


def changed(output: str, where: str) -> list[str]:
    """The old -> new of each line of a change listing (changes.format_changes) at `where`."""
    return [line.split(None, 2)[2] for line in output.splitlines()
            if line.startswith(f"{where} ")]


def test_diff_lists_what_moved(updated):
    out = updated["diff"].output
    assert updated["diff"].exit_code == 0, out
    assert changed(out, "text blr-synthetic-2026-independent") == ["(absent) -> 55%"], out
    assert "latest reading blr-status-quo" in out
    assert "text blr-nasb-2020-independent" not in out  # unchanged numbers are not listed


def test_the_build_after_a_data_change_prints_the_changes(updated):
    changes = updated["after_build"].changes
    assert changed(changes, "text blr-synthetic-2026-one-state") == ["(absent) -> 9%"], changes


def test_the_build_names_the_charts_whose_captions_and_alt_text_need_a_look(updated):
    """The synthetic Belarusian poll changes what two charts plot; the Russian-only and
    event charts plot what they did, and are not named although that build wrote their files
    again. Each is named with the file of its hand-written caption and fig-alt."""
    assert updated["after_build"].redrawn == [
        ("fig-blr-opinion", "chapters/03-belarusian-opinion.qmd"),
        ("fig-mirror", "chapters/05-mirror-image.qmd"),
    ]
    written = {p.name for p in updated["after_build"].written}
    assert {"fig-rus-opinion.csv", "fig-timeline.csv"} <= written


def test_diff_reads_the_results_each_chart_draws_without_drawing_it(repo_project):
    """`unionstate diff` computes the numbers of two data versions without drawing a chart
    (report.RESULT_ROWS): they must be the numbers of the drawn charts, row for row."""
    from unionstate.changes import numbers
    from unionstate.report import CHARTS, RESULT_ROWS, Report

    undrawn, drawn = Report.load(repo_project.root), Report.load(repo_project.root)
    for label in CHARTS:
        drawn.plotted(label)
    for label in RESULT_ROWS:
        rows, plotted = undrawn.results_drawn(label), drawn.plotted(label)
        assert list(rows["result_id"]) == list(plotted["result_id"]), label
    assert not undrawn._drawn
    assert numbers(undrawn) == numbers(drawn)


def test_diff_gives_each_chart_figure_as_precisely_as_its_source(repo_project):
    """A chart's entry in the diff is the figure in the source's words, with the position of
    its mark only where that differs: Shraibman's "one in six" (para. 11) is never a bare
    16.67%, his "more than 40%" (para. 10) never a bare 40%, his 75-76% (para. 8) a range."""
    from unionstate.changes import numbers
    from unionstate.report import Report

    shown = numbers(Report.load(repo_project.root))
    assert shown["fig-rus-opinion rus-vciom-part-of-russia"] == "one in six (drawn at 16.67%)"
    assert shown["fig-rus-opinion rus-levada-economic"] == "more than 40% (drawn at 40%)"
    assert shown["fig-blr-opinion blr-baw-2019-current-stage"] == "75–76%"
