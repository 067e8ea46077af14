"""Sentences about the dataset follow the data: change data/ and the sentence changes."""

from __future__ import annotations

import csv

from unionstate.facts import count
from unionstate.markup import md
from unionstate.report import Report


def _append(proj, name: str, row: dict) -> None:
    path = proj.data / name
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    with path.open("a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, header).writerow(row)


def add_new_poll(project_copy):
    """Add to the copy a poll of January 2026 from a new source, with a sample size and a mode,
    and one figure taken from that new source."""
    _append(project_copy, "polls.csv", {
        "poll_id": "new-2026-01", "country": "RUS", "pollster": "Pollster*X", "commissioned_by": "",
        "fieldwork_start": "2026-01", "fieldwork_end": "2026-01", "population": "Russians",
        "mode": "telephone", "sample_size": "1600", "source": "doe2026",
        "locator": "Doe, para. 2", "notes": ""})
    _append(project_copy, "results.csv", {
        "result_id": "rus-new-2026-status-quo", "poll_id": "new-2026-01", "question": "Q",
        "option": "Keep relations as they are", "stance": "status_quo", "share_low": "40",
        "share_high": "40", "qualifier": "exact", "derivation": "", "source": "doe2026",
        "locator": "para. 2", "notes": ""})
    with (project_copy.root / "references.bib").open("a", encoding="utf-8") as f:
        f.write("\n@online{doe2026,\n  author = {Doe, Jane},\n  title = {New Poll},\n"
                "  date = {2026-02-01},\n}\n")
    return project_copy


def test_sentences_follow_a_new_poll(project_copy):
    before = Report.load(project_copy.root).facts
    n = len(before.ds.polls)
    add_new_poll(project_copy)
    after = Report.load(project_copy.root).facts
    assert len(after.ds.polls) == n + 1
    # No poll of the sources gives a sample size; the new one does, and is named with it.
    assert before.sample_sizes.startswith(f"None of the {count(n, 'poll')} ")
    assert after.sample_sizes.startswith(f"One of the {count(n + 1, 'poll')} gives a sample size")
    assert r"(Pollster\*X, January 2026: n = 1,600)" in after.sample_sizes
    # Its mode joins the stated ones.
    assert "telephone" not in before.modes
    assert r"telephone (Pollster\*X, January 2026)" in after.modes
    # Figures no longer all come through one work.
    assert before.figure_sources.startswith("Every poll figure comes through Shraibman")
    assert "Doe (one figure)" in after.figure_sources
    assert not after.figure_sources.startswith("Every")
    # The period and the latest poll move to 2026.
    assert after.period.endswith("to 2026") and not before.period.endswith("2026")
    assert after.latest_poll == r"the Pollster\*X poll of January 2026"


def test_a_changed_cell_changes_the_sentence(project_copy, set_cell):
    set_cell(project_copy, "polls.csv", "vciom-2019-04", "mode", "telephone")
    set_cell(project_copy, "polls.csv", "vciom-2019-04", "sample_size", "1600")
    facts = Report.load(project_copy.root).facts
    assert "telephone (VCIOM, April 2019)" in facts.modes
    assert "(VCIOM, April 2019: n = 1,600)" in facts.sample_sizes


def test_data_text_is_escaped():
    assert md("A*B_[c]<d>") == r"A\*B\_\[c\]\<d\>"
    assert md("plain, text (x)") == "plain, text (x)"
