"""Layout checks shared by the page tests: images loaded, nothing wider than
the page or sticking out of the main column, figures as wide as the column."""

from __future__ import annotations

from typing import Any

_LAYOUT_JS = """
(main) => {
  const root = document.querySelector(main) || document.body;
  const column = root.getBoundingClientRect();
  const style = getComputedStyle(root);
  const inner = column.width - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight);
  const images = [...document.images].map(img => ({
    src: img.currentSrc.slice(0, 80), complete: img.complete,
    natural: img.naturalWidth, width: img.getBoundingClientRect().width,
    inMain: root.contains(img),
  }));
  // elements sticking out of the column, outside any box that scrolls itself
  const scrolls = el => {
    for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  };
  const sticking = [];
  for (const el of root.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || scrolls(el)) continue;
    if (r.right > column.right + 1 || r.left < column.left - 1) {
      sticking.push(el.tagName.toLowerCase() + "." + el.className + " "
        + Math.round(r.left) + "-" + Math.round(r.right));
    }
  }
  return {
    column: inner, columnLeft: column.left, columnRight: column.right,
    page: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
    images, sticking: sticking.slice(0, 10),
  };
}
"""


def layout(page: Any, main: str = "main") -> dict[str, Any]:
    """Measure the page: its main column, every image, what sticks out."""
    page.wait_for_load_state("load")
    return page.evaluate(_LAYOUT_JS, main)


def assert_layout(
    page: Any, main: str = "main", *, figures: str | None = None,
    min_share: float = 0.9,
) -> dict[str, Any]:  # fmt: skip
    """Every image loaded; nothing wider than the page or sticking out of the
    main column (except inside a box that scrolls); each image matched by
    ``figures`` at least ``min_share`` of the column's width, or its own full
    width when that is smaller."""
    found = layout(page, main)
    broken = [i["src"] for i in found["images"] if not (i["complete"] and i["natural"])]
    assert not broken, f"images that did not load: {broken}"
    assert found["page"] <= found["viewport"], (
        f"the page scrolls sideways: {found['page']} px in {found['viewport']} px"
    )
    assert not found["sticking"], f"out of the main column: {found['sticking']}"
    if figures is not None:
        widths = page.eval_on_selector_all(
            figures,
            "els => els.map(e => [e.getBoundingClientRect().width, e.naturalWidth,"
            " e.currentSrc.slice(-40)])",
        )
        assert widths, f"no figure matches {figures!r}"
        small = [
            (round(w), n, src) for w, n, src in widths
            if w < min_share * found["column"] and w < n - 1
        ]  # fmt: skip
        assert not small, (
            f"figures narrower than {min_share:.0%} of the {found['column']:.0f} px "
            f"column and shrunk below their own width: {small}"
        )
    return found
