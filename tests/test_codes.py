"""Each qualifier, stance and derivation code has one record, and the records agree with the
codebook; a code the codebook gains without a complete record is refused by check, not met
as a KeyError in the build."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from unionstate import codes
from unionstate.codebook import load as load_codebook
from unionstate.paths import Project
from unionstate.text import share_text
from unionstate.validate import check

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import set_cell  # noqa: E402


@pytest.fixture(scope="module")
def tables():
    return load_codebook(REPO / "data" / "codebook.yaml")


def test_every_qualifier_of_the_codebook_has_a_rule_and_no_rule_is_extra(tables):
    assert list(codes.QUALIFIER_RULES) == list(tables["results"].columns["qualifier"].codes)


def test_derivation_pattern_of_the_codebook_is_the_rules(tables):
    assert tables["results"].columns["derivation"].pattern == codes.DERIVATION_PATTERN


def test_indicator_stances_are_the_result_stances(tables):
    assert tables["indicators"].columns["stance"].codes == tables["results"].columns["stance"].codes


def test_every_code_of_the_codebook_has_a_complete_record():
    assert codes.incomplete(REPO / "data" / "codebook.yaml") == {"qualifier": {}, "stance": {}}


@pytest.mark.parametrize(("qualifier", "low", "high", "derivation", "text"), [
    ("exact", 62.0, 62.0, None, "62%"),
    ("range", 75.0, 76.0, None, "75–76%"),
    ("approximate_range", 43.0, 48.0, None, "some 43–48%"),
    ("approximate", 30.0, 30.0, None, "about 30%"),
    ("more_than", 40.0, None, None, "more than 40%"),
    ("fraction", 16.67, 16.67, None, "one in six"),
    ("derived", 8.335, 8.335, "half of parent", "half of one in six"),  # never "8.34%"
    ("derived", 16.67, 16.67, "about the same as parent", "around one in six"),
])
def test_wording_of_each_qualifier(qualifier, low, high, derivation, text):
    parent = {"result_id": "parent", "qualifier": "fraction", "share_low": 16.67,
              "share_high": 16.67, "derivation": None}
    row = {"result_id": "row", "qualifier": qualifier, "share_low": low, "share_high": high,
           "derivation": derivation}
    assert share_text(pd.Series(row), pd.DataFrame([parent, row])) == text


def _with_new_code(tmp_path: Path, column: str, code: str) -> Project:
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copy2(REPO / "references.bib", tmp_path / "references.bib")
    path = tmp_path / "data" / "codebook.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = {"stance": "          status_quo: ", "qualifier": "          derived: "}[column]
    assert text.count(anchor) == 1
    text = text.replace(anchor, f"          {code}: \"A new code (test).\"\n{anchor}")
    path.write_text(text, encoding="utf-8")
    return Project(tmp_path)


@pytest.mark.parametrize(("column", "code", "lacks"), [
    ("stance", "confederation", "style."),
    ("qualifier", "roughly", "unionstate/codes.py"),
])
def test_a_code_without_a_record_is_refused_by_check(tmp_path, column, code, lacks):
    proj = _with_new_code(tmp_path, column, code)
    assert check(proj) == []  # the codebook alone changes nothing while no row uses the code
    line = set_cell(proj, "results.csv", "blr-zois-2021-one-state", column, code)
    problems = check(proj)
    mine = [p for p in problems if (p.line, p.column) == (line, column)]
    assert len(mine) == 1, problems
    assert f"'{code}' is in data/codebook.yaml but the report cannot use it yet" in mine[0].message
    assert lacks in mine[0].message
    assert mine[0].kind == "record"


def test_style_may_declare_what_it_can_draw(monkeypatch):
    """style.encoded(column) is what counts as drawable."""
    from unionstate import style

    stances = ["incorporation", "merger", "closer_union", "political_integration", "economic"]
    monkeypatch.setattr(style, "encoded", lambda column: stances if column == "stance" else
                        list(codes.QUALIFIER_RULES))
    assert codes.incomplete(REPO / "data" / "codebook.yaml") == {
        "qualifier": {}, "stance": {"status_quo": "a visual encoding in style.py"}}
