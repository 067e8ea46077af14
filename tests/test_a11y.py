"""The report is accessible: axe-core finds nothing to fix in a real browser.

axe-core (bundled by axe-playwright-python) audits the preview `_build/report.html`, built into a
temporary copy, and, where Quarto is installed, Quarto's `report.html`, in Chromium at a desktop
(1280x900) and a phone (390x844) viewport, with the rule sets wcag2a, wcag2aa, wcag21a, wcag21aa
and best-practice: no violation may remain. Beside axe: every table is named by its caption, the
title is the only <h1>, and the keyboard focus outline has 3:1 contrast with the page.
`tests/fixtures/a11y/old-styles.html` reduces what report.html looked like before
`src/unionstate/report.css`: the audit must fail on it, and pass once the stylesheet is added.

Needs the `browser` dependency group and a Chromium (Playwright's own browser download is not
used); without them the tests skip and say what to install:

    uv sync --group browser
    sudo apt-get install chromium     # Debian/Ubuntu; or UNIONSTATE_CHROMIUM=/path/to/chromium
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import copy_report, quarto_files  # tests/ is on sys.path (rootdir import mode)

from unionstate.build import build
from unionstate.preview import stylesheet

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "a11y" / "old-styles.html"
# What the preview is built from (as in test_build.py); Quarto gets the whole checkout.
QUARTO = shutil.which("quarto")
RULE_SETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
VIEWPORTS = {"1280x900": {"width": 1280, "height": 900}, "390x844": {"width": 390, "height": 844}}
DESKTOP = VIEWPORTS["1280x900"]
PHONE = VIEWPORTS["390x844"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_GROUP = "the browser tests need the `browser` dependency group: `uv sync --group browser`"
INSTALL_CHROMIUM = ("the browser tests need Chromium: `sudo apt-get install chromium` (Debian/Ubuntu), "
                    "or set UNIONSTATE_CHROMIUM to a Chromium binary")
TABLE_DIV = re.compile(r"^:::+\s*\{#(tbl-[\w-]+)", re.M)


def chromium() -> str | None:
    path = os.environ.get("UNIONSTATE_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    return path if path and Path(path).is_file() else None


# ------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(INSTALL_GROUP)
    try:
        import axe_playwright_python  # noqa: F401
    except ImportError:
        pytest.skip(INSTALL_GROUP)
    path = chromium()
    if path is None:
        pytest.skip(INSTALL_CHROMIUM)
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chrome
        chrome.close()


def open_page(browser, html: Path, viewport: dict):
    """`html` in a fresh page; only file: and data: URLs load (the audited pages must stand alone,
    and CI has no network but the package registries)."""
    page = browser.new_page(viewport=viewport)
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith(("file:", "data:")) else route.abort())
    page.goto(html.as_uri())
    return page


def violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": RULE_SETS}, "resultTypes": ["violations"]}
    return Axe().run(page, options=options).response["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']}: {summary[:300]}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ focus contrast

FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  let bg = 'rgba(0, 0, 0, 0)';
  for (let e = el; e && bg.endsWith(', 0)'); e = e.parentElement) bg = getComputedStyle(e).backgroundColor;
  return {what: el.tagName + ' ' + (el.textContent || '').trim().slice(0, 40),
          style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor,
          background: bg.endsWith(', 0)') ? 'rgb(255, 255, 255)' : bg, shadow: s.boxShadow};
}"""


def luminance(rgb: str) -> float:
    r, g, b = (int(float(x)) / 255 for x in re.findall(r"[\d.]+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def weak_focus(page, selector: str = "a[href]", presses: int = 30) -> list[str]:
    """Tab through the page; each focused element matching `selector` whose focus outline is
    missing, thinner than 2px or under 3:1 against the background behind it."""
    weak, seen = [], 0
    page.locator("body").focus()
    for _ in range(presses):
        page.keyboard.press("Tab")
        if not page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            continue
        seen += 1
        f = page.evaluate(FOCUS_STYLE)
        ratio = contrast(f["colour"], f["background"])
        if f["style"] == "none" or f["width"] < 2 or ratio < 3:
            weak.append(f"{f['what']!r}: outline {f['style']} {f['width']}px {f['colour']} on "
                        f"{f['background']} ({ratio:.2f}:1), box-shadow {f['shadow']}")
    assert seen, f"Tab reached no {selector} in {presses} presses"
    return weak


# ------------------------------------------------------------------------------ the pages


@pytest.fixture(scope="session")
def preview(browser, built) -> Path:
    """`_build/report.html` of the session's fresh build of a copy of the project (conftest)."""
    return built.proj.build / "report.html"


@pytest.fixture(scope="session")
def quarto_html(browser, tmp_path_factory) -> Path:
    """Quarto's `report.html`, made by `unionstate build` (Quarto renders the executed
    notebook) in a copy of the project."""
    if QUARTO is None:
        pytest.skip("quarto not on PATH: install it from quarto.org or `uv sync --extra render`")
    proj = copy_report(tmp_path_factory.mktemp("a11y-quarto") / "project")
    build(proj, say=lambda _msg: None, force=True)
    return proj.root / "report.html"


@pytest.fixture(scope="session")
def shown(browser, request) -> Iterator[object]:
    """shown(which, viewport): the page `which` (a fixture name), loaded once per session in one
    browser tab and set to `viewport`. The tests below only read the page, set the viewport they
    need and move the focus from the top, so they can share the tab; loading the 1 MB preview
    costs Chromium more than most of them."""
    tabs = {}

    def show(which: str, viewport: str):
        if which not in tabs:
            tabs[which] = open_page(browser, request.getfixturevalue(which), VIEWPORTS[viewport])
        tabs[which].set_viewport_size(VIEWPORTS[viewport])
        return tabs[which]

    yield show
    for tab in tabs.values():
        tab.close()


PAGES = ["preview", pytest.param("quarto_html", marks=pytest.mark.quarto)]
# The tests below get their page by name (request.getfixturevalue), which pytest cannot see
# when it collects them; naming `built` tells conftest to start the shared build they read.
needs_build = pytest.mark.usefixtures("built")


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("which", PAGES)
@needs_build
def test_axe_finds_no_violation(which, viewport, shown):
    found = violations(shown(which, viewport))
    assert not found, f"axe-core: {which} at {viewport}:\n{describe(found)}"


@pytest.mark.parametrize("which", PAGES)
@needs_build
def test_every_table_is_named_by_its_caption(which, shown):
    expected = sorted({label for f in [REPO / "report.qmd", *(REPO / "chapters").glob("*.qmd")]
                       for label in TABLE_DIV.findall(f.read_text(encoding="utf-8"))})
    page = shown(which, "1280x900")
    names = [t.aria_snapshot().splitlines()[0] for t in page.locator("table").all()]
    assert len(names) == len(expected), f"{len(names)} tables on the page, {len(expected)} tbl- divs"
    unnamed = [n for n in names if not re.match(r"""- '?table "Table \d+[.:] \S""", n)]
    assert not unnamed, "tables whose accessible name is not their 'Table N' caption:\n" + \
        "\n".join(unnamed)


@pytest.mark.parametrize("which", PAGES)
@needs_build
def test_the_title_is_the_only_h1(which, shown):
    page = shown(which, "1280x900")
    h1 = page.locator("h1").all_inner_texts()
    h2 = page.locator("h2").count()
    assert len(h1) == 1, f"{len(h1)} <h1> elements: {h1}"
    assert "The Union That Wasn" in h1[0], h1
    assert h2 >= 9, f"only {h2} <h2>: the sections should be <h2>"


@pytest.mark.parametrize("which", PAGES)
@needs_build
def test_keyboard_focus_is_visible(which, shown):
    weak = weak_focus(shown(which, "1280x900"))  # Tab from the top of the page
    assert not weak, "focus indicators under 3:1 or under 2px:\n" + "\n".join(weak)


@needs_build
def test_the_previews_tables_read_like_quartos(shown):
    """JupyterLab's style right-aligns the cells of an output's table and, with report.css rule
    3, lets a narrow column split a word ("Figu|res", "approximate_ran|ge"). In the preview every
    cell is left-aligned, as Pandoc sets a Markdown table without alignment, and on a wide screen
    no cell splits a word: each is at least as wide as its longest word (checksums aside)."""
    page = shown("preview", "1280x900")
    cells = page.locator(".jp-OutputArea-output table").evaluate_all(
        "els => els.flatMap(t => [...t.querySelectorAll('th, td')]).map(c => ["
        "  c.tagName, getComputedStyle(c).textAlign, c.textContent.trim()])")
    assert len(cells) > 100, f"only {len(cells)} table cells in the preview"
    ragged = sorted({f"{tag} {align}: {text[:40]}" for tag, align, text in cells
                     if text and align not in ("left", "start")})
    assert not ragged, "cells not left-aligned:\n" + "\n".join(ragged[:10])
    # Words of up to 25 characters (not the 64-character checksums, which may break).
    split = page.locator(".jp-OutputArea-output table :is(th, td)").evaluate_all(
        "els => els.filter(th => {"
        "  const words = th.textContent.trim().split(/\\s+/).filter(w => w.length <= 25);"
        "  if (!words.length) return false;"
        "  const probe = document.createElement('span');"
        "  probe.style.whiteSpace = 'nowrap'; th.appendChild(probe);"
        "  const widest = Math.max(...words.map(w => { probe.textContent = w;"
        "    return probe.getBoundingClientRect().width; }));"
        "  probe.remove();"
        "  const cs = getComputedStyle(th);"
        "  const inner = th.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);"
        "  return widest > inner + 0.5; }).map(th => th.textContent.trim())")
    assert not split, f"cells narrower than a word they hold: {split}"


FIGURE = "span.result[data-result] > a[href^='#prov-']"
OPEN_PANEL = ".provenance-panel:not([hidden]), [data-tippy-root]"
# The box around a panel that hides part of it (overflow not visible), or the page's edges.
CUT_OFF = """panel => {
  const b = panel.getBoundingClientRect();
  if (b.left < 0 || b.right > document.documentElement.clientWidth) return 'the page';
  for (let el = panel.parentElement; el && el !== document.body; el = el.parentElement) {
    if (getComputedStyle(el).overflowX === 'visible') continue;
    const r = el.getBoundingClientRect();
    if (b.left < r.left - 0.5 || b.right > r.right + 0.5) return el.className || el.tagName;
  }
  return null;
}"""


def tab_to(page, selector: str, presses: int = 400) -> str:
    """Press Tab from the top of the page until an element matching `selector` has the focus;
    its text. Fails if Tab never reaches one."""
    page.locator("body").focus()
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return page.evaluate("() => document.activeElement.textContent")
    raise AssertionError(f"Tab reached no {selector} in {presses} presses")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("which", PAGES)
@needs_build
def test_a_figure_opens_its_provenance_by_keyboard_and_touch(which, viewport, browser, request):
    """The first poll figure is reached with Tab and announced as a link named by the figure;
    focus opens its panel (the figure's appendix entry, and a link to it), which axe-core
    finds no fault with and which fits the viewport; Tab goes into the panel; Escape closes
    it and puts the focus back on the figure; a tap opens it without leaving the page; the
    printed page shows no panel; hovering a figure opens its panel, and leaving closes it."""
    page = open_page(browser, request.getfixturevalue(which), VIEWPORTS[viewport])
    try:
        figure = tab_to(page, FIGURE)
        rid = page.evaluate("() => document.activeElement.parentElement.dataset.result")
        role = page.evaluate("() => document.activeElement.tagName")
        assert role == "A" and figure.strip(), (role, figure)
        panel = page.locator(OPEN_PANEL)
        panel.first.wait_for(state="visible", timeout=3000)
        text = panel.first.inner_text()
        entry = page.locator(f"#prov-{rid}").inner_text()
        assert entry.split(":")[0] in text and "Source:" in text, (text, entry)
        to_entry = panel.first.locator(f"a[href='#prov-{rid}']")
        assert to_entry.count() == 1, "the panel should link to the figure's appendix entry"
        box = panel.first.bounding_box()
        width = VIEWPORTS[viewport]["width"]
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
        found = violations(page)
        assert not found, f"axe-core with a panel open, {which} at {viewport}:\n{describe(found)}"
        page.keyboard.press("Tab")
        assert page.evaluate("(sel) => !!document.activeElement.closest(sel)",
                             ".provenance-panel, [data-tippy-root]"), \
            "Tab from the figure should go into its panel"
        page.keyboard.press("Escape")
        page.wait_for_timeout(400)
        assert page.locator(OPEN_PANEL).filter(visible=True).count() == 0, "Escape left it open"
        assert page.evaluate("(sel) => document.activeElement.matches(sel)", FIGURE), \
            "Escape should put the focus back on the figure"
        url = page.url
        page.locator(FIGURE).first.click()
        page.locator(OPEN_PANEL).first.wait_for(state="visible", timeout=3000)
        assert page.url == url, "a tap on a figure should open its panel, not leave the place"
        page.emulate_media(media="print")
        assert page.locator(OPEN_PANEL).filter(visible=True).count() == 0, "printed a panel"
        page.emulate_media(media="screen")
        page.keyboard.press("Escape")
        page.mouse.click(1, 1)
        page.wait_for_timeout(400)
        assert page.locator(OPEN_PANEL).filter(visible=True).count() == 0
        page.locator(FIGURE).nth(1).hover()
        page.locator(OPEN_PANEL).first.wait_for(state="visible", timeout=3000)
        page.mouse.move(1, 1)
        page.wait_for_timeout(700)
        assert page.locator(OPEN_PANEL).filter(visible=True).count() == 0, \
            "a panel opened by hovering should close when the pointer leaves"
        # The figure nearest the right edge: its panel is not cut off by a box around it.
        right = page.locator(FIGURE).evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
            ".reduce((best, r, i, all) => r > all[best] ? i : best, 0)")
        page.locator(FIGURE).nth(right).click()
        cut = page.locator(OPEN_PANEL).first.evaluate(CUT_OFF)
        assert cut is None, f"the panel of the rightmost figure is cut off by {cut}"
    finally:
        page.close()


def test_the_audit_fails_on_the_old_styles_and_the_stylesheet_fixes_them(browser):
    """The old caption links and table wrapper (a reduced copy of report.html before report.css)
    fail the audit; with report.css added, they pass. So the audit would catch them again."""
    page = open_page(browser, FIXTURE, PHONE)
    try:
        before = {v["id"] for v in violations(page)}
        page.set_viewport_size(DESKTOP)
        weak_before = weak_focus(page, "#TOC a")
        page.set_viewport_size(PHONE)
        page.add_style_tag(content=stylesheet())
        after = violations(page)
        page.set_viewport_size(DESKTOP)
        weak_after = weak_focus(page, "#TOC a")
    finally:
        page.close()
    assert {"link-in-text-block", "scrollable-region-focusable"} <= before, \
        f"the audit missed the old styles' failures; it found only {sorted(before)}"
    assert weak_before, "the old table-of-contents focus ring should measure under 3:1"
    assert not after, f"with report.css:\n{describe(after)}"
    assert not weak_after, "\n".join(weak_after)


# ------------------------------------------------------------------------------ no browser needed


def test_the_preview_gives_tables_a_caption_and_only_the_title_an_h1():
    """plain() on a small notebook shaped like the executed report: the tbl- caption becomes the
    table's <caption> (citations rendered), headings go one level down except the title, and a
    `#` line in a fenced code block is left alone."""
    import nbformat

    from unionstate.preview import plain, styled

    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"unionstate": {"front_matter": {"title": "A Title"}}})
    table = v4.new_output("execute_result", data={"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |\n"})
    nb.cells = [
        v4.new_markdown_cell("# A Title\n\n*Sub*"),
        v4.new_markdown_cell("# One {#sec-one}\n\n## Part\n\n```sh\n# a comment\n```\n\n::: {#tbl-x}"),
        v4.new_code_cell("r.table('tbl-x')", outputs=[table]),
        v4.new_markdown_cell("What it shows [@shraibman].\n\n:::\n\nSee @tbl-x."),
    ]
    out = plain(nb, REPO / "references.bib")
    md = "\n".join(c.source for c in out.cells if c.cell_type == "markdown")
    level_one = [line for line in md.splitlines() if line.startswith("# ")]
    assert level_one == ["# A Title", "# a comment"], md  # the title, and a shell comment
    assert "\n## 1 One\n" in md and "\n### 1.1 Part\n" in md, md  # numbered as Quarto does
    assert "What it shows" not in md, "the caption should have moved into the table"
    assert "See [Table 1](#tbl-x)." in md  # a link to the table, as in Quarto's HTML
    html = out.cells[2].outputs[0]["data"]["text/html"]
    assert re.search(r"<table>\s*<caption><strong>Table 1\.</strong> What it shows "
                     r'<span class="citation" data-cites="shraibman">\(Shraibman, n\.d\.\)</span>\.'
                     r"</caption>", html), html  # the citation as Pandoc's citeproc prints it
    page = styled("<html><head><title>t</title></head><body></body></html>")
    assert page.index("overflow-wrap: anywhere") < page.index("</head>")


def test_the_copy_quarto_renders_holds_every_file_quarto_yml_names(tmp_path):
    """quarto_html renders a copy of the project: it must hold the stylesheet and the script
    _quarto.yml names (css, include-after-body), or Quarto renders another page than users get
    ("Error resolving include-after-body") and the audit checks that page."""
    named = quarto_files()
    assert {"src/unionstate/report.css", "src/unionstate/table-names.html"} <= set(named), named
    proj = copy_report(tmp_path / "project")
    missing = [name for name in named if not (proj.root / name).is_file()]
    assert not missing, f"the copy lacks {missing}"


TIPPY_STUB = """window.__tippy = [];
window.tippy = function (el, config) {
  const popper = document.createElement('div');
  popper.setAttribute('data-tippy-root', '');
  const inst = {reference: el, config: config, popper: popper,
    state: {isVisible: false, isEnabled: true},
    show() { if (!this.state.isEnabled) return;
             popper.replaceChildren(config.content(el));
             config.appendTo(el).appendChild(popper); this.state.isVisible = true; },
    hide() { popper.remove(); this.state.isVisible = false; },
    disable() { this.hide(); this.state.isEnabled = false; },
    enable() { this.state.isEnabled = true; }};
  el.addEventListener('focus', () => inst.show());
  window.__tippy.push(inst);
  return inst;
};"""


@needs_build
def test_where_quarto_ships_tippy_the_panel_is_a_tippy_popover(browser, preview):
    """In Quarto's report.html (window.tippy defined, as Quarto ships it) each figure gets a
    tippy popover with Quarto's own hover options, whose content is a copy of its appendix
    entry with a link to it; a tap opens it without leaving the place. tippy itself is
    Quarto's (not here without Quarto): a stand-in records what the script asks of it, by
    tippy's documented API (content as a function returning an element, appendTo, trigger)."""
    page = browser.new_page(viewport=DESKTOP)
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith(("file:", "data:")) else route.abort())
    page.add_init_script(TIPPY_STUB)
    try:
        page.goto(preview.as_uri())
        made = page.evaluate("""() => window.__tippy.map(t => ({
            ref: t.reference.parentElement.dataset.result, theme: t.config.theme,
            trigger: t.config.trigger, interactive: t.config.interactive,
            placement: t.config.placement}))""")
        figures = page.locator("span.result[data-result] > a[href^='#prov-']").count()
        assert len(made) == figures > 0, (len(made), figures)
        assert all(m["theme"] == "quarto" and m["interactive"] and m["placement"] ==
                   "bottom-start" and m["trigger"] == "mouseenter focus" for m in made), made[0]
        assert page.locator(".provenance-panel").count() == 0, "no plain panel beside tippy"
        url = page.url
        first = page.locator("span.result[data-result] > a[href^='#prov-']").first
        rid = first.evaluate("a => a.parentElement.dataset.result")
        first.click()
        assert page.url == url
        popover = page.locator("[data-tippy-root]")
        assert popover.count() == 1
        assert popover.locator(f"a[href='#prov-{rid}']").count() == 1
        assert "Source:" in popover.inner_text()
        assert popover.locator("[id]").count() == 0, "the copy must not repeat the entry's ids"
        page.keyboard.press("Escape")
        assert page.locator("[data-tippy-root]").count() == 0
    finally:
        page.close()
