"""`unionstate add-poll` (and --replace, remove-poll): plan a change to the polls of data/.

A poll file is checked with every rule of `unionstate check`, applied to data/ as it would be,
plus the rules of an addition (a new poll_id, known keys, a valid and new BibTeX entry);
problems of new rows name the YAML field they come from ("new.yaml, results[2].stance").
`plan` is `read_current` (data/ must pass `check`), `merge` (the YAML into rows), `recheck`
and `render` (the texts to write, which the command commits as one transaction).

* Every plain YAML scalar is the text written (pollfile keeps no number, boolean or date
  resolvers), so a value is exactly its CSV cell; empty, `~` and `null` mean missing.
  Leading and trailing blanks are dropped, as `check` drops them from a CSV.
* A result's `poll_id` may be left out (the new poll), or name several waves ("a;b" or a
  list) that include the new poll, all exist and are listed earliest first.
* `results[N]` in messages counts from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from . import bib
from .codebook import Table
from .codebook import load as load_codebook
from .parse import parse_date, split_ids
from .paths import Project
from .pollfile import kind_of
from .store import canonical_text, csv_text
from .validate import check, empty_message, parse_csv, read_all

CHANGELOG = "CHANGELOG.md"
CHANGELOG_HEADER = """\
# Changes to data/

One line per change to the data, newest last. `unionstate add-poll` appends a line for
every poll it adds: the date of the change, the poll_id, the pollster, the fieldwork
dates, the number of results and the source key. A change made by hand gets a line too.

"""
EXTRA_KEYS = ("results", "bibtex")


@dataclass
class Addition:
    """What an addition would change; `problems` empty means it may be written."""

    label: str
    problems: list[str] = field(default_factory=list)
    poll_id: str | None = None
    results: list[dict] = field(default_factory=list)
    bib_key: str | None = None
    bib_refused: str | None = None  # the key of a bibtex entry given but refused
    left_out: set[str] = field(default_factory=set)  # fields not in the YAML at all
    texts: dict[Path, str] = field(default_factory=dict)
    new_lines: dict[Path, list[str]] = field(default_factory=dict)
    changelog_line: str = ""
    replaced: Removal | None = None  # add-poll --replace: what the old poll took with it

    def problem(self, where: str, message: str) -> None:
        text = f"{self.label}, {where}: {message}" if where else f"{self.label}: {message}"
        if text not in self.problems:
            self.problems.append(text)


def _cell(value, where: str, add: Addition):
    """The CSV cell a YAML value becomes (pd.NA for missing), or NA after a problem."""
    if value is None:
        return pd.NA
    if isinstance(value, list | dict):
        add.problem(where, f"is a {kind_of(value)}; allowed: a single value")
        return pd.NA
    if not isinstance(value, str):
        add.problem(where, f"is a tagged YAML {type(value).__name__}; allowed: the value as "
                           "plain text (drop the !! tag)")
        return pd.NA
    text = value.strip()
    if "\n" in text or "\r" in text:
        add.problem(where, "spans several lines; allowed: one line (fold it with '>-')")
        return pd.NA
    return text or pd.NA


def _known_keys(mapping: dict, allowed: list[str], prefix: str, add: Addition) -> None:
    for key in mapping:
        if not isinstance(key, str) or key not in allowed:
            add.problem(f"{prefix}{key}", f"'{key}' is not a known field; allowed: "
                                          f"{', '.join(allowed)}")


def _result_poll_ids(value, where: str, poll_id, add: Addition):
    """A result's poll_id cell: the new poll when left out; waves joined by ';'."""
    if value is None:
        return poll_id if isinstance(poll_id, str) else pd.NA
    if isinstance(value, list):
        if not all(isinstance(v, str) and v.strip() for v in value):
            add.problem(where, "lists something other than poll_ids; allowed: poll_ids")
            return pd.NA
        value = ";".join(v.strip() for v in value)
    cell = _cell(value, where, add)
    if isinstance(cell, str) and isinstance(poll_id, str) and poll_id not in split_ids(cell):
        add.problem(where, f"'{cell}' does not name the new poll '{poll_id}'; allowed: leave "
                           f"it out (the new poll), or waves joined by ';' that include "
                           f"'{poll_id}', earliest first")
    return cell


def _wave_order(results: pd.DataFrame, polls: pd.DataFrame, yaml_index: list[int],
                add: Addition) -> None:
    """Waves of a multi-wave figure are listed earliest first (the codebook's rule)."""
    starts = {p: parse_date(s or "") for p, s in
              zip(polls["poll_id"], polls["fieldwork_start"].fillna(""), strict=True)}
    for i, cell in zip(yaml_index, results["poll_id"], strict=True):
        if not isinstance(cell, str):
            continue
        ids = split_ids(cell)
        firsts = [starts[p][0] for p in ids if starts.get(p)]
        if len(firsts) == len(ids) and firsts != sorted(firsts):
            add.problem(f"results[{i}].poll_id", f"'{cell}' does not list its waves earliest "
                                                 "first; allowed: waves in order of fieldwork")


def _bibtex(doc: dict, old_text: str, old_keys: set[str], cited: set[str],
            add: Addition) -> str | None:
    """The key of a valid new BibTeX entry in the YAML, or None."""
    raw = doc.get("bibtex")
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        add.problem("bibtex", "is not a BibTeX entry; allowed: one entry as a text block "
                              "(bibtex: |) starting with @type{key,")
        return None
    try:
        entries = bib.parse(raw)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's text
        add.problem("bibtex", f"cannot be parsed as BibTeX: {exc}")
        return None
    refused = bib.single_entry_problems(raw)
    if refused:
        for message in refused:
            add.problem("bibtex", message)
        return None
    if len(entries) != 1:
        add.problem("bibtex", f"holds {len(entries)} valid BibTeX entries; allowed: exactly "
                              "one, such as @misc{key, author = {...}, title = {...}}")
        return None
    key, entry = next(iter(entries.items()))
    missing = [f for f in ("author", "title") if not entry.get(f, "").strip()]
    wrong = []
    if key in old_keys:
        wrong.append(f"entry key '{key}' is already in references.bib; allowed: a new key, "
                       f"or leave bibtex out and cite '{key}' as source")
    if missing:
        wrong.append(f"entry '{key}' has no {' and no '.join(missing)}; allowed: an entry "
                       "with author and title, like those in references.bib")
    if key not in cited:
        wrong.append(f"entry '{key}' is not the source of the poll or of any result; "
                       "allowed: an entry that the new rows cite")
    if not wrong:
        # The real check of references.bib, on the text it would hold: a stray "@misc{"
        # after the entry, or anything else the parser would drop, is wrong here.
        after, problems = bib.check_text(_appended(old_text, "\n" + raw.strip()),
                                         "references.bib")
        if problems or after != old_keys | {key}:
            what = problems[0].message if problems else "its keys would not be those expected"
            wrong.append(f"entry '{key}' would not parse cleanly when appended to "
                           f"references.bib: {what}")
    for message in wrong:
        add.problem("bibtex", message)
    add.bib_refused = key if wrong else None
    return None if wrong else key


def _appended(old: str, text: str) -> str:
    """`old` with `text` after it, starting on a line of its own."""
    sep = "" if not old or old.endswith("\n") else "\n"
    return f"{old}{sep}{text}\n"


def _logged(proj: Project, line: str) -> str:
    """data/CHANGELOG.md with `line` appended (the file begins with its header if it is new)."""
    log = proj.data / CHANGELOG
    return _appended(log.read_text(encoding="utf-8") if log.is_file() else CHANGELOG_HEADER, line)


def _new_rows(rows: list[dict], columns: list[str], after: int) -> pd.DataFrame:
    """New rows as `check` will read them back from the file, indexed by the lines after the
    existing rows (`after` is the last line in use), so that problems map back to them."""
    read, _ = parse_csv(csv_text(pd.DataFrame(rows, columns=columns, dtype=object)), "new rows")
    read.index = pd.Index(range(after + 1, after + 1 + len(read)), name="line")
    return read


def _changelog_line(poll: dict, n_results: int, new_key: str | None) -> str:
    start, end = poll.get("fieldwork_start"), poll.get("fieldwork_end")
    fieldwork = start if start == end else f"{start} to {end}"
    pollster = poll.get("pollster") if isinstance(poll.get("pollster"), str) else "not named"
    source = poll.get("source")
    if new_key:
        source += (" (new in references.bib)" if new_key == source
                   else f"; new references.bib entry {new_key}")
    return (f"- {date.today().isoformat()}: added poll {poll['poll_id']}; pollster {pollster}; "
            f"fieldwork {fieldwork}; {n_results} result{'' if n_results == 1 else 's'}; "
            f"source {source}")


@dataclass
class Current:
    """The data as it stands."""

    tables: dict[str, Table]
    frames: dict[str, pd.DataFrame]
    bib_text: str
    bib_keys: set[str]


@dataclass
class Merged:
    """The data as it would be, and where each new row came from."""

    frames: dict[str, pd.DataFrame]
    bib_keys: set[str]
    fields: dict[tuple[str, int], str]  # (table, line label) of a new row -> its YAML prefix


def read_current(proj: Project, add: Addition) -> Current | None:
    """The data as it stands; None (and the problems in `add`) unless it passes `check`."""
    tables = load_codebook(proj.codebook)
    frames, problems = read_all(proj)
    keys, bib_problems = bib.check_file(proj.bib, proj.rel(proj.bib))
    problems += bib_problems
    if not problems:
        problems = check(proj, frames, keys)
    if problems:
        add.problems += [f"{p} (already so before this addition; fix data/ first, see "
                         "`unionstate check`)" for p in problems]
        return None
    return Current(tables, frames, proj.bib.read_text(encoding="utf-8"), keys or set())


def merge(doc: dict, cur: Current, add: Addition) -> Merged:
    """The YAML's fields as rows of polls.csv and results.csv, appended to the current ones;
    problems of the fields themselves go to `add`."""
    poll_cols, result_cols = list(cur.tables["polls"].columns), list(cur.tables["results"].columns)
    _known_keys(doc, [*poll_cols, *EXTRA_KEYS], "", add)
    add.left_out |= {c for c in poll_cols if c not in doc}
    poll = {c: _cell(doc.get(c), c, add) for c in poll_cols}
    poll_id = poll["poll_id"] if isinstance(poll["poll_id"], str) else None
    add.poll_id = poll_id
    if poll_id and poll_id in set(cur.frames["polls"]["poll_id"].dropna()):
        add.problem("poll_id", f"'{poll_id}' is already in data/polls.csv; allowed: a new "
                               "poll_id (ids are never reused)")

    if "results" not in doc:
        add.left_out.add("results")
    raw_results = [] if doc.get("results") is None else doc["results"]
    if not isinstance(raw_results, list):
        add.problem("results", f"is a {kind_of(raw_results)}; allowed: a list of results, each "
                               "a mapping of results.csv fields")
        raw_results = []
    results, yaml_index = [], []
    old_result_ids = set(cur.frames["results"]["result_id"].dropna())
    seen_ids: dict[str, int] = {}
    for i, item in enumerate(raw_results, start=1):
        where = f"results[{i}]"
        if not isinstance(item, dict):
            add.problem(where, f"is a {kind_of(item)}; allowed: a mapping of results.csv fields")
            continue
        _known_keys(item, result_cols, f"{where}.", add)
        add.left_out |= {f"{where}.{c}" for c in result_cols if c not in item and c != "poll_id"}
        row = {c: _cell(item.get(c), f"{where}.{c}", add) for c in result_cols if c != "poll_id"}
        row["poll_id"] = _result_poll_ids(item.get("poll_id"), f"{where}.poll_id", poll_id, add)
        rid = row["result_id"]
        if isinstance(rid, str):
            if rid in old_result_ids:
                add.problem(f"{where}.result_id", f"'{rid}' is already in data/results.csv; "
                                                  "allowed: a new result_id (never reused)")
            elif rid in seen_ids:
                add.problem(f"{where}.result_id", f"'{rid}' is also the result_id of "
                                                  f"results[{seen_ids[rid]}]; allowed: a "
                                                  "result_id of its own")
            else:
                seen_ids[rid] = i
        results.append({c: row[c] for c in result_cols})
        yaml_index.append(i)
    add.results = results

    cited = {r["source"] for r in [poll, *results] if isinstance(r["source"], str)}
    add.bib_key = _bibtex(doc, cur.bib_text, cur.bib_keys, cited, add)

    frames = dict(cur.frames)
    last = {n: max(cur.frames[n].index, default=1) for n in ("polls", "results")}
    new_poll = _new_rows([poll], poll_cols, last["polls"])
    frames["polls"] = pd.concat([cur.frames["polls"], new_poll])
    new_results = _new_rows(results, result_cols, last["results"])
    frames["results"] = pd.concat([cur.frames["results"], new_results])
    _wave_order(new_results, frames["polls"], yaml_index, add)
    fields = {("polls", int(new_poll.index[0])): ""}
    fields |= {("results", line): f"results[{i}]."
               for line, i in zip(new_results.index, yaml_index, strict=True)}
    return Merged(frames, cur.bib_keys | ({add.bib_key} if add.bib_key else set()), fields)


def recheck(proj: Project, cur: Current, merged: Merged, add: Addition) -> None:
    """Every rule of `check` on the data as it would be; a problem of a new row is reported
    against the YAML field it comes from."""
    tables = {proj.rel(proj.data / cur.tables[n].file): n for n in ("polls", "results")}
    for p in check(proj, merged.frames, merged.bib_keys):
        table = tables.get(p.file)
        if p.kind == "unique" and (table, p.column) in (("polls", "poll_id"),
                                                        ("results", "result_id")):
            continue  # reported by merge, against the YAML field, with a clearer message
        if (table, p.line) not in merged.fields:
            add.problems.append(f"{p} (after this addition)")
            continue
        where = merged.fields[table, p.line] + p.column
        message = p.message
        if p.kind == "empty" and where in add.left_out:
            message = empty_message(cur.tables[table].columns.get(p.column), missing=True)
        if p.kind == "source":
            if add.bib_refused is not None and merged.frames[table].loc[p.line, p.column] \
                    == add.bib_refused:
                continue  # its entry under bibtex: was refused, and that problem says why
            message += "; or give its entry under bibtex: in this file"
        add.problem(where, message)


def render(proj: Project, doc: dict, cur: Current, merged: Merged, add: Addition) -> None:
    """The texts the addition writes, the rows it adds and its changelog line."""
    for name, n in {"polls": 1, "results": len(add.results)}.items():
        table, frame = cur.tables[name], merged.frames[name]
        path = proj.data / table.file
        text = canonical_text(frame, table)
        if text != path.read_text(encoding="utf-8"):
            add.texts[path] = text
        new = frame.iloc[len(frame) - n:]  # the rows merge appended
        add.new_lines[path] = csv_text(new[list(table.columns)]).splitlines()[1:]
    bib_text = cur.bib_text
    if add.bib_key:
        bib_text = _appended(bib_text, "\n" + doc["bibtex"].strip())
    if bib_text != proj.bib.read_text(encoding="utf-8"):  # --replace may have taken an entry out
        add.texts[proj.bib] = bib_text
    row = merged.frames["polls"].iloc[-1].to_dict()
    add.changelog_line = _changelog_line(row, len(add.results), add.bib_key)
    add.texts[proj.data / CHANGELOG] = _logged(proj, add.changelog_line)


def plan(proj: Project, doc: dict, label: str, replace: bool = False) -> Addition:
    """Check the addition of poll file `label` (`doc`, as pollfile.load_yaml read it) and render
    what it writes; with `replace` (add-poll --replace), the file's poll takes the place of
    the poll with its poll_id, as one change. The caller holds the lock on data/
    (store.writing, or store.reading for a dry run) until after it has written.
    """
    add = Addition(label)
    cur = read_current(proj, add)
    if cur is not None and replace:
        cur = _old_removed(proj, doc, cur, add)
    if cur is None:
        return add
    merged = merge(doc, cur, add)
    recheck(proj, cur, merged, add)
    if add.problems:
        return add
    render(proj, doc, cur, merged, add)
    if rem := add.replaced:
        from . import verify  # (and nbformat): only a replacement drops checks

        line = add.changelog_line.replace(": added poll ", ": replaced poll ", 1)
        n = len(rem.results)
        add.changelog_line = f"{line} (was {n} result{'' if n == 1 else 's'}; verify it again)"
        add.texts[proj.data / CHANGELOG] = _logged(proj, add.changelog_line)
        add.texts.update(verify.drop(proj, {add.poll_id}, set(rem.results),
                                     set(merged.frames["results"]["source"].dropna())))
    return add


# ---------------------------------------------------------------- removing a poll


@dataclass
class Removal:
    """What removing a poll takes out: its row, every result naming it, its bibliography
    entries that nothing else cites, its checks; `texts` are the files as they would be."""

    problems: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    bib_removed: list[str] = field(default_factory=list)
    texts: dict[Path, str] = field(default_factory=dict)
    changelog_line: str = ""


def _entry_span(text: str, key: str) -> tuple[int, int] | None:
    """Where the BibTeX entry `key` stands in `text`, with the blank line before it and the
    line end after it that add-poll wrote with it; None if it is not there."""
    m = re.search(rf"^[ \t]*@\w+\s*\{{\s*{re.escape(key)}\s*,", text, re.M)
    if not m:
        return None
    depth, i = 0, text.index("{", m.start())
    while i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            break
    start, end = m.start(), i
    if text[end:end + 1] == "\n":
        end += 1
    if text[max(0, start - 2):start] == "\n\n":
        start -= 1
    return start, end


def _cited_elsewhere(proj: Project, frames: dict[str, pd.DataFrame], key: str) -> bool:
    """Whether a row of data/ or a chapter still cites bibliography key `key`."""
    if any(key in split_ids(str(cell)) for frame in frames.values() if frame is not None
           for column in frame.columns if column in ("source", "sources")
           or column.endswith("_source") for cell in frame[column].dropna()):
        return True
    cite = re.compile(rf"@{re.escape(key)}(?![\w:.-]*\w)")
    prose = [proj.report, *sorted(proj.chapters.glob("*.qmd"))]
    return any(cite.search(p.read_text(encoding="utf-8")) for p in prose if p.is_file())


def _without(proj: Project, cur: Current, poll_id: str, keep: set[str],
             rem: Removal) -> Current:
    """The data as it would be without poll `poll_id` (`keep`: bib keys never removed)."""
    polls, results = cur.frames["polls"], cur.frames["results"]
    hit = [poll_id in split_ids(c) for c in results["poll_id"].fillna("")]
    rem.results = [str(r) for r in results.loc[hit, "result_id"]]
    frames = dict(cur.frames)
    frames["polls"] = polls[polls["poll_id"] != poll_id]
    frames["results"] = results[[not h for h in hit]]
    gone = polls.loc[polls["poll_id"] == poll_id, "source"].dropna().tolist()
    gone += results.loc[hit, "source"].dropna().tolist()
    text, keys = cur.bib_text, set(cur.bib_keys)
    for key in sorted(set(gone) - keep):
        span = _entry_span(text, key)
        if span and not _cited_elsewhere(proj, frames, key):
            text = text[:span[0]] + text[span[1]:]
            keys.discard(key)
            rem.bib_removed.append(key)
    return Current(cur.tables, frames, text, keys)


def plan_removal(proj: Project, poll_id: str) -> Removal:
    """Check and render the removal of a poll; problems in `rem.problems` mean no writing.

    The caller holds the lock on data/ (store.writing) until after `store.commit`.
    """
    from . import verify

    rem = Removal()
    add = Addition("data/")
    cur = read_current(proj, add)
    if cur is None:
        rem.problems = add.problems
        return rem
    if poll_id not in set(cur.frames["polls"]["poll_id"].dropna()):
        rem.problems.append(f"poll '{poll_id}' is not in data/polls.csv; allowed: a poll_id "
                            "that `unionstate check` lists in data/polls.csv")
        return rem
    after = _without(proj, cur, poll_id, set(), rem)
    problems = check(proj, after.frames, after.bib_keys)
    if problems:
        rem.problems += [f"{p} (after removing '{poll_id}')" for p in problems]
        return rem
    for name in ("polls", "results"):
        table = cur.tables[name]
        rem.texts[proj.data / table.file] = canonical_text(after.frames[name], table)
    if after.bib_text != cur.bib_text:
        rem.texts[proj.bib] = after.bib_text
    n = len(rem.results)
    rem.changelog_line = (f"- {date.today().isoformat()}: removed poll {poll_id}; {n} "
                          f"result{'' if n == 1 else 's'}"
                          + (f"; references.bib entry {', '.join(rem.bib_removed)} removed"
                             if rem.bib_removed else ""))
    rem.texts[proj.data / CHANGELOG] = _logged(proj, rem.changelog_line)
    rem.texts.update(verify.drop(proj, {poll_id}, set(rem.results),
                                 set(after.frames["results"]["source"].dropna())))
    return rem


def _old_removed(proj: Project, doc: dict, cur: Current, add: Addition) -> Current | None:
    """add-poll --replace: the data without the poll the file replaces (its row, its results,
    its bibliography entry where nothing else cites it, unless the file cites it), or None."""
    poll_id = doc.get("poll_id")
    if not isinstance(poll_id, str) or poll_id.strip() not in set(cur.frames["polls"]["poll_id"]):
        add.problem("poll_id", f"'{poll_id}' is not in data/polls.csv; allowed: the poll_id of "
                               "the poll to replace (leave out --replace to add a new poll)")
        return None
    keep = {str(r.get("source")).strip() for r in [doc, *(doc.get("results") or [])]
            if isinstance(r, dict) and isinstance(r.get("source"), str)}
    if isinstance(doc.get("bibtex"), str):
        keep = set()  # the file brings its entry again
    add.replaced = Removal()
    return _without(proj, cur, poll_id.strip(), keep, add.replaced)


def describe(add: Addition, proj: Project, dry_run: bool) -> list[str]:
    """Lines telling what the addition changes (or, with dry_run, would change)."""
    would = "would " if dry_run else ""
    n = len(add.results)
    verb = ("would replace" if dry_run else "Replaced") if add.replaced else \
        ("would add" if dry_run else "Added")
    out = [f"{'Dry run: ' if dry_run else ''}{verb} poll "
           f"'{add.poll_id}' with {n} result{'' if n == 1 else 's'}"
           f"{'; nothing was written.' if dry_run else '.'}"]
    if "results" in add.left_out:
        out.append("The file has no results: list. That is right only for a poll its source "
                   "cites without figures (like focus-2018); otherwise add them.")
    for path, lines in add.new_lines.items():
        if lines:
            out.append(f"{proj.rel(path)}: {would}add {len(lines)} "
                       f"row{'' if len(lines) == 1 else 's'} (file rewritten in canonical order)")
            out += [f"  {line}" for line in lines]
    if add.bib_key:
        out.append(f"{proj.rel(proj.bib)}: {would}append entry '{add.bib_key}'")
    if add.replaced:
        rem = add.replaced
        out.append(f"The old poll's {len(rem.results)} result(s) {would}go"
                   + (f", and its references.bib entry {', '.join(rem.bib_removed)}"
                      if rem.bib_removed and not add.bib_key else "")
                   + "; so do its checks (tests/verified.yaml, its cards in tests/notebooks/).")
    out.append(f"{proj.rel(proj.data / CHANGELOG)}: {would}append")
    out.append(f"  {add.changelog_line}")
    if not dry_run:
        out.append(f"Next: type its figures a second time, `uv run unionstate verify "
                   f"{add.poll_id}`, then `uv run unionstate build` and `uv run pytest`.")
    return out
