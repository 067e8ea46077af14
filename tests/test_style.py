"""Each stance and qualifier code has one visual record (style.py), and the records and the
codebook agree: a colour or a mark means one thing across the report."""

from __future__ import annotations

import pytest

from unionstate import style
from unionstate.codebook import load as load_codebook


@pytest.fixture(scope="module")
def codes(repo_project):
    columns = load_codebook(repo_project.codebook)["results"].columns
    return {"stance": columns["stance"].codes, "qualifier": columns["qualifier"].codes}


def test_every_stance_code_has_exactly_one_record_and_vice_versa(codes):
    assert list(style.STANCES) == list(dict.fromkeys(style.STANCES))  # keys unique by dict
    assert set(style.STANCES) == set(codes["stance"]), (
        f"codebook only: {sorted(set(codes['stance']) - set(style.STANCES))}; "
        f"style.py only: {sorted(set(style.STANCES) - set(codes['stance']))}")
    assert all(code == rec.code for code, rec in style.STANCES.items())


def test_every_qualifier_code_has_exactly_one_record_and_vice_versa(codes):
    assert set(style.QUALIFIERS) == set(codes["qualifier"]), (
        f"codebook only: {sorted(set(codes['qualifier']) - set(style.QUALIFIERS))}; "
        f"style.py only: {sorted(set(style.QUALIFIERS) - set(codes['qualifier']))}")
    assert all(code == rec.code for code, rec in style.QUALIFIERS.items())


def test_one_meaning_per_colour():
    colours = [s.colour.upper() for s in style.STANCES.values()]
    assert len(set(colours)) == len(colours), "two stances share a colour"
    reserved = {style.INK.upper(), style.MUTED.upper(), style.OKABE_ITO["grey"].upper()}
    assert not reserved & set(colours), "a stance uses a colour kept for marks with no stance"
    assert set(colours) <= {c.upper() for c in style.OKABE_ITO.values()}


def test_one_meaning_per_mark_and_per_legend_text():
    looks = [(q.marker, q.filled, q.line, q.at_bounds, q.open_end)
             for q in style.QUALIFIERS.values()]
    assert len(set(looks)) == len(looks), "two qualifiers share a mark"
    legends = [q.legend for q in style.QUALIFIERS.values()]
    assert len(set(legends)) == len(legends)
    assert len({s.legend for s in style.STANCES.values()}) == len(style.STANCES)


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
