"""A real browser for the page tests: Playwright for Python driving the
system's Chromium (Debian's ``chromium``; Playwright's own browser downloads
are never used).

Tests marked ``browser`` get a ``page`` at 1280 x 900 px that records console
errors and every request that would leave the machine. Without Playwright or
Chromium they are skipped, except when ``MLPINSPECT_REQUIRE_BROWSER=1`` (CI
sets it): then a missing browser is a failure, never a silent skip.
Screenshots go to ``$MLPINSPECT_ARTIFACTS/screenshots`` (default
``ci-artifacts/screenshots``, ignored by git).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
LOCAL_HOSTS = ("http://localhost", "http://127.0.0.1", "https://localhost")


def _unavailable(reason: str) -> None:
    if os.environ.get("MLPINSPECT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests are required here, but {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The system Chromium: ``$MLPINSPECT_CHROMIUM``, else ``chromium`` or
    ``chromium-browser`` on the PATH."""
    explicit = os.environ.get("MLPINSPECT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def artifacts_dir() -> Path:
    """Where screenshots are saved (created on demand)."""
    root = Path(os.environ.get("MLPINSPECT_ARTIFACTS", "ci-artifacts"))
    out = root / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclass
class PageLog:
    """What a page did: console errors, page errors, requests that left."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.external_requests, (
            f"requests left file:// and localhost: {self.external_requests}"
        )
        assert not self.page_errors, f"JavaScript errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.failed_requests, f"failed requests: {self.failed_requests}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per test process."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="mlpinspect-chromium-")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _watch(page: Any, log: PageLog) -> None:
    def on_console(message: Any) -> None:
        if message.type == "error":
            log.console_errors.append(message.text)

    def on_request(request: Any) -> None:
        url = request.url
        if not (url.startswith(LOCAL_SCHEMES) or url.startswith(LOCAL_HOSTS)):
            log.external_requests.append(url)

    def on_route(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES) or url.startswith(LOCAL_HOSTS):
            route.continue_()
        else:
            route.abort()  # recorded by on_request; never reaches the network

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("request", on_request)
    page.on(
        "requestfailed",
        lambda request: (
            log.failed_requests.append(request.url)
            if request.url.startswith(LOCAL_SCHEMES)
            else None
        ),
    )
    page.route("**/*", on_route)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A factory of watched pages: ``page, log = new_page(width=1280)``."""
    contexts = []

    def make(width: int = 1280, height: int = 900) -> tuple[Any, PageLog]:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        _watch(page, log)
        return page, log

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> tuple[Any, PageLog]:
    """A watched page at 1280 x 900 px and its :class:`PageLog`."""
    return new_page()


@pytest.fixture
def screenshot_dir() -> Path:
    """:func:`artifacts_dir` as a fixture (test files cannot import conftest)."""
    return artifacts_dir()
