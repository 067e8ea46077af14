"""The Quarto-free preview renders Pandoc citations as Quarto would print their words."""

import re
from pathlib import Path

import nbformat
import pytest

from unionstate.preview import plain

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("source", "printed"), [
    ("[@shraibman, para. 8]", "(Shraibman n.d., para. 8)"),
    # A poll's publication known only through Shraibman: the prefix "cited in" is kept.
    ("[@nasb2020; cited in @shraibman, para. 8, note 77]",
     "(Belarusian Academy of Sciences 2020; cited in Shraibman n.d., para. 8, note 77)"),
    ("[@istrate2019; @baw2019dec; both cited in @shraibman, para. 8, notes 78–79]",
     "; both cited in Shraibman n.d., para. 8, notes 78–79)"),
])
def test_citations_keep_prefix_and_locator(source, printed):
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell(f"A claim {source}.")]
    text = plain(nb, REPO / "references.bib").cells[0].source
    assert printed in text, text
    assert "@" not in text.split("A claim", 1)[1].split(".\n")[0], text


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
