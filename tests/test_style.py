"""Each stance and qualifier code has one visual record (style.py), the records and the
codebook agree, and the charts as drawn keep them: a colour or a mark means one thing across
the report, the colours are the published Okabe & Ito palette, and those drawn side by side
stay apart under simulated colour blindness. The drawn charts are read back with
tests/readback.py, not taken from style.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from readback import elements, read_marks

from unionstate import style
from unionstate.codebook import load as load_codebook

# Okabe, M. & Ito, K. (2008), "Color Universal Design (CUD): how to make figures and
# presentations that are friendly to colorblind people", typed from the published table.
PUBLISHED_OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                       "#D55E00", "#CC79A7"}
# The smallest colour difference (CAM02-UCS distance) allowed between two stances drawn in one
# chart, for normal vision and for full deuteranomaly and protanomaly (together about 8% of
# men). The palette this replaced had vermillion and orange side by side (15.2 under
# deuteranomaly) and purple beside blue (14.0 under protanomaly); a reader confused them.
REPO = Path(__file__).resolve().parents[1]
MIN_DISTANCE = 15.5
VISION = [None, "deuteranomaly", "protanomaly"]


@pytest.fixture(scope="module")
def codes(repo_project):
    columns = load_codebook(repo_project.codebook)["results"].columns
    return {"stance": columns["stance"].codes, "qualifier": columns["qualifier"].codes}


@pytest.fixture(scope="module")
def drawn(repo_project):
    """label -> (figure, plotted rows) for every chart that draws poll figures."""
    from unionstate.report import RESULT_ROWS, Report

    report = Report.load(repo_project.root)
    return {label: (report.figure(label), report.plotted(label)) for label in RESULT_ROWS}


def test_every_stance_code_has_exactly_one_record_and_vice_versa(codes):
    assert set(style.STANCES) == set(codes["stance"]), (
        f"codebook only: {sorted(set(codes['stance']) - set(style.STANCES))}; "
        f"style.py only: {sorted(set(style.STANCES) - set(codes['stance']))}")


def test_every_qualifier_code_has_exactly_one_record_and_vice_versa(codes):
    assert set(style.QUALIFIERS) == set(codes["qualifier"]), (
        f"codebook only: {sorted(set(codes['qualifier']) - set(style.QUALIFIERS))}; "
        f"style.py only: {sorted(set(style.QUALIFIERS) - set(codes['qualifier']))}")


def test_the_palette_is_the_published_okabe_ito_palette():
    assert {c.upper() for c in style.OKABE_ITO.values()} - {"#999999"} == PUBLISHED_OKABE_ITO
    assert {s.colour.upper() for s in style.STANCES.values()} <= PUBLISHED_OKABE_ITO


def _stance_colours(drawn) -> dict[str, dict[str, set[str]]]:
    """label -> drawn colour ('#rrggbb') -> the stances of the figures drawn in it."""
    out: dict[str, dict[str, set[str]]] = {}
    for label, (fig, rows) in drawn.items():
        stance_of = dict(zip(rows["result_id"], rows["stance"], strict=True))
        for rid, mark in read_marks(fig).items():
            for el in mark.parts:
                out.setdefault(label, {}).setdefault(el.colour, set()).add(stance_of[rid])
    return out


def test_one_meaning_per_colour_across_the_drawn_charts(drawn):
    """Read back from every chart: each colour drawn is one stance, the same in every chart,
    and each stance one colour; no stance is drawn in grey, which carries none."""
    meaning: dict[str, set[str]] = {}
    for colours in _stance_colours(drawn).values():
        for colour, stances in colours.items():
            meaning.setdefault(colour, set()).update(stances)
    assert all(len(s) == 1 for s in meaning.values()), meaning
    stances = [next(iter(s)) for s in meaning.values()]
    assert len(set(stances)) == len(stances), f"a stance in two colours: {meaning}"
    assert style.MUTED.lower() not in meaning and "#999999" not in meaning


def test_one_meaning_per_mark_across_the_drawn_charts(drawn):
    """Read back from every chart: each look of a mark (shape, fill, bar) is one qualifier."""
    meaning: dict[str, set[str]] = {}
    for fig, rows in drawn.values():
        qualifier_of = dict(zip(rows["result_id"], rows["qualifier"], strict=True))
        for rid, mark in read_marks(fig).items():
            for el in mark.parts:
                meaning.setdefault(el.look, set()).add(qualifier_of[rid])
    assert all(len(q) == 1 for q in meaning.values()), meaning


def _distance(a: str, b: str, vision: str | None) -> float:
    from colorspacious import cspace_convert
    from matplotlib.colors import to_rgb

    def seen(colour):
        rgb = np.array(to_rgb(colour))
        if vision is not None:
            rgb = np.clip(cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": vision,
                                               "severity": 100}, "sRGB1"), 0, 1)
        return cspace_convert(rgb, "sRGB1", "CAM02-UCS")

    return float(np.linalg.norm(seen(a) - seen(b)))


def test_colours_drawn_side_by_side_stay_apart_in_colour_blind_vision(drawn):
    too_close = []
    for label, colours in _stance_colours(drawn).items():
        for a, b in itertools.combinations(sorted(colours), 2):
            for vision in VISION:
                d = _distance(a, b, vision)
                if d < MIN_DISTANCE:
                    too_close.append(f"{label}: {colours[a]} {a} and {colours[b]} {b}, "
                                     f"{d:.1f} for {vision or 'normal'} vision")
    assert not too_close, "\n".join(too_close)


def test_the_distance_tells_the_old_confusion_apart():
    """The measure bites: vermillion beside orange (the old incorporation and merger) is
    below the limit for deuteranomaly, while black and orange are far apart."""
    assert _distance("#D55E00", "#E69F00", "deuteranomaly") < MIN_DISTANCE
    assert _distance("#000000", "#E69F00", "deuteranomaly") > 3 * MIN_DISTANCE


def test_one_legend_text_per_stance_and_per_qualifier():
    legends = [q.legend for q in style.QUALIFIERS.values()]
    assert len(set(legends)) == len(legends)
    assert len({s.legend for s in style.STANCES.values()}) == len(style.STANCES)


def test_every_drawn_element_belongs_to_a_labelled_figure(drawn):
    """No mark without the text that names it (readback.read_marks ties marks to labels)."""
    for label, (fig, _rows) in drawn.items():
        tied = {(id(el.axes), el.pos) for m in read_marks(fig).values() for el in m.parts}
        loose = [el for el in elements(fig) if (id(el.axes), el.pos) not in tied]
        assert not loose, (label, loose)


def _add_stance(proj, code: str, result_id: str, set_cell) -> None:
    path = proj.codebook
    text = path.read_text(encoding="utf-8")
    anchor = "          status_quo: \"Keep relations as they are"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, f"          {code}: \"A stance for a test.\"\n"
                                 + anchor), encoding="utf-8")
    set_cell(proj, "results.csv", result_id, "stance", code)


def test_a_new_stance_code_is_refused_by_build_not_a_key_error(tmp_path, set_cell, tree_digest):
    """A stance the codebook gains before style.py does: `unionstate build` stops before any
    cell runs (the kernel checks data/ first), naming the file, line and column, with no
    traceback (unionstate.codes), and figures/ is left as it was."""
    from click.testing import CliRunner
    from conftest import copy_report

    from unionstate.cli import main

    proj = copy_report(tmp_path / "report")
    _add_stance(proj, "confederation", "blr-zois-2021-closer-union", set_cell)
    figures = tree_digest(proj.figures)
    result = CliRunner().invoke(main, ["build", "--root", str(proj.root)])
    assert tree_digest(proj.figures) == figures
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "data/results.csv, line" in result.output and "'stance'" in result.output
    assert "'confederation'" in result.output and "lacks a visual encoding in style.py" in result.output
    assert "Traceback" not in result.output


def test_a_stance_without_a_record_still_has_a_fallback_look():
    """Belt and braces for code that draws without `check` first: grey, the code as words."""
    look = style.stance("confederation")
    assert look.colour == style.OKABE_ITO["grey"] and look.legend == "confederation"


@pytest.mark.parametrize("label", ["fig-blr-opinion", "fig-rus-opinion"])
def test_each_poll_lists_its_answers_in_the_legends_order(label):
    """Within each poll's block, answers run from joining Russia to keeping relations as they
    are, as the legend lists the stances, so that blocks can be read against each other. The
    order is typed here; the rows are read from the chart's committed CSV, top row first."""
    import csv
    from pathlib import Path

    order = ["incorporation", "merger", "political_integration", "closer_union", "economic",
             "status_quo"]
    path = Path(__file__).resolve().parents[1] / "figures" / f"{label}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["y"]) for r in rows] == sorted(float(r["y"]) for r in rows)
    blocks: dict[str, list[int]] = {}
    for row in rows:
        blocks.setdefault(row["poll_label"], []).append(order.index(row["stance"]))
    assert len(blocks) > 1
    for poll, ranks in blocks.items():
        assert ranks == sorted(ranks), (poll, [order[i] for i in ranks])


def test_no_text_of_any_chart_runs_off_the_figure(repo_project):
    """Every label, tick, legend entry and title of every chart lies inside the figure, as the
    SVG lays it out (a long axis label, centred under a narrow axis, once ran off the right
    edge of the poll calendar, which constrained layout does not prevent)."""
    from matplotlib.text import Text

    from unionstate import figures
    from unionstate.report import CHARTS, Report

    report = Report.load(repo_project.root)
    for label in CHARTS:
        fig, _ = report._draw(label)
        figures.svg_of(fig)  # lays the chart out as the build does, with the SVG's metrics
        width, height = fig.bbox.width, fig.bbox.height
        for text in fig.findobj(Text):
            if text.get_visible() and text.get_text().strip():
                box = text.get_window_extent()
                assert (box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1
                        and box.y1 <= height + 1), (label, text.get_text(), box.extents)


# Text from a poll file or data/ is data: drawn as the characters typed, never parsed as
# matplotlib mathtext (issue 24). `\frac` with no arguments makes the mathtext parser fail;
# `$x^2$` would be drawn as an italic x squared, and `_` must stay an underscore.
HOSTILE_POLLSTER = r"Poll $\frac$ Ltd"
HOSTILE_EVENT = r"Summit $x^2$ and a_b"


def _svg_texts(svg: str) -> list[str]:
    """The text of every <text> element of an SVG saved with svg.fonttype 'none'."""
    import xml.etree.ElementTree as ET

    return ["".join(el.itertext()) for el in ET.fromstring(svg).iter()
            if el.tag.endswith("}text")]


def test_text_from_the_data_is_drawn_as_typed(tmp_path, set_cell):
    import matplotlib as mpl
    from conftest import copy_report
    from matplotlib.text import Text

    from unionstate import figures
    from unionstate.report import CHARTS, Report

    proj = copy_report(tmp_path / "report")
    set_cell(proj, "polls.csv", "nasb-2020-06", "pollster", HOSTILE_POLLSTER)
    set_cell(proj, "events.csv", "moscow-summit", "label", HOSTILE_EVENT)
    report = Report.load(proj.root)
    seen: dict[str, list[str]] = {}
    for label in CHARTS:
        fig, _ = report._draw(label)
        with mpl.rc_context({"svg.fonttype": "none"}):  # text as text, to read it back
            svg = figures.svg_of(fig)
        figures.png_of(svg)  # the PNG is rasterised from the SVG, as a build does
        drawn = [t.get_text() for t in fig.findobj(Text)]
        seen[label] = [t for t in _svg_texts(svg) if "$" in t]
        assert all(t in "\n".join(drawn) for t in seen[label]), label
    assert any(t.startswith(HOSTILE_POLLSTER) for t in seen["fig-blr-opinion"]), seen
    assert any(HOSTILE_POLLSTER in t for t in seen["fig-mirror"]), seen
    assert any(t.startswith(HOSTILE_EVENT + " (") for t in seen["fig-timeline"]), seen


def test_the_timeline_marks_each_event_at_its_year_and_no_wider(repo_project):
    """Read back from the drawn timeline: each event's row holds a dot at the year its date
    in data/events.csv has (read with the csv module), and a period a dot at its first and
    its last year joined by a line; nothing spans a year it was not given for."""
    import csv

    from readback import elements

    from unionstate.report import Report

    with (repo_project.root / "data" / "events.csv").open(encoding="utf-8", newline="") as f:
        events = list(csv.DictReader(f))
    fig = Report.load(repo_project.root).figure("fig-timeline")
    (ax,) = fig.axes
    def bare(text: str) -> str:  # a row label is wrapped, at spaces or after hyphens
        return "".join(text.split())

    rows = {float(y): bare(t.get_text())
            for y, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}
    drawn = elements(fig)
    assert len(rows) == len(events)
    for event in events:
        (y,) = [y for y, text in rows.items() if text.startswith(bare(event["label"]) + "(")]
        years = [int(event["date"][:4])] + ([int(event["date_end"][:4])]
                                            if event["date_end"] else [])
        dots = sorted(el.share[0] for el in drawn if el.kind == "marker" and el.pos == y)
        lines = [el.share for el in drawn if el.kind == "line" and el.pos == y]
        assert dots == [float(v) for v in years], (event["event_id"], dots)
        assert lines == ([(float(years[0]), float(years[-1]))] if len(years) > 1 else []), \
            (event["event_id"], lines)


@pytest.mark.parametrize("country", ["BLR", "RUS"])
def test_each_polls_answers_follow_the_legend_whatever_the_order_of_results_csv(tmp_path,
                                                                                country):
    """The order within a poll's block comes from the legend's order of stances (typed here,
    as above), not from the order of the rows in data/results.csv, which is reversed here."""
    import shutil

    from unionstate.charts import opinion_rows
    from unionstate.data import load
    from unionstate.paths import Project

    order = ["incorporation", "merger", "political_integration", "closer_union", "economic",
             "status_quo"]
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copy2(REPO / "references.bib", tmp_path / "references.bib")
    path = tmp_path / "data" / "results.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(header + "".join(reversed(rows)), encoding="utf-8")
    blocks: dict[str, list[int]] = {}
    for row in opinion_rows(load(Project(tmp_path)), country).itertuples():
        blocks.setdefault(row.poll_label, []).append(order.index(row.stance))
    assert len(blocks) > 1
    assert all(ranks == sorted(ranks) for ranks in blocks.values()), blocks


def test_a_lower_bounds_key_is_drawn_as_its_mark(drawn):
    """'More than N%' is drawn as a triangle at N with a dotted line running on to the right;
    its legend key shows the same: one triangle, at the left end of a dotted line."""
    fig, _ = drawn["fig-rus-opinion"]
    keys = [h for legend in fig.legends for h in legend.legend_handles
            if getattr(h, "get_linestyle", lambda: None)() == ":"]
    assert len(keys) == 1, keys
    (key,) = keys
    xs = list(key.get_xdata())
    assert key.get_marker() == ">" and xs == sorted(xs) and len(xs) > 1
    assert list(key.get_markevery()) == [0]
