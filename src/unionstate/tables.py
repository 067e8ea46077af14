"""The report's tables as Markdown pipe tables: a cell is text (escaped) unless it is an Md,
Markdown the package wrote."""

from __future__ import annotations

import hashlib
import platform
import re
from dataclasses import dataclass
from importlib import metadata

import pandas as pd

from .codebook import load as load_codebook
from .data import Dataset
from .facts import UNSTATED_MODE
from .paths import Project
from .style import COUNTRY_NAMES, qualifier
from .text import EN_DASH, Md, md, shown, unmarked
from .views import latest, organisation, period_text, results_view

PACKAGES = ["unionstate", "pandas", "seaborn", "matplotlib", "nbclient", "ipykernel"]


@dataclass(frozen=True)
class Layout:
    """Each shown column's percent of the text width (one dash each in the separator line,
    which Pandoc makes relative widths), and optionally a column shown as a heading row above
    each run of its rows."""

    widths: dict[str, int]
    group: str | None = None


def _cell(value) -> str:
    """A cell's Markdown: an Md as written (on one line), anything else as escaped text."""
    return " ".join(value.split()) if isinstance(value, Md) else md(value)


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


# The text block of the PDF and the DOCX holds about this many characters of table text, of
# which a cell's padding takes about PADDING.
TEXT_CHARS = 70
PADDING = 2
# Unbreakable runs of a cell as printed: split at spaces and after a hyphen joining two words.
_BREAKS = re.compile(r"\s+|(?<=[A-Za-z]-)(?=[A-Za-z])")


def _longest_word(cell: str) -> int:
    """The longest unbreakable run of a cell as a reader sees it, roughly: no figure markup or
    citation key, escapes counted once (a code span's backticks count: its type is wider)."""
    text = re.sub(r"(?<!\\)@[\w:.-]+", "", unmarked(cell)).replace("**", "")
    text = re.sub(r"\\(.)", r"\1", text).replace("&#92;", "\\")
    return max((len(w) for w in _BREAKS.split(text) if w), default=0)


def fitted(widths: dict[str, int], longest: dict[str, int],
           cited: frozenset[str] = frozenset()) -> dict[str, int]:
    """The widths, each column widened to fit its longest word, at the cost of the columns
    with room to spare, in proportion to that room (citation columns, `cited`, give none: the
    names they print are not in their Markdown). Where not all can fit, the layout stands."""
    need = {c: min(100, -(-(longest[c] + PADDING) * 100 // TEXT_CHARS)) for c in widths}
    short = {c: need[c] - w for c, w in widths.items() if need[c] > w}
    spare = {c: w - need[c] for c, w in widths.items()
             if c not in short and c not in cited and w > need[c]}
    excess, room = sum(short.values()), sum(spare.values())
    if room < excess:
        return dict(widths)
    give = {c: excess * r // room for c, r in spare.items()}
    left = excess - sum(give.values())  # whole points: one each to the columns with most room
    for c in sorted(spare, key=lambda c: spare[c] - give[c], reverse=True)[:left]:
        give[c] += 1
    return {c: w + short.get(c, 0) - give.get(c, 0) for c, w in widths.items()}


def markdown(frame: pd.DataFrame) -> Md:
    """A pipe table of the frame, laid out as frame.attrs["layout"] says, a cell a line."""
    layout = frame.attrs["layout"]
    if sum(layout.widths.values()) != 100:
        raise ValueError(f"column widths must sum to 100, not {sum(layout.widths.values())}: "
                         f"{layout.widths}")
    missing = [c for c in [*layout.widths, *([layout.group] if layout.group else [])]
               if c not in frame.columns]
    if missing:
        raise ValueError(f"layout names columns the table lacks: {missing}")
    cells = frame[list(layout.widths)].map(_cell)
    widths = fitted(layout.widths, {c: max(map(_longest_word, [c, *cells[c]])) for c in cells},
                    frozenset(c for c in cells if cells[c].str.contains("@", regex=False).any()))
    lines = [_row(cells.columns), "|" + "|".join("-" * widths[c] for c in cells) + "|"]
    current = None
    for i, row in enumerate(cells.values.tolist()):
        if layout.group and frame[layout.group].iloc[i] != current:
            current = frame[layout.group].iloc[i]
            lines.append(_row([f"**{_cell(current)}**", *[""] * (len(row) - 1)]))
        lines.append(_row(row))
    return Md("\n".join(lines))


def _with(frame: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    frame.attrs["layout"] = layout
    return frame


def locator(text: str) -> str:
    """A locator as Chicago prints it: number ranges with an en dash ('paras. 4\u20135')."""
    return re.sub(r"(?<=\d)-(?=\d)", EN_DASH, str(text))


def _cite_at(key: str, loc: str) -> Md:
    """A Pandoc citation of a checked bib key (bib.KEY) at a locator from data/."""
    return Md(f"[@{key}, {md(locator(loc))}]")


def _source_column(frame: pd.DataFrame) -> list[Md]:
    """Each row's source and locator as a Pandoc citation."""
    return [_cite_at(s, loc) for s, loc in zip(frame["source"], frame["locator"], strict=True)]


def read_sources(ds: Dataset) -> set[str]:
    """The works the report has read: every source its figures, events and summaries cite."""
    return {str(k) for frame in (ds.results, ds.events, ds.goals, ds.elites)
            for k in frame["source"].dropna()}


def _citing(author: str, read: set[str]) -> set[str]:
    """The read works whose key opens with an author's name ('Shraibman' -> shraibman)."""
    return {k for k in read if author and k.lower().startswith(author.lower())}


def cited_in(key: str, locator_text: str, read: set[str]) -> Md:
    """A poll's publication cited through the read work (`read`: keys) whose author opens its
    locator ('Shraibman, para. 8, note 77'), in Chicago's indirect form: '[@nasb2020; cited in
    @shraibman, para. 8, note 77]'; directly where the report read it itself."""
    if key in read:
        return _cite_at(key, locator_text) if locator_text else Md(f"[@{key}]")
    author, _, rest = str(locator_text).partition(", ")
    citing = _citing(author, read)
    if len(citing) == 1:
        via = f"[@{key}; cited in @{citing.pop()}"
        return Md(f"{via}, {md(locator(rest))}]" if rest else f"{via}]")
    return Md(f"[@{key}]; {md(locator(locator_text))}")


def sources(ds: Dataset, keys) -> str:
    """A caption's "Sources:" citation, works known only second-hand (through the read work
    opening their polls' locators) marked as such: '[@shraibman; @nasb2020; cited in
    @shraibman]'."""
    keys, read = set(keys), read_sources(ds)
    via: dict[str, list[str]] = {}
    unknown = []
    for k in sorted(keys - read):
        citing = set().union(*(_citing(str(loc).partition(", ")[0], read)
                               for loc in ds.polls.loc[ds.polls["source"] == k, "locator"]))
        (via.setdefault(citing.pop(), []) if len(citing) == 1 else unknown).append(k)
    parts = [f"@{k}" for k in sorted(keys & read) + unknown]
    for citing, ks in sorted(via.items()):
        parts += [f"@{k}" for k in ks[:-1]] + [f"@{ks[-1]}; cited in @{citing}"]
    return "[" + "; ".join(parts) + "]" if parts else ""


def goals(ds: Dataset) -> pd.DataFrame:
    g = ds.goals
    return _with(pd.DataFrame({
        "Aspect": g["aspect"],
        "Minsk's position": g["minsk"],
        "Moscow's position": g["moscow"],
        "Source": _source_column(g),
    }), Layout({"Aspect": 20, "Minsk's position": 30, "Moscow's position": 31, "Source": 19}))


def elites(ds: Dataset) -> pd.DataFrame:
    e = ds.elites
    return _with(pd.DataFrame({
        "Country": e["country"].astype(str).map(COUNTRY_NAMES),
        "Group": e["group"],
        "Interests": e["interests"],
        "Bearing on integration": e["view_of_integration"],
        "Source": _source_column(e),
    }), Layout({"Group": 20, "Interests": 29, "Bearing on integration": 32, "Source": 19},
               group="Country"))


def arguments(ds: Dataset) -> pd.DataFrame:
    """Four columns: the claim heads its row's first cell, followed by where the two agree."""
    a = ds.arguments
    return _with(pd.DataFrame({
        "Claim, and common ground": [Md(f"**{md(c)}.** {md(g)}") for c, g in
                                        zip(a["claim"], a["agree"], strict=True)],
        "Where they differ": a["differ"],
        "Shraibman's evidence": [Md(f"{md(ev)} {_cite_at('shraibman', loc)}") for ev, loc in
                                 zip(a["evidence_shraibman"], a["locator_shraibman"], strict=True)],
        "Melyantsou's evidence": [Md(f"{md(ev)} {_cite_at('melyantsou2021', loc)}") for ev, loc
                                  in zip(a["evidence_melyantsou"], a["locator_melyantsou"],
                                         strict=True)],
    }), Layout({"Claim, and common ground": 24, "Where they differ": 26,
                "Shraibman's evidence": 25, "Melyantsou's evidence": 25}))


def poll_citation(ds: Dataset, row: pd.Series) -> Md:
    """One figure's citation (a row of results_view), its polls' publications cited in the
    work it is taken from: '[@vciom2019; @vciom2020; cited in @shraibman, para. 11]'."""
    source = str(ds.result(row["result_id"])["source"])
    keys = str(row["sources"]).split(";")  # sorted, without repeats
    if keys == [source] or source not in read_sources(ds):
        return Md("[" + "; ".join(f"@{k}" for k in keys) + "]")
    return Md("[" + "; ".join(f"@{k}" for k in keys if k != source) +
              f"; cited in @{source}, {md(locator(row['locator']))}]")


def indicators(ds: Dataset) -> pd.DataFrame:
    view = results_view(ds)
    readings = [(ind, latest(view, str(ind.country), str(ind.stance)))
                for ind in ds.indicators.itertuples()]
    return _with(pd.DataFrame([{
        "Indicator": ind.label,
        "Public": COUNTRY_NAMES[str(ind.country)],
        "Latest reading": "no reading yet" if last is None else
        shown(last["result_id"], last["text"]),
        "Poll": "" if last is None else
        Md(f"{md(last['organisation'])}, {md(last['when'])} {poll_citation(ds, last)}"),
        "Why watch it": ind.why,
    } for ind, last in readings]), Layout({"Indicator": 21, "Latest reading": 13, "Poll": 27,
                                           "Why watch it": 39}, group="Public"))


def polls(ds: Dataset) -> pd.DataFrame:
    """Every poll, its pollster, the date its source gives and its poll_id in one column."""
    counts = ds.result_polls.groupby("poll_id").size()
    p = ds.polls.sort_values(["country", "fieldwork_start_first", "poll_id"])
    read = read_sources(ds)
    mode = p["mode"].astype(str).replace({UNSTATED_MODE: "not given"})
    sample = p["sample_size"].map(lambda n: "not given" if pd.isna(n) else f"{n:,}")
    # A commissioner is named beside a named pollster.
    known = p["pollster"].notna() & p["commissioned_by"].notna()
    return _with(pd.DataFrame({
        "Poll": p["poll_id"],
        "Public": p["country"].astype(str).map(COUNTRY_NAMES),
        "Pollster (commissioner), date": [Md(
            f"{md(organisation(r) + (f' ({r.commissioned_by})' if k else ''))}, "
            f"{md(period_text(r.fieldwork_start, r.fieldwork_end))} (`{r.poll_id}`)")
            for (_, r), k in zip(p.iterrows(), known, strict=True)],
        "Population": p["population"],
        "Mode; sample": mode + "; " + sample,
        "Figures": p["poll_id"].map(lambda i: int(counts.get(i, 0))),
        "Source": [cited_in(s, loc, read) for s, loc in zip(p["source"], p["locator"],
                                                            strict=True)],
    }), Layout({"Pollster (commissioner), date": 31, "Population": 22, "Mode; sample": 15,
                "Figures": 13, "Source": 19}, group="Public"))


def qualifiers(ds: Dataset, proj: Project) -> pd.DataFrame:
    codes = load_codebook(proj.codebook)["results"].columns["qualifier"].codes
    first = results_view(ds).drop_duplicates("qualifier").set_index("qualifier")  # examples
    return _with(pd.DataFrame([{
        "Qualifier": q,
        "Meaning and storage": meaning,
        "Example in this report": shown(first.at[q, "result_id"], first.at[q, "text"])
        if q in first.index else "none yet",
        "Drawn as": f"{qualifier(q).drawn}; legend: {qualifier(q).legend}",
    } for q, meaning in codes.items()]), Layout({"Qualifier": 28, "Meaning and storage": 35,
                                                "Example in this report": 14, "Drawn as": 23}))


def reproducibility(proj: Project) -> pd.DataFrame:
    """SHA-256 of every data file and the versions of the packages that drew the report."""
    files = sorted([*proj.data.glob("*.csv"), proj.codebook, proj.bib])
    rows = [(proj.rel(f), Md(f"`{hashlib.sha256(f.read_bytes()).hexdigest()}`")) for f in files]
    rows += [("Python", platform.python_version()), *((n, metadata.version(n)) for n in PACKAGES)]
    return pd.DataFrame(rows, columns=["Item", "Version or SHA-256"])
