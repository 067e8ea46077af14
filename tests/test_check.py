"""`unionstate check`: every validation rule rejects a small bad input with a precise message.

Each test breaks one thing in a temporary copy of the project (one cell, or one file taken
from tests/fixtures/check/) and asserts the file, line, column and key words of what `check`
reports. Problems that the real data already has (there should be none, see
test_real_data_passes) are subtracted, so that each test sees only what its edit caused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from unionstate.bib import check_file
from unionstate.cli import main
from unionstate.validate import Problem, check

RESULTS, POLLS, EVENTS, BIB = "data/results.csv", "data/polls.csv", "data/events.csv", "references.bib"

STANCES = ("incorporation", "merger", "closer_union", "political_integration", "economic",
           "status_quo")


@pytest.fixture(scope="session")
def baseline(repo_project) -> set[Problem]:
    return set(check(repo_project))


@pytest.fixture(scope="session")
def real_bib(repo_project) -> tuple[bytes, set[str] | None]:
    """The real references.bib and its keys (None unless it reads without a problem)."""
    keys, problems = check_file(repo_project.bib, "references.bib")
    return repo_project.bib.read_bytes(), (keys if not problems else None)


@pytest.fixture
def new_problems(baseline, real_bib):
    """new_problems(project) -> the problems of a copy that the real data does not have.

    Parsing references.bib is a third of the time `check` takes, so where the copy's bib is
    byte-identical to the real one (which reads without a problem) its keys are passed in
    rather than parsed again; `check` then does exactly what it would do after parsing it.
    Tests that change the bib get the whole of `check`.
    """
    text, keys = real_bib

    def run(proj) -> list[Problem]:
        same_bib = keys is not None and proj.bib.is_file() and proj.bib.read_bytes() == text
        return sorted(set(check(proj, bib_keys=set(keys) if same_bib else None)) - baseline)
    return run


def _line(read_rows, proj, name: str, key: str) -> int:
    """The file line of the row whose first column is `key`."""
    header, rows = read_rows(proj, name)
    (line,) = [n for n, row in rows if row[header[0]] == key]
    return line


def _poll_lines(read_rows, proj, poll_id: str) -> list[int]:
    return [n for n, row in read_rows(proj, "results.csv")[1] if row["poll_id"] == poll_id]


def expect(problems: list[Problem], expected: dict[tuple[str, int, str], tuple[str, ...]]):
    """Exactly one problem at each expected (file, line, column), none elsewhere, and each
    problem's message containing the expected words."""
    shown = "\n".join(str(p) for p in problems)
    where = sorted((p.file, p.line, p.column) for p in problems)
    assert where == sorted(expected), f"problems reported:\n{shown}"
    for p in problems:
        for word in expected[(p.file, p.line, p.column)]:
            assert word in p.message, f"{word!r} not in: {p}"


# ---------------------------------------------------------------- the real data


def test_real_data_passes(repo_project):
    problems = check(repo_project)
    assert problems == [], "\n".join(str(p) for p in problems)


def test_problem_text_names_file_line_and_column():
    p = Problem(RESULTS, 5, "stance", "'foo' is not an allowed code; allowed: merger")
    assert str(p) == "data/results.csv, line 5, column 'stance': 'foo' is not an allowed code; " \
                     "allowed: merger"
    assert str(Problem(BIB, message="file is missing")) == "references.bib: file is missing"


# ---------------------------------------------------------------- columns and cells


def test_missing_column(project_copy, overwrite, fixtures_dir, new_problems):
    overwrite(project_copy, "results.csv", fixtures_dir / "check" / "results_missing_column.csv")
    expect(new_problems(project_copy), {
        (RESULTS, 0, "qualifier"): ("column 'qualifier' is missing", "required columns:",
                                    "share_high, qualifier, derivation"),
    })


def test_unknown_column(project_copy, overwrite, fixtures_dir, new_problems):
    overwrite(project_copy, "events.csv", fixtures_dir / "check" / "events_unknown_column.csv")
    expect(new_problems(project_copy), {
        (EVENTS, 0, "url"): ("column 'url' is not in the codebook", "allowed columns:",
                             "event_id, date, date_end"),
    })


def test_empty_required_cell(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "polls.csv", "nasb-2020-06", "population", "")
    expect(new_problems(project_copy), {
        (POLLS, line, "population"): ("is empty", "a value is required"),
    })


def test_whitespace_only_cell_counts_as_empty(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "events.csv", "coup-plot", "label", "   ")
    expect(new_problems(project_copy), {(EVENTS, line, "label"): ("is empty",)})


def test_empty_optional_cell_is_fine(project_copy, set_cell, new_problems):
    set_cell(project_copy, "polls.csv", "nasb-2020-06", "notes", "")
    assert new_problems(project_copy) == []


@pytest.mark.parametrize(("name", "column", "key", "other"), [
    ("results.csv", "result_id", "blr-nasb-2020-equal-union", "blr-zois-2021-one-state"),
    ("events.csv", "event_id", "talks-halted", "wagner-affair"),
])
def test_duplicate_id(project_copy, set_cell, read_rows, new_problems, name, column, key, other):
    first = set_cell(project_copy, name, key, column, other)
    (second,) = [line for line, row in read_rows(project_copy, name)[1]
                 if row[column] == other and line != first]
    words = (f"'{other}' appears more than once", "must be unique")
    expect(new_problems(project_copy), {
        (f"data/{name}", first, column): words,
        (f"data/{name}", second, column): words,
    })


@pytest.mark.parametrize(("name", "key", "column", "bad", "allowed"), [
    ("results.csv", "blr-zois-2021-one-state", "stance", "annexation", STANCES),
    ("results.csv", "blr-zois-2021-one-state", "qualifier", "roughly",
     ("exact", "range", "approximate_range", "approximate", "more_than", "fraction", "derived")),
    ("polls.csv", "zois-2021-03", "mode", "phone",
     ("face-to-face", "telephone", "online", "focus groups", "unknown")),
    ("polls.csv", "zois-2021-03", "country", "UKR", ("BLR", "RUS")),
    ("polls.csv", "zois-2021-03", "country", "blr", ("BLR", "RUS")),  # codes are case-sensitive
    ("events.csv", "coup-plot", "kind", "coup", ("treaty", "military", "other")),
])
def test_code_not_in_codebook(project_copy, set_cell, new_problems, name, key, column, bad,
                              allowed):
    line = set_cell(project_copy, name, key, column, bad)
    problems = new_problems(project_copy)
    expect(problems, {(f"data/{name}", line, column): (f"'{bad}' is not an allowed code",
                                                       "allowed: ")})
    listed = problems[0].message.split("allowed: ", 1)[1].split(", ")
    assert set(allowed) <= set(listed)


@pytest.mark.parametrize(("name", "key", "column", "bad"), [
    ("results.csv", "blr-zois-2021-one-state", "result_id", "BLR_zois_2021"),
    ("events.csv", "coup-plot", "event_id", "coup plot"),
    ("results.csv", "blr-zois-2021-one-state", "poll_id", "zois-2021-03; zois-2021-04"),
])
def test_bad_slug_pattern(project_copy, set_cell, new_problems, name, key, column, bad):
    line = set_cell(project_copy, name, key, column, bad)
    problems = [p for p in new_problems(project_copy) if "not of the allowed form" in p.message]
    expect(problems, {(f"data/{name}", line, column): (f"'{bad}'", "lower-case slug")})


def test_bad_derivation_form(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "rus-levada-region", "derivation",
                    "a half of rus-levada-political")
    expect(new_problems(project_copy), {
        (RESULTS, line, "derivation"): ("not of the allowed form", "half of|about the same as"),
    })


# ---------------------------------------------------------------- shares and qualifiers


def test_non_number_share(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "blr-nasb-2020-independent", "share_low", "sixty")
    expect(new_problems(project_copy), {
        (RESULTS, line, "share_low"): ("'sixty' is not a number", "decimal number"),
    })


def test_comma_decimal_is_not_a_number(project_copy, set_cell, new_problems):
    key = "rus-vciom-part-of-russia"
    line = set_cell(project_copy, "results.csv", key, "share_high", "16,67")
    expect(new_problems(project_copy), {(RESULTS, line, "share_high"): ("not a number",)})


@pytest.mark.parametrize(("key", "values", "columns"), [
    # both bounds below 0 (an exact figure: low = high, so only the range rule fires)
    ("blr-nasb-2020-incorporation", {"share_low": "-5", "share_high": "-5"},
     ("share_low", "share_high")),
    # a lower bound above 100 for an open-ended figure
    ("rus-levada-economic", {"share_low": "140"}, ("share_low",)),
])
def test_share_out_of_range(project_copy, set_cell, new_problems, key, values, columns):
    for column, value in values.items():
        line = set_cell(project_copy, "results.csv", key, column, value)
    expect(new_problems(project_copy), {
        (RESULTS, line, c): (f"'{values[c]}' is out of range", "0 to 100") for c in columns
    })


def test_share_bounds_of_0_and_100_are_allowed(project_copy, set_cell, new_problems):
    set_cell(project_copy, "results.csv", "blr-baw-2019-current-stage", "share_high", "100")
    set_cell(project_copy, "results.csv", "rus-levada-economic", "share_low", "0")
    assert new_problems(project_copy) == []


def test_share_low_above_share_high(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "blr-baw-2019-current-stage", "share_low", "77")
    expect(new_problems(project_copy), {
        (RESULTS, line, "share_high"): ("76 is below share_low 77", "share_low ≤ share_high"),
    })


@pytest.mark.parametrize(("key", "column", "value", "words"), [
    # exact with low ≠ high
    ("blr-nasb-2020-equal-union", "share_high", "26",
     ("26 differs from share_low 25", "'exact'")),
    # approximate with low ≠ high
    ("rus-levada-current-level", "share_high", "35", ("35 differs from share_low 30",)),
    # range with low == high
    ("blr-baw-2019-current-stage", "share_high", "75",
     ("equals share_low (75)", "'range'", "qualifier exact")),
    ("rus-vciom-no-further", "share_high", "43", ("equals share_low (43)", "'approximate_range'")),
    # more_than with an upper bound
    ("rus-levada-economic", "share_high", "60", ("is '60'", "'more_than'", "no upper bound")),
    # missing upper bound (any qualifier but more_than)
    ("blr-nasb-2020-independent", "share_high", "", ("is empty", "only for qualifier more_than",
                                                     "'exact'")),
    ("blr-baw-2019-current-stage", "share_high", "", ("is empty", "'range'")),
])
def test_qualifier_and_bounds_disagree(project_copy, set_cell, new_problems, key, column, value,
                                       words):
    line = set_cell(project_copy, "results.csv", key, column, value)
    expect(new_problems(project_copy), {(RESULTS, line, column): words})


@pytest.mark.parametrize("value", ["16.7", "15"])
def test_fraction_not_100_over_n(project_copy, set_cell, read_rows, new_problems, value):
    # rus-vciom-equal-union is "about the same as" this row, so its bounds no longer follow.
    line = set_cell(project_copy, "results.csv", "rus-vciom-part-of-russia", "share_low", value)
    set_cell(project_copy, "results.csv", "rus-vciom-part-of-russia", "share_high", value)
    child = _line(read_rows, project_copy, "results.csv", "rus-vciom-equal-union")
    expect(new_problems(project_copy), {
        (RESULTS, line, "share_low"): (f"{value} is not 100/N", "one in N"),
        (RESULTS, child, "share_low"): ("do not follow from 'about the same as "
                                        "rus-vciom-part-of-russia'", f"allowed: {value}"),
    })


@pytest.mark.parametrize("value", ["33.33", "14.29"])
def test_fraction_of_100_over_n_passes(project_copy, set_cell, new_problems, value):
    for key in ("rus-vciom-part-of-russia", "rus-vciom-equal-union"):
        for column in ("share_low", "share_high"):
            set_cell(project_copy, "results.csv", key, column, value)
    assert new_problems(project_copy) == []


# ---------------------------------------------------------------- derived figures


def test_derived_without_derivation(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "rus-levada-region", "derivation", "")
    expect(new_problems(project_copy), {
        (RESULTS, line, "derivation"): ("is empty for a derived figure", "'half of RESULT_ID'"),
    })


def test_derivation_on_a_non_derived_row(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "blr-nasb-2020-incorporation", "derivation",
                    "half of blr-nasb-2020-equal-union")
    expect(new_problems(project_copy), {
        (RESULTS, line, "derivation"): ("is set but qualifier is 'exact'", "only with qualifier"),
    })


def test_derivation_pointing_to_an_unknown_result(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "rus-levada-region", "derivation",
                    "half of rus-levada-politics")
    expect(new_problems(project_copy), {
        (RESULTS, line, "derivation"): ("refers to 'rus-levada-politics'", "not one result_id",
                                        "an existing result_id"),
    })


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("share_low", "11", "bounds 11–12"),    # half of 23 is 11.5
    ("share_high", "24", "bounds 11.5–24"),  # half of 24 is 12
])
def test_derived_bounds_not_following_the_rule(project_copy, set_cell, new_problems, column,
                                               value, shown):
    line = set_cell(project_copy, "results.csv", "rus-levada-region", column, value)
    expect(new_problems(project_copy), {
        (RESULTS, line, "share_low"): (shown, "do not follow from 'half of rus-levada-political'",
                                       "allowed: 11.5–12"),
    })


def test_derivation_from_a_figure_of_other_polls(project_copy, set_cell, new_problems):
    # The parent is a figure of both Levada waves; the derived row names only the first.
    line = set_cell(project_copy, "results.csv", "rus-levada-region", "poll_id", "levada-2019-12")
    expect(new_problems(project_copy), {
        (RESULTS, line, "derivation"): ("a figure of other polls (levada-2019-12;levada-2020-08)",
                                        "allowed: a figure of the same polls"),
    })


def test_derivation_from_a_result_id_given_twice(project_copy, set_cell, read_rows,
                                                 new_problems):
    first = set_cell(project_copy, "results.csv", "blr-zois-2021-one-state", "result_id",
                     "rus-levada-political")
    second = next(n for n, row in read_rows(project_copy, "results.csv")[1]
                  if row["result_id"] == "rus-levada-political" and n != first)
    derived = _line(read_rows, project_copy, "results.csv", "rus-levada-region")
    twice = ("'rus-levada-political' appears more than once",)
    expect(new_problems(project_copy), {
        (RESULTS, first, "result_id"): twice,
        (RESULTS, second, "result_id"): twice,
        (RESULTS, derived, "derivation"): ("refers to 'rus-levada-political', which is not one "
                                           "result_id",),
    })


def test_derived_bounds_follow_a_changed_parent(project_copy, set_cell, read_rows, new_problems):
    # 'about the same as' copies the parent's bounds: a changed parent breaks the child.
    child = _line(read_rows, project_copy, "results.csv", "rus-vciom-equal-union")
    set_cell(project_copy, "results.csv", "rus-vciom-part-of-russia", "share_low", "20")
    set_cell(project_copy, "results.csv", "rus-vciom-part-of-russia", "share_high", "20")
    expect(new_problems(project_copy), {
        (RESULTS, child, "share_low"): ("bounds 16.67–16.67", "allowed: 20–20"),
    })


def test_derived_row_with_a_non_number_share_is_reported_not_crashed(project_copy, set_cell,
                                                                     new_problems):
    # Regression: formatting the derivation message used to raise TypeError on None.
    line = set_cell(project_copy, "results.csv", "rus-levada-region", "share_low", "half")
    expect(new_problems(project_copy), {(RESULTS, line, "share_low"): ("'half' is not a number",)})


# ---------------------------------------------------------------- links between tables


def test_result_poll_id_not_in_polls(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "blr-zois-2021-one-state", "poll_id",
                    "zois-2021-04")
    expect(new_problems(project_copy), {
        (RESULTS, line, "poll_id"): ("'zois-2021-04' is not a poll_id in data/polls.csv",),
    })


def test_one_unknown_wave_of_a_multi_wave_poll_id(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "rus-vciom-no-further", "poll_id",
                    "vciom-2019-04;vciom-2021-09")
    expect(new_problems(project_copy), {
        (RESULTS, line, "poll_id"): ("'vciom-2021-09' is not a poll_id",),
    })


def test_multi_wave_poll_id_mixing_countries(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "results.csv", "rus-vciom-no-further", "poll_id",
                    "vciom-2019-04;zois-2021-03")
    expect(new_problems(project_copy), {
        (RESULTS, line, "poll_id"): ("several countries (BLR, RUS)", "waves of polls in one "
                                                                     "country"),
    })


def test_multi_wave_poll_with_an_empty_country_is_reported_not_crashed(project_copy, set_cell,
                                                                       new_problems):
    # Regression: sorting {nan, 'BLR'} in the several-countries message raised TypeError.
    line = set_cell(project_copy, "polls.csv", "baw-2019-08", "country", "")
    expect(new_problems(project_copy), {(POLLS, line, "country"): ("is empty",)})


@pytest.mark.parametrize(("name", "key"), [
    ("results.csv", "blr-zois-2021-one-state"),
    ("polls.csv", "zois-2021-03"),
    ("events.csv", "coup-plot"),
])
def test_source_not_in_references_bib(project_copy, set_cell, new_problems, name, key):
    line = set_cell(project_copy, name, key, "source", "shraibman2021")
    expect(new_problems(project_copy), {
        (f"data/{name}", line, "source"): ("'shraibman2021' is not a key in references.bib",
                                           "shraibman, ", "or add an entry there"),
    })


# ---------------------------------------------------------------- dates and sums


@pytest.mark.parametrize(("name", "key", "column", "value"), [
    ("polls.csv", "nasb-2020-06", "fieldwork_start", "2020-13"),
    ("polls.csv", "nasb-2020-06", "fieldwork_end", "2020-06-31"),
    ("events.csv", "presidential-election", "date", "2020-13"),
    ("events.csv", "medvedev-presidency", "date_end", "2012/01"),
])
def test_invalid_date(project_copy, set_cell, new_problems, name, key, column, value):
    line = set_cell(project_copy, name, key, column, value)
    expect(new_problems(project_copy), {
        (f"data/{name}", line, column): (f"'{value}' is not a valid date", "YYYY-MM-DD"),
    })


def test_a_year_past_the_codebook_window_is_one_problem(project_copy, set_cell, new_problems):
    # 2999 is also after today; the window's message alone names what is wrong.
    line = set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_end", "2999-01")
    expect(new_problems(project_copy), {
        (POLLS, line, "fieldwork_end"): ("'2999-01' is outside the years allowed",
                                         "1900 to 2100"),
    })


def test_fieldwork_start_after_fieldwork_end(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_start", "2020-07")
    expect(new_problems(project_copy), {
        (POLLS, line, "fieldwork_end"): ("'2020-06' is before fieldwork_start '2020-07'",),
    })


@pytest.mark.parametrize(("start", "end"), [
    ("2020-06-15", "2020-06"),  # a day inside the month the fieldwork ended in
    ("2020-06", "2020-06-15"),  # a month whose first day is before the end
    ("2020", "2020-03"),
])
def test_dates_of_different_precision_may_overlap(project_copy, set_cell, new_problems, start,
                                                  end):
    # Out of order only if the start's first possible day is after the end's last one.
    set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_start", start)
    set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_end", end)
    assert new_problems(project_copy) == []


def test_event_ending_before_it_starts(project_copy, set_cell, new_problems):
    line = set_cell(project_copy, "events.csv", "medvedev-presidency", "date_end", "2007")
    expect(new_problems(project_copy), {
        (EVENTS, line, "date_end"): ("'2007' is before date '2008'",),
    })


def _set_share(proj, set_cell, key, value):
    set_cell(proj, "results.csv", key, "share_low", value)
    return set_cell(proj, "results.csv", key, "share_high", value)


def test_exact_shares_adding_past_100(project_copy, set_cell, read_rows, new_problems):
    # NASB June 2020: 62 + 25 + 7 = 94. With 70 instead of 62 they add up to 102, past the
    # 100 + 3 × 0.5 = 101.5 that rounding allows for three options.
    _set_share(project_copy, set_cell, "blr-nasb-2020-independent", "70")
    last = max(_poll_lines(read_rows, project_copy, "nasb-2020-06"))
    expect(new_problems(project_copy), {
        (RESULTS, last, "share_low"): ("exact shares of poll 'nasb-2020-06'", "add up to 102%",
                                       "at most 101.5%"),
    })


def test_exact_shares_within_the_rounding_allowance(project_copy, set_cell, new_problems):
    # 69.5 + 25 + 7 = 101.5: exactly the allowance for three options, so accepted.
    _set_share(project_copy, set_cell, "blr-nasb-2020-independent", "69.5")
    assert new_problems(project_copy) == []


def test_two_option_allowance_is_one_point(project_copy, set_cell, read_rows, new_problems):
    # ZOiS: 7 + 11. Two options allow 101; 7 + 94.5 = 101.5 is too much, 7 + 94 = 101 is not.
    _set_share(project_copy, set_cell, "blr-zois-2021-closer-union", "94")
    assert new_problems(project_copy) == []
    _set_share(project_copy, set_cell, "blr-zois-2021-closer-union", "94.5")
    last = max(_poll_lines(read_rows, project_copy, "zois-2021-03"))
    expect(new_problems(project_copy), {
        (RESULTS, last, "share_low"): ("add up to 101.5%", "at most 101%"),
    })


def test_non_exact_shares_are_not_summed(project_copy, set_cell, new_problems):
    # Levada: a range, an approximate and a more_than figure of one question; 90 + 30 + 40
    # would be past 100 if they counted.
    _set_share(project_copy, set_cell, "rus-levada-political", "90")
    set_cell(project_copy, "results.csv", "rus-levada-region", "share_low", "45")
    set_cell(project_copy, "results.csv", "rus-levada-region", "share_high", "45")
    set_cell(project_copy, "results.csv", "rus-levada-political", "qualifier", "approximate")
    assert new_problems(project_copy) == []


# ---------------------------------------------------------------- unreadable and missing files


def test_non_utf8_csv(project_copy, overwrite, fixtures_dir, new_problems):
    overwrite(project_copy, "polls.csv", fixtures_dir / "check" / "polls_latin1.csv")
    # Only the file itself: results.csv is not checked against a polls.csv that cannot be
    # read (it used to report every poll_id as unknown).
    expect(new_problems(project_copy), {(POLLS, 0, ""): ("is not UTF-8 text", "at byte")})


def test_unreadable_csv(project_copy, overwrite, fixtures_dir, new_problems):
    overwrite(project_copy, "events.csv", fixtures_dir / "check" / "events_ragged.csv")
    expect(new_problems(project_copy), {
        (EVENTS, 0, ""): ("is not a readable CSV table", "Expected 8 fields in line 4, saw 9"),
    })


def test_a_column_named_twice_in_the_header(project_copy, overwrite, new_problems):
    text = (project_copy.data / "events.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    overwrite(project_copy, "events.csv", header.replace(",label,", ",source,", 1) + "\n" + rest)
    expect(new_problems(project_copy), {
        (EVENTS, 0, ""): ("is not a readable CSV table", "column 'source' appears twice"),
    })


def test_a_byte_order_mark_is_not_part_of_the_first_column(project_copy, overwrite,
                                                            new_problems):
    """Excel's "CSV UTF-8" starts the file with a byte order mark."""
    text = (project_copy.data / "polls.csv").read_text(encoding="utf-8")
    overwrite(project_copy, "polls.csv", "\ufeff" + text)
    assert new_problems(project_copy) == []


def test_empty_csv(project_copy, overwrite, new_problems):
    overwrite(project_copy, "events.csv", b"")
    expect(new_problems(project_copy), {(EVENTS, 0, ""): ("is not a readable CSV table",)})


def test_missing_file(project_copy, new_problems):
    (project_copy.data / "polls.csv").unlink()
    expect(new_problems(project_copy), {(POLLS, 0, ""): ("file is missing",)})


def test_missing_bib(project_copy, new_problems):
    project_copy.bib.unlink()
    # No "not a key in references.bib" for every row: the file itself is the problem.
    expect(new_problems(project_copy), {(BIB, 0, ""): ("file is missing",)})


def test_non_utf8_bib(project_copy, overwrite, fixtures_dir, new_problems):
    overwrite(project_copy, "references.bib", fixtures_dir / "check" / "references_latin1.bib")
    expect(new_problems(project_copy), {(BIB, 0, ""): ("cannot be parsed as BibTeX", "utf-8")})


@pytest.mark.parametrize(("old", "new"), [
    # the closing brace of a field value is missing
    ("journaltitle = {The Moscow Times},", "journaltitle = {The Moscow Times,"),
    # no comma after the key
    ("@article{melyantsou2021,", "@article{melyantsou2021"),
])
def test_unparseable_bib_entry(project_copy, overwrite, new_problems, old, new):
    text = project_copy.bib.read_text(encoding="utf-8")
    assert text.count(old) == 1
    overwrite(project_copy, "references.bib", text.replace(old, new))
    line = text[: text.index("@article{melyantsou2021")].count("\n") + 1
    problems = new_problems(project_copy)
    bib_problems = [p for p in problems if p.file == BIB]
    expect(bib_problems, {(BIB, line, ""): ("cannot be parsed as BibTeX",
                                            "@article entry 'melyantsou2021' could not be read")})
    # Whatever else is reported is a row citing the entry that could not be read.
    others = [p for p in problems if p.file != BIB]
    assert others, "rows citing melyantsou2021 should be reported too"
    assert all(p.column == "source" and "'melyantsou2021' is not a key" in p.message
               for p in others), others


def test_bib_entry_without_a_key(project_copy, overwrite, new_problems):
    text = project_copy.bib.read_text(encoding="utf-8")
    overwrite(project_copy, "references.bib", text + "\n@misc{,\n  title = {No key},\n}\n")
    line = text.count("\n") + 2
    expect(new_problems(project_copy), {(BIB, line, ""): ("@misc entry without a key",)})


def test_several_problems_are_all_reported(project_copy, set_cell, new_problems):
    a = set_cell(project_copy, "results.csv", "blr-zois-2021-one-state", "stance", "annexation")
    b = set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_start", "2020-13")
    c = set_cell(project_copy, "events.csv", "coup-plot", "source", "nobody")
    expect(new_problems(project_copy), {
        (RESULTS, a, "stance"): ("annexation",),
        (POLLS, b, "fieldwork_start"): ("2020-13",),
        (EVENTS, c, "source"): ("nobody",),
    })


def test_check_writes_nothing(project_copy, set_cell, tree_digest):
    set_cell(project_copy, "results.csv", "blr-zois-2021-one-state", "stance", "annexation")
    before = tree_digest(project_copy.root)
    assert check(project_copy)
    assert tree_digest(project_copy.root) == before


# ---------------------------------------------------------------- the command line


@pytest.fixture
def bad_copy(project_copy, set_cell):
    """A copy with three problems in three files; returns it and the expected locations."""
    lines = {
        (RESULTS, set_cell(project_copy, "results.csv", "blr-zois-2021-one-state", "stance",
                           "annexation"), "stance"),
        (POLLS, set_cell(project_copy, "polls.csv", "nasb-2020-06", "fieldwork_start",
                         "2020-13"), "fieldwork_start"),
        (EVENTS, set_cell(project_copy, "events.csv", "coup-plot", "source", "nobody"), "source"),
    }
    return project_copy, lines


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("data/", "references.bib"))]


def test_cli_check_rejects_a_bad_copy(bad_copy, tree_digest, baseline):
    proj, expected = bad_copy
    before = tree_digest(proj.root)
    result = CliRunner().invoke(main, ["check", "--root", str(proj.root)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not an error escaping the command
    assert "Traceback" not in result.output
    lines = _problem_lines(result.stderr)
    assert len(lines) == len(expected) + len(baseline)
    for file, line, column in expected:
        hits = [s for s in lines if s.startswith(f"{file}, line {line}, column '{column}': ")]
        assert len(hits) == 1, (file, line, column, lines)
    # One line per problem and a closing count, nothing else.
    assert result.stderr.splitlines() == [*lines, f"{len(lines)} problem(s) found; nothing "
                                                  "was changed."]
    assert result.stdout == ""
    assert tree_digest(proj.root) == before


def test_cli_check_passes_a_good_copy(project_copy, tree_digest):
    before = tree_digest(project_copy.root)
    result = CliRunner().invoke(main, ["check", "--root", str(project_copy.root)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    assert result.stderr == ""
    assert tree_digest(project_copy.root) == before


def test_cli_check_reports_an_unreadable_file_without_traceback(project_copy, overwrite,
                                                                fixtures_dir, tree_digest):
    overwrite(project_copy, "polls.csv", fixtures_dir / "check" / "polls_latin1.csv")
    overwrite(project_copy, "events.csv", fixtures_dir / "check" / "events_ragged.csv")
    before = tree_digest(project_copy.root)
    first = CliRunner().invoke(main, ["check", "--root", str(project_copy.root)])
    result = CliRunner().invoke(main, ["check", "--root", str(project_copy.root)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert first.output == result.output  # the same answer every time
    lines = _problem_lines(result.stderr)
    assert any(s.startswith("data/polls.csv: is not UTF-8 text") for s in lines), lines
    assert any(s.startswith("data/events.csv: is not a readable CSV table") for s in lines), lines
    assert tree_digest(project_copy.root) == before


def _command() -> list[str]:
    script = Path(sys.executable).with_name("unionstate")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "unionstate.cli"]


def test_installed_command_exits_1_without_traceback(bad_copy, tree_digest, tmp_path, baseline):
    """The real console script, in a separate process, run from outside the project."""
    proj, expected = bad_copy
    before = tree_digest(proj.root)
    env = {k: v for k, v in os.environ.items() if k != "UNIONSTATE_ROOT"}
    done = subprocess.run([*_command(), "check", "--root", str(proj.root)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = _problem_lines(done.stderr)
    assert len(lines) == len(expected) + len(baseline)
    for file, line, column in expected:
        assert any(s.startswith(f"{file}, line {line}, column '{column}': ") for s in lines)
    assert tree_digest(proj.root) == before
