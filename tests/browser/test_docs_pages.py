"""The built documentation in a real browser, at 1280 px.

The pages come from a finished HTML build named by ``$MLPINSPECT_DOCS_HTML``
(``.ci/run`` builds the docs first and sets it); without it these tests skip,
or fail under ``MLPINSPECT_REQUIRE_BROWSER=1``. Each page must load offline
(no request leaves file://), without console errors, with every image
loaded, nothing sticking out of the text column and figures at least 90% of
its width; screenshots go to the artifacts folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from tests.browser.conftest import artifacts_dir
from tests.browser.layout import assert_layout

pytestmark = pytest.mark.browser

COLUMN = "article.bd-article"
PAGES = {
    "index": "index.html",
    "guide": "guide/index.html",
    "study": "guide/study.html",
    "gallery-first-look": "auto_examples/plot_01_first_look.html",
    "gallery-two-hidden-layers": "auto_examples/plot_08_two_hidden_layers.html",
    "api-network": "api/generated/mlpinspect.Network.html",
    "api-top-units": "api/generated/mlpinspect.top_units.html",
    "api-plot-preferred-input": (
        "api/generated/mlpinspect.plotting.plot_preferred_input.html"
    ),
}
# Figures the gallery draws on purpose at a fixed small size (none today).
SMALL_FIGURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def docs_html() -> Path:
    folder = os.environ.get("MLPINSPECT_DOCS_HTML")
    if not folder or not (Path(folder) / "index.html").exists():
        message = "set MLPINSPECT_DOCS_HTML to a built documentation folder"
        if os.environ.get("MLPINSPECT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return Path(folder)


@pytest.mark.parametrize("name", list(PAGES))
def test_docs_page_is_offline_clean_and_fits_its_column(page, docs_html, name):
    pg, log = page
    path = docs_html / PAGES[name]
    assert path.exists(), f"{PAGES[name]} was not built"
    pg.goto(path.as_uri())
    figures = (
        f"{COLUMN} img.sphx-glr-single-img, {COLUMN} figure img, "
        f"{COLUMN} div.figure img"
    )
    has_figures = pg.locator(figures).count() > 0
    assert_layout(pg, COLUMN, figures=figures if has_figures else None)
    pg.screenshot(path=str(artifacts_dir() / f"docs-{name}.png"), full_page=True)
    log.assert_clean()
    if has_figures:  # figures open at full size on a click
        links = pg.eval_on_selector_all(
            figures, "els => els.map(e => !!e.closest('a'))"
        )
        assert all(links), "a figure is not clickable"


# The smallest type the library's plots use for labels: matplotlib's "x-small"
# at its default 10 pt (the recipes' pixel indices are 6.5 pt).
SMALLEST_POINTS = 6.94
MIN_LABEL_PX = 7.0
# Dots per inch of the PNGs: sphinx-gallery saves at matplotlib's default;
# the plot directive at conf.py's plot_formats.
GALLERY_DPI, PLOT_DIRECTIVE_DPI = 100, 110


def _figure_pages(docs_html: Path) -> list[str]:
    pages = sorted(
        str(p.relative_to(docs_html))
        for p in (docs_html / "auto_examples").glob("plot_*.html")
    )
    return [*pages, "guide/first_look.html"]


def test_figure_labels_are_at_least_7_px_at_1280(page, docs_html):
    """On every page made of figures, at a 1280 px window, each figure is
    shown large enough that an x-small label (6.9 pt) is at least 7 px tall:
    the 620 px column of before shrank them to about 5 px."""
    pg, log = page
    pages = _figure_pages(docs_html)
    assert len(pages) >= 10
    small = []
    for name in pages:
        pg.goto((docs_html / name).as_uri())
        pg.wait_for_load_state("load")
        shown = pg.eval_on_selector_all(
            f"{COLUMN} img.sphx-glr-single-img, {COLUMN} img.sphx-glr-multi-img, "
            f"{COLUMN} figure img, {COLUMN} div.figure img",
            "els => els.map(e => [e.getBoundingClientRect().width, e.naturalWidth,"
            " e.classList.contains('sphx-glr-single-img')"
            " || e.classList.contains('sphx-glr-multi-img'), e.currentSrc])",
        )
        assert shown, f"{name}: no figure"
        for width, natural, gallery, src in shown:
            inches = natural / (GALLERY_DPI if gallery else PLOT_DIRECTIVE_DPI)
            label = SMALLEST_POINTS / 72 * width / inches
            if label < MIN_LABEL_PX:
                small.append((name, src.rsplit("/", 1)[-1], round(label, 1)))
        pg.screenshot(
            path=str(artifacts_dir() / f"docs-labels-{Path(name).stem}.png"),
            full_page=False,
        )
    log.assert_clean()
    assert not small, f"figures whose x-small labels show under 7 px: {small}"


def test_api_titles_do_not_run_under_the_right_hand_toc(page, docs_html):
    pg, log = page
    for name in ("api-network", "api-plot-preferred-input"):
        pg.goto((docs_html / PAGES[name]).as_uri())
        title = pg.locator(f"{COLUMN} h1").first.bounding_box()
        toc = pg.locator(".bd-sidebar-secondary")
        if toc.count() and toc.first.is_visible():
            right = toc.first.bounding_box()
            assert title["x"] + title["width"] <= right["x"] + 1, name
    log.assert_clean()


def test_sidebar_names_do_not_break_inside_a_word(page, docs_html):
    pg, _ = page
    pg.goto((docs_html / "api/analysis.html").as_uri())
    broken = pg.eval_on_selector_all(
        ".bd-sidebar-primary .bd-links a",
        """els => els.filter(a => {
            const s = getComputedStyle(a);
            return s.wordBreak === "break-all" || s.overflowWrap === "anywhere";
        }).map(a => a.textContent.trim())""",
    )
    assert not broken, broken


def test_source_pages_back_links_point_to_existing_anchors(docs_html):
    """Every "[docs]" link of the highlighted source pages lands on an anchor
    that exists in its target page."""
    missing = []
    anchors: dict[Path, set[str]] = {}
    for source in (docs_html / "_modules").rglob("*.html"):
        text = source.read_text(encoding="utf-8")
        for href in re.findall(r'<a class="viewcode-back" href="([^"]+)"', text):
            target, _, anchor = href.partition("#")
            page_path = (source.parent / target).resolve()
            if page_path not in anchors:
                html = (
                    page_path.read_text(encoding="utf-8") if page_path.exists() else ""
                )
                anchors[page_path] = set(re.findall(r'id="([^"]+)"', html))
            if anchor and anchor not in anchors[page_path]:
                missing.append(f"{source.relative_to(docs_html)} -> {href}")
    assert not missing, missing


def test_no_page_loads_scripts_from_elsewhere(docs_html):
    """No built page (sg_execution_times.html included) refers to a script or
    stylesheet on another host."""
    leaking = []
    for path in docs_html.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', text):
            leaking.append(str(path.relative_to(docs_html)))
    assert not leaking, leaking
