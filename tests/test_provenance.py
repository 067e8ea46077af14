"""Provenance: every figure, poll and event in data/ points to a real place in a real source.

These tests read the CSV files and references.bib with the standard library, not through
unionstate, so that they check the data independently of the validator. What they expect
comes from the verified record, tests/verified.yaml, which `unionstate verify` writes: the
figures of each poll as typed a second time from the source, the works the report reads,
and, for a work whose text is stored, its file, its paragraph count and the opening and
closing words of some paragraphs (typed from the text). Paragraphs are counted as
data/README.md says, by the rule the record names:

* lines-before-bio (Shraibman, .txt): one paragraph per non-empty line, up to the author
  bio ("Artyom Shraibman is a political analyst ...") and the reference list after it.
* article-body (Melyantsou, .md): body paragraphs only, i.e. not the headline, standfirst,
  byline, date, 'Related article' lines or the closing notes; a paragraph cut by a page
  break (a block that ends mid-sentence, followed by one that starts in lower case) counts
  once.

A work recorded without stored text (`text: null`, as `verify` records a new source) cannot
have its locators checked against it: the tests say so in a warning and check what they
can (the locator names a paragraph, the figure was verified), without failing.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest
import yaml

RECORD = Path(__file__).resolve().parent / "verified.yaml"


def record() -> dict:
    return yaml.safe_load(RECORD.read_text(encoding="utf-8"))


# Which stored text a bib key or a locator's author name stands for (works whose text is
# stored); the keys of every work read, stored or not.
SOURCES = record()["sources"]
ARTICLE_OF_KEY = {k: s["text"] for k, s in SOURCES.items() if s.get("text")}
ARTICLE_OF_AUTHOR = {s["author"]: s["text"] for s in SOURCES.values()
                     if s.get("text") and s.get("author")}
NOT_STORED = sorted(k for k, s in SOURCES.items() if not s.get("text"))

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


RULES = {"lines-before-bio": shraibman_paragraphs, "article-body": melyantsou_paragraphs}


@pytest.fixture(scope="module")
def paragraphs(sources_dir: Path) -> dict[str, list[str]]:
    return {s["text"]: RULES[s["paragraphing"]]((sources_dir / s["text"]).read_text(
        encoding="utf-8")) for s in SOURCES.values() if s.get("text")}


def _not_stored(what: str, keys) -> None:
    if keys:
        warnings.warn(f"{what}: the text of {', '.join(sorted(set(keys)))} is not stored "
                      "(tests/verified.yaml, text: null), so these locators were not checked "
                      "against it", UserWarning, stacklevel=2)


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
    # Counted by hand and recorded in tests/verified.yaml (paragraphs, opening, closing).
    assert paragraphs, "no stored source text in tests/verified.yaml"
    for key, src in SOURCES.items():
        if not src.get("text"):
            continue
        found = paragraphs[src["text"]]
        assert len(found) == src["paragraphs"], key
        for n, words in (src.get("opening") or {}).items():
            assert found[int(n) - 1].startswith(words), (key, n)
        for n, words in (src.get("closing") or {}).items():
            assert found[int(n) - 1].endswith(words), (key, n)


def test_parse_locator():
    assert parse_locator("para. 8, notes 78–79") == ({8}, {78, 79})
    assert parse_locator("Shraibman, para. 11, note 84") == ({11}, {84})
    assert parse_locator("paras. 12, 19") == ({12, 19}, set())
    assert parse_locator("paras. 5-7") == ({5, 6, 7}, set())
    assert parse_locator("p. 8") == (set(), set())


def test_locator_checker_rejects_bad_locators(paragraphs):
    # The checker used below must be able to fail.
    SHRAIBMAN, MELYANTSOU = ARTICLE_OF_KEY["shraibman"], ARTICLE_OF_KEY["melyantsou2021"]
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
    bad, unchecked = {}, []
    for r in results:
        assert r["source"] in SOURCES, (
            f"{r['result_id']}: source {r['source']!r} is not a work of the verified record; "
            f"run `unionstate verify` for its poll")
        if r["source"] not in ARTICLE_OF_KEY:
            unchecked.append(r["source"])
            if not parse_locator(r["locator"])[0]:
                bad[r["result_id"]] = [f"{r['locator']!r} names no paragraph ('para. N')"]
            continue
        found = locator_problems(r["locator"], ARTICLE_OF_KEY[r["source"]], paragraphs)
        if found:
            bad[r["result_id"]] = found
    _not_stored("results.csv", unchecked)
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
        if r["source"] not in ARTICLE_OF_KEY:
            continue  # no stored text (said by the test above)
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
    bad, unchecked = {}, []
    for p in polls:
        found = [] if p["source"] in keys else [f"source {p['source']!r} not in references.bib"]
        author = p["locator"].split(",")[0].strip()
        if p["source"] in NOT_STORED:
            unchecked.append(p["source"])  # the poll's own publication, read but not stored
        elif author not in ARTICLE_OF_AUTHOR:
            found.append(f"locator {p['locator']!r} does not start with the citing author")
        else:
            found += locator_problems(p["locator"], ARTICLE_OF_AUTHOR[author], paragraphs)
            if not parse_locator(p["locator"])[1]:
                found.append(f"locator {p['locator']!r} names no footnote")
        if found:
            bad[p["poll_id"]] = found
    _not_stored("polls.csv", unchecked)
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


# ---------------------------------------------------------------- the verified record


def test_every_figure_is_in_the_verified_record_once(repo_root):
    """Each row of results.csv was typed a second time (`unionstate verify`), under a poll
    that the row names; the record holds no figure the data lacks."""
    polls = {p["poll_id"] for p in rows(repo_root, "polls.csv")}
    typed: dict[str, list[str]] = {}
    for pid, entry in record()["polls"].items():
        assert pid in polls, f"tests/verified.yaml: poll {pid!r} is not in polls.csv"
        for rid in entry["figures"] or {}:
            typed.setdefault(rid, []).append(pid)
    results = {r["result_id"]: r for r in rows(repo_root, "results.csv")}
    unverified = sorted(set(results) - set(typed))
    assert not unverified, ("figures never typed a second time; run `unionstate verify "
                            "POLL_ID` for their poll (README, 'A new poll'): " + ", ".join(unverified))
    assert not sorted(set(typed) - set(results)), "the record holds figures the data lacks"
    for rid, pids in typed.items():
        assert len(pids) == 1, (rid, pids)
        assert pids[0] in results[rid]["poll_id"].split(";"), (rid, pids)


def test_results_per_pollster_match_the_verified_record(repo_root):
    """Figures per pollster (pollster, else commissioned_by): as counted from the record's
    typed entries and as the data holds them. A figure moved to another pollster fails."""
    polls = {p["poll_id"]: p for p in rows(repo_root, "polls.csv")}

    def owner(poll_id_cell: str) -> str:
        owners = {polls[i]["pollster"] or polls[i]["commissioned_by"]
                  for i in poll_id_cell.split(";")}
        assert len(owners) == 1, (poll_id_cell, owners)
        return owners.pop()

    typed = Counter({owner(pid): 0 for pid in polls})
    for pid, entry in record()["polls"].items():
        typed[owner(pid)] += len(entry["figures"] or {})
    data = Counter({owner(pid): 0 for pid in polls})
    for r in rows(repo_root, "results.csv"):
        data[owner(r["poll_id"])] += 1
    assert dict(data) == dict(typed)


def test_the_record_and_the_data_agree_on_every_figure(repo_root):
    """The record's typed figure is what results.csv holds, in bounds and qualifier."""
    from unionstate.verify import agrees, parse_typed, row_typed

    results = {r["result_id"]: r for r in rows(repo_root, "results.csv")}
    bad = []
    for entry in record()["polls"].values():
        for rid, text in (entry["figures"] or {}).items():
            t = parse_typed(str(text))
            if t is None or rid not in results or not agrees(t, row_typed(results[rid])):
                bad.append((rid, text))
    assert not bad


def test_the_record_checker_can_fail():
    from unionstate.verify import agrees, parse_typed, row_typed

    row = {"qualifier": "range", "share_low": "75", "share_high": "76", "derivation": ""}
    assert agrees(parse_typed("75–76%"), row_typed(row))
    assert not agrees(parse_typed("75-77%"), row_typed(row))
    assert not agrees(parse_typed("some 75-76%"), row_typed(row))


def test_the_polls_whose_month_may_be_their_publication_month(repo_project):
    """Shraibman dates the VCIOM polls 'April 2019' and 'September 2020' and the ZOiS survey
    'March 2021' (paras. 9, 11); his reference list dates the publications he cites for them
    2 April 2019, 9 September 2020 and 25 March 2021. The appendix's limitation lists them."""
    from unionstate.report import Report

    assert Report.load(repo_project.root).publication_months == (
        "VCIOM, April 2019 (published 2 April 2019); "
        "VCIOM, September 2020 (published 9 September 2020); "
        "ZOiS Institute survey, March 2021 (published 25 March 2021)")
