"""The Quarto-free preview renders Pandoc citations as Quarto would print their words."""

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
