"""Every figure shown opens its own provenance (issue 25; unionstate.provenance).

The preview of the session's shared build (conftest.built) is parsed: every element with a
`data-result` names real results of data/results.csv; each figure in the prose and tables
links to its entry in the appendix, and every figure shown has exactly one entry there. The
entry of one figure is checked against the source (typed here from Shraibman's chapter,
para. 8, note 77: the Academy's 62% in June 2020). The review edition marks a figure changed
since the reviewed revision; a poll added with add-poll gets its entries with no hand edit;
text from data/ is escaped in an entry. The panels themselves (keyboard, touch, axe-core) are
tested in tests/test_a11y.py.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import copy_report, skip_if_example_in_data  # tests/ is on sys.path

from unionstate import provenance
from unionstate.changes import uses
from unionstate.report import Report

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "new-poll.yaml"
SHOWN = re.compile(r'\bS\[\s*"([^"]+)"\s*\]')


def result_ids(root: Path) -> set[str]:
    with (root / "data" / "results.csv").open(encoding="utf-8", newline="") as f:
        return {row["result_id"] for row in csv.DictReader(f)}


def problems(page: BeautifulSoup, known: set[str]) -> list[str]:
    """What is wrong with the figures of a page: a data-result naming no result, a figure
    whose link goes elsewhere than its first result's entry, a figure with no entry or with
    several."""
    found = []
    entries: dict[str, int] = {}
    for div in page.select("div.provenance-entry"):
        rid = div.get("id", "").removeprefix("prov-")
        entries[rid] = entries.get(rid, 0) + 1
    for el in page.select("[data-result]"):
        ids = el["data-result"].split()
        found += [f"{el.name} names '{i}', no result" for i in ids if i not in known]
        if "result" in el.get("class", []):
            link = el.find("a")
            if link is None or link.get("href") != f"#prov-{ids[0]}":
                found.append(f"figure {el.get_text()!r} ({ids}) does not link to its entry")
            found += [f"'{i}' has {entries.get(i, 0)} entries" for i in ids
                      if entries.get(i, 0) != 1]
    return found


@pytest.fixture(scope="module")
def page(built) -> BeautifulSoup:
    return BeautifulSoup((built.proj.build / "report.html").read_text(encoding="utf-8"),
                         "html.parser")


def test_every_figure_names_real_results_and_has_exactly_one_entry(page, built):
    known = result_ids(built.proj.root)
    figures = page.select("span.result[data-result]")
    # Every inline figure of the chapters (S["..."]) is one such element at least.
    inline = {m for p in [REPO / "report.qmd", *(REPO / "chapters").glob("*.qmd")]
              for m in SHOWN.findall(p.read_text(encoding="utf-8"))}
    marked = {i for f in figures for i in f["data-result"].split()}
    assert inline and inline <= marked, sorted(inline - marked)
    assert not problems(page, known), problems(page, known)
    # Every figure the report shows (provenance.order) has exactly one entry.
    shown = provenance.order(Report.load(built.proj.root), uses(built.proj))
    ids = [d["id"].removeprefix("prov-") for d in page.select("div.provenance-entry")]
    assert set(shown) <= set(ids) and len(ids) == len(set(ids)), (shown, ids)


def test_the_check_finds_a_bad_id_a_missing_entry_and_a_duplicate(page, built):
    """The check above can fail: a page with a figure naming no result, a figure whose entry
    is gone, and an entry given twice."""
    known = result_ids(built.proj.root)
    bad = BeautifulSoup(str(page), "html.parser")
    figures = bad.select("span.result[data-result]")
    figures[0]["data-result"] = "no-such-result"
    gone = figures[1]["data-result"].split()[0]
    bad.find(id=f"prov-{gone}").decompose()
    twice = bad.select("div.provenance-entry")[-1]
    twice.insert_after(BeautifulSoup(str(twice), "html.parser"))
    found = "\n".join(problems(bad, known))
    assert "names 'no-such-result', no result" in found
    assert f"'{gone}' has 0 entries" in found
    assert f"'{twice['id'].removeprefix('prov-')}' has 2 entries" in found


def test_an_entry_says_where_its_figure_comes_from(page):
    """Typed from the source: Shraibman, para. 8, note 77, gives the Belarusian Academy of
    Sciences' June 2020 poll, 62% for two independent states."""
    entry = page.find(id="prov-blr-nasb-2020-independent")
    text = " ".join(entry.get_text(" ").split())
    for part in ["62%", "Belarusian Academy of Sciences", "June 2020", "Question (paraphrased)",
                 "Option (paraphrased)", "cited in", "Shraibman", "para. 8", "note 77"]:
        assert part in text, (part, text)
    charts = [a["href"] for a in entry.find_all("a") if a.get("href", "").startswith("#fig-")]
    assert "#fig-blr-opinion" in charts, charts


def test_the_first_entry_is_the_first_figure_of_the_text():
    """The appendix lists figures in the order they first appear: the first inline figure of
    report.qmd and its chapters, in the order report.qmd includes them, comes first."""
    text = (REPO / "report.qmd").read_text(encoding="utf-8")
    for include in re.findall(r"\{\{<\s*include\s+(\S+)\s*>\}\}", text):
        text = text.replace(f"{{{{< include {include} >}}}}",
                            (REPO / include).read_text(encoding="utf-8"))
    first = SHOWN.search(text).group(1)
    assert provenance.order(Report.load(REPO), uses(Report.load(REPO).proj))[0] == first


def test_text_from_data_is_escaped_in_an_entry():
    report = Report.load(REPO)
    rec = provenance.records(report)["blr-nasb-2020-independent"]
    hostile = "<script>alert(1)</script> [x](javascript:y) @shraibman *b*"
    from dataclasses import replace

    entry = provenance.entry(replace(rec, option=hostile, question=hostile, notes=hostile))
    # No "<", "[", "]" or "@" of the value is left without its backslash.
    unescaped = re.findall(r"(?<!\\)(?:<script|\]\(javascript|@shraibman \*b)", entry)
    assert not unescaped, entry
    assert entry.count(r"\<script\>alert(1)\</script\>") == 3, entry


def test_the_review_edition_marks_a_figure_changed_since_the_reviewed_revision(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    from test_review import commit_then_change_a_number

    from unionstate.changes import changed_figures

    proj = copy_report(tmp_path / "p")
    commit_then_change_a_number(proj.root)  # 62% -> 64% for blr-nasb-2020-independent
    report = Report.load(proj.root)
    changes = changed_figures(report, "HEAD")
    assert changes == {"blr-nasb-2020-independent": "Changed since HEAD (was 62%)."}
    listed = provenance.appendix(report, uses(proj), changes)
    entry = re.search(r'<div id="prov-blr-nasb-2020-independent".*?</div>', listed, re.S).group(0)
    assert "**Changed since HEAD (was 62%).** **64%**" in entry
    assert listed.count("Changed since") == 1


def test_a_poll_added_with_add_poll_gets_its_entries_and_markup(tmp_path):
    from click.testing import CliRunner

    from unionstate.cli import main

    skip_if_example_in_data()
    proj = copy_report(tmp_path / "p")
    before = result_ids(proj.root)
    done = CliRunner().invoke(main, ["add-poll", str(EXAMPLE), "--root", str(proj.root)])
    assert done.exit_code == 0, done.output
    new = result_ids(proj.root) - before
    assert new
    report = Report.load(proj.root)
    listed = provenance.appendix(report, uses(proj))
    for rid in new:
        assert listed.count(f'<div id="prov-{rid}"') == 1, rid
        assert report.shares[rid]._repr_markdown_().startswith(
            f'<span class="result" data-result="{rid}">'), rid


@pytest.fixture(scope="module")
def review_built(shared_build):
    """tests/shared_build.py's "review" stage (as test_review.py reads it): `unionstate build
    --review HEAD` on a copy under git with 62% changed to 64% after the commit."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    data = shared_build.stage("review")
    assert data["exit_code"] == 0, data["output"]
    return Path(data["root"])


def test_the_review_build_marks_the_changed_figure_in_its_appendix(review_built):
    """The review edition's own kernel run (tests/shared_build.py "review": 62% -> 64% after
    the reviewed commit) marks that figure's entry, and no other."""
    import nbformat

    nb = nbformat.read(review_built / "_build" / "review" / "report.ipynb", as_version=4)
    texts = ["".join(o.get("data", {}).get("text/markdown", ""))
             for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    listed = next(t for t in texts if 'class="provenance-entry"' in t)
    entry = re.search(r'<div id="prov-blr-nasb-2020-independent".*?</div>', listed, re.S).group(0)
    assert "**Changed since HEAD (was 62%).** **64%**" in entry, entry
    assert listed.count("Changed since") == 1


def _markdown_of(nb_path: Path) -> str:
    """The executed notebook's Markdown, cells and Markdown outputs in order, as Pandoc reads
    it; cross-references made plain text (they are Quarto's, not Pandoc's)."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append("".join(out.get("data", {}).get("text/markdown", "")))
    return re.sub(r"(?<!\\)@((?:fig|tbl|sec)-[\w-]*\w)", r"\1", "\n\n".join(parts))


def test_in_typst_and_docx_every_figure_links_to_an_entry_that_exists(built, tmp_path):
    """Pandoc (the one Quarto runs) writes each figure as an internal link and each entry as
    a label (Typst) or a bookmark (DOCX). Typst refuses a link to a label no entry defines,
    so every link must have its entry; and every result shown has one."""
    import zipfile

    import pypandoc

    source = _markdown_of(built.proj.build / "report.ipynb")
    typst = pypandoc.convert_text(source, "typst", format="markdown")
    links = set(re.findall(r"#link\(<(prov-[\w-]+)>\)", typst))
    labels = re.findall(r"<(prov-[\w-]+)>\s*$", typst, re.M)
    assert links and links <= set(labels), sorted(links - set(labels))
    assert len(labels) == len(set(labels)), "an entry given twice"
    docx = tmp_path / "r.docx"
    pypandoc.convert_text(source, "docx", format="markdown", outputfile=str(docx))
    xml = zipfile.ZipFile(docx).read("word/document.xml").decode("utf-8")
    anchors = set(re.findall(r'w:anchor="(prov-[\w-]+)"', xml))
    marks = set(re.findall(r'w:bookmarkStart[^>]*w:name="(prov-[\w-]+)"', xml))
    assert anchors and anchors <= marks, sorted(anchors - marks)


def test_a_figures_markup_takes_no_room_in_a_table_column():
    """A table's column is widened for its longest printed word (tables.fitted); a figure's
    markup is not printed, so a cell showing 'some 43–48%' counts as those words."""
    from unionstate import tables
    from unionstate.text import shown

    assert tables._longest_word(shown("rus-vciom-no-further", "some 43–48%")) == len("43–48%")


def test_an_entry_names_a_commissioner_only_beside_a_named_pollster():
    """Shraibman (para. 9, note 80) names ZOiS as the commissioner of the March 2021 poll and no
    pollster: the entry says 'ZOiS Institute survey', not 'commissioned by' itself. With a
    pollster named, the commissioner is named beside it."""
    from dataclasses import replace

    rec = provenance.records(Report.load(REPO))["blr-zois-2021-one-state"]
    assert "ZOiS Institute survey, March 2021 (`zois-2021-03`)" in provenance.entry(rec)
    assert "commissioned by" not in provenance.entry(rec)
    named = replace(rec, polls=[replace(rec.polls[0], organisation="Example Polling",
                                        pollster="Example Polling")])
    assert ("Example Polling, commissioned by ZOiS Institute, March 2021 (`zois-2021-03`)"
            in provenance.entry(named))
