"""The report's tables as Markdown: column widths chosen, summing to 100, every word fitting
its column in the PDF and DOCX text block, a marked header row, and citations in the forms the
report promises (en-dash ranges, second-hand polls "cited in" the work that reports them)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from unionstate import tables
from unionstate.bib import entries
from unionstate.report import Report

REPO = Path(__file__).resolve().parents[1]

# The text block in characters of body text. Typst PDF: A4 (595 pt) less Quarto's 1.25 in
# margins = 415 pt, table text at 0.9 x 11 pt Libertinus Serif (about 4.5 pt a character): 92.
# DOCX: Pandoc's default page (US Letter, 1 in margins) = 468 pt at 12 pt; in Cambria (about
# 5.8 pt a character) 80, in DejaVu Sans, which LibreOffice puts in Cambria's place where
# Cambria is not installed (about 6.6 pt), 70. The smallest, less two characters of cell
# padding per column.
TEXT_CHARS = 70
PADDING = 2

LABELS = ["tbl-goals", "tbl-elites", "tbl-arguments", "tbl-indicators", "tbl-polls",
          "tbl-qualifiers"]
SEPARATOR = re.compile(r"^\|(-+\|)+$")


@pytest.fixture(scope="module")
def report(repo_root):
    return Report.load(repo_root)


@pytest.fixture(scope="module")
def names(repo_root) -> dict[str, str]:
    """bib key -> the name a citation prints for it (family name or organisation)."""
    out = {}
    for key, e in entries(repo_root / "references.bib").items():
        author = e.get("author", key).split(" and ")[0].strip("{}").split(",")[0]
        year = e.get("date", "")[:4]
        out[key] = f"{author} {year}," if year else f"{author}, n.d.,"
    return out


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def parse(md: str) -> tuple[list[str], list[int], list[list[str]]]:
    lines = md.splitlines()
    assert SEPARATOR.match(lines[1]), f"second line is not a pipe-table separator: {lines[1]!r}"
    header = cells(lines[0])
    widths = [len(c) for c in lines[1].strip("|").split("|")]
    body = [cells(x) for x in lines[2:]]
    return header, widths, body


def printed(text: str, names: dict[str, str]) -> str:
    """Roughly what a reader sees: citations resolved to names, no Markdown emphasis, escaped
    text as its characters (unionstate.markup)."""
    # A figure that opens its provenance (text.shown) prints as its text.
    text = re.sub(r'<span class="result"[^>]*>\[(.*?)\]\(#[^)]*\)</span>', r"\1", text)
    text = re.sub(r"(?<!\\)@([\w-]+)", lambda m: names[m.group(1)], text)
    text = text.replace("[", "(").replace("]", ")").replace("**", "")
    return re.sub(r"\\(.)", r"\1", text).replace("&#92;", "\\")


def words(text: str) -> list[str]:
    """Unbreakable runs: split at spaces and after a hyphen that joins two words."""
    return [w for w in re.split(r"\s+|(?<=[A-Za-z]-)(?=[A-Za-z])", text) if w]


@pytest.mark.parametrize("label", LABELS)
def test_widths_chosen(report, label):
    header, widths, body = parse(report.table(label))
    assert all(w >= 5 for w in widths), (label, widths)
    for row in body:
        assert len(row) == len(header), (label, row)


def test_a_layout_whose_widths_do_not_sum_to_100_is_refused():
    """One dash per percent: widths summing to 100 make a separator line longer than Pandoc's
    72 columns, so Pandoc takes the dashes as relative widths (pandoc.org/MANUAL.html#tables,
    pipe_tables) in every format."""
    frame = pd.DataFrame({"a": ["x"], "b": ["y"]})
    frame.attrs["layout"] = tables.Layout({"a": 60, "b": 30})
    with pytest.raises(ValueError, match="must sum to 100, not 90"):
        tables.markdown(frame)


@pytest.mark.parametrize("label", LABELS)
def test_header_row_marked(report, label):
    header, _, body = parse(report.table(label))
    assert all(header), f"{label}: an empty header cell"
    assert body, f"{label}: no rows"


@pytest.mark.parametrize("label", LABELS)
def test_every_word_fits_its_column(report, names, label):
    header, widths, body = parse(report.table(label))
    too_long = []
    for i, (head, width) in enumerate(zip(header, widths, strict=True)):
        room = width / 100 * TEXT_CHARS - PADDING
        for text in [head, *(row[i] for row in body if len(row) > i)]:
            for w in words(printed(text, names)):
                if len(w) > room:
                    too_long.append(f"{head!r} ({width}%, {room:.1f} chars): {w!r}")
    assert not too_long, f"{label}: " + "; ".join(too_long)


def test_heading_rows_replace_the_country_column(report):
    header, _, body = parse(report.table("tbl-elites"))
    assert "Country" not in header
    headings = [row[0] for row in body if all(c == "" for c in row[1:])]
    assert headings == ["**Belarus**", "**Russia**"]


def test_locator_ranges_take_an_en_dash(report):
    for label in LABELS:
        for cite in re.findall(r"\[@[^\]]*\]", report.table(label)):
            assert not re.search(r"\d-\d", cite), f"{label}: hyphen in range: {cite}"
    assert tables.locator("paras. 4-5, 13") == "paras. 4\u20135, 13"
    assert tables.locator("note 77") == "note 77"


def test_polls_cited_in_the_work_that_reports_them(report):
    md = report.table("tbl-polls")
    assert "[@nasb2020; cited in @shraibman, para. 8, note 77]" in md
    assert "[@levada2019_2020; cited in @shraibman, para. 10, note 81]" in md
    # the read source itself is never "cited in" anything
    assert "cited in @melyantsou2021" not in md
    ind = report.table("tbl-indicators")
    assert "; cited in @shraibman, para." in ind


def test_cited_in_rules():
    read = {"shraibman", "melyantsou2021"}
    assert tables.cited_in("x2020", "Shraibman, para. 8, note 77", read) == \
        "[@x2020; cited in @shraibman, para. 8, note 77]"
    assert tables.cited_in("shraibman", "para. 3-4", read) == "[@shraibman, para. 3\u20134]"
    # an unknown citing author: no claim of whose text it is
    assert tables.cited_in("x2020", "Nobody, p. 2", read) == "[@x2020]; Nobody, p. 2"


def test_changes_still_read_the_poll_ids(report):
    frame = tables.polls(report.ds)
    assert {"Poll", "Figures"} <= set(frame.columns)
    assert "(`levada-2019-12`)" in report.table("tbl-polls")


def test_caption_sources_mark_second_hand_works(report):
    ds = report.ds
    assert tables.sources(ds, {"shraibman", "nasb2020", "sasse2021"}) == \
        "[@shraibman; @nasb2020; @sasse2021; cited in @shraibman]"
    assert tables.sources(ds, {"melyantsou2021"}) == "[@melyantsou2021]"
    assert tables.sources(ds, set()) == ""
    # a key no poll names (so no citing work is known) is cited plainly
    assert tables.sources(ds, {"shraibman", "zz-unknown"}) == "[@shraibman; @zz-unknown]"


def test_reference_list_says_cited_in(repo_root, report):
    """Every work the report has not read says, in the field Chicago author-date prints
    (`type`, Pandoc's `genre`), where Shraibman cites it: the locator of polls.csv."""
    bib = entries(repo_root / "references.bib")
    read = tables.read_sources(report.ds)
    recorded = set(yaml.safe_load((repo_root / "tests" / "verified.yaml").read_text(
        encoding="utf-8"))["sources"])
    assert read == recorded, (
        "the works the report reads are not those of the verified record, tests/verified.yaml "
        "(`unionstate verify` records a new one)")
    polls = report.ds.polls
    for key, e in bib.items():
        if key in read:
            assert "type" not in e, key
            continue
        locs = {str(x).partition(", ")[2] for x in polls.loc[polls["source"] == key, "locator"]}
        assert e.get("type", "").startswith("Cited in Shraibman, n.d., "), key
        assert e["type"].removeprefix("Cited in Shraibman, n.d., ") in locs, (key, e["type"])


def test_a_figure_is_cited_through_the_work_it_comes_from(report):
    view = report.view.set_index("result_id", drop=False)
    assert tables.poll_citation(report.ds, view.loc["rus-vciom-no-further"]) == \
        "[@vciom2019; @vciom2020; cited in @shraibman, para. 11, notes 82\u201383]"
    assert tables.poll_citation(report.ds, view.loc["blr-nasb-2020-independent"]) == \
        "[@nasb2020; cited in @shraibman, para. 8, note 77]"


def _pandoc() -> list[str] | None:
    import shutil

    if shutil.which("quarto"):
        return ["quarto", "pandoc"]  # the Pandoc that Quarto bundles
    if shutil.which("pandoc"):
        return ["pandoc"]
    try:  # the dev group's pypandoc-binary ships one
        import pypandoc

        return [pypandoc.get_pandoc_path()]
    except (ImportError, OSError):
        return None


@pytest.mark.skipif(_pandoc() is None,
                    reason="no Pandoc: neither quarto nor pandoc on PATH, nor pypandoc-binary "
                           "installed (`uv sync` installs it with the dev group)")
def test_docx_gets_the_chosen_widths_and_a_repeating_header(report, tmp_path):
    """Pandoc's DOCX writer turns the separator's dashes into column widths in that
    proportion, and marks the header row to repeat on each page (w:tblHeader)."""
    import subprocess
    import zipfile

    md = report.table("tbl-elites")
    _, widths, _ = parse(md)
    (tmp_path / "t.md").write_text(md.replace("@", "") + "\n", encoding="utf-8")
    subprocess.run([*_pandoc(), str(tmp_path / "t.md"), "-o", str(tmp_path / "t.docx")],
                   check=True)
    xml = zipfile.ZipFile(tmp_path / "t.docx").read("word/document.xml").decode()
    cols = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', xml)]
    assert len(cols) == len(widths)
    for col, width in zip(cols, widths, strict=True):
        assert abs(col / sum(cols) * 100 - width) < 1, (cols, widths)
    # Pandoc 3 (Quarto 1.7.34 bundles 3.6.1) also fixes the layout (w:tblLayout fixed), so
    # Word keeps these widths; Pandoc 2 leaves Word's autofit, which starts from them.
    assert "<w:tblHeader" in xml


def test_fitted_widens_a_column_whose_word_does_not_fit():
    """A 9-character word needs ceil((9 + 2) * 100 / 70) = 16 % of the text block: its
    column goes from 10 to 16, and the 6 points come from the columns with room to spare,
    each of whose 1-character words needs ceil(3 * 100 / 70) = 5 % (a: 45 spare, c: 35), in
    proportion: 6 * 45 // 80 = 3 and 6 * 35 // 80 = 2, the last point from a, which has the
    most room left; whole points summing to 100."""
    out = tables.fitted({"a": 50, "b": 10, "c": 40}, {"a": 1, "b": 9, "c": 1})
    assert out == {"a": 46, "b": 16, "c": 38}
    # A column of citations gives up nothing (the names it prints are not in its Markdown).
    assert tables.fitted({"a": 50, "b": 10, "c": 40}, {"a": 1, "b": 9, "c": 1},
                         frozenset({"a"})) == {"a": 50, "b": 16, "c": 34}
    # Nothing to widen: the layout as it is; no room anywhere: the layout as it is, too.
    assert tables.fitted({"a": 50, "b": 50}, {"a": 5, "b": 5}) == {"a": 50, "b": 50}
    assert tables.fitted({"a": 50, "b": 50}, {"a": 40, "b": 40}) == {"a": 50, "b": 50}


def test_a_new_polls_longer_words_still_fit_their_columns(tmp_path, names):
    """A poll whose population has a word longer than any today still gets every word into
    its column, with no code edited: the column widens, the pollster's gives up the room."""
    from conftest import copy_report, set_cell

    copy = copy_report(tmp_path / "copy")
    set_cell(copy, "polls.csv", "nasb-2020-06", "population", "Schoolteachers of Minsk")
    table = Report.load(copy.root).table("tbl-polls")
    header, widths, body = parse(table)
    for i, (head, width) in enumerate(zip(header, widths, strict=True)):
        room = width / 100 * TEXT_CHARS - PADDING
        longest = max(len(w) for text in [head, *(row[i] for row in body)]
                      for w in words(printed(text, names)))
        assert longest <= room, (head, width, longest)


def test_the_polls_table_names_a_commissioner_only_beside_a_named_pollster(tmp_path, set_cell):
    """Shraibman (para. 9, note 80) names ZOiS as the commissioner of the March 2021 poll and no
    pollster, so the table gives 'ZOiS Institute survey' alone; once a pollster is named, the
    commissioner follows it in brackets."""
    import shutil

    from unionstate.data import load
    from unionstate.paths import Project

    def cell(proj: Project) -> str:
        table = tables.polls(load(proj))
        return str(table.loc[table["Poll"] == "zois-2021-03",
                             "Pollster (commissioner), date"].iloc[0])

    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copy2(REPO / "references.bib", tmp_path / "references.bib")
    proj = Project(tmp_path)
    assert cell(proj) == "ZOiS Institute survey, March 2021 (`zois-2021-03`)"
    set_cell(proj, "polls.csv", "zois-2021-03", "pollster", "Example Polling")
    assert cell(proj) == "Example Polling (ZOiS Institute), March 2021 (`zois-2021-03`)"


@pytest.mark.parametrize(("start", "end", "short", "words"), [
    ("2020-06", "2020-06", False, "June 2020"),
    ("2018", "2018", False, "2018"),
    ("2021-05", "2021-06", False, "May–June 2021"),
    ("2021-05", "2021-06", True, "May–Jun 2021"),
    ("2019-11", "2020-01", False, "November 2019 – January 2020"),
    ("2020-06-01", "2020-06-15", False, "1 June 2020 – 15 June 2020"),
])
def test_a_fieldwork_period_in_words_at_its_stated_precision(start, end, short, words):
    from unionstate.views import period_text

    assert period_text(start, end, short=short) == words
