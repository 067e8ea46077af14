"""The report's tables, as Markdown pipe tables built from data/ (tabulate does the layout)."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata

import pandas as pd

from .codebook import load as load_codebook
from .data import Dataset
from .paths import Project
from .style import COUNTRY_NAMES, qualifier
from .text import Md
from .views import cite, latest, organisation, period_text, results_view

PACKAGES = ["unionstate", "pandas", "matplotlib", "pandera", "nbclient", "ipykernel", "tabulate"]


def _cell(value) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown(frame: pd.DataFrame) -> Md:
    """A pipe table of the frame; cell text is cleaned of newlines and pipes."""
    clean = frame.map(_cell)
    return Md(clean.to_markdown(index=False, tablefmt="pipe"))


def _cite_at(key: str, locator: str) -> str:
    return f"[@{key}, {locator}]"


def _source_column(frame: pd.DataFrame) -> list[str]:
    """Each row's source and locator as a Pandoc citation."""
    return [_cite_at(s, loc) for s, loc in zip(frame["source"], frame["locator"], strict=True)]


def goals(ds: Dataset) -> pd.DataFrame:
    g = ds.goals
    return pd.DataFrame({
        "Aspect": g["aspect"],
        "What Minsk wants": g["minsk"],
        "What Moscow wants": g["moscow"],
        "Source": _source_column(g),
    })


def elites(ds: Dataset) -> pd.DataFrame:
    e = ds.elites
    return pd.DataFrame({
        "Country": e["country"].astype(str).map(COUNTRY_NAMES),
        "Group": e["group"],
        "Interests": e["interests"],
        "Bearing on integration": e["view_of_integration"],
        "Source": _source_column(e),
    })


def arguments(ds: Dataset) -> pd.DataFrame:
    a = ds.arguments
    return pd.DataFrame({
        "Claim": a["claim"],
        "Where they agree": a["agree"],
        "Where they differ": a["differ"],
        "Shraibman's evidence": [f"{ev} {_cite_at('shraibman', loc)}" for ev, loc in
                                 zip(a["evidence_shraibman"], a["locator_shraibman"], strict=True)],
        "Melyantsou's evidence": [f"{ev} {_cite_at('melyantsou2021', loc)}" for ev, loc in
                                  zip(a["evidence_melyantsou"], a["locator_melyantsou"],
                                      strict=True)],
    })


def indicators(ds: Dataset) -> pd.DataFrame:
    view = results_view(ds)
    rows = []
    for ind in ds.indicators.itertuples():
        last = latest(view, str(ind.country), str(ind.stance))
        rows.append({
            "Indicator": ind.label,
            "Public": COUNTRY_NAMES[str(ind.country)],
            "Latest reading": "no reading yet" if last is None else last["text"],
            "Poll": "" if last is None else
            f"{last['organisation']}, {last['when']} {cite(last['sources'].split(';'))}",
            "Why watch it": ind.why,
        })
    return pd.DataFrame(rows)


def polls(ds: Dataset) -> pd.DataFrame:
    counts = ds.result_polls.groupby("poll_id").size()
    p = ds.polls.sort_values(["country", "fieldwork_start_first", "poll_id"])
    return pd.DataFrame({
        "Poll": p["poll_id"],
        "Public": p["country"].astype(str).map(COUNTRY_NAMES),
        "Pollster (commissioner)": [
            organisation(r) + (f" ({r['commissioned_by']})" if pd.notna(r["commissioned_by"])
                               and pd.notna(r["pollster"]) else "")
            for _, r in p.iterrows()],
        "Fieldwork": [period_text(a, b) for a, b in
                      zip(p["fieldwork_start"], p["fieldwork_end"], strict=True)],
        "Population": p["population"],
        "Mode": p["mode"].astype(str),
        "Sample": p["sample_size"].map(lambda n: "not given" if pd.isna(n) else f"{n:,}"),
        "Figures": p["poll_id"].map(lambda i: int(counts.get(i, 0))),
        "Source": [f"[@{s}]; {loc}" for s, loc in zip(p["source"], p["locator"], strict=True)],
    })


def qualifiers(ds: Dataset, proj: Project) -> pd.DataFrame:
    codes = load_codebook(proj.codebook)["results"].columns["qualifier"].codes
    view = results_view(ds)
    rows = []
    for q, meaning in codes.items():
        example = view[view["qualifier"] == q]
        mark = qualifier(q)
        rows.append({
            "Qualifier": q,
            "Meaning and storage": meaning,
            "Example in this report": "none yet" if example.empty else example.iloc[0]["text"],
            "Drawn as": f"{mark.drawn}; legend: {mark.legend}",
        })
    return pd.DataFrame(rows)


def reproducibility(proj: Project) -> pd.DataFrame:
    """SHA-256 of every data file and the versions of the packages that drew the report."""
    rows = []
    for path in sorted([*proj.data.glob("*.csv"), proj.codebook, proj.bib]):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rows.append({"Item": proj.rel(path), "Version or SHA-256": f"`{digest}`"})
    rows.append({"Item": "Python", "Version or SHA-256": platform.python_version()})
    for name in PACKAGES:
        rows.append({"Item": name, "Version or SHA-256": metadata.version(name)})
    return pd.DataFrame(rows)
