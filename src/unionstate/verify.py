"""`unionstate verify POLL_ID`: a second, blind entry of a poll's figures, and the checks it writes.

Double data entry, as survey tools do it (EpiData, REDCap): `add-poll` was the first entry;
here the user types each figure again as its source prints it, shown the poll, question,
option and locator, never the value. An entry is read by the wording rules the report writes
figures with (unionstate.codes), so "75-76%" is a range 75 to 76. Where every entry agrees
with data/results.csv, one transaction writes the verified record (tests/verified.yaml: each
figure as typed, and the works the report reads, a new one with `text: null`) and one nbval
card per figure in the poll's country notebook, whose stored output is written from the typed
entry, never from a run. Where one disagrees, nothing is written and the message shows both.

A card holds two kinds of line, and the notebooks' first cells say so: figures, qualifiers
and locators typed from the source; and the list of charts that draw the figure, a snapshot
of the report at verify time. `readback.verified()` prints the same lines from the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from . import codes
from .parse import split_ids
from .paths import Project
from .text import NUMBER_WORDS, bounds_text, number, one_in

REGISTER = "tests/verified.yaml"
NOTEBOOK_OF_COUNTRY = {"BLR": "belarus.ipynb", "RUS": "russia.ipynb"}
POLL_CHARTS = ("fig-blr-opinion", "fig-rus-opinion", "fig-mirror", "fig-status-quo")
CELL = re.compile(r'^(?:card|verified)\(\s*r\s*,\s*"([a-z0-9]+(?:-[a-z0-9]+)*)"', re.MULTILINE)
REGISTER_HEADER = """\
# The verified record: each poll's figures as typed a second time from the source
# (`unionstate verify POLL_ID`), and the works whose text the report reads, with how a
# stored text is cut into paragraphs. The tests read their expectations from here.
# Written by `unionstate verify`, `remove-poll` and `add-poll --replace`; never by hand.
"""
FORMS = ('"57%"', '"75-76%"', '"about 30%"', '"some 43-48%"', '"more than 40%"',
         '"one in six"', '"half of <result_id>"', '"about the same as <result_id>"')
_NUM = r"[0-9]+(?:\.[0-9]+)?"
_WORDS = {w: n for n, w in NUMBER_WORDS.items()}


class VerifyError(Exception):
    """The poll or the entries file cannot be verified (exit 2): nothing was written."""


# ---------------------------------------------------------------- reading a typed figure


@dataclass(frozen=True)
class Typed:
    """A figure as typed: its qualifier, bounds (high None for a lower bound) and, for a
    derived figure, its derivation ('half of rus-levada-political')."""

    qualifier: str
    low: float | None = None
    high: float | None = None
    derivation: str = ""


def _template(wording: str) -> re.Pattern:
    out = re.escape(wording)
    out = out.replace(re.escape("{bounds}"), rf"(?P<lo>{_NUM})(?:\s*[-–—]\s*(?P<hi>{_NUM}))?\s*%")
    out = out.replace(re.escape("{low}"), rf"(?P<lo>{_NUM})\s*%")
    out = out.replace(re.escape("{one_in}"), r"one in (?P<n>[a-z]+|[0-9]+)")
    out = out.replace(re.escape("{derived}"), rf"(?P<der>{codes.DERIVATION_PATTERN})")
    return re.compile(out.replace(r"\ ", r"\s+"), re.IGNORECASE | re.ASCII)


def parse_typed(text: str) -> Typed | None:
    """The figure a typed entry states, by the wording rules of unionstate.codes; None if it
    is none of the allowed forms (FORMS)."""
    if not isinstance(text, str):
        return None
    text = " ".join(text.strip().split())
    for code, rule in codes.QUALIFIER_RULES.items():
        m = _template(rule.wording).fullmatch(text)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("der"):
            return Typed(code, derivation=groups["der"].lower())
        if groups.get("n"):
            word = groups["n"].lower()
            n = int(word) if word.isdigit() else _WORDS.get(word)
            if not n:
                continue
            return Typed(code, round(100 / n, 2), round(100 / n, 2))
        lo = float(groups["lo"])
        hi = float(groups["hi"]) if groups.get("hi") else None
        if rule.bounds == codes.EQUAL and hi is None:
            return Typed(code, lo, lo)
        if rule.bounds == codes.ORDERED and hi is not None and hi > lo:
            return Typed(code, lo, hi)
        if rule.bounds == codes.OPEN and hi is None:
            return Typed(code, lo, None)
    return None


def _b(low: float | None, high: float | None) -> str:
    """Bounds with two decimals; 'open' for a bound not given (as the hand-typed cards)."""
    def one(v):
        return "open" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"
    return f"{one(low)}–{one(high)}"


def _f(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def row_typed(row) -> Typed:
    """What a results.csv row states, in the terms of a typed entry."""
    deriv = row.get("derivation")
    deriv = deriv if isinstance(deriv, str) else ""
    return Typed(str(row["qualifier"]), _f(row["share_low"]), _f(row["share_high"]), deriv)


def agrees(typed: Typed, data: Typed) -> bool:
    if typed.qualifier != data.qualifier:
        return False
    if typed.derivation or data.derivation:
        return typed.derivation == data.derivation
    return all(a == b if None in (a, b) else abs(a - b) < 1e-9
               for a, b in ((typed.low, data.low), (typed.high, data.high)))


def in_words(t: Typed, parent: Typed | None = None, grand: Typed | None = None) -> str:
    """How the report words a typed figure (unionstate.codes' wording of its qualifier)."""
    wording = codes.QUALIFIER_RULES[t.qualifier].wording
    derived = ""
    if "{derived}" in wording:
        _, rule, _ = codes.parse_derivation(t.derivation)
        derived = rule.words.format(parent=in_words(parent, grand) if parent else "?")
    low = t.low if t.low is not None else 0.0
    return wording.format(bounds=bounds_text(low, t.high), low=f"{number(low)}%",
                          one_in=one_in(low) if "{one_in}" in wording else "", derived=derived)


def derived_bounds(t: Typed, parent: Typed) -> Typed:
    _, rule, _ = codes.parse_derivation(t.derivation)

    def scale(v: float | None) -> float | None:
        return None if v is None else round(v * rule.factor, 2)
    return Typed(t.qualifier, scale(parent.low), scale(parent.high), t.derivation)


def card_lines(rid: str, where: str, t: Typed, words: str, charts: list[str]) -> list[str]:
    """The card of one figure, every line filled in from `t` (typed, or read from the report)."""
    data = f"{t.qualifier} {_b(t.low, t.high)}" + (f" ({t.derivation})" if t.derivation else "")
    out = [f"{rid} | {where}", f"  data/results.csv: {data}", f"  prose: {words}"]
    out += [f"  {label}: drawn {_b(t.low, t.high)}, label '{words}'" for label in charts]
    out += [f"  figures/{label}.csv: {t.qualifier} {_b(t.low, t.high)}, '{words}'"
            for label in charts]
    return out


def load_register(proj: Project) -> dict:
    path = proj.root / REGISTER
    if not path.is_file():
        return {"sources": {}, "polls": {}}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise VerifyError(f"{REGISTER}: cannot be read ({exc}); restore it from git "
                          f"(git checkout -- {REGISTER})") from None
    if not isinstance(doc, dict):
        raise VerifyError(f"{REGISTER}: is not a mapping; restore it from git")
    return {"sources": {}, "polls": {}, **doc}


def dump_register(doc: dict) -> str:
    """The record's text: sources and polls sorted by key, figures by result_id."""
    polls = {pid: {**entry, "figures": dict(sorted((entry.get("figures") or {}).items()))}
             for pid, entry in sorted(doc["polls"].items())}
    body = {"sources": {k: doc["sources"][k] for k in sorted(doc["sources"])}, "polls": polls}
    return REGISTER_HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def _notebook_text(nb) -> str:
    return nbformat.writes(nb) + "\n"  # the notebooks end with a newline


def _cell(rid: str, poll_label: str, where: str, charts: list[str], lines: list[str],
          count: int):
    listed = ", ".join(f'"{c}"' for c in charts)
    source = (f"# {rid} | {poll_label} | {where}\n"
              "# Written by `unionstate verify`: the output below comes from the figure as typed\n"
              "# from the source (a second entry), not from a run.\n"
              "from readback import verified\n\n"
              f'verified(r, "{rid}", [{listed}])')
    cell = nbformat.v4.new_code_cell(source, id=f"verified-{rid}"[:64], execution_count=count)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
    return cell


def drop(proj: Project, poll_ids: set[str], result_ids: set[str],
         remaining_sources: set[str]) -> dict[Path, str]:
    """The record and notebooks without `poll_ids` and the cards of `result_ids` (only files
    that change); a source the record holds without stored text goes too where no remaining
    figure cites it."""
    texts = {}
    for path in sorted((proj.root / "tests" / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        kept = [c for c in nb.cells
                if not (c.cell_type == "code" and set(CELL.findall(c.source)) & result_ids)]
        if len(kept) != len(nb.cells):
            nb.cells = kept
            texts[path] = _notebook_text(nb)
    path = proj.root / REGISTER
    if not path.is_file():
        return texts
    doc = load_register(proj)
    for pid in poll_ids:
        doc["polls"].pop(pid, None)
    for entry in doc["polls"].values():
        entry["figures"] = {k: t for k, t in (entry.get("figures") or {}).items()
                            if k not in result_ids}
    for key in list(doc["sources"]):
        if (doc["sources"][key] or {}).get("text") is None and key not in remaining_sources:
            del doc["sources"][key]
    text = dump_register(doc)
    if text != path.read_text(encoding="utf-8"):
        texts[path] = text
    return texts


# ---------------------------------------------------------------- the plan


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    texts: dict[Path, str] = field(default_factory=dict)
    figures: int = 0


@dataclass
class Question:
    """What the user is shown for one figure: never its value."""

    result_id: str
    question: str
    option: str
    source: str
    locator: str


def precheck(proj: Project, report, poll_id: str) -> list[Question]:
    """The figures to type for `poll_id` (those whose poll_id cell names it, in results.csv's
    order); VerifyError if it cannot be verified (not in the data, verified already, or a
    figure of several waves verified with another wave)."""
    if poll_id not in set(report.ds.polls["poll_id"]):
        raise VerifyError(f"poll '{poll_id}' is not in data/polls.csv; allowed: a poll_id of "
                          "data/polls.csv (add it first with `unionstate add-poll`)")
    res = report.ds.results
    asked = [Question(r.result_id, str(r.question), str(r.option), str(r.source), str(r.locator))
             for r in res[[poll_id in split_ids(c) for c in res["poll_id"]]].itertuples()]
    doc = load_register(proj)
    if poll_id in doc["polls"]:
        raise VerifyError(f"poll '{poll_id}' is already verified ({REGISTER}); to correct it, "
                          "use `unionstate add-poll --replace FILE.yaml`, then verify it again")
    ids = {q.result_id for q in asked}
    done = {rid: pid for pid, entry in doc["polls"].items()
            for rid in (entry.get("figures") or {}) if rid in ids}
    if done:
        rid, pid = sorted(done.items())[0]
        raise VerifyError(f"figure '{rid}' of poll '{poll_id}' is already verified, with poll "
                          f"'{pid}' ({REGISTER}): a figure given for several waves is "
                          "verified once")
    return asked


def plan(proj: Project, report, poll_id: str, answers: dict[str, str],
         label: str = "entries") -> Verification:
    """Compare the entries with data/ and, where all agree, render the texts to write."""
    v = Verification()
    asked = precheck(proj, report, poll_id)
    ids = {q.result_id for q in asked}
    doc = load_register(proj)
    poll = report.ds.polls[report.ds.polls["poll_id"] == poll_id].iloc[0]
    v.problems += [f"{label}, figures.{rid}: is not a figure of poll '{poll_id}'; allowed: "
                   f"{', '.join(sorted(ids)) or 'none (it has no figures)'}"
                   for rid in answers if rid not in ids]
    typed: dict[str, Typed] = {}
    for q in asked:
        if q.result_id not in answers:
            v.problems.append(f"{label}, figures.{q.result_id}: missing; type the figure as "
                              f"{q.source} ({q.locator}) prints it")
            continue
        t = parse_typed(answers[q.result_id])
        if t is None:
            v.problems.append(f"{label}, figures.{q.result_id}: '{answers[q.result_id]}' is not "
                              f"a figure as the report reads one; allowed: {', '.join(FORMS)}")
            continue
        data = row_typed(report.ds.result(q.result_id))
        if not agrees(t, data):
            v.problems.append(
                f"{label}, figures.{q.result_id}: the two entries disagree: typed now "
                f"'{answers[q.result_id]}' ({_described(t)}); data/results.csv holds "
                f"{_described(data)}. Check the source ({q.source}, "
                f"{q.locator}); if the data is wrong, fix it with `unionstate add-poll "
                f"--replace FILE.yaml`")
            continue
        typed[q.result_id] = t
    if v.problems:
        return v
    registered = {rid: str(text) for entry in doc["polls"].values()
                  for rid, text in (entry.get("figures") or {}).items()}

    def source_of(t: Typed) -> str:  # the result_id a derived figure is derived from
        return codes.parse_derivation(t.derivation)[2]

    nb_name = NOTEBOOK_OF_COUNTRY.get(str(poll["country"]))
    if nb_name is None:
        raise VerifyError(f"poll '{poll_id}': no notebook checks country '{poll['country']}'")
    nb_path = proj.root / "tests" / "notebooks" / nb_name
    nb = nbformat.read(nb_path, as_version=4)
    count = max([c.get("execution_count") or 0 for c in nb.cells if c.cell_type == "code"],
                default=0)
    who = poll["pollster"] if isinstance(poll["pollster"], str) else poll["commissioned_by"]
    poll_label = f"{who}, {report.when[poll_id]}"
    for n, q in enumerate(asked, start=count + 1):  # n: the new cell's execution count
        t = typed[q.result_id]
        parent = grand = None
        if t.derivation:  # its parent typed now or verified before; the grandparent typed now
            pid = source_of(t)
            parent = typed.get(pid) or (parse_typed(registered[pid]) if pid in registered else None)
            grand = typed.get(source_of(parent)) if parent and parent.derivation else None
        if t.derivation and parent is None:
            v.problems.append(f"{label}, figures.{q.result_id}: derived from a figure that is "
                              "not verified; verify the poll it comes from first")
            continue
        shown = derived_bounds(t, parent) if t.derivation else t
        charts = [c for c in POLL_CHARTS
                  if (rows := report.results_drawn(c)) is not None
                  and q.result_id in set(rows["result_id"])]
        where = f"{q.source}, {q.locator}"
        lines = card_lines(q.result_id, where, shown, in_words(t, parent, grand), charts)
        nb.cells.append(_cell(q.result_id, poll_label, where, charts, lines, n))
    if v.problems:
        return v
    if asked:
        v.texts[nb_path] = _notebook_text(nb)
    doc["polls"][poll_id] = {"figures": {rid: answers[rid].strip() for rid in sorted(typed)}}
    for q in asked:
        doc["sources"].setdefault(q.source, {"author": None, "text": None})
    v.texts[proj.root / REGISTER] = dump_register(doc)
    v.figures = len(asked)
    return v


def _described(t: Typed) -> str:
    if t.derivation:
        return f"{t.qualifier} ({t.derivation})"
    return f"{t.qualifier} {_b(t.low, t.high)}"


def read_entries(path: Path, label: str) -> tuple[str | None, dict[str, str]]:
    """poll_id and figures of an entries file (--entries FILE.yaml)."""
    from .pollfile import YamlError, load_yaml

    try:
        doc = load_yaml(path, label)
    except YamlError as exc:
        raise VerifyError(str(exc)) from None
    unknown = [k for k in doc if k not in ("poll_id", "figures")]
    if unknown:
        raise VerifyError(f"{label}, {unknown[0]}: is not a known field; allowed: poll_id, "
                          "figures")
    figures = doc.get("figures")
    if not isinstance(figures, dict):
        raise VerifyError(f"{label}, figures: allowed: a mapping of result_id to the figure as "
                          f"the source prints it, such as blr-example-2026-independent: \"57%\"")
    bad = [k for k, val in figures.items() if not isinstance(val, str)]
    if bad:
        raise VerifyError(f"{label}, figures.{bad[0]}: allowed: one figure as text, "
                          f"such as \"57%\"")
    poll_id = doc.get("poll_id")
    return (poll_id if isinstance(poll_id, str) else None), {str(k): v for k, v in figures.items()}
