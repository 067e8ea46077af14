"""Provenance: every figure, poll and event in data/ points to a real place in a real source.

These tests read the CSV files and references.bib with the standard library, not through
unionstate, so that they check the data independently of the validator. Paragraphs are
counted as data/README.md says:

* Shraibman (.txt): one paragraph per non-empty line, up to the author bio ("Artyom
  Shraibman is a political analyst ...") and the reference list that follows it.
* Melyantsou (.md): body paragraphs only, i.e. not the headline, standfirst, byline, date,
  'Related article' lines or the closing notes; a paragraph cut by a page break (a block
  that ends mid-sentence, followed by one that starts in lower case) counts once.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

SHRAIBMAN = "shraibman-belarus-russia-integration.txt"
MELYANTSOU = "melyantsou-merger-fears-2021.md"

# Which article a bib key or a locator's author name stands for.
ARTICLE_OF_KEY = {"shraibman": SHRAIBMAN, "melyantsou2021": MELYANTSOU}
ARTICLE_OF_AUTHOR = {"Shraibman": SHRAIBMAN, "Melyantsou": MELYANTSOU}

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}


# ---------------------------------------------------------------- reading sources and data


def shraibman_paragraphs(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    bio = [i for i, line in enumerate(lines) if line.startswith("Artyom Shraibman is ")]
    assert len(bio) == 1, "the author bio that ends the chapter was not found"
    return lines[: bio[0]]


def melyantsou_paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    # The body starts after the date line and ends before the italic closing notes.
    (date_at,) = [i for i, b in enumerate(blocks) if re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", b)]
    (end_at,) = [i for i, b in enumerate(blocks) if b.startswith("*This article was first")]
    body = [b for b in blocks[date_at + 1: end_at] if not b.startswith("**Related article:**")]
    paragraphs: list[str] = []
    for block in body:
        if paragraphs and not re.search(r"[.!?:\"”)]$", paragraphs[-1]) and block[0].islower():
            paragraphs[-1] += " " + block  # the two halves of a page-broken paragraph
        else:
            paragraphs.append(block)
    return paragraphs


@pytest.fixture(scope="module")
def paragraphs(sources_dir: Path) -> dict[str, list[str]]:
    return {
        SHRAIBMAN: shraibman_paragraphs((sources_dir / SHRAIBMAN).read_text(encoding="utf-8")),
        MELYANTSOU: melyantsou_paragraphs((sources_dir / MELYANTSOU).read_text(encoding="utf-8")),
    }


def rows(repo_root: Path, name: str) -> list[dict[str, str]]:
    with (repo_root / "data" / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def bib_keys(repo_root: Path) -> set[str]:
    text = (repo_root / "references.bib").read_text(encoding="utf-8")
    return {m.group(2) for m in re.finditer(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", text, re.M)
            if m.group(1).lower() not in {"comment", "string", "preamble"}}


def numbers(spec: str) -> set[int]:
    """'8' -> {8}; '12, 19' -> {12, 19}; '78–79' -> {78, 79}; '5-7 and 9' -> {5, 6, 7, 9}."""
    out: set[int] = set()
    for a, b in re.findall(r"(\d+)(?:\s*[–-]\s*(\d+))?", spec):
        lo, hi = int(a), int(b or a)
        assert lo <= hi, f"descending range in {spec!r}"
        out |= set(range(lo, hi + 1))
    return out


LIST = r"(\d+(?:\s*(?:[–-]|,|and|&)\s*\d+)*)"


def parse_locator(locator: str) -> tuple[set[int], set[int]]:
    """Paragraph and footnote numbers a locator names."""
    paras = re.findall(rf"\bparas?\.\s*{LIST}", locator)
    notes = re.findall(rf"\bnotes?\s*{LIST}", locator)
    return ({n for p in paras for n in numbers(p)}, {n for p in notes for n in numbers(p)})


def locator_problems(locator: str, article: str, paragraphs: dict[str, list[str]]) -> list[str]:
    paras, notes = parse_locator(locator)
    count = len(paragraphs[article])
    problems = []
    if not paras:
        problems.append(f"{locator!r} names no paragraph ('para. N')")
    problems += [f"{locator!r}: {article} has {count} paragraphs, not {n}"
                 for n in sorted(paras) if not 1 <= n <= count]
    cited = " ".join(paragraphs[article][n - 1] for n in paras if 1 <= n <= count)
    problems += [f"{locator!r}: footnote [{n}] is not in the paragraph(s) named"
                 for n in sorted(notes) if f"[{n}]" not in cited]
    return problems


# ---------------------------------------------------------------- the counting itself


def test_paragraph_counts(paragraphs):
    # Hand counts. Shraibman: 19 paragraphs, from "Since the beginning of 2019 ..." to "Given
    # all these complex interests ..."; Melyantsou: 17, from "Relations between Belarus and
    # Russia continue ..." to "Given the worsening standoff ..." (that one and "Only one
    # thing has not changed ..." are each split by a page break).
    assert len(paragraphs[SHRAIBMAN]) == 19
    assert len(paragraphs[MELYANTSOU]) == 17
    assert paragraphs[SHRAIBMAN][7].startswith("The Belarusian bureaucracy is also")  # para. 8
    assert paragraphs[SHRAIBMAN][18].startswith("Given all these complex interests")
    assert paragraphs[MELYANTSOU][1].startswith("Only one thing has not changed")
    assert paragraphs[MELYANTSOU][1].endswith("an entirely different dynamic.")
    assert paragraphs[MELYANTSOU][8].startswith("The international context")  # para. 9
    assert paragraphs[MELYANTSOU][16].endswith("sovereignty and independence.")


def test_parse_locator():
    assert parse_locator("para. 8, notes 78–79") == ({8}, {78, 79})
    assert parse_locator("Shraibman, para. 11, note 84") == ({11}, {84})
    assert parse_locator("paras. 12, 19") == ({12, 19}, set())
    assert parse_locator("paras. 5-7") == ({5, 6, 7}, set())
    assert parse_locator("p. 8") == (set(), set())


def test_locator_checker_rejects_bad_locators(paragraphs):
    # The checker used below must be able to fail.
    assert locator_problems("para. 8, note 77", SHRAIBMAN, paragraphs) == []
    assert locator_problems("para. 20", SHRAIBMAN, paragraphs)  # only 19
    assert locator_problems("para. 18", MELYANTSOU, paragraphs)  # only 17
    assert locator_problems("para. 9, note 77", SHRAIBMAN, paragraphs)  # [77] is in para. 8
    assert locator_problems("page 8", SHRAIBMAN, paragraphs)


# ---------------------------------------------------------------- results.csv


def test_every_result_source_is_a_bib_key(repo_root):
    keys = bib_keys(repo_root)
    bad = [(r["result_id"], r["source"]) for r in rows(repo_root, "results.csv")
           if r["source"] not in keys]
    assert not bad, f"results whose source is not in references.bib: {bad}"


def test_every_result_locator_names_an_existing_paragraph(repo_root, paragraphs):
    results = rows(repo_root, "results.csv")
    assert results
    bad = {}
    for r in results:
        assert r["source"] in ARTICLE_OF_KEY, (
            f"{r['result_id']}: source {r['source']!r} has no stored text to check its locator "
            "against (ARTICLE_OF_KEY; docs/reproducing.md, 'After adding a poll')")
        found = locator_problems(r["locator"], ARTICLE_OF_KEY[r["source"]], paragraphs)
        if found:
            bad[r["result_id"]] = found
    assert not bad


def figure_wording(r: dict[str, str]) -> str:
    """How the article words a figure, given its row (e.g. '62%', '75-76%', 'one in six')."""
    lo = float(r["share_low"])
    q = r["qualifier"]
    if q == "exact":
        return f"{lo:g}%"
    if q in ("range", "approximate_range"):
        return f"{lo:g}-{float(r['share_high']):g}%"
    if q == "approximate":
        return f"about {lo:g}%"
    if q == "more_than":
        return f"more than {lo:g}%"
    if q == "fraction":
        return f"one in {NUMBER_WORDS[round(100 / lo)]}"
    if q == "derived":
        return {"half of": "half of them", "about the same as": "same number"}[
            r["derivation"].rsplit(" ", 1)[0]]
    raise AssertionError(f"unknown qualifier {q!r}")


def test_every_figure_stands_in_the_paragraph_its_locator_names(repo_root, paragraphs):
    bad = []
    for r in rows(repo_root, "results.csv"):
        article = ARTICLE_OF_KEY[r["source"]]
        paras, _ = parse_locator(r["locator"])
        text = " ".join(paragraphs[article][n - 1] for n in paras
                        if 1 <= n <= len(paragraphs[article]))
        wording = figure_wording(r)
        if wording.lower() not in text.lower().replace("–", "-"):
            bad.append((r["result_id"], wording, r["locator"]))
    assert not bad, f"figures not found where their locator points: {bad}"


# ---------------------------------------------------------------- polls.csv


def test_every_poll_source_resolves(repo_root, paragraphs):
    keys = bib_keys(repo_root)
    polls = rows(repo_root, "polls.csv")
    assert polls
    bad = {}
    for p in polls:
        found = [] if p["source"] in keys else [f"source {p['source']!r} not in references.bib"]
        author = p["locator"].split(",")[0].strip()
        if author not in ARTICLE_OF_AUTHOR:
            found.append(f"locator {p['locator']!r} does not start with the citing author")
        else:
            found += locator_problems(p["locator"], ARTICLE_OF_AUTHOR[author], paragraphs)
            if not parse_locator(p["locator"])[1]:
                found.append(f"locator {p['locator']!r} names no footnote")
        if found:
            bad[p["poll_id"]] = found
    assert not bad


def test_every_multi_wave_poll_id_resolves(repo_root):
    polls = {p["poll_id"]: p for p in rows(repo_root, "polls.csv")}
    multi = [r for r in rows(repo_root, "results.csv") if ";" in r["poll_id"]]
    assert multi, "expected some multi-wave figures (BAW, Levada, VCIOM)"
    for r in multi:
        ids = r["poll_id"].split(";")
        assert len(ids) == len(set(ids)) >= 2, r["result_id"]
        assert all(i in polls for i in ids), (r["result_id"], ids)
        waves = [polls[i] for i in ids]
        assert len({w["country"] for w in waves}) == 1, (r["result_id"], "several countries")
        assert len({w["pollster"] or w["commissioned_by"] for w in waves}) == 1, \
            (r["result_id"], "waves of different pollsters")
        starts = [w["fieldwork_start"] for w in waves]
        assert starts == sorted(starts), (r["result_id"], "waves not earliest first")


def test_every_single_poll_id_resolves(repo_root):
    polls = {p["poll_id"] for p in rows(repo_root, "polls.csv")}
    missing = [(r["result_id"], r["poll_id"]) for r in rows(repo_root, "results.csv")
               if ";" not in r["poll_id"] and r["poll_id"] not in polls]
    assert not missing


# ---------------------------------------------------------------- other tables' locators


def _located_rows(repo_root: Path):
    """(file, row label, article, locator) of every row of data/*.csv that cites an article."""
    for path in sorted((repo_root / "data").glob("*.csv")):
        if path.name in ("results.csv", "polls.csv"):
            continue  # checked above, with their own rules
        for i, r in enumerate(rows(repo_root, path.name), start=2):
            if "source" in r and "locator" in r and r["source"] in ARTICLE_OF_KEY:
                yield path.name, i, ARTICLE_OF_KEY[r["source"]], r["locator"]
            for author, article in ARTICLE_OF_AUTHOR.items():
                column = f"locator_{author.lower()}"
                if r.get(column):
                    yield path.name, i, article, r[column]


def test_other_tables_cite_existing_paragraphs(repo_root, paragraphs):
    """events.csv (and goals, elites, arguments once filled) name paragraphs that exist."""
    keys = bib_keys(repo_root)
    events = rows(repo_root, "events.csv")
    assert events
    assert not [(e["event_id"], e["source"]) for e in events if e["source"] not in keys]
    bad = [(name, line, loc, locator_problems(loc, article, paragraphs))
           for name, line, article, loc in _located_rows(repo_root)
           if locator_problems(loc, article, paragraphs)]
    assert not bad


# ---------------------------------------------------------------- per-pollster hand count


# Figures per pollster, counted by hand in Shraibman's text (not from data/). Keys are the
# article's own names; a pollster label in polls.csv (pollster, else commissioned_by) must
# contain exactly one of them, case aside, so that relabelling "ZOiS (Berlin)" as "ZOiS
# Institute" does not matter but a figure moved to another pollster does.
HAND_COUNT = {
    # para. 8, note 77: Academy of Sciences, June 2020: 62% (two independent states),
    # 25% (union of equals with supranational bodies), 7% (incorporation)
    "Academy of Sciences": 3,
    # para. 8, notes 78-79: Analytical Workshop, Aug and Dec 2019: 16% (join Russia or one
    # new state, a combined total), 75-76% (keep the current stage)
    "Belarusian Analytical Workshop": 2,
    # para. 9, note 80: ZOiS, March 2021: 7% (one state), 11% (closer union); the majority
    # for free-trade options has no figure
    "ZOiS": 2,
    # para. 10, note 81: Levada, Dec 2019 and Aug 2020: 23-24% (political integration),
    # "half of them" (a Russian region), about 30% (current level), more than 40% (economy)
    "Levada": 4,
    # para. 11, notes 82-83: VCIOM, Apr 2019 and Sep 2020: one in six (part of Russia),
    # about as many (union of equals), some 43-48% (no further unification)
    "VCIOM": 3,
    # para. 11, note 84: focus groups of 2018: a qualitative finding, no figure
    "Russian sociologists": 0,
}


def hand_count_key(label: str) -> str:
    keys = [k for k in HAND_COUNT if k.lower() in label.lower()]
    assert len(keys) == 1, (f"pollster {label!r} matches {keys} of the hand-counted names "
                            "(HAND_COUNT; docs/reproducing.md, 'After adding a poll')")
    return keys[0]


def test_results_per_pollster_match_the_hand_count(repo_root):
    polls = {p["poll_id"]: p for p in rows(repo_root, "polls.csv")}
    owner = {i: hand_count_key(p["pollster"] or p["commissioned_by"]) for i, p in polls.items()}
    counts: Counter[str] = Counter({k: 0 for k in owner.values()})
    for r in rows(repo_root, "results.csv"):
        owners = {owner[i] for i in r["poll_id"].split(";")}
        assert len(owners) == 1, (r["result_id"], owners)
        counts[owners.pop()] += 1
    assert dict(counts) == HAND_COUNT, ("figures per pollster differ from the count made by "
                                        "hand from the sources (HAND_COUNT; docs/reproducing.md,"
                                        " 'After adding a poll')")
    # 3 + 2 + 2 + 4 + 3: paras. 8-11 give fourteen figures in all.
    assert sum(counts.values()) == 14


def test_the_polls_whose_month_may_be_their_publication_month(repo_project):
    """Shraibman dates the VCIOM polls 'April 2019' and 'September 2020' and the ZOiS survey
    'March 2021' (paras. 9, 11); his reference list dates the publications he cites for them
    2 April 2019, 9 September 2020 and 25 March 2021. The appendix's limitation lists them."""
    from unionstate.report import Report

    assert Report.load(repo_project.root).publication_months == (
        "VCIOM, April 2019 (published 2 April 2019); "
        "VCIOM, September 2020 (published 9 September 2020); "
        "ZOiS Institute survey, March 2021 (published 25 March 2021)")
