"""A small report builder that writes the same content as Markdown and HTML.

The study command collects headings, paragraphs, tables and figures here, then
writes ``report.md`` (figures referenced as PNG files beside it) and a
self-contained ``report.html`` (figures inlined as base64 PNG). Files are
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

__all__ = ["Report", "atomic_write"]


@dataclass
class _Figure:
    name: str
    png: bytes
    caption: str


@dataclass
class Report:
    """Headings, paragraphs, tables and figures, rendered to Markdown and HTML."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(
            ("table", (list(headers), [list(map(str, r)) for r in rows]))
        )

    def figure(self, name: str, fig: Any, caption: str, *, dpi: int = 100) -> bytes:
        """Add a matplotlib Figure; returns its PNG bytes (saved by :meth:`write`)."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        png = buffer.getvalue()
        self.blocks.append(("figure", _Figure(name, png, caption)))
        return png

    # -- rendering ------------------------------------------------------------

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                out += ["#" * level + " " + text, ""]
            elif kind == "paragraph":
                out += [value, ""]
            elif kind == "table":
                headers, rows = value
                out.append("| " + " | ".join(headers) + " |")
                out.append("|" + "|".join("---" for _ in headers) + "|")
                out += ["| " + " | ".join(r) + " |" for r in rows]
                out.append("")
            else:
                out += [
                    f"![{value.caption}]({value.name}.png)",
                    "",
                    f"*{value.caption}*",
                    "",
                ]
        return "\n".join(out)

    def to_html(self) -> str:
        esc = html.escape
        body = [f"<h1>{esc(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                body.append(f"<h{level}>{esc(text)}</h{level}>")
            elif kind == "paragraph":
                body.append(f"<p>{_inline(value)}</p>")
            elif kind == "table":
                headers, rows = value
                head = "".join(f"<th>{esc(h)}</th>" for h in headers)
                cells = "".join(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                    for r in rows
                )
                body.append(
                    f"<table><thead><tr>{head}</tr></thead><tbody>{cells}"
                    "</tbody></table>"
                )
            else:
                data = base64.b64encode(value.png).decode("ascii")
                body.append(
                    f'<figure><img alt="{esc(value.caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(value.caption)}</figcaption></figure>"
                )
        style = (
            "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;"
            "padding:0 1rem;line-height:1.5;color:#222}"
            "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
            "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
            "th{background:#f3f3f3}img{max-width:100%}"
            "figure{margin:1.5rem 0}figcaption{color:#555;font-style:italic}"
            "code{background:#f3f3f3;padding:0 .2rem}"
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(self.title)}</title><style>{style}</style></head>"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n"
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


def _inline(text: str) -> str:
    """Escape text for HTML, turning `code` spans into <code> elements."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
