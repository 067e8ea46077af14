"""The Quarto-free preview renders Pandoc citations as Quarto would print their words."""

import html
import re
from pathlib import Path

import nbformat
import pytest

from unionstate.preview import plain

REPO = Path(__file__).resolve().parents[1]
# What Quarto 1.7.34 (Pandoc 3.6.1) printed from main's references.bib at c3077d6: citations
# and reference list copied from its report.html (../shared/renders), with that references.bib.
QUARTO = Path(__file__).parent / "fixtures" / "quarto-1.7.34"
EN_GB = {"lang": "en-GB", "link-citations": True}  # _quarto.yml's


def _text(markup: str) -> str:
    """What a reader sees of some HTML: no tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", markup))).strip()


def _preview(*sources: str, bib: Path = REPO / "references.bib") -> list[str]:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell(f"A claim {s}.") for s in sources]
    nb.cells.append(v4.new_markdown_cell("## References {.unnumbered}\n\n::: {#refs}\n:::"))
    return [c.source for c in plain(nb, bib, EN_GB, REPO).cells]


@pytest.mark.parametrize(("source", "printed"), [
    ("[@shraibman, para. 8]", "(Shraibman, n.d., para. 8)"),
    # A poll's publication known only through Shraibman: the prefix "cited in" is kept.
    ("[@nasb2020; cited in @shraibman, para. 8, note 77]",
     "(Belarusian Academy of Sciences 2020; cited in Shraibman, n.d., para. 8, note 77)"),
    ("[@istrate2019; @baw2019dec; both cited in @shraibman, para. 8, notes 78–79]",
     "(Istrate 2019; Belarusian Analytical Workshop 2019; both cited in Shraibman, n.d., "
     "para. 8, notes 78–79)"),
    ("[@sasse2021]", "(Sasse et al. 2021)"),
])
def test_citations_keep_prefix_and_locator(source, printed):
    text = _text(_preview(source)[0])
    assert text == f"A claim {printed}.", text


# Citations as written in the report at c3077d6, whose printed form tests/fixtures/quarto-1.7.34/
# report.html holds.
QUARTO_CITED = [
    "[@shraibman, para. 1]",
    "[@shraibman, paras. 4–5]",
    "[@melyantsou2021]",
    "[@sasse2021; cited in @shraibman, para. 9, note 80]",
    "[@vciom2019; @vciom2020; both cited in @shraibman, para. 11, notes 82–83]",
    "[@shraibman, paras. 3–4; @melyantsou2021, paras. 14–15]",
    "[@levada2019_2020; cited in @shraibman, para. 10, note 81]",
    "[@istrate2019; @baw2019dec; both cited in @shraibman, para. 8, notes 78–79]",
    "[@nasb2020; cited in @shraibman, para. 8, note 77]",
    "[@dergachev2018; cited in @shraibman, para. 11, note 84]",
    "[@vciom2020; cited in @shraibman, para. 11, note 83]",
]


def _squeezed(markup: str) -> str:
    """The HTML with spaces collapsed and each character reference read as its character
    (the preview writes the punctuation of Pandoc's text as references: citeproc._inert)."""
    return html.unescape(re.sub(r"\s+", " ", markup).strip())


def test_citations_and_references_are_those_quarto_printed():
    """The same bibliography gives, in the preview, the very HTML Quarto 1.7.34 wrote in
    report.html for each citation (names, "et al.", "n.d.", locators, links) and for the
    reference list (quotes, dates, order, "———")."""
    quarto = (QUARTO / "report.html").read_text(encoding="utf-8")
    printed = {_squeezed(s) for s in re.findall(r'<span class="citation".*?</span>', quarto, re.S)}
    cells = _preview(*QUARTO_CITED, bib=QUARTO / "references.bib")
    for source, cell in zip(QUARTO_CITED, cells, strict=False):
        span = re.search(r'<span class="citation".*?</span>', cell, re.S)
        assert span and _squeezed(span.group(0)) in printed, (source, cell)
    entries = r'<div id="ref-[^"]+" class="csl-entry"[^>]*>.*?</div>'
    assert [_squeezed(e) for e in re.findall(entries, cells[-1], re.S)] == \
        [_squeezed(e) for e in re.findall(entries, quarto, re.S)]


def test_citations_link_to_their_reference():
    cells = _preview("[@sasse2021; cited in @shraibman, para. 9, note 80]")
    assert 'href="#ref-sasse2021"' in cells[0] and 'id="ref-sasse2021"' in cells[-1], cells


def test_a_key_not_in_the_bibliography_is_left_as_written():
    cells = _preview("[@nosuchwork, p. 3]", "[@shraibman]")
    assert _text(cells[0]) == "A claim [@nosuchwork, p. 3].", cells[0]
    assert _text(cells[1]) == "A claim (Shraibman, n.d.).", cells[1]


def test_every_descriptive_entry_says_so_in_the_reference_list():
    """A poll Shraibman names without a publication has an entry of the report's making; the
    reference list itself says so, where a reader sees it."""
    from unionstate.bib import entries

    bib = entries(REPO / "references.bib")
    descriptive = [k for k, e in bib.items() if "title descriptive" in e.get("note", "").lower()]
    assert descriptive, "no descriptive entry found by its note"
    refs = _preview(*(f"[@{k}]" for k in descriptive))[-1]
    for key in descriptive:
        entry = re.search(rf'<div id="ref-{key}" class="csl-entry"[^>]*>(.*?)</div>', refs, re.S)
        assert entry and "no publication" in _text(entry.group(1)).lower(), (key, refs)


def test_sections_are_numbered_as_quarto_numbers_them():
    """number-sections: every heading gets a number (8, 9.6) unless it is {.unnumbered};
    the reading copy's title is no section. Quarto 1.7.34 printed 'Section 8' for the
    outlook (../shared/renders/report.html), after an unnumbered 'Key findings'."""
    v4 = nbformat.v4
    nb = v4.new_notebook()
    title = v4.new_markdown_cell("# The report")
    title.metadata["unionstate"] = {"role": "title"}
    nb.cells = [
        title,
        v4.new_markdown_cell("# Key findings {#sec-key .unnumbered}\n\nSee @sec-one, @sec-two, "
                             "@sec-one-b and @sec-two-a."),
        v4.new_markdown_cell("# One {#sec-one}\n\n## First\n\n```\n# not a heading\n```\n\n"
                             "## Second {#sec-one-b}\n\n## Aside {.unnumbered}"),
        v4.new_markdown_cell("# Two {#sec-two}\n\n## Only {#sec-two-a}"),
    ]
    out = plain(nb, REPO / "references.bib")
    text = out.cells[1].source
    # Each reference links to its section, as in Quarto's report.html, and each section with an
    # id has the anchor it links to.
    assert ("See [Section 1](#sec-one), [Section 2](#sec-two), [Section 1.2](#sec-one-b) and "
            "[Section 2.1](#sec-two-a).") in text, text
    anchors = re.findall(r'<a id="(sec-[\w-]+)"></a>', "\n".join(c.source for c in out.cells))
    assert anchors == ["sec-key", "sec-one", "sec-one-b", "sec-two", "sec-two-a"], anchors
    # The headings carry those numbers, as Quarto prints them, and no attribute block, so that
    # a reader can find "Section 1.2".
    headings = [line for cell in out.cells[1:] for line in cell.source.splitlines()
                if line.startswith("#")]
    assert headings == ["# Key findings", "# 1 One", "## 1.1 First", "# not a heading",
                        "## 1.2 Second", "## Aside", "# 2 Two", "## 2.1 Only"], headings
