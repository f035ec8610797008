"""The study, as one function: train, look inside, compare, sweep, report.

:func:`run_study` reproduces the study this library was built around (see
the user guide): a 784-30-10 sigmoid network trained on MNIST by mini-batch
gradient descent, its hidden units shown as images, the top-3 excitatory and
inhibitory hidden units of every digit by weight *and* by what they actually
contribute on real images, an exact decomposition and pixel attributions of
one decision, the initialisation/regularisation comparison measured by drift
from initialisation and smoothness, how the hidden units of both trainings
form epoch by epoch, and the hidden-size sweep over several seeds. It writes
every figure as PNG, the trained networks as ``.npz``, a report
(``report.md`` and a self-contained ``report.html``), every number in
``results.json`` (from which the report's sentences are generated), and the
study network's interactive page ``explorer.html`` (see
:func:`mlpinspect.explore`).

The report is made of sections (:data:`~mlpinspect.study.SECTIONS`),
each a function that returns its numbers, tables and figures.

The command ``mlpinspect study`` (or ``python -m mlpinspect study``) calls it.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._validation import check_bool, check_choice, check_int, is_sequence
from .._version import __version__
from ..errors import InvalidParameterError
from ..network import ENGINES, load_numba_engine, resolve_engine
from ._context import (
    Context,
    Interrupts,
    Progress,
    check_output_folder,
    load_data,
    staged,
)
from ._explorer import explorer_section
from ._report import Report
from ._results import build_results, write_results
from ._run import run_sections
from ._sections import SECTIONS as REPORT_SECTIONS
from ._sections import Section

SECTIONS = (*REPORT_SECTIONS, explorer_section)
"""The report's sections in order; the explorer page is written beside them."""

__all__ = ["SECTIONS", "Section", "StudyResult", "run_study"]

DEFAULT_SWEEP_SIZES = (2, 3, 4, 5, 10, 30)


@dataclass
class StudyResult:
    """What :func:`run_study` produced.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    files : dict of str to pathlib.Path
        Every file written, by name.
    test_accuracy : float
        The study network's final test accuracy.
    numbers : dict
        The report's numbers (accuracies, drift, smoothness, sweep), by
        section, as plain Python values.

    Examples
    --------
    >>> from pathlib import Path
    >>> result = StudyResult(out=Path("study-output"))
    >>> result.files, result.test_accuracy
    ({}, nan)
    """

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    test_accuracy: float = float("nan")
    numbers: dict[str, Any] = field(default_factory=dict)


def _context(
    out: Path, data: Any, seed: Any, epochs: Any, sweep_sizes: Any, sweep_seeds: Any,
    n_jobs: Any, quick: bool, quiet: bool, engine: Any,
) -> Context:  # fmt: skip
    """Check every setting, then load the data: errors come before any work."""
    seed = check_int(seed, "seed", minimum=0)
    epochs = check_int(epochs, "epochs", minimum=1)
    sweep_seeds = check_int(sweep_seeds, "sweep_seeds", minimum=1)
    if not is_sequence(sweep_sizes):
        raise InvalidParameterError(
            f"`sweep_sizes` must be a list of hidden sizes such as [2, 3, 10]; got "
            f"{type(sweep_sizes).__name__}"
        )
    if not isinstance(data, (str, os.PathLike)):
        raise InvalidParameterError(
            f"`data` must be 'sample', 'mnist' or a folder path; got "
            f"{type(data).__name__}"
        )
    sweep_sizes = tuple(
        check_int(s, f"sweep_sizes[{i}]", minimum=1) for i, s in enumerate(sweep_sizes)
    )
    n_jobs = check_int(n_jobs, "n_jobs", minimum=-1)
    engine = check_choice(engine, "engine", ENGINES)
    if engine == "numba":
        load_numba_engine()  # an ImportError now, not after the data has loaded
    quick, quiet = check_bool(quick, "quick"), check_bool(quiet, "quiet")
    engine = resolve_engine(engine, ("sigmoid",))  # the loop that will run
    if quick:
        epochs, sweep_sizes, sweep_seeds = 1, sweep_sizes[:2], 1
    check_output_folder(out)
    say = Progress(quiet)
    say("loading data")
    train, test, data_text = load_data(data, quick)
    return Context(
        train=train, test=test, data_text=data_text, seed=seed, epochs=epochs,
        engine=engine, n_jobs=n_jobs, quiet=quiet, sweep_sizes=sweep_sizes,
        sweep_seeds=sweep_seeds, out=out, say=say,
        data_name=data if data in ("sample", "mnist") else "folder",
    )  # fmt: skip


def _add(report: Report, section: Section) -> None:
    report.heading(section.title)
    for kind, value in section.blocks:
        if kind == "paragraph":
            report.paragraph(value)
        elif kind == "table":
            report.table(*value)
        else:
            name, fig, caption = value
            report.figure(name, fig, caption)


def run_study(
    out: str | os.PathLike = "study-output",
    *,
    data: str | os.PathLike = "sample",
    seed: int = 0,
    epochs: int = 30,
    sweep_sizes: Sequence[int] = DEFAULT_SWEEP_SIZES,
    sweep_seeds: int = 3,
    n_jobs: int = -1,
    quick: bool = False,
    quiet: bool = False,
    engine: str = "auto",
) -> StudyResult:
    """Run the whole study and write its figures, networks and report to ``out``.

    Parameters
    ----------
    out : str or path-like, default "study-output"
        Output folder (created if needed). The run writes into a hidden
        staging folder inside it and moves its files into ``out`` only once
        it has finished: an error, Ctrl-C or SIGTERM (raised as
        ``KeyboardInterrupt`` during the run) leaves ``out`` exactly as the
        previous run left it.
    data : {"sample", "mnist"} or path-like, default "sample"
        ``"sample"`` is the MNIST sample bundled in the package (offline);
        ``"mnist"`` the full MNIST (from ``MLPINSPECT_MNIST_DIR``, the cache,
        or downloaded); a path names a folder holding the four IDX files.
    seed : int, default 0
        Seed of the study network and the comparison; the sweep uses seeds
        ``seed, seed + 1, ...``.
    epochs : int, default 30
        Training epochs for every network.
    sweep_sizes : sequence of int
        Hidden sizes of the sweep; empty skips the sweep.
    sweep_seeds : int, default 3
        Seeds per hidden size.
    n_jobs : int, default -1
        Processes for the trainings (-1: every core; 1: all in this process).
    quick : bool, default False
        A smoke run of seconds: 1,000 training images, 1 epoch, a two-size
        sweep with one seed.
    quiet : bool, default False
        No progress output.
    engine : {"auto", "numpy", "numba"}, default "auto"
        The training loop of every network, as in
        :meth:`~mlpinspect.Network.fit`: ``"auto"`` is the compiled ``"numba"``
        loop where numba imports, else the ``"numpy"`` reference loop. The two
        round differently, so a seed gives a slightly different network in
        each; the loop that ran is in the results file's settings.

    Returns
    -------
    StudyResult

    Examples
    --------
    >>> import tempfile
    >>> result = run_study(tempfile.mkdtemp(), quick=True, quiet=True)  # seconds
    >>> result.files["report.html"].name, 0.0 <= result.test_accuracy <= 1.0
    ('report.html', True)
    """
    out = _check_out(out)
    started = time.perf_counter()
    with Interrupts() as interrupts:
        ctx = _context(
            out, data, seed, epochs, sweep_sizes, sweep_seeds, n_jobs, quick,
            quiet, engine,
        )  # fmt: skip
        result = StudyResult(out=out)
        with staged(out, interrupts) as stage:
            ctx.out = stage  # the sections write here; moved into out at the end
            report = Report(
                "What did this network learn? The study, reproduced by mlpinspect"
            )
            report.paragraph(
                f"mlpinspect {__version__}, Python {platform.python_version()}, "
                f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Data: "
                f"{ctx.data_text}. Seed {ctx.seed}, {ctx.epochs} "
                f"epoch{'' if ctx.epochs == 1 else 's'} per network."
            )
            titles, seconds = {}, {}
            for section, spent in run_sections(ctx, SECTIONS):
                titles[section.key], seconds[section.key] = section.title, spent
                result.numbers[section.key] = section.numbers
                _add(report, section)
            result.test_accuracy = ctx.results["test_accuracy"]
            result.files.update(ctx.files)
            ctx.say("writing the report")
            result.files.update(report.write(stage))
            results = build_results(
                ctx, titles, seconds, time.perf_counter() - started, quick
            )
            result.files["results.json"] = write_results(stage, results)
        ctx.out = out
        result.files = {
            name: out / Path(path).relative_to(stage)
            for name, path in result.files.items()
        }
        ctx.say(f"done: {out / 'report.html'}")
    return result


def _check_out(out: Any) -> Path:
    """``out`` as a Path, or an error naming it."""
    if isinstance(out, os.PathLike):
        out = os.fspath(out)
    if isinstance(out, bytes):
        out = os.fsdecode(out)
    if not isinstance(out, str) or not out or "\x00" in out:
        raise InvalidParameterError(
            f"`out` must be a folder path (a non-empty str or os.PathLike); got "
            f"{out!r:.60}"
        )
    return Path(out).expanduser()
