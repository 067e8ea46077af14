"""The Quarto-free reading copy: Quarto's cross-reference divs, @-references and [@citations]
turned into plain Markdown, so that nbconvert's HTML reads like the typeset report: one <h1>
(the title), tables named by a real <caption>, and the report's stylesheet (report.css)."""

from __future__ import annotations

import re
from importlib import resources

import nbformat

from . import typeset
from .bib import entries
from .citeproc import format_citations
from .paths import Project
from .qmd import new_cell

STYLESHEET = "report.css"
SCRIPT = "provenance.html"

DIV_OPEN = re.compile(r"^:::+\s*\{#((?:fig|tbl)-[\w-]+)[^}]*\}\s*$")
DIV_CLOSE = re.compile(r"^:::+\s*$")
# Any ATX heading: its marks, its text and its attributes ("## Limitations {#sec-limitations}").
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{([^}]*)\})?\s*$")
# Not after a backslash: "\@" and "\[" are text (unionstate.markup escapes data so).
XREF = re.compile(r"(?<!\\)@((?:fig|tbl|sec)-[\w-]*\w)")
# A citation group; a bracket escaped by a backslash (text from data/) is part of it, as in Pandoc.
CITATION = re.compile(r"(?<!\\)\[((?:[^\[\]\\]|\\.)*?(?<!\\)@[\w:.-]+(?:[^\[\]\\]|\\.)*)\]")
# A group's items, split at each semicolon neither escaped ("\\;") nor ending a character
# reference ("&#92;"), as in Pandoc; each one's prefix, @key and suffix ("cited in @x, para. 8").
CITE_ITEMS = re.compile(r"(?:\\.|&#?\w+;|[^;])+")
CITE_ITEM = re.compile(r"^\s*(.*?)(-?)@([\w:.-]*\w)(?:,\s*(.*?))?\s*$", re.S)
REFS_DIV = re.compile(r"^:::+\s*\{#refs\}\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
ATX_HEADING = re.compile(r"^(#{1,5})(\s)")
TABLE_OPEN = re.compile(r"<table\b[^>]*>")
CAPTION_SLOT = "\x00caption:{}\x00"


def stylesheet() -> str:
    """The report's stylesheet, the file _quarto.yml's `css:` names."""
    return resources.files(__package__).joinpath(STYLESHEET).read_text(encoding="utf-8")


def styled(page: str) -> str:
    """The preview page with the report's stylesheet last in its <head> (its rules win over
    JupyterLab's) and the provenance script last in its <body>, as _quarto.yml includes them."""
    head_end = page.find("</head>")
    if head_end < 0:
        raise ValueError("the preview page has no </head> to put the report's stylesheet in")
    page = f"{page[:head_end]}<style>\n{stylesheet()}</style>\n{page[head_end:]}"
    body_end = page.rfind("</body>")
    script = resources.files(__package__).joinpath(SCRIPT).read_text(encoding="utf-8")
    return page if body_end < 0 else f"{page[:body_end]}{script}\n{page[body_end:]}"


def _html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown).strip()


def _with_caption(output: dict, caption_markdown: str) -> bool:
    """The table output as HTML with `caption_markdown` as its <caption> (its accessible name,
    on top as Quarto's tbl-cap-location: top); False, output unchanged, if it holds no table."""
    data = output.get("data", {})
    if "text/html" in data:
        html = data["text/html"]
        html = "".join(html) if isinstance(html, list) else html
    elif "text/markdown" in data:
        html = _html(data["text/markdown"])
    else:
        return False
    table = TABLE_OPEN.search(html)
    if not table or "<caption" in html:
        return False
    caption = _html(caption_markdown)
    caption = re.sub(r"^<p>(.*)</p>$", r"\1", caption, flags=re.S)
    html = f"{html[:table.end()]}\n<caption>{caption}</caption>{html[table.end():]}"
    output["data"] = {"text/html": html}
    return True


def _citations(nb: nbformat.NotebookNode, bib: dict) -> list[str]:
    """Every Pandoc citation group of the notebook, in document order (Markdown cells and the
    Markdown outputs of tables), whose keys are all in the bibliography."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        elif cell.cell_type == "code":
            texts += [o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])]
    found = []
    for text in texts:
        for m in CITATION.finditer(text):
            items = [CITE_ITEM.match(item) for item in CITE_ITEMS.findall(m.group(1))]
            if all(k and k.group(3) in bib for k in items):
                found.append(m.group(0))
    return found


def plain(nb: nbformat.NotebookNode, bib_text_path, options: dict | None = None,
          root=None) -> nbformat.NotebookNode:
    """A copy of the executed notebook with Quarto-only syntax as plain Markdown, its citations
    and reference list made by citeproc with Quarto's `options` (lang, csl, link-citations)."""
    nb = nbformat.from_dict(nb)
    bib = entries(bib_text_path)
    formatted = format_citations(_citations(nb, bib), bib_text_path, options, root)
    # The title (reading_copy's first cell, else the first "# " heading that reads as the front
    # matter's) is the one level-1 heading left at level 1, and no section of the report.
    title = nb.metadata.get("unionstate", {}).get("front_matter", {}).get("title")
    titled = False
    numbers: dict[str, str] = {}  # fig-, tbl- and sec- label -> "Figure 3", "Section 9.6"
    counters = {"fig": 0, "tbl": 0}
    sections = [0] * 6  # the number of the current heading at each level, as Quarto counts
    # Only the title is a level-1 heading: the sections go one level down, as
    # `shift-heading-level-by: 1` does in _quarto.yml's html format.
    shift = 1 if title else 0
    caption_of = None  # a div opened in one cell has its caption after the code cell it wraps
    open_table = None  # the tbl- div we are inside
    table_outputs: dict[str, dict] = {}  # tbl- label -> the output that shows the table
    table_captions: dict[str, tuple] = {}  # tbl- label -> (the cell holding it, its caption)
    for cell in nb.cells:
        shown = [o for o in cell.get("outputs", [])
                 if o.get("data", {}).keys() & {"text/markdown", "text/html"}]
        if open_table and shown:
            table_outputs.setdefault(open_table, shown[0])
        if cell.cell_type != "markdown":
            continue
        out = []
        fenced = False
        marked = cell.metadata.get("unionstate", {}).get("role") == "title"
        for line in cell.source.splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and not titled and line.startswith("# ") and (
                    marked or line[1:].strip() == title):
                titled = True
            elif not fenced and (h := HEADING.match(line)):
                attrs = (h.group(3) or "").split()
                number = None
                # number-sections: every heading is numbered (9, 9.1, ...) unless marked
                # {.unnumbered} or {-} (quarto.org, authoring/cross-references.html#sections).
                if ".unnumbered" not in attrs and "-" not in attrs:
                    level = len(h.group(1))
                    sections[level - 1] += 1
                    sections[level:] = [0] * (6 - level)
                    number = ".".join(map(str, sections[:level]))
                    ids = [a[1:] for a in attrs if a.startswith("#sec-")]
                    if ids:
                        numbers[ids[0]] = f"Section {number}"
                if ATX_HEADING.match(line):
                    # Its number, as Quarto prints it before the heading ("9.6 Limitations"),
                    # no attribute block, and an anchor for what "Section 9.6" links to.
                    line = "#" * shift + h.group(1) + " " + (f"{number} " if number else "") + h.group(2)
                    out += [f'<a id="{a[1:]}"></a>\n' for a in attrs if a.startswith("#sec-")]
            if m := DIV_OPEN.match(line):
                kind = m.group(1)[:3]
                counters[kind] += 1
                numbers[m.group(1)] = f"{'Figure' if kind == 'fig' else 'Table'} {counters[kind]}"
                caption_of = m.group(1)
                open_table = m.group(1) if kind == "tbl" else None
                out.append(f'<a id="{m.group(1)}"></a>')
            elif REFS_DIV.match(line):
                out.append(f"\n{formatted.references}\n")
            elif DIV_CLOSE.match(line):
                open_table = None
            elif caption_of and line.strip():
                line = f"**{numbers[caption_of]}.** {line}"
                if caption_of.startswith("tbl-"):  # becomes the table's <caption> if it can
                    table_captions[caption_of] = (cell, line)
                    line = CAPTION_SLOT.format(caption_of)
                caption_of = None
                out.append(line)
            else:
                out.append(line)
        cell.source = "\n".join(out)

    def resolved(text: str) -> str:
        """Citations as citeproc prints them, and @fig-x as a link to the figure, as Quarto
        writes it ("Figure 3"); an unknown one is left as it is."""
        text = CITATION.sub(lambda m: formatted.citations.get(m.group(0), m.group(0)), text)
        return XREF.sub(lambda m: f"[{numbers[m.group(1)]}](#{m.group(1)})"
                        if m.group(1) in numbers else m.group(0), text)

    for cell in nb.cells:  # tables (and the provenance entries' charts) cite too
        if cell.cell_type == "markdown":
            cell.source = resolved(cell.source)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "text/markdown" in output.get("data", {}):
                output["data"]["text/markdown"] = resolved(output["data"]["text/markdown"])
    for label, (cell, caption) in table_captions.items():
        output, caption = table_outputs.get(label), resolved(caption)
        attached = output is not None and _with_caption(output, caption)
        # a caption with no table to hold it stays a paragraph
        cell.source = cell.source.replace(CAPTION_SLOT.format(label), "" if attached else caption)
    return nb


def reading_copy(nb):
    """The notebook as the preview shows it: a title instead of the front matter, PNG figures
    with their cell's fig-alt as alt text."""
    nb = typeset.png_only(nbformat.from_dict(nb))
    meta = nb.metadata.get("unionstate", {}).get("front_matter", {})
    cells = [c for c in nb.cells if not typeset.is_front_matter(c)]
    if meta.get("title"):
        head = f"# {meta['title']}" + (f"\n\n*{meta['subtitle']}*" if meta.get("subtitle") else "")
        cells.insert(0, new_cell("markdown", head, {"unionstate": {
            "file": "report.qmd", "line": 1, "role": "title"}}, "title"))
    for cell in cells:
        alt = cell.metadata.get("unionstate", {}).get("options", {}).get("fig-alt")
        for output in cell.get("outputs", []):
            if alt and "image/png" in output.get("data", {}):  # its alt text (preview.html.j2)
                output.setdefault("metadata", {}).setdefault("image/png", {})["alt"] = alt
    nb.cells = cells
    return nb


def page(nb, proj: Project) -> str:
    """The preview page of the executed notebook: nbconvert's HTML of its reading copy."""
    from nbconvert import HTMLExporter

    template = resources.files(__package__).joinpath("preview.html.j2")
    exporter = HTMLExporter(template_name="lab", template_file=str(template), exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    # Citeproc takes the options of _quarto.yml that change what it prints (citeproc.OPTIONS).
    reading = plain(reading_copy(nb), proj.bib, typeset.project_options(proj), proj.root)
    title = nb.metadata.get("unionstate", {}).get("front_matter", {}).get("title", "Report")
    html, _ = exporter.from_notebook_node(reading, resources={"metadata": {"name": title}})
    return styled(html)
