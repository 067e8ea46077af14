"""Derived views of the dataset that charts, tables and prose share (no drawing, no writing)."""

from __future__ import annotations

import pandas as pd

from .data import Dataset
from .parse import MONTHS, split_ids
from .text import share_text


def period_text(start: str, end: str, short: bool = False) -> str:
    """A fieldwork span in words at its stated precision: 'June 2020', '2018', 'May–June 2021'."""

    def one(text: str) -> tuple[str, str, str, str]:  # in words, year, month, day
        year, month, day = (*text.split("-"), "", "")[:3]
        month = MONTHS[int(month) - 1][:3 if short else None] if month else ""
        day = str(int(day)) if day else ""
        return " ".join(x for x in (day, month, year) if x), year, month, day

    (first, y1, m1, d1), (last, y2, m2, d2) = one(start), one(end)
    if start == end:
        return first
    if y1 == y2 and m1 and m2 and not d1 and not d2:
        return f"{m1}–{m2} {y1}" if m1 != m2 else first
    return f"{first} – {last}"


def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c', each item once."""
    items = list(dict.fromkeys(items))
    return f"{', '.join(items[:-1])} and {items[-1]}" if len(items) > 1 else "".join(items)


def organisation(poll: pd.Series) -> str:
    """Who ran the poll, or who commissioned it where the source names no pollster."""
    return str(poll["pollster"]) if pd.notna(poll["pollster"]) else \
        f"{poll['commissioned_by']} survey"


def published_in_month(ds: Dataset, bib: dict[str, dict[str, str]]) -> list[str]:
    """Polls dated by a single month in which the publication cited for them is also dated,
    in fieldwork order ('VCIOM, April 2019 (published 2 April 2019)'): for these the month may
    be the publication's rather than the fieldwork's."""
    out = []
    for _, poll in ds.polls.sort_values(["fieldwork_start_first", "poll_id"]).iterrows():
        start, end = str(poll["fieldwork_start"]), str(poll["fieldwork_end"])
        date = str(bib.get(str(poll["source"]), {}).get("date", ""))
        if start == end and len(start) == 7 and len(date) == 10 and date.startswith(start):
            out.append(f"{organisation(poll)}, {period_text(start, end)} "
                       f"(published {period_text(date, date)})")
    return out


def poll_when(ds: Dataset, poll_ids: list[str], short: bool = False) -> str:
    """When the waves were fielded: 'August and December 2019', 'December 2019 and August 2020'."""
    polls = ds.polls.set_index("poll_id")
    texts = [period_text(polls.at[pid, "fieldwork_start"], polls.at[pid, "fieldwork_end"], short)
             for pid in poll_ids]
    years = {t.rsplit(" ", 1)[-1] for t in texts}
    if len(texts) > 1 and len(years) == 1 and all(len(t.split()) == 2 for t in texts):
        # Single months of one year: name the year once.
        return join_words([t.split()[0] for t in texts]) + f" {years.pop()}"
    return join_words(texts)


def when(ds: Dataset) -> dict[str, str]:
    """Fieldwork dates in words, for every poll_id and every result_id."""
    return ({p.poll_id: period_text(p.fieldwork_start, p.fieldwork_end)
             for p in ds.polls.itertuples()}
            | {r.result_id: poll_when(ds, split_ids(r.poll_id)) for r in ds.results.itertuples()})


def results_view(ds: Dataset) -> pd.DataFrame:
    """Every result with what charts and tables need: country, polls, dates, text, sources;
    computed once per dataset (kept on the frozen Dataset as a cached_property keeps a value)."""
    if "results_view" in ds.__dict__:
        return ds.__dict__["results_view"]
    polls = ds.polls.set_index("poll_id").to_dict("index")  # poll_id -> its row, as a dict
    rows = []
    for r in ds.results.itertuples(index=False):
        ids = split_ids(r.poll_id)
        first, waves = polls[ids[0]], [polls[i] for i in ids]
        when = poll_when(ds, ids, short=True)
        rows.append({
            "result_id": r.result_id,
            "poll_id": r.poll_id,
            "country": str(first["country"]),
            "organisation": organisation(first),
            "when": when,
            "poll_label": f"{organisation(first)}, {when}",
            "start": min(w["fieldwork_start_first"] for w in waves),
            "end": max(w["fieldwork_end_last"] for w in waves),
            "mode": join_words([str(w["mode"]) for w in waves]),
            "question": r.question,
            "option": r.option,
            "stance": str(r.stance),
            "qualifier": str(r.qualifier),
            "share_low": float(r.share_low),
            "share_high": None if pd.isna(r.share_high) else float(r.share_high),
            "text": share_text(pd.Series(r._asdict()), ds.results),
            "sources": ";".join(sorted({r.source, *(w["source"] for w in waves)})),
            "locator": r.locator,
        })
    view = pd.DataFrame(rows).sort_values(["country", "start", "poll_id", "result_id"],
                                          ignore_index=True)
    ds.__dict__["results_view"] = view
    return view


def latest(view: pd.DataFrame, country: str, stance: str) -> pd.Series | None:
    """The most recent result of one stance in one country (by the end of fieldwork)."""
    rows = view[(view["country"] == country) & (view["stance"] == stance)]
    return None if rows.empty else rows.sort_values(["end", "start", "result_id"]).iloc[-1]
