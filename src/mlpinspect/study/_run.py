"""Running the study's sections: the first one here, the independent ones in
parallel processes, the summary last.

The first section trains every network of the run (all at once, ``n_jobs`` at
a time) and shares the study network; the sections after it only read the
context, so they run in worker processes (joblib), each rendering its own
figures to PNG there, which is where most of a section's time goes. A section
marked ``after_all`` (the essay's claims) needs the numbers of all the others
and runs once they are done, here. Sections come back in the order given,
whatever order they finish in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._context import Context
from ._report import figure_png
from ._sections import Section

__all__ = ["run_sections"]


def _rendered(section: Section | None) -> Section | None:
    """``section`` with its figures rendered to PNG bytes (picklable, light)."""
    if section is None:
        return None
    blocks = []
    for kind, value in section.blocks:
        if kind == "figure":
            name, fig, caption = value
            value = (name, fig if isinstance(fig, bytes) else figure_png(fig), caption)
        blocks.append((kind, value))
    section.blocks = blocks
    return section


def _run_one(make: Callable[[Context], Any], ctx: Context) -> tuple[Any, dict, float]:
    """Run one section (in a worker or here); return it rendered, the files it
    wrote and its seconds."""
    start = time.perf_counter()
    before = set(ctx.files)
    section = _rendered(make(ctx))
    files = {k: v for k, v in ctx.files.items() if k not in before}
    return section, files, time.perf_counter() - start


def run_sections(
    ctx: Context, sections: Sequence[Callable[[Context], Any]]
) -> Iterator[tuple[Section, float]]:
    """Yield ``(section, seconds)`` for each section that has content, in the
    order of ``sections``; figures are PNG bytes."""
    if not sections:
        return
    first, rest = sections[0], list(sections[1:])
    last = [s for s in rest if getattr(s, "after_all", False)]
    middle = [s for s in rest if s not in last]
    done: dict[int, tuple[Any, dict, float]] = {0: _run_one(first, ctx)}
    _collect(ctx, done[0])
    from joblib import Parallel, delayed, effective_n_jobs

    workers = max(1, min(effective_n_jobs(ctx.n_jobs), len(middle)))
    if workers > 1 and middle:
        ctx.say(f"the next {len(middle)} sections on {workers} workers")
        parallel = Parallel(n_jobs=workers, return_as="generator")
        ran: Any = parallel(delayed(_run_one)(make, ctx) for make in middle)
    else:
        ran = (_run_one(make, ctx) for make in middle)
    for make, outcome in zip(middle, ran):
        done[sections.index(make)] = outcome
        _collect(ctx, outcome)
    for make in last:
        done[sections.index(make)] = outcome = _run_one(make, ctx)
        _collect(ctx, outcome)
    for i in range(len(sections)):
        section, _, seconds = done[i]
        if section is not None:
            yield section, seconds


def _collect(ctx: Context, outcome: tuple[Any, dict, float]) -> None:
    """Record a finished section's files and numbers in the context."""
    section, files, _ = outcome
    ctx.files.update(files)
    if section is not None:
        ctx.numbers[section.key] = section.numbers
