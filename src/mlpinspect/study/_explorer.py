"""The study's last section: its network as an interactive page,
``explorer.html`` (see :func:`mlpinspect.explore`), beside the report. It is
written in parallel with the other sections and closes the report, after the
essay's claims."""

from __future__ import annotations

from ..explorer import explore
from ._context import Context
from ._sections import Section

__all__ = ["EXPLORER_EXAMPLES", "explorer_section"]

EXPLORER_EXAMPLES = 1000
"""Test images embedded in the study's explorer page."""


def explorer_section(ctx: Context) -> Section:
    """Write ``explorer.html`` for the study network and say what it holds."""
    ctx.say("writing explorer.html")
    X_test, y_test = ctx.test
    n = min(EXPLORER_EXAMPLES, len(y_test))
    path = explore(
        ctx.results["network"],
        X_test,
        y_test,
        path=ctx.out / "explorer.html",
        n_examples=n,
        title="The study network (784\u201330\u201310): a look inside",
    )
    ctx.files["explorer.html"] = path
    size = path.stat().st_size
    section = Section("explorer", "12. Explore it yourself")
    section.numbers.update(file="explorer.html", n_examples=n, bytes=size)
    section.paragraph(
        f"[explorer.html](explorer.html), beside this report, is the study network "
        f"as one interactive page ({size / 1e6:.1f} MB; it opens offline in any "
        f"current browser): every hidden unit's weights, top and bottom examples "
        f"and class means, each digit's top units by weight and by contribution, "
        f"and each of {n:,} test images decomposed exactly and attributed, all "
        f"linked."
    )
    return section
