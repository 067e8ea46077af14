"""Sentences about the dataset itself, computed from data/ so that they follow it: chapters
write `{python} F.sample_sizes`, never the numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from .bib import author_name
from .data import Dataset
from .markup import Md, md
from .text import NUMBER_WORDS
from .views import join_words, organisation, period_text

UNSTATED_MODE = "unknown"  # the mode code for "the source gives none" (data/codebook.yaml)


def num(n: int) -> str:
    """A count as the prose writes it: up to ten in words ('one', 'four'), then digits."""
    return "one" if n == 1 else NUMBER_WORDS.get(n, str(n)) if n <= 10 else str(n)


def count(n: int, noun: str) -> str:
    """'one poll', 'four polls', '11 polls'."""
    return f"{num(n)} {noun}{'' if n == 1 else 's'}"


@dataclass
class Facts:
    """Each property a sentence, or a phrase where its docstring says so."""

    ds: Dataset
    bib: dict[str, dict[str, str]]

    @staticmethod
    def _tagged(poll: pd.Series, extra: str = "") -> str:
        """'(VCIOM, April 2019)', or with extra '(VCIOM, April 2019: n = 1,600)', without the
        data's bracketed remarks."""
        who = md(re.sub(r"\s*\([^)]*\)", "", organisation(poll)).strip())
        return f"({who}, {period_text(poll['fieldwork_start'], poll['fieldwork_end'])}{extra})"

    @cached_property
    def sample_sizes(self) -> Md:
        """How many polls give a sample size, and what follows for margins of error."""
        polls = self.ds.polls
        sized = polls[pd.to_numeric(polls["sample_size"], errors="coerce").notna()]
        n = len(polls)
        if sized.empty:
            return Md(f"None of the {count(n, 'poll')} comes with a sample size, so no margin of "
                      "error can be computed and a gap of a few points cannot be told from noise.")
        named = join_words([self._tagged(p, f": n = {int(float(p['sample_size'])):,}")
                            for _, p in sized.iterrows()])
        verb = "gives" if len(sized) == 1 else "give"
        return Md(f"{num(len(sized)).capitalize()} of the {count(n, 'poll')} {verb} a sample size: "
                  f"{named}. For the others no margin of error can be computed, and a gap of a "
                  "few points cannot be told from noise.")

    @cached_property
    def modes(self) -> Md:
        """Which polls have a stated mode, and which."""
        polls = self.ds.polls.sort_values(["fieldwork_start_first", "poll_id"])
        stated = polls[polls["mode"].astype(str) != UNSTATED_MODE]
        n = len(polls)
        if stated.empty:
            return Md(f"No mode is stated for any of the {count(n, 'poll')}.")
        named = join_words([f"{md(p['mode'])} {self._tagged(p)}" for _, p in stated.iterrows()])
        if len(stated) == n:
            return Md(f"Every poll has a stated mode: {named}.")
        verb = "has" if len(stated) == 1 else "have"
        return Md(f"Only {num(len(stated))} of the {count(n, 'poll')} {verb} a stated mode: "
                  f"{named}.")

    @cached_property
    def figure_sources(self) -> Md:
        """Which works the poll figures are taken from, and that none is checked against the
        pollsters' own publications where the report has not read them."""
        by_source = self.ds.results.groupby("source").size().sort_values(ascending=False)
        names = [md(author_name(self.bib.get(k), k)) for k in by_source.index]
        if len(names) == 1:
            return Md(f"Every poll figure comes through {names[0]}, as the reference list marks, "
                      "and none is checked against the pollsters' own publications.")
        parts = join_words([f"{name} ({count(int(n), 'figure')})"
                            for name, n in zip(names, by_source, strict=True)])
        return Md(f"The poll figures come through {parts}, as the reference list marks, and are "
                  "not checked against the pollsters' own publications.")

    @cached_property
    def period(self) -> Md:
        """Phrase: the years the polls with figures span ('2019 to 2021')."""
        polls = self.ds.polls[self.ds.polls["poll_id"].isin(self.ds.result_polls["poll_id"])]
        if polls.empty:
            return Md("no period")
        first = str(polls["fieldwork_start"].min())[:4]
        last = str(polls["fieldwork_end"].max())[:4]
        return Md(first if first == last else f"{first} to {last}")

    @cached_property
    def latest_poll(self) -> Md:
        """Phrase: the poll whose fieldwork ended last ('the VCIOM poll of April 2019')."""
        polls = self.ds.polls
        if polls.empty:
            return Md("no poll")
        last = polls.sort_values(["fieldwork_end", "poll_id"]).iloc[-1]
        who = md(organisation(last))  # remarks included: 'the ZOiS Institute survey of ...'
        when = period_text(last["fieldwork_start"], last["fieldwork_end"])
        return Md(f"the {who}{'' if who.endswith('survey') else ' poll'} of {when}")
