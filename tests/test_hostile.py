"""Text from data/ is data, not markup (issue 24): hostile strings in every field that reaches
an edition are shown as the characters typed, and add no element or attribute to the page.

A copy of the report gets a hostile string in each such field (the qualitative CSVs, a poll
and its figure, a references.bib entry, CITATION.cff's author, a qualifier's meaning in the
codebook) and is built. Its preview,
_build/report.html, is parsed and compared with the preview of the unchanged project (the
shared build, conftest.built): the same elements with the same attributes, and each string
in the text shown. The strings are typed here. Strings with "$" stay out of the fields the
charts draw (pollster, event labels): matplotlib's text is the chart code's to make safe.

Where Quarto is installed, the same copy is rendered and its HTML, Typst source and DOCX
checked for the strings as text (skipped here with the reason).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import copy_report

# Each a different way text could become markup in Markdown, HTML, Pandoc or Typst.
SCRIPT = "<script>alert('x')</script>"
LINK = "[a](javascript:alert(1))"
IMG = "<img src=x onerror=alert(1)>"
EMPHASIS = "*b* _i_ **s** `code` | pipe \\ back"
MATH = "Poll $\\frac$ Ltd \\(x\\) $$y$$"
CITE = "@shraibman and [@melyantsou2021, p. 1] and @fig-mirror"
SHORTCODE = "{{< meta title >}} {{< include x.qmd >}}"
HEADING = "# heading"
TYPST = "#set page(fill: red) #let x = 1 #x"
ENTITY = "&amp; &lt;b&gt; &#92;"
PANDOC = "^[note] H~2~O x^2^ ~~gone~~ [span]{.x} <!-- hidden -->"
LIST = "1. first"
DIV = "::: {.callout-note}"
HTML = "<b onclick=alert(1)>bold</b> <a href='javascript:alert(1)'>x</a>"

# (file, row: (key column, key), column, value). Each value is unique in the page.
FIELDS = [
    ("goals.csv", ("aspect", "Purpose of integration"), "minsk", f"{SCRIPT} g1"),
    ("goals.csv", ("aspect", "Purpose of integration"), "moscow", f"{MATH} g2"),
    ("goals.csv", ("aspect", "Purpose of integration"), "aspect", f"{HEADING} g3"),
    ("goals.csv", ("aspect", "# heading g3"), "locator", f"{ENTITY} g4"),
    ("elites.csv", ("group", "Security services and the military"), "interests", f"{LINK} e1"),
    ("elites.csv", ("group", "Security services and the military"), "view_of_integration",
     f"{IMG} e2"),
    ("elites.csv", ("group", "Security services and the military"), "group", f"{LIST} e3"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "differ", f"{EMPHASIS} a1"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "evidence_shraibman", f"{CITE} a2"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "evidence_melyantsou", f"{SHORTCODE} a3"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "agree", f"{TYPST} a4"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "locator_melyantsou", f"{PANDOC} a5"),
    ("arguments.csv", ("claim", "Moscow did not use the 2020 crisis to absorb Belarus"),
     "claim", f"{DIV} a6"),
    ("indicators.csv", ("indicator_id", "blr-status-quo"), "label", f"{HTML} i1"),
    ("indicators.csv", ("indicator_id", "blr-status-quo"), "why", f"{MATH} i2"),
    ("polls.csv", ("poll_id", "nasb-2020-06"), "pollster", f"{SCRIPT} {EMPHASIS} p1"),
    ("polls.csv", ("poll_id", "nasb-2020-06"), "population", f"{MATH} {TYPST} p2"),
    ("polls.csv", ("poll_id", "nasb-2020-06"), "locator", f"Shraibman, {LINK} p3"),
    ("results.csv", ("result_id", "blr-nasb-2020-independent"), "locator", f"{PANDOC} r1"),
]
BIB_TITLE = f"{SCRIPT} {LINK} *b* @shraibman b1"  # nasb2020's title: in the reference list
AUTHOR = f"{IMG} *Ed* & {MATH} c1"  # CITATION.cff: in "About this edition"
# The codebook's meaning of a qualifier (data/codebook.yaml): in the table of qualifiers.
MEANING = f"{HTML} {PANDOC} {CITE} q1"
MEANING_LINE = """          exact: "A single percentage ('62%'). low = high."\n"""
# Values shown by the table rather than in running text only, and where: a table cell that
# holds exactly the value, or holds it after its heading ("**claim.** agree").
CELLS = {MEANING, f"{SCRIPT} g1", f"{MATH} g2", f"{HEADING} g3", f"{LINK} e1", f"{IMG} e2",
         f"{EMPHASIS} a1", f"{MATH} i2", f"{HTML} i1", f"{MATH} {TYPST} p2"}


def _edit_csv(path: Path, key: tuple[str, str], column: str, value: str) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    hits = [r for r in rows if r[key[0]] == key[1]]
    assert len(hits) == 1, (path.name, key)
    hits[0][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _hostile_copy(dest: Path):
    proj = copy_report(dest)
    for name, key, column, value in FIELDS:
        _edit_csv(proj.data / name, key, column, value)
    bib = proj.root / "references.bib"
    text = bib.read_text(encoding="utf-8")
    entry = text.index("@misc{nasb2020,")
    # The hostile words end the title, whose {braced} words Pandoc keeps as spans; braced
    # too, as BibTeX protects words from the style's title case ("<Script>").
    start = text.index("title", entry)
    line_end = text.index("},\n", start)
    bib.write_text(f"{text[:line_end]} {{{BIB_TITLE}}}{text[line_end:]}", encoding="utf-8")
    codebook = proj.codebook.read_text(encoding="utf-8")
    assert MEANING_LINE in codebook
    proj.codebook.write_text(codebook.replace(
        MEANING_LINE, f"          exact: {json.dumps(MEANING)}\n"), encoding="utf-8")
    cff = proj.root / "CITATION.cff"
    cff.write_text(cff.read_text(encoding="utf-8").replace(
        "  - name: Seed 1029aaf3 maintainers", f"  - name: '{AUTHOR}'"), encoding="utf-8")
    return proj


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile copy, checked and built (preview only; Quarto where installed)."""
    proj = _hostile_copy(tmp_path_factory.mktemp("hostile") / "copy")
    for command in (["check"], ["build"]):
        done = subprocess.run([sys.executable, "-m", "unionstate.cli", *command, "--root",
                               str(proj.root)], capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    return proj


def _page(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _shape(soup: BeautifulSoup) -> Counter:
    """Every element of the page as (tag, its attribute names), outside the reference list,
    whose spans follow the braces of a title's BibTeX (checked by the attribute test)."""
    refs = soup.find(id="refs")
    inside = set(map(id, refs.find_all(True))) if refs else set()
    return Counter((el.name, tuple(sorted(el.attrs))) for el in soup.find_all(True)
                   if id(el) not in inside)


def _shown(soup: BeautifulSoup) -> str:
    body = soup.body or soup
    return " ".join(body.get_text(" ").split())


def _expected() -> list[str]:
    """The values as a reader sees them: a poll's locator opens with the citing author's
    name, which the report prints as the citation of that work (tables.cited_in)."""
    return [v.removeprefix("Shraibman, ") for *_, v in FIELDS] + [BIB_TITLE, AUTHOR, MEANING]


def test_hostile_text_adds_no_element_or_attribute_to_the_preview(hostile, built):
    page = _page(hostile.build / "report.html")
    assert _shape(page) == _shape(_page(built.proj.build / "report.html"))
    # No MathJax either: it would typeset "$...$" and "\(...\)" in the text shown.
    assert not [s for s in page.find_all("script") if "mathjax" in str(s).lower()]
    for el in page.find_all(True):
        for name, value in el.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            assert "alert(" not in text and not name.startswith("on"), (el.name, name, text)


def test_hostile_text_is_shown_as_typed_in_the_preview(hostile):
    page = _page(hostile.build / "report.html")
    shown = _shown(page)
    # The reference list is citeproc's, whose style curls the quotes of a title (as in Quarto).
    straight = shown.translate(str.maketrans("‘’“”", "''\"\""))
    missing = [v for v in _expected() if " ".join(v.split()) not in
               (straight if v == BIB_TITLE else shown)]
    assert not missing, missing
    cells = {" ".join(td.get_text(" ").split()) for td in page.find_all("td")}
    assert not (CELLS - cells), CELLS - cells
    # Where the report writes the value into its own words, they are around it as written.
    assert f"Authors: {AUTHOR}." in shown


@pytest.mark.quarto
def test_hostile_text_is_text_in_every_quarto_format(hostile):
    if shutil.which("quarto") is None:
        pytest.skip("quarto not on PATH: install it from quarto.org or `uv sync --extra render`")
    root = hostile.root
    page = _page(root / "report.html")
    shown = _shown(page)
    # Pandoc's smart typography curls quotes; compare with straight ones.
    straight = shown.translate(str.maketrans("‘’“”", "''\"\""))
    missing = [v for v in _expected() if " ".join(v.split()) not in straight]
    assert not missing, missing
    assert not page.find_all(onerror=True) and not page.find_all(onclick=True)
    assert not [a for a in page.find_all("a", href=True) if "javascript:" in a["href"]]
    assert not [s for s in page.find_all("script") if "alert(" in s.get_text()]
    # The Typst source of the PDF: the executed notebook rendered to Typst once more, kept
    # (`keep-typ`, quarto.org/docs/reference/formats/typst.html), in a copy of the folder.
    typst_dir = root.parent / "typst"
    shutil.copytree(root, typst_dir)
    shutil.copyfile(root / "_build" / "report.ipynb", typst_dir / "hostile.ipynb")
    done = subprocess.run(["quarto", "render", "hostile.ipynb", "--to", "typst", "-M",
                           "keep-typ:true"], cwd=typst_dir, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    source = (typst_dir / "hostile.typ").read_text(encoding="utf-8")
    # Every "#", "$", "<" and "@" typed in data/ is escaped Typst text, never code.
    for code in ("#set page(fill: red)", "#let x = 1", "$\\frac$", "<script>", "@shraibman and"):
        assert not re.search(r"(?<!\\)" + re.escape(code), source), code
    with zipfile.ZipFile(root / "report.docx") as docx:
        document = docx.read("word/document.xml").decode("utf-8")
    words = " ".join(re.sub(r"<[^>]+>", "", document).split())
    words = html.unescape(words).translate(str.maketrans("‘’“”", "''\"\""))
    for value in (f"{SCRIPT} g1", f"{LINK} e1", f"{IMG} e2"):
        assert value in words, value
