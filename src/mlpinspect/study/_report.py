"""The report: the same content as Markdown and as one self-contained HTML file.

The study collects headings, paragraphs (Markdown), tables and figures here,
then writes ``report.md`` (figures referenced as PNG files beside it) and
``report.html``. Both come from the same Markdown: the HTML is rendered by
markdown-it-py (CommonMark with tables), never by hand, so ``**bold**``,
``code`` spans, links and escapes mean the same thing in both files. The HTML
page is responsive (a viewport tag, tables that scroll inside their own box
instead of overflowing the page, figures never wider than the text column)
and offline: figures are inlined as base64 PNG, there is no external request,
and a click on a figure opens it at full size inside the page. Files are
written atomically.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write

__all__ = ["Report", "atomic_write", "figure_png", "markdown_renderer"]


@dataclass
class _Figure:
    name: str
    png: bytes
    caption: str


def markdown_renderer() -> Any:
    """markdown-it-py configured as the report uses it: CommonMark plus tables,
    raw HTML in the source escaped (the report's text is never trusted as HTML)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _cell(value: Any) -> str:
    """One table cell as Markdown: ``|`` escaped, line breaks removed."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown (GFM) table; numeric-looking columns aligned right."""
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """A matplotlib Figure as PNG bytes; the figure is closed afterwards."""
    buffer = io.BytesIO()
    # A figure with a layout engine is laid out already: a "tight" box would
    # draw it a second time only to measure it.
    tight = None if fig.get_layout_engine() is not None else "tight"
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=tight)
    import matplotlib.pyplot as plt

    plt.close(fig)  # the report keeps the PNG, not the figure
    return buffer.getvalue()


_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.55;
color:#1f2328;background:#fff;margin:0}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 4rem}
h1{font-size:1.8rem;line-height:1.25}h2{margin-top:2.5rem;border-bottom:1px solid #ddd;
padding-bottom:.3rem}
p,li{overflow-wrap:break-word}
code{background:#f3f4f6;padding:.05rem .25rem;border-radius:3px;font-size:.9em}
.table-wrap{overflow-x:auto;max-width:100%;margin:1rem 0}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top}
th{background:#f3f4f6;text-align:left}
td{font-variant-numeric:tabular-nums}
figure{margin:1.5rem 0}
figure img{display:block;width:100%;max-width:100%;height:auto;cursor:zoom-in;
border:1px solid #eee}
figcaption{color:#555;font-style:italic;margin-top:.4rem}
figure.zoomed{position:fixed;inset:0;margin:0;z-index:10;background:rgba(255,255,255,.97);
overflow:auto;padding:1rem}
figure.zoomed img{width:auto;max-width:none;cursor:zoom-out;margin:0 auto}
"""

_SCRIPT = """
document.querySelectorAll("figure img").forEach(function (img) {
  img.tabIndex = 0;
  img.title = "click to open at full size (click again or Esc to close)";
  function toggle() { img.parentNode.classList.toggle("zoomed"); }
  img.addEventListener("click", toggle);
  img.addEventListener("keydown", function (e) { if (e.key === "Enter") toggle(); });
});
document.addEventListener("keydown", function (e) {
  if (e.key === "Escape") document.querySelectorAll("figure.zoomed")
    .forEach(function (f) { f.classList.remove("zoomed"); });
});
"""


@dataclass
class Report:
    """Headings, paragraphs, tables and figures, rendered to Markdown and HTML.

    Paragraphs are Markdown (CommonMark). Tables are rows of values, shown as
    given (``str``). Figures are matplotlib Figures, stored as PNG.
    """

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(
            ("table", (list(map(str, headers)), [list(map(str, r)) for r in rows]))
        )

    def figure(self, name: str, fig: Any, caption: str, *, dpi: int = 100) -> bytes:
        """Add a matplotlib Figure (or its PNG bytes already rendered by
        :func:`figure_png`); returns the PNG bytes (saved by :meth:`write`)."""
        png = fig if isinstance(fig, bytes) else figure_png(fig, dpi=dpi)
        self.blocks.append(("figure", _Figure(name, png, caption)))
        return png

    # -- rendering ------------------------------------------------------------

    def _markdown_blocks(self) -> list[tuple[str, str, Any]]:
        """(kind, markdown, figure or None) per block, the title first."""
        out: list[tuple[str, str, Any]] = [("heading", f"# {self.title}", None)]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                out.append(("heading", "#" * level + " " + text, None))
            elif kind == "paragraph":
                out.append(("paragraph", value, None))
            elif kind == "table":
                out.append(("table", markdown_table(*value), None))
            else:
                text = f"![{value.caption}]({value.name}.png)\n\n*{value.caption}*"
                out.append(("figure", text, value))
        return out

    def to_markdown(self) -> str:
        return "\n\n".join(md for _, md, _ in self._markdown_blocks()) + "\n"

    def to_html(self) -> str:
        md = markdown_renderer()
        body = []
        for kind, text, fig in self._markdown_blocks():
            if kind == "figure":
                data = base64.b64encode(fig.png).decode("ascii")
                caption = md.renderInline(fig.caption)
                body.append(
                    f'<figure id="fig-{html.escape(fig.name)}"><img '
                    f'alt="{html.escape(fig.caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
            elif kind == "table":
                body.append(f'<div class="table-wrap">{md.render(text)}</div>')
            else:
                body.append(md.render(text))
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>"
            "<body><main>\n"
            + "\n".join(body)
            + f"\n</main><script>{_SCRIPT}</script></body></html>\n"
        )

    def write(self, folder: str | os.PathLike) -> dict[str, Path]:
        """Write every figure as PNG, ``report.md`` and ``report.html``."""
        folder = Path(folder)
        written = {}
        for kind, value in self.blocks:
            if kind == "figure":
                png = value.png
                written[value.name] = atomic_write(
                    folder / f"{value.name}.png", lambda fh, png=png: fh.write(png)
                )
        md = self.to_markdown().encode("utf-8")
        written["report.md"] = atomic_write(
            folder / "report.md", lambda fh: fh.write(md)
        )
        page = self.to_html().encode("utf-8")
        written["report.html"] = atomic_write(
            folder / "report.html", lambda fh: fh.write(page)
        )
        return written
