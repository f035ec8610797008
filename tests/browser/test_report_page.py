"""The study report in a real browser: self-contained, responsive, readable."""

from __future__ import annotations

import pytest
from tests.browser.conftest import artifacts_dir
from tests.browser.layout import assert_layout, layout

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from mlpinspect.study import run_study

    out = tmp_path_factory.mktemp("study")
    run_study(out, quick=True, quiet=True)
    return out / "report.html"


def test_report_loads_offline_and_fits_a_1280_px_window(page, report):
    pg, log = page
    pg.goto(report.as_uri())
    found = assert_layout(pg, "main", figures="figure img")
    log.assert_clean()  # nothing requested from outside, no console error
    assert len(found["images"]) >= 20
    pg.screenshot(path=str(artifacts_dir() / "report-1280.png"), full_page=True)
    # Markdown rendered by a library: bold is bold, no literal asterisks
    assert pg.locator("strong", has_text="Test accuracy").count() == 1
    assert "**" not in pg.inner_text("main")
    assert pg.locator('meta[name="viewport"]').count() == 1
    # wide tables scroll inside their own box, never the page
    boxes = pg.eval_on_selector_all(
        ".table-wrap", "els => els.map(e => getComputedStyle(e).overflowX)"
    )
    assert boxes and set(boxes) == {"auto"}


def test_a_click_opens_a_figure_at_full_size(page, report):
    pg, log = page
    pg.goto(report.as_uri())
    img = pg.locator("#fig-recipes-by-weight img")
    before = img.bounding_box()["width"]
    natural = img.evaluate("i => i.naturalWidth")
    img.click()
    assert pg.locator("#fig-recipes-by-weight.zoomed").count() == 1
    assert img.bounding_box()["width"] == pytest.approx(natural, abs=3)  # + border
    assert before > 0 and natural > 0  # shown in the column before, full size after
    pg.screenshot(path=str(artifacts_dir() / "report-figure-zoomed.png"))
    pg.keyboard.press("Escape")
    assert pg.locator("figure.zoomed").count() == 0
    log.assert_clean()


def test_report_on_a_phone_does_not_scroll_sideways(new_page, report):
    pg, log = new_page(width=390, height=844)
    pg.goto(report.as_uri())
    found = layout(pg, "main")
    assert found["page"] <= found["viewport"]
    assert not found["sticking"], found["sticking"]
    pg.screenshot(path=str(artifacts_dir() / "report-390.png"))
    log.assert_clean()
