"""report.qmd (with its {{< include >}} chapters) as a Jupyter notebook, without Quarto: the
small part of the format the report uses (YAML front matter, includes, ```{python} cells with
`#|` options, inline `{python} expr`); each cell remembers the file and line it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from .problems import QmdError  # noqa: F401  (re-exported: qmd.QmdError)

INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(\S+)\s*>\}\}\s*$")
FENCE_OPEN = re.compile(r"^```\{python\}\s*$")
FENCE_CLOSE = re.compile(r"^```\s*$")
OPTION = re.compile(r"^#\|\s?(.*)$")
INLINE = re.compile(r"`\{python\}\s+([^`]+?)`")


@dataclass
class Line:
    text: str
    file: str
    number: int


@dataclass
class Cell:
    kind: str  # "markdown" or "code"
    lines: list[Line] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return "\n".join(line.text for line in self.lines).strip("\n")

    @property
    def origin(self) -> tuple[str, int]:
        return self.lines[0].file, self.lines[0].number


def expand(path: Path, root: Path, seen: tuple[Path, ...] = ()) -> list[Line]:
    """The lines of a qmd file with every include shortcode replaced by the included file."""
    path = path.resolve()
    if path in seen:
        raise QmdError(f"{path.relative_to(root)}: includes itself (through {seen[-1].name})")
    if not path.is_file():
        parent = seen[-1].relative_to(root) if seen else "report"
        raise QmdError(f"{parent}: includes {path.relative_to(root)}, which does not exist")
    rel = str(path.relative_to(root))
    out: list[Line] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = INCLUDE.match(text)
        if m:
            out += expand(path.parent / m.group(1), root, (*seen, path))
        else:
            out.append(Line(text, rel, number))
    return out


def front_matter(lines: list[Line]) -> tuple[dict, list[Line]]:
    if not lines or lines[0].text.strip() != "---":
        return {}, lines
    for i in range(1, len(lines)):
        if lines[i].text.strip() in ("---", "..."):
            try:
                meta = yaml.safe_load("\n".join(line.text for line in lines[1:i])) or {}
            except yaml.YAMLError as exc:
                raise QmdError(f"{lines[0].file}: the YAML front matter is not valid YAML "
                               f"({exc})") from exc
            if not isinstance(meta, dict):
                raise QmdError(f"{lines[0].file}: the YAML front matter must be `key: value` lines")
            return meta, lines[i + 1:]
    raise QmdError(f"{lines[0].file}: the YAML front matter has no closing ---")


def cells(lines: list[Line]) -> list[Cell]:
    out = [Cell("markdown")]
    code: Cell | None = None
    for line in lines:
        if code is None and FENCE_OPEN.match(line.text):
            code, opened = Cell("code"), line
        elif code is not None and FENCE_CLOSE.match(line.text):
            code.lines = code.lines or [Line("", line.file, line.number)]
            code.options = _options(code)
            out += [code, Cell("markdown")]
            code = None
        else:
            (code or out[-1]).lines.append(line)
    if code is not None:
        raise QmdError(f"{opened.file}, line {opened.number}: a ```{{python}} cell is never closed")
    return [c for c in out if c.kind == "code" or c.source.strip()]


def _options(cell: Cell) -> dict:
    """The cell's `#|` options, parsed. The option lines stay in the cell: Quarto reads a
    notebook cell's options from them (fig-alt, label, include, ...)."""
    opts = []
    for line in cell.lines:
        m = OPTION.match(line.text)
        if not m:
            break
        opts.append(m.group(1))
    file, number = cell.origin
    try:
        parsed = yaml.safe_load("\n".join(opts)) or {} if opts else {}
    except yaml.YAMLError as exc:
        raise QmdError(f"{file}, line {number}: cell options are not valid YAML ({exc})") from exc
    if not isinstance(parsed, dict):
        raise QmdError(f"{file}, line {number}: cell options must be `#| key: value` lines")
    return parsed


def header(report: Path) -> dict:
    """The YAML front matter of report.qmd (includes are not followed: a header is the file's own)."""
    lines = [Line(text, report.name, n) for n, text in
             enumerate(report.read_text(encoding="utf-8").splitlines(), start=1)]
    return front_matter(lines)[0]


def to_notebook(report: Path, root: Path) -> nbformat.NotebookNode:
    """The notebook of report.qmd, one cell per Markdown block or code cell; code cells keep their
    `#|` lines (parsed in metadata.unionstate), the front matter is in the notebook's metadata."""
    meta, body = front_matter(expand(report, root))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["unionstate"] = {"front_matter": meta}
    for cell in cells(body):
        file, number = cell.origin
        info = {"file": file, "line": number}
        if cell.kind == "code":
            info["options"] = cell.options
        nb.cells.append(new_cell(cell.kind, cell.source, {"unionstate": info},
                                 f"{Path(file).stem}-{number}"))
    return nb


def new_cell(kind: str, source: str, metadata: dict, cell_id: str) -> nbformat.NotebookNode:
    """A notebook cell with a stable id (its file and line), not validated one by one as
    nbformat.v4.new_*_cell does: the notebook is validated once, when it is written."""
    cell = {"id": re.sub(r"[^A-Za-z0-9_-]", "-", cell_id)[:64], "cell_type": kind,
            "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return nbformat.from_dict(cell)


def inline_expressions(markdown: str) -> list[str]:
    return [m.group(1).strip() for m in INLINE.finditer(markdown)]


def resolve_inline(markdown: str, values: list[str]) -> str:
    it = iter(values)
    return INLINE.sub(lambda _m: next(it), markdown)
