"""One validation everywhere: an odd value is refused alike by add-poll (naming the YAML
field) and by check (naming file, line and column), and what both accept the report draws.

Each case gives the value once; the test puts it into a poll file for add-poll and into the
matching cell of a copy's CSV for check. The expected words are typed here by hand.
"""

from __future__ import annotations

import re
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from unionstate.cli import main
from unionstate.validate import check

REPO = Path(__file__).resolve().parents[1]
GOOD = Path(__file__).resolve().parent / "fixtures" / "add_poll" / "good.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import set_cell  # noqa: E402

POLL = ("polls.csv", "nasb-2020-06")
EXACT = ("results.csv", "blr-nasb-2020-incorporation")  # exact, 7
FRACTION = ("results.csv", "rus-vciom-part-of-russia")  # fraction, 16.67
MORE = ("results.csv", "rus-levada-economic")  # more_than, 40
DERIVED = ("results.csv", "rus-levada-region")  # derived, half of rus-levada-political

# (id, YAML field, CSV row, {column: value}, words the message holds)
CASES = [
    ("underscore-digits", "results[2].share_low", EXACT,
     {"share_low": "1_0", "share_high": "1_0"}, ("'1_0' is not a number", "ASCII digits")),
    ("arabic-indic-digits", "results[2].share_low", EXACT,
     {"share_low": "١٠", "share_high": "١٠"}, ("is not a number",)),
    ("exponent", "results[2].share_low", EXACT,
     {"share_low": "1e1", "share_high": "1e1"}, ("'1e1' is not a number",)),
    ("infinity", "results[2].share_low", EXACT,
     {"share_low": "inf", "share_high": "inf"}, ("'inf' is not a number",)),
    ("not-a-number", "results[2].share_low", EXACT,
     {"share_low": "nan", "share_high": "nan"}, ("'nan' is not a number",)),
    ("sample-underscore", "sample_size", POLL, {"sample_size": "1_200"},
     ("'1_200' is not a positive whole number",)),
    ("sample-negative", "sample_size", POLL, {"sample_size": "-5"},
     ("'-5' is not a positive whole number",)),
    ("sample-other-digits", "sample_size", POLL, {"sample_size": "١٢٠٠"},
     ("is not a positive whole number",)),
    ("sample-enormous", "sample_size", POLL, {"sample_size": "99999999999999999999"},
     ("is out of range", "1 to 10000000")),
    ("date-fullwidth-digits", "fieldwork_end", POLL, {"fieldwork_end": "２０２０-06"},
     ("is not a valid date", "ASCII digits")),
    ("date-far-future", "fieldwork_end", POLL, {"fieldwork_end": "2999-01"},
     ("'2999-01' is outside the years allowed", "1900 to 2100")),
    ("date-far-past", "fieldwork_start", POLL, {"fieldwork_start": "1066"},
     ("'1066' is outside the years allowed",)),
    ("date-after-today", "fieldwork_end", POLL, {"fieldwork_end": "2100-01"},
     ("'2100-01' is after today (", "allowed: a date no later than today")),
    ("share-leading-zero", "results[2].share_low", EXACT, {"share_low": "07", "share_high": "07"},
     ("'07' is not written the one way data/ writes numbers", "allowed: '7'")),
    ("share-trailing-zero", "results[2].share_low", EXACT,
     {"share_low": "7.50", "share_high": "7.50"}, ("'7.50' is not written", "allowed: '7.5'")),
    ("sample-leading-zero", "sample_size", POLL, {"sample_size": "0800"},
     ("'0800' is not written", "allowed: '800'")),
    ("fraction-of-zero", "results[1].share_low", FRACTION,
     {"share_low": "0", "share_high": "0"}, ("0 is not 100/N",)),
    ("fraction-of-all", "results[1].share_low", FRACTION,
     {"share_low": "100", "share_high": "100"}, ("100 is not 100/N",)),
    ("more-than-everything", "results[2].share_low", MORE,
     {"share_low": "100", "share_high": ""}, ("leaves no share above it",)),
    ("bell-character", "results[2].option", EXACT, {"option": "Two\x07states"},
     ("control character U+0007",)),
    ("line-separator", "results[2].option", EXACT, {"option": "Two\u2028states"},
     ("U+2028",)),
    ("paragraph-separator", "notes", POLL, {"notes": "One\u2029two"}, ("U+2029",)),
    ("tab", "population", POLL, {"population": "Adults\tonly"}, ("U+0009",)),
    ("next-line", "results[2].question", EXACT, {"question": "Q\x85R"}, ("U+0085",)),
]

YAML_ONLY = {
    # A result of the YAML with these values (MORE and DERIVED rows have no YAML twin here).
    "more-than-everything": {"results[2].qualifier": "more_than"},
}


def _yaml_with(field: str, value: str, extra: dict[str, str]) -> str:
    doc = yaml.safe_load(GOOD.read_text(encoding="utf-8"))
    for where, v in {field: value, **extra}.items():
        if where.startswith("results["):
            index, column = where[len("results["):].split("].")
            target, key = doc["results"][int(index) - 1], column
        else:
            target, key = doc, where
        target[key] = v
        if key == "share_low" and target is not doc:
            target["share_high"] = "" if extra.get(where.replace("share_low", "qualifier")) \
                == "more_than" else v
    for item in doc["results"]:  # keep every value as the text it is written as
        for k, v in item.items():
            item[k] = None if v is None else str(v)
    return yaml.safe_dump(doc, allow_unicode=False, sort_keys=False)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def copy(tmp_path: Path):
    from unionstate.paths import Project

    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copy2(REPO / "references.bib", tmp_path / "references.bib")
    return Project(tmp_path)


@pytest.mark.parametrize(("field", "row", "values", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_add_poll_refuses_the_field(copy, tmp_path, monkeypatch, request, field, row, values,
                                    words):
    case = request.node.callspec.id
    value = next(iter(values.values()))
    (tmp_path / "odd.yaml").write_text(_yaml_with(field, value, YAML_ONLY.get(case, {})),
                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = _tree(copy.data)
    result = CliRunner().invoke(main, ["add-poll", "odd.yaml", "--root", str(copy.root)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    hits = [line for line in result.stderr.splitlines() if line.startswith(f"odd.yaml, {field}: ")]
    assert hits, result.stderr
    assert any(all(w in line for w in words) for line in hits), hits
    assert _tree(copy.data) == before


@pytest.mark.parametrize(("row", "values", "words"), [c[2:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_check_refuses_the_cell(copy, row, values, words):
    name, key = row
    for column, value in values.items():
        line = set_cell(copy, name, key, column, value)
    column = next(iter(values))
    problems = [p for p in check(copy) if (p.file, p.line, p.column) == (f"data/{name}", line,
                                                                          column)]
    assert any(all(w in p.message for w in words) for p in problems), problems


def test_blank_lines_do_not_shift_line_numbers(copy):
    """A CSV with blank lines: check names the line the row really is on."""
    path = copy.data / "results.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # Two blank lines after the header, one more before the last row.
    text = lines[0] + "\n\n" + "".join(lines[1:-1]) + "\n" + lines[-1]
    text = text.replace(",merger,16,16,exact,", ",annexation,16,16,exact,")
    path.write_text(text, encoding="utf-8")
    (real,) = [n for n, line in enumerate(text.splitlines(), start=1) if ",annexation," in line]
    problems = check(copy)
    assert [(p.line, p.column) for p in problems] == [(real, "stance")], problems


def test_check_refuses_a_results_table_without_rows(copy):
    path = copy.data / "results.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    problems = check(copy)
    assert [(p.file, p.line) for p in problems] == [("data/results.csv", 0)], problems
    assert "at least 1" in problems[0].message


def test_derived_figure_must_derive_from_a_stated_one(copy):
    line = set_cell(copy, "results.csv", "rus-levada-region", "derivation",
                    "half of rus-levada-region")
    problems = check(copy)
    assert any(p.line == line and p.column == "derivation" and "itself derived" in p.message
               for p in problems), problems


def test_what_check_accepts_at_the_edges_the_report_draws(copy):
    """Boundary values that pass check (years 1900 and 2100, a poll dated today, ten million
    respondents, a
    fraction of one in ten thousand, a share of 0, a lower bound just under 100, a very long
    label) go through every chart, table and number of the report."""
    import matplotlib

    matplotlib.use("Agg")
    from unionstate.changes import numbers
    from unionstate.report import CHARTS, Report

    edits = [
        ("events.csv", "union-state-treaty", "date", "1900"),
        ("events.csv", "talks-halted", "date", "2100"),
        ("polls.csv", "nasb-2020-06", "fieldwork_end", date.today().isoformat()),
        ("polls.csv", "nasb-2020-06", "sample_size", "10000000"),
        ("results.csv", "rus-vciom-part-of-russia", "share_low", "0.01"),
        ("results.csv", "rus-vciom-part-of-russia", "share_high", "0.01"),
        ("results.csv", "rus-vciom-equal-union", "share_low", "0.01"),
        ("results.csv", "rus-vciom-equal-union", "share_high", "0.01"),
        ("results.csv", "blr-nasb-2020-incorporation", "share_low", "0"),
        ("results.csv", "blr-nasb-2020-incorporation", "share_high", "0"),
        ("results.csv", "rus-levada-economic", "share_low", "99.99"),
        ("results.csv", "blr-nasb-2020-equal-union", "option", "A very long option " * 60),
    ]
    for name, key, column, value in edits:
        set_cell(copy, name, key, column, value)
    assert check(copy) == []
    report, unedited = Report.load(copy.root), Report.load(REPO)

    def drawn(rep: Report, label: str) -> list[str]:
        rows = rep.plotted(label)
        return sorted(rows[next(c for c in ("result_id", "event_id", "poll_id") if c in rows)])

    # Every chart draws the rows it drew before the edits: none is dropped as out of scale.
    for label in CHARTS:
        assert drawn(report, label) == drawn(unedited, label), label
    for label in ("tbl-goals", "tbl-elites", "tbl-arguments", "tbl-indicators",
                  "tbl-qualifiers"):
        report.table(label)
    assert "10,000,000" in report.table("tbl-polls")
    assert report.shares["rus-vciom-part-of-russia"] == "one in 10000"
    assert report.shares["blr-nasb-2020-incorporation"] == "0%"
    economic = [v for k, v in numbers(report).items() if re.search(
        r"chart fig-rus-opinion: Levada Center, .*\u201cDevelop economic cooperation\u201d$", k)]
    assert economic and all(v.startswith("more than 99.99%") for v in economic), economic


def test_a_negative_sample_size_is_one_problem(copy):
    """'-5' is refused once, for its form; the range is checked only on a well-formed number,
    so no second 'out of range' message repeats it."""
    line = set_cell(copy, *POLL, "sample_size", "-5")
    messages = [p.message for p in check(copy)
                if (p.file, p.line, p.column) == ("data/polls.csv", line, "sample_size")]
    assert len(messages) == 1, messages
    assert messages[0].startswith("'-5' is not a positive whole number; allowed:"), messages


def test_a_poll_may_last_one_day_but_not_end_before_it_starts(copy):
    """The date-order rule compares the start's first day with the end's last day: a one-day
    poll passes (fails if `>` becomes `>=`), an end the day before the start does not."""
    set_cell(copy, "polls.csv", "nasb-2020-06", "fieldwork_start", "2020-06-10")
    line = set_cell(copy, "polls.csv", "nasb-2020-06", "fieldwork_end", "2020-06-10")
    assert [p for p in check(copy) if p.kind == "date_order"] == []
    set_cell(copy, "polls.csv", "nasb-2020-06", "fieldwork_end", "2020-06-09")
    assert [(p.line, p.column) for p in check(copy) if p.kind == "date_order"] == \
        [(line, "fieldwork_end")]


def test_a_date_to_the_month_is_typed_as_the_whole_month(copy):
    """data.load types a date as its first and last day and its precision: '2020-06' (the
    NASB poll's fieldwork, as its source dates it) is 1 to 30 June 2020."""
    from unionstate.data import load

    poll = load(copy).polls.set_index("poll_id").loc["nasb-2020-06"]
    assert (poll.fieldwork_end_first.date(), poll.fieldwork_end_last.date(),
            poll.fieldwork_end_precision) == (date(2020, 6, 1), date(2020, 6, 30), "month")
    set_cell(copy, "polls.csv", "nasb-2020-06", "fieldwork_start", "2020")
    poll = load(copy).polls.set_index("poll_id").loc["nasb-2020-06"]
    assert (poll.fieldwork_start_first.date(), poll.fieldwork_start_last.date(),
            poll.fieldwork_start_precision) == (date(2020, 1, 1), date(2020, 12, 31), "year")


@pytest.mark.parametrize(("text", "written"), [
    ("054", "54"), ("54.50", "54.5"), ("7", "7"), ("0", "0"), ("-0", "0"), ("-0.0", "0"),
    ("-0.50", "-0.5"), ("-5", "-5"), ("1_0", None), ("", None)])
def test_each_number_has_one_written_form(text, written):
    from unionstate.parse import shortest

    assert shortest(text) == written
