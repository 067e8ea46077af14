"""When a poll arrives: one command adds it, the report follows, and the change is visible.

The commands run in tests/shared_build.py (started by conftest.py while other tests run), on a
copy of the session's built project put under git, with a clearly synthetic poll from
tests/fixtures/update/ (never added to data/)."""

from __future__ import annotations

import csv
import re
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


def _later_than_the_synthetic_poll() -> list[str]:
    """Belarusian polls in this checkout's data/ that end no earlier than the synthetic poll
    (January 2026): where a user has added one, the synthetic poll is not the latest reading."""
    with (Path(__file__).resolve().parents[1] / "data" / "polls.csv").open(
            encoding="utf-8", newline="") as f:
        return [p["poll_id"] for p in csv.DictReader(f)
                if p["country"] == "BLR" and p["fieldwork_end"] >= "2026-01"]


def _needs_the_synthetic_poll_latest() -> None:
    later = _later_than_the_synthetic_poll()
    if later:
        pytest.skip(f"data/ holds Belarusian polls as late as the synthetic one ({', '.join(later)})"
                    ", so it cannot become the latest reading")


def test_new_poll_shows_up_in_the_inventory_and_the_latest_readings(updated):
    nb = nbformat.read(updated["proj"].build / "report.ipynb", as_version=4)
    outputs = "\n".join(o.get("data", {}).get("text/markdown", "")
                        for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "synthetic-2026-01" in outputs  # the poll inventory table
    _needs_the_synthetic_poll_latest()
    assert "Synthetic Test Polling (fictional)" in prose  # the latest poll, named in the outlook
    assert [v for v in at(updated["after"], r"chapters/08-outlook\.qmd, line \d+, table "
                          r"tbl-indicators: Support for keeping today's relations between two "
                          r"states \(BLR\)")] == ["55% (Synthetic Test Polling (fictional), "
                                                    "January 2026)"]


def at(shown: dict[str, str], where: str) -> list[str]:
    """The numbers shown at each place whose words match the pattern `where` (a chapter's
    line numbers move as its prose is edited; the pattern says which line it is with \\d+)."""
    return [v for k, v in shown.items() if re.fullmatch(where, k)]


def test_figures_the_articles_cite_stay_as_they_are(updated):
    before, after = updated["before"], updated["after"]
    # the figures the prose cites inline (chapters 3 to 5: S["<result_id>"])
    cited = [k for k in before if re.match(r"chapters/0[345]-[\w-]+\.qmd, line \d+: ", k)]
    assert len(cited) > 14 and all(after[k] == before[k] for k in cited)


def changed(output: str, where: str) -> list[str]:
    """The old -> new of each line of a change listing (changes.format_changes) at `where`."""
    return [line.split(None, 2)[2] for line in output.splitlines()
            if line.startswith(f"{where} ")]


def test_diff_lists_what_moved(updated):
    out = updated["diff"].output
    assert updated["diff"].exit_code == 0, out
    lines = out.replace("\n    ", " ").splitlines()  # each number's wrapped line, joined
    assert [line for line in lines if re.fullmatch(
        r"- chapters/03-belarusian-opinion\.qmd, line \d+, chart fig-blr-opinion: Synthetic "
        "Test Polling \\(fictional\\), Jan 2026, \u201cTwo independent states\u201d: new: 55%",
        line)], lines
    assert "Academy of Sciences, Jun 2020, \u201cTwo" not in out  # unchanged: not listed
    assert all(len(line) <= 88 for line in out.splitlines())
    assert "[@" not in out and "`" not in out  # no citation or code markup
    # the hand-written passages to re-read, with file and line, on every run
    assert [line for line in lines if re.fullmatch(
        r"- chapters/03-belarusian-opinion\.qmd, line \d+ \(alt text of fig-blr-opinion\): .*",
        line)], lines
    _needs_the_synthetic_poll_latest()
    assert [line for line in lines if re.fullmatch(
        r"- chapters/08-outlook\.qmd, line \d+, table tbl-indicators: Support for keeping "
        r"today's relations between two states \(BLR\): .*"
        "\u2192 55% \\(Synthetic Test Polling \\(fictional\\), January 2026\\)", line)], lines


def test_the_build_after_a_data_change_prints_the_changes(updated):
    changes = updated["after_build"].changes
    assert "\u201cOne state with Russia\u201d: new: 9%" in changes.replace("\n    ", " ")


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
    rus = r"chapters/04-russian-opinion\.qmd, line \d+, chart fig-rus-opinion"
    assert at(shown, rf"{rus}: VCIOM, Apr 2019 and Sep 2020, \u201cBelarus becomes part of "
              r"Russia\u201d") == ["one in six (drawn at 16.67%)"]
    assert at(shown, rf"{rus}: Levada Center, Dec 2019 and Aug 2020, \u201cDevelop economic "
              r"cooperation\u201d") == ["more than 40% (drawn at 40%)"]
    assert at(shown, r"chapters/03-belarusian-opinion\.qmd, line \d+, chart fig-blr-opinion: "
              r"Belarusian Analytical Workshop, Aug and Dec 2019, \u201cKeep integration .*") \
        == ["75–76%"]


def test_data_differs_only_where_git_says_so(tmp_path):
    """Outside a repository git cannot compare: a build, which only lists passages to re-read,
    lists none. In a repository, data/ differs once it is edited after the last commit."""
    import shutil
    import subprocess

    from unionstate.changes import data_differs
    from unionstate.paths import Project

    proj = Project(tmp_path)
    assert data_differs(proj) is False
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    proj.data.mkdir()
    (proj.data / "polls.csv").write_text("poll_id\na\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e",
                                                 "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    assert data_differs(proj) is False
    (proj.data / "polls.csv").write_text("poll_id\nb\n", encoding="utf-8")
    assert data_differs(proj) is True
