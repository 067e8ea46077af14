"""The Quarto-free reading copy: Quarto's cross-reference divs, @-references and [@citations]
turned into plain Markdown, so that nbconvert's HTML reads like the typeset report."""

from __future__ import annotations

import re

import nbformat

from .bib import entries

DIV_OPEN = re.compile(r"^:::+\s*\{#((?:fig|tbl)-[\w-]+)[^}]*\}\s*$")
DIV_CLOSE = re.compile(r"^:::+\s*$")
SEC_HEADING = re.compile(r"^(#+)\s+(.*?)\s*\{#(sec-[\w-]+)[^}]*\}\s*$")
XREF = re.compile(r"@((?:fig|tbl|sec)-[\w-]*\w)")
CITATION = re.compile(r"\[([^\[\]]*@[\w:.-]+[^\[\]]*)\]")
CITE_KEY = re.compile(r"(-?)@([\w:.-]*\w)(?:,\s*([^;]+))?")
REFS_DIV = re.compile(r"^:::+\s*\{#refs\}\s*$")


def author_year(entry: dict) -> tuple[str, str]:
    author = entry.get("author", "Anon.").split(" and ")[0]
    author = author.strip("{}").split(",")[0].strip("{} ")
    year = (entry.get("date") or entry.get("year") or "n.d.")[:4]
    return author, year


def _reference(entry: dict) -> str:
    author = entry.get("author", "").replace("{", "").replace("}", "")
    title = entry.get("title", "").replace("{", "").replace("}", "").replace("--", "–")
    parts = [author, (entry.get("date") or entry.get("year") or "n.d.")[:10], f"“{title}.”"]
    for key in ("journaltitle", "organization", "institution"):
        if entry.get(key):
            parts.append(entry[key].replace("{", "").replace("}", "") + ".")
    if entry.get("url"):
        parts.append(f"<{entry['url']}>.")
    if entry.get("note"):
        parts.append(entry["note"].replace("--", "–").replace("{", "").replace("}", "") + ".")
    return " ".join(p for p in parts if p)


def plain(nb: nbformat.NotebookNode, bib_text_path) -> nbformat.NotebookNode:
    """A copy of the executed notebook with Quarto-only syntax rendered as plain Markdown."""
    nb = nbformat.from_dict(nb)
    bib = entries(bib_text_path)
    numbers: dict[str, str] = {}
    counters = {"fig": 0, "tbl": 0}
    sections = 0
    # First pass: number figures, tables and sections in document order.
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = DIV_OPEN.match(line)
            if m:
                kind = m.group(1)[:3]
                counters[kind] += 1
                numbers[m.group(1)] = f"{'Figure' if kind == 'fig' else 'Table'} {counters[kind]}"
            h = SEC_HEADING.match(line)
            if h and len(h.group(1)) == 1:
                sections += 1
                numbers[h.group(3)] = f"Section {sections}"
    cited: set[str] = set()

    def cite(m: re.Match) -> str:
        parts = []
        for k in CITE_KEY.finditer(m.group(1)):
            key = k.group(2)
            if key not in bib:
                return m.group(0)
            cited.add(key)
            author, year = author_year(bib[key])
            parts.append(f"{author} {year}" + (f", {k.group(3).strip()}" if k.group(3) else ""))
        return "(" + "; ".join(parts) + ")"

    caption_of = None  # a div opened in one cell has its caption after the code cell it wraps
    for cell in nb.cells:
        if cell.cell_type == "code":  # tables are Markdown outputs that cite too
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "text/markdown" in data:
                    data["text/markdown"] = CITATION.sub(cite, data["text/markdown"])
            continue
        if cell.cell_type != "markdown":
            continue
        out = []
        lines = cell.source.splitlines()
        for line in lines:
            m = DIV_OPEN.match(line)
            if m:
                caption_of = m.group(1)
                out.append(f'<a id="{m.group(1)}"></a>')
                continue
            if REFS_DIV.match(line):
                out.append("\n".join(f"- {_reference(bib[k])}" for k in sorted(
                    cited, key=lambda k: author_year(bib[k]))))
                continue
            if DIV_CLOSE.match(line):
                continue
            h = SEC_HEADING.match(line)
            if h:
                line = f"{h.group(1)} {h.group(2)}"
            if caption_of and line.strip():
                line = f"**{numbers[caption_of]}.** {line}"
                caption_of = None
            out.append(line)
        text = "\n".join(out)
        text = CITATION.sub(cite, text)
        text = XREF.sub(lambda m: numbers.get(m.group(1), m.group(0)), text)
        cell.source = text
    return nb
