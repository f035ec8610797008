"""The browser set-up itself: a local page loads clean; a request that would
leave the machine is caught and blocked; console errors are seen."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_local_page_is_clean(page, tmp_path):
    html = tmp_path / "ok.html"
    html.write_text(
        "<!doctype html><meta charset=utf-8><title>ok</title><p id=p>hello</p>",
        encoding="utf-8",
    )
    pg, log = page
    pg.goto(html.as_uri())
    assert pg.text_content("#p") == "hello"
    log.assert_clean()


def test_external_request_and_console_error_are_caught(page, tmp_path):
    html = tmp_path / "leaky.html"
    html.write_text(
        "<!doctype html><meta charset=utf-8><title>leaky</title>"
        '<img src="https://cdn.example.invalid/x.png">'
        "<script>console.error('boom')</script>",
        encoding="utf-8",
    )
    pg, log = page
    pg.goto(html.as_uri())
    pg.wait_for_load_state("load")
    assert log.external_requests == ["https://cdn.example.invalid/x.png"]
    assert "boom" in log.console_errors
    with pytest.raises(AssertionError, match="left file://"):
        log.assert_clean()


def test_viewport_width(new_page, tmp_path):
    html = tmp_path / "w.html"
    html.write_text("<!doctype html><title>w</title>", encoding="utf-8")
    pg, _ = new_page(width=390, height=800)
    pg.goto(html.as_uri())
    assert pg.evaluate("window.innerWidth") == 390
