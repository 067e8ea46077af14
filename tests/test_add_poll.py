"""`unionstate add-poll`: acceptance, dry run, every kind of refusal, and interrupted writes.

Every test works on a temporary copy of data/ and references.bib (never on the real ones)
and drives the command through click's CliRunner with --root. Expected rows and lines are
written out by hand here, not produced by the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import textwrap
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import skip_if_example_in_data

from unionstate import store
from unionstate.cli import main
from unionstate.codebook import Column, Table

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "add_poll"
EXAMPLE = REPO / "examples" / "new-poll.yaml"


# ---------------------------------------------------------------- helpers


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the project's data/ and references.bib."""
    dest = tmp_path / "project"
    shutil.copytree(REPO / "data", dest / "data")
    shutil.copy2(REPO / "references.bib", dest / "references.bib")
    return dest


@pytest.fixture
def fixtures(monkeypatch) -> Path:
    """Run from the fixtures folder, so that a YAML file is named as the user typed it."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file under the copy (temporary files left behind would show too)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------- acceptance


GOOD_POLL_LINE = (
    'testpoll-2020-01,BLR,Test Pollster,,2020-01,2020-01,Test respondents,telephone,1200,'
    'testpoll2020,"Test article, para. 1","A note with ""quotes"", and a comma"'
)
GOOD_RESULT_LINES = [
    "blr-testpoll-2020-aa-independent,testpoll-2020-01,Test question,Two independent states,"
    "status_quo,70.5,70.5,exact,,shraibman,para. 3,",
    "blr-testpoll-2020-zz-one-in-six,testpoll-2020-01,Test question,Part of Russia,"
    "incorporation,16.67,16.67,fraction,,testpoll2020,para. 2,",
]


def test_acceptance_writes_rows_in_canonical_order_bib_and_changelog(root, fixtures):
    old_polls, old_results = lines(root / "data/polls.csv"), lines(root / "data/results.csv")
    old_bib = (root / "references.bib").read_text(encoding="utf-8")
    untouched = {p.name: p.read_bytes() for p in (root / "data").glob("*.csv")
                 if p.name not in ("polls.csv", "results.csv")}

    result = run("add-poll", "good.yaml", "--root", root)
    assert result.exit_code == 0, result.output

    # polls.csv: same header, every old line kept, the new line exactly as expected.
    new_polls = lines(root / "data/polls.csv")
    assert new_polls[0] == old_polls[0]
    assert sorted(new_polls[1:]) == sorted([*old_polls[1:], GOOD_POLL_LINE])
    # ISO dates of reduced precision sort chronologically as text.
    keys = [(r["country"], r["fieldwork_start"], r["poll_id"])
            for r in rows(root / "data/polls.csv")]
    assert keys == sorted(keys)

    # results.csv: the two new lines, sorted by result_id among the old ones.
    new_results = lines(root / "data/results.csv")
    assert new_results[0] == old_results[0]
    assert sorted(new_results[1:]) == sorted([*old_results[1:], *GOOD_RESULT_LINES])
    ids = [r["result_id"] for r in rows(root / "data/results.csv")]
    assert ids == sorted(ids)
    assert ids.index("blr-testpoll-2020-aa-independent") < ids.index(
        "blr-testpoll-2020-zz-one-in-six")

    # Plain "\n" endings, UTF-8, nothing else touched.
    for name in ("polls.csv", "results.csv"):
        raw = (root / "data" / name).read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
    assert {p.name: p.read_bytes() for p in (root / "data").glob("*.csv")
            if p.name not in ("polls.csv", "results.csv")} == untouched

    # references.bib: the old text, then the entry.
    bib = (root / "references.bib").read_text(encoding="utf-8")
    assert bib.startswith(old_bib)
    assert bib[len(old_bib):] == (
        "\n@misc{testpoll2020,\n  author = {{Test Pollster}},\n"
        "  title  = {Test Poll, January 2020},\n  note   = {Test fixture; fictional},\n}\n"
    )

    # CHANGELOG.md: one new last line.
    log = lines(root / "data/CHANGELOG.md")
    assert log[-1] == (f"- {date.today().isoformat()}: added poll testpoll-2020-01; pollster "
                       "Test Pollster; fieldwork 2020-01; 2 results; source testpoll2020 "
                       "(new in references.bib)")

    checked = run("check", "--root", root)
    assert checked.exit_code == 0, checked.output


def test_changelog_is_created_with_a_header_when_absent(root, fixtures):
    (root / "data/CHANGELOG.md").unlink(missing_ok=True)
    result = run("add-poll", "existing_source.yaml", "--root", root)
    assert result.exit_code == 0, result.output
    text = (root / "data/CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changes to data/\n")
    assert text.endswith(f"- {date.today().isoformat()}: added poll testfocus-2019; pollster "
                         "not named; fieldwork 2019; 0 results; source shraibman\n")
    assert text.count("\n- ") == 1


def test_existing_source_needs_no_bibtex_and_leaves_bib_alone(root, fixtures):
    bib_before = (root / "references.bib").read_bytes()
    results_before = (root / "data/results.csv").read_bytes()
    result = run("add-poll", "existing_source.yaml", "--root", root)
    assert result.exit_code == 0, result.output
    assert (root / "references.bib").read_bytes() == bib_before
    assert (root / "data/results.csv").read_bytes() == results_before
    assert ("testfocus-2019,RUS,,Test Commissioner,2019,2019,Test focus groups,focus groups,,"
            "shraibman,para. 11,") in lines(root / "data/polls.csv")
    # The file has no results: at all, which is right for focus groups but easy to forget.
    assert result.output.splitlines()[1] == (
        "The file has no results: list. That is right only for a poll its source cites without "
        "figures (like focus-2018); otherwise add them.")


def test_an_empty_results_list_needs_no_reminder(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "existing_source.yaml").read_text(encoding="utf-8") + "results: []\n"
    (tmp_path / "empty.yaml").write_text(text, encoding="utf-8")
    result = run("add-poll", "empty.yaml", "--root", root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "no results: list" not in result.output


def test_multiwave_result_names_the_new_poll_and_an_older_wave(root, fixtures):
    result = run("add-poll", "multiwave.yaml", "--root", root)
    assert result.exit_code == 0, result.output
    by_id = {r["result_id"]: r for r in rows(root / "data/results.csv")}
    assert by_id["rus-vciom-test-waves"]["poll_id"] == "vciom-2020-09;vciom-2021-01"
    assert by_id["rus-vciom-test-list"]["poll_id"] == "vciom-2020-09;vciom-2021-01"
    assert run("check", "--root", root).exit_code == 0


def test_values_keep_their_text(root, tmp_path, monkeypatch):
    """Numbers keep their digits, dates stay dates as written, NO stays NO, null is empty:
    YAML's own typing (0800 an octal number, 1e3 a float, NO and yes booleans) changes nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.yaml").write_text(
        "poll_id: texttest-2021-03\ncountry: RUS\npollster: NO\ncommissioned_by: null\n"
        "fieldwork_start: 2021-03-01\nfieldwork_end: 2021-03\npopulation: yes\n"
        "mode: unknown\nsample_size: 1200\nsource: shraibman\nlocator: 0800\n"
        "notes: 1e3\nresults:\n"
        "  - result_id: rus-texttest-share\n    question: Q\n    option: O\n"
        "    stance: economic\n    share_low: 16.67\n    share_high: 16.67\n"
        "    qualifier: exact\n    source: shraibman\n    locator: '2'\n", encoding="utf-8")
    result = run("add-poll", "text.yaml", "--root", root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert ("  texttest-2021-03,RUS,NO,,2021-03-01,2021-03,yes,unknown,1200,shraibman,0800,1e3"
            in result.output.splitlines())
    assert ("  rus-texttest-share,texttest-2021-03,Q,O,economic,16.67,16.67,exact,,"
            "shraibman,2," in result.output.splitlines())


def test_example_file_passes_on_a_copy(root):
    skip_if_example_in_data()
    result = run("add-poll", EXAMPLE, "--root", root)
    assert result.exit_code == 0, result.output
    assert run("check", "--root", root).exit_code == 0
    assert "example2026" in (root / "references.bib").read_text(encoding="utf-8")


def test_example_is_not_in_the_real_data():
    """The example is fictional: it must never reach the report."""
    assert "example-2026" not in (REPO / "data/polls.csv").read_text(encoding="utf-8"), (
        "data/ holds the fictional example poll: take it out with "
        "`uv run unionstate remove-poll example-2026-01`")
    assert "example-2026" not in (REPO / "data/results.csv").read_text(encoding="utf-8")
    assert "example2026" not in (REPO / "references.bib").read_text(encoding="utf-8")


# ---------------------------------------------------------------- dry run and help


def test_dry_run_writes_nothing_and_shows_the_change(root, fixtures):
    before = snapshot(root)
    result = run("add-poll", "good.yaml", "--root", root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert snapshot(root) == before
    out = result.output.splitlines()
    assert f"  {GOOD_POLL_LINE}" in out
    for line in GOOD_RESULT_LINES:
        assert f"  {line}" in out
    assert any("testpoll2020" in line and "references.bib" in line for line in out)
    assert any(line.strip().startswith(f"- {date.today().isoformat()}: added poll "
                                       "testpoll-2020-01") for line in out)


def test_help_shows_the_format_and_the_example_file():
    result = run("add-poll", "--help")
    assert result.exit_code == 0
    assert "examples/new-poll.yaml" in result.output
    for field in ("poll_id:", "results:", "stance:", "bibtex:", "--dry-run", "--root"):
        assert field in result.output


# ---------------------------------------------------------------- refusals


REFUSALS = [
    ("duplicate_poll_id.yaml", "poll_id", "already in data/polls.csv"),
    ("unknown_stance.yaml", "results[2].stance", "'annexation' is not an allowed code"),
    ("unknown_key.yaml", "fieldwork", "is not a known field; allowed: poll_id"),
    ("unknown_key.yaml", "results[1].percent", "is not a known field; allowed: result_id"),
    ("missing_source.yaml", "source", "'nosuchkey2020' is not a key in references.bib"),
    ("bib_key_exists.yaml", "bibtex", "'nasb2020' is already in references.bib"),
    ("share_over_100.yaml", "results[1].share_low", "'101' is out of range"),
    ("share_over_100.yaml", "results[1].share_high", "'101' is out of range"),
    ("bad_date.yaml", "fieldwork_start", "'2020-13' is not a valid date"),
    ("waves_without_new_poll.yaml", "results[1].poll_id", "does not name the new poll"),
    ("waves_out_of_order.yaml", "results[1].poll_id", "earliest first"),
]


@pytest.mark.parametrize(("name", "field", "message"), REFUSALS)
def test_refusal_names_file_and_field_and_changes_nothing(root, fixtures, name, field, message):
    before = snapshot(root)
    result = run("add-poll", name, "--root", root)
    assert result.exit_code == 1
    assert any(line.startswith(f"{name}, {field}: ") and message in line
               for line in result.stderr.splitlines()), result.stderr
    assert "Traceback" not in result.output
    assert snapshot(root) == before


@pytest.mark.parametrize("name", ["malformed.yaml", "list.yaml", "duplicate_key.yaml"])
def test_unreadable_or_non_mapping_yaml_exits_2(root, fixtures, name):
    before = snapshot(root)
    result = run("add-poll", name, "--root", root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{name}: ")
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_dry_run_refuses_too(root, fixtures):
    result = run("add-poll", "unknown_stance.yaml", "--root", root, "--dry-run")
    assert result.exit_code == 1


def test_every_problem_is_listed(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "unknown_stance.yaml").read_text(encoding="utf-8")
    text = text.replace("country: BLR", "country: XX").replace("mode: telephone", "mode: fax")
    (tmp_path / "many.yaml").write_text(text, encoding="utf-8")
    result = run("add-poll", "many.yaml", "--root", root)
    assert result.exit_code == 1
    fields = {line.split(":")[0] for line in result.stderr.splitlines()}
    assert {"many.yaml, country", "many.yaml, mode", "many.yaml, results[2].stance"} <= fields


def test_real_data_files_are_in_canonical_form():
    """The writer reproduces the committed tables byte for byte (so an addition only adds)."""
    from unionstate.codebook import load
    from unionstate.paths import Project
    from unionstate.validate import read_all

    proj = Project(REPO)
    frames, problems = read_all(proj)
    assert not problems
    for name, table in load(proj.codebook).items():
        path = proj.data / table.file
        assert store.canonical_text(frames[name], table) == path.read_text(encoding="utf-8"), name


# ---------------------------------------------------------------- store: order, quoting, atomicity


def toy_table() -> Table:
    cols = {c: Column(c, c) for c in ("id", "group", "when", "text")}
    return Table("toy", "toy.csv", ("group", "when", "id"), cols)


def test_canonical_sorts_by_order_keys_keeps_codebook_columns_and_quotes_minimally():
    frame = pd.DataFrame({
        "text": ["has, comma", 'has "quote"', pd.NA, "plain"],
        "when": ["2020-08", "2020", "2019", pd.NA],
        "id": ["d", "c", "b", "a"],
        "group": ["x", "x", "x", "x"],
    })
    text = store.canonical_text(frame, toy_table())
    assert text == ('id,group,when,text\n'
                    'b,x,2019,\n'
                    'c,x,2020,"has ""quote"""\n'
                    'd,x,2020-08,"has, comma"\n'
                    'a,x,,plain\n')


def test_interrupted_add_poll_changes_nothing(root, fixtures, monkeypatch):
    before = snapshot(root)

    def boom(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    result = run("add-poll", "good.yaml", "--root", root)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_failure_after_the_first_file_rolls_back(root, fixtures, monkeypatch):
    """polls.csv is replaced first; when results.csv fails, polls.csv gets its old bytes."""
    before = snapshot(root)
    real_replace = os.replace

    def fail_on_results(src, dst):
        if Path(dst).name == "results.csv":
            raise OSError("disk full (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_results)
    result = run("add-poll", "good.yaml", "--root", root)
    assert result.exit_code == 1
    assert snapshot(root) == before


def test_csv_text_round_trips_through_the_csv_module():
    frame = pd.DataFrame({"a": ["x,y", 'q"q', "é–ü"], "b": [pd.NA, "1", "line"]})
    text = store.csv_text(frame)
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["x,y", ""], ['q"q', "1"],
                                                   ["é–ü", "line"]]


def test_short_example_in_help_is_valid(root, tmp_path):
    """The YAML shown by --help is itself an addition that passes."""
    skip_if_example_in_data()
    helptext = main.commands["add-poll"].help
    block = helptext.split("\b\n", 1)[1].split("\n\n", 1)[0]
    yaml_text = textwrap.dedent(block)
    assert yaml_text.startswith("poll_id: ")
    (tmp_path / "short.yaml").write_text(yaml_text + "\n", encoding="utf-8")
    result = run("add-poll", tmp_path / "short.yaml", "--root", root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "example-2026-01" in result.output


def test_acceptance_keeps_the_file_permissions(root, fixtures):
    for name in ("polls.csv", "results.csv"):
        (root / "data" / name).chmod(0o644)
    (root / "references.bib").chmod(0o664)
    result = run("add-poll", "good.yaml", "--root", root)
    assert result.exit_code == 0, result.output
    assert (root / "data/polls.csv").stat().st_mode & 0o777 == 0o644
    assert (root / "data/results.csv").stat().st_mode & 0o777 == 0o644
    assert (root / "references.bib").stat().st_mode & 0o777 == 0o664


# ---------------------------------------------------------------- one mistake, one message


def _problems_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ", " in line and ": " in line
            and not line.endswith("nothing was changed.")]


def test_a_refused_bibtex_entry_is_reported_once(root, tmp_path, monkeypatch):
    """An entry without author: that is the problem; its key is not also 'not in
    references.bib' for the poll and each result that cite it."""
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    (tmp_path / "noauthor.yaml").write_text(text.replace("    author = {{Test Pollster}},\n", ""),
                                            encoding="utf-8")
    before = snapshot(root)
    result = run("add-poll", "noauthor.yaml", "--root", root)
    assert result.exit_code == 1
    assert _problems_of(result) == [
        "noauthor.yaml, bibtex: entry 'testpoll2020' has no author; allowed: an entry with "
        "author and title, like those in references.bib"], result.stderr
    assert snapshot(root) == before


def test_a_left_out_field_is_missing_and_names_what_is_allowed(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    (tmp_path / "nocountry.yaml").write_text(text.replace("country: BLR\n", ""), encoding="utf-8")
    result = run("add-poll", "nocountry.yaml", "--root", root)
    assert result.exit_code == 1
    assert _problems_of(result) == [
        "nocountry.yaml, country: is missing; a value is required here; allowed: BLR, RUS"]


def test_a_share_out_of_range_is_not_also_a_sum_over_100(root, tmp_path, monkeypatch):
    """154% is out of range; the question's exact shares then add up past 100, but that is
    the same mistake, and it would be blamed on the row that is right."""
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    (tmp_path / "over.yaml").write_text(text.replace("70.5", "154"), encoding="utf-8")
    result = run("add-poll", "over.yaml", "--root", root)
    assert result.exit_code == 1
    assert [line.split(": ")[0] for line in _problems_of(result)] == [
        "over.yaml, results[2].share_high", "over.yaml, results[2].share_low"], result.stderr
    assert all("is out of range" in line for line in _problems_of(result))


def test_bounds_the_wrong_way_round_are_one_problem(root, tmp_path, monkeypatch):
    """An exact share with share_low above share_high: one message, not also 'differs'."""
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    text = text.replace("share_low: 70.5", "share_low: 72")
    (tmp_path / "swapped.yaml").write_text(text, encoding="utf-8")
    result = run("add-poll", "swapped.yaml", "--root", root)
    assert result.exit_code == 1
    assert _problems_of(result) == [
        "swapped.yaml, results[2].share_high: 70.5 is below share_low 72; allowed: "
        "share_low ≤ share_high"], result.stderr
