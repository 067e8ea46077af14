"""One provenance record per result: every place that shows a figure (its link, its appendix
entry, the nbval cards, `diff`) reads it, so that they cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .codebook import load as load_codebook
from .markup import Md, md
from .parse import split_ids
from .text import ANCHOR
from .views import join_words, organisation, period_text, poll_when


@dataclass(frozen=True)
class Poll:
    poll_id: str
    organisation: str  # the pollster, or "<commissioner> survey" where none is named
    pollster: str | None
    commissioned_by: str | None
    date: str  # as the source gives it: "June 2020", "2018"


@dataclass(frozen=True)
class Provenance:
    result_id: str
    figure: str  # as the report writes it: "about 30%", "one in six", "half of 23–24%"
    qualifier: str
    meaning: str  # the qualifier in words (data/codebook.yaml)
    derived_from: str | None  # the result_id a derived figure follows from
    polls: tuple[Poll, ...]
    when: str  # fieldwork of its poll or waves in words: "August and December 2019"
    when_short: str  # the same with short months, as the charts label polls: "Aug and Dec 2019"
    question: str
    option: str
    paraphrased: tuple[str, ...]  # which of "question", "option" the codebook says are
    source: str  # the bib key of the work that states the figure
    locator: str
    citation: Md  # Pandoc citation: "[@nasb2020; cited in @shraibman, para. 8, note 77]"
    notes: str | None
    charts: tuple[str, ...]  # fig- labels of the charts that draw it

    @property
    def what(self) -> str:
        """The figure in plain text, as `diff` lists it: pollster, dates and option."""
        return f"{self.polls[0].organisation}, {self.when_short}, \u201c{self.option}\u201d"


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def records(report) -> dict[str, Provenance]:
    """result_id -> its provenance record, for every result of the report's data."""
    from . import tables
    from .report import CHARTS

    ds = report.ds
    columns = load_codebook(report.proj.codebook)["results"].columns
    # A qualifier's meaning: the first sentence of its codebook entry, without how it is stored.
    meanings = {q: re.sub(r"\s*\([^)]*\)", "", text.split(". ")[0]).rstrip(".")
                for q, text in columns["qualifier"].codes.items()}
    paraphrased = tuple(c for c in ("question", "option")
                        if "paraphrased" in columns[c].description.lower())
    polls = ds.polls.set_index("poll_id")
    drawn = {label: set(rows["result_id"]) for label in CHARTS
             if (rows := report.results_drawn(label)) is not None}
    out = {}
    for row in report.view.itertuples(index=False):
        rid = row.result_id
        result = ds.result(rid)
        waves = tuple(Poll(pid, organisation(p), _text(p["pollster"]),
                           _text(p["commissioned_by"]),
                           period_text(p["fieldwork_start"], p["fieldwork_end"]))
                      for pid, p in polls.loc[split_ids(row.poll_id)].iterrows())
        derivation = _text(result["derivation"])
        out[rid] = Provenance(
            result_id=rid, figure=row.text, qualifier=row.qualifier,
            meaning=meanings.get(row.qualifier, row.qualifier),
            derived_from=derivation.split()[-1] if derivation else None,
            polls=waves, when=poll_when(ds, split_ids(row.poll_id)),
            when_short=str(row.when), question=str(row.question), option=str(row.option),
            paraphrased=paraphrased, source=str(result["source"]), locator=str(row.locator),
            citation=tables.poll_citation(ds, row._asdict()), notes=_text(result["notes"]),
            charts=tuple(label for label, ids in drawn.items() if rid in ids))
    return out


def order(report, used: dict[tuple[str, str], list[tuple[str, int]]]) -> list[str]:
    """The result_ids the report shows, in the order each first appears in it; `used` maps
    ("share", result_id), ("figure", label) or ("table", label) to its (file, line)s."""
    from . import qmd
    from .views import latest

    def ids(kind: str, key: str) -> list[str]:
        if kind == "share":
            return [key]
        if kind == "figure":
            rows = report.results_drawn(key)
            return [] if rows is None else list(rows["result_id"])
        if kind == "table" and key == "tbl-indicators":
            rows = (latest(report.view, str(i.country), str(i.stance))
                    for i in report.ds.indicators.itertuples())
            return [str(row["result_id"]) for row in rows if row is not None]
        if kind == "table" and key == "tbl-qualifiers":  # the first figure of each qualifier
            return list(report.view.drop_duplicates("qualifier")["result_id"].astype(str))
        return []

    lines = qmd.expand(report.proj.report, report.proj.root)
    rank = {(line.file, line.number): n for n, line in enumerate(lines)}
    shown = sorted((rank.get(place, len(rank)), n, kind, key)
                   for n, ((kind, key), places) in enumerate(used.items()) for place in places)
    known = set(report.view["result_id"])
    return list(dict.fromkeys(i for *_, kind, key in shown for i in ids(kind, key) if i in known))


def entry(rec: Provenance, records_by_id: dict[str, Provenance] | None = None,
          change: str | None = None) -> Md:
    """One figure's appendix entry: a <div> whose id the figure links to; `change` (review
    edition) is said first, in bold."""
    def para(label: str, text: str) -> str:
        return f"{label}{' (paraphrased)' if label.lower() in rec.paraphrased else ''}: {text}."

    polls = [f"{md(p.organisation)}" + (f", commissioned by {md(p.commissioned_by)}"
                                        if p.pollster and p.commissioned_by else "")
             + f", {md(p.date)} (`{p.poll_id}`)" for p in rec.polls]
    meaning = md(rec.meaning[:1].lower() + rec.meaning[1:])
    parent = (records_by_id or {}).get(rec.derived_from or "")
    if parent:
        meaning = Md(f"derived, as the source words it, from the figure for "
                     f"\u201c{md(parent.option)}\u201d ({md(parent.figure)})")
    lines = [
        (f"**{md(change)}** " if change else "")
        + f"**{md(rec.figure)}**: {meaning}.",
        f"{'Polls' if len(rec.polls) > 1 else 'Poll'}: {'; '.join(polls)}.",
        para("Question", md(rec.question)),
        para("Option", md(rec.option)),
        f"Source: {rec.citation}.",
        *([f"Drawn in {join_words(['@' + c for c in rec.charts])}."] if rec.charts else []),
        *([f"Note: {md(rec.notes)}"] if rec.notes else []),
    ]
    return Md(f'<div id="{ANCHOR}{rec.result_id}" class="provenance-entry" data-result="{rec.result_id}">'
              f"\n\n{' '.join(lines)}\n\n</div>")


def appendix(report, used: dict[tuple[str, str], list[tuple[str, int]]],
             changes: dict[str, str] | None = None) -> Md:
    """Every figure's entry, in the order the report first shows it (see `order`), then any
    result the scan sees nowhere (so that it still has an entry to link to)."""
    recs = records(report)
    ids = dict.fromkeys([*order(report, used), *recs])
    return Md("\n\n".join(entry(recs[rid], recs, (changes or {}).get(rid)) for rid in ids))
