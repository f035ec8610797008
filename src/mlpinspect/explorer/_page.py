"""The page: one HTML file holding the stylesheet, the script and the data.

The stylesheet and script are hand-written files beside this module
(``static/explorer.css``, ``static/explorer.js``; no build step, no
third-party code). They are inlined, with the payload as JSON in a
``<script type="application/json">`` element, so the page needs nothing but
itself: it opens from ``file://`` with no server and makes no request.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

__all__ = ["render_page", "static_text"]

STATIC_FILES = ("explorer.css", "explorer.js")


def static_text(name: str) -> str:
    """The text of one of the page's static files."""
    if name not in STATIC_FILES:
        raise ValueError(f"unknown static file {name!r}")
    return (
        resources.files("mlpinspect.explorer")
        .joinpath("static", name)
        .read_text(encoding="utf-8")
    )


def _json_in_script(data: str) -> str:
    """JSON that cannot end, or change the parsing of, its ``<script>``
    element: every ``<`` written as the JSON escape ``\\u003c``."""
    return data.replace("<", "\\u003c")


def render_page(payload: dict[str, Any]) -> str:
    """The whole page for ``payload`` (see :mod:`mlpinspect.explorer._data`)."""
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    script = static_text("explorer.js")
    if "</script" in script.lower():  # pragma: no cover - a bug in explorer.js
        raise RuntimeError("explorer.js must not contain '</script'")
    title = html.escape(payload["title"])
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{html.escape(payload["generator"])}">\n'
        f"<title>{title}</title>\n"
        f"<style>\n{static_text('explorer.css')}</style>\n"
        "</head>\n<body>\n"
        '<header id="top"><h1 id="title">' + title + "</h1>\n"
        '<nav id="tabs" aria-label="Views">'
        '<a href="#layer" data-view="layer">1 Layer</a>'
        '<a href="#unit/0" data-view="unit">2 Unit</a>'
        '<a href="#class/0" data-view="class">3 Class</a>'
        '<a href="#example/0" data-view="example">4 Example</a>'
        "</nav></header>\n"
        '<main id="view" aria-live="polite"><p class="note">Loading&hellip;</p>'
        "</main>\n"
        '<footer><span id="keys">Keys: 1&ndash;4 views, &larr;/&rarr; or j/k '
        "step, Backspace back.</span> Blue positive, red negative, white zero; "
        "one symmetric scale per view. Made by "
        + html.escape(payload["generator"])
        + ".</footer>\n"
        '<noscript><p class="note">This page needs JavaScript.</p></noscript>\n'
        '<script type="application/json" id="mlpinspect-data">'
        + _json_in_script(data)
        + "</script>\n"
        f"<script>\n{script}</script>\n"
        "</body>\n</html>\n"
    )
