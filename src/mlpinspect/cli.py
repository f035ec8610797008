"""The ``mlpinspect`` command.

``mlpinspect study --out DIR`` runs the whole study (see
:func:`mlpinspect.study.run_study`) and writes its figures, networks and report.
``mlpinspect sweep GRID.toml --out DIR`` runs an experiment file (see
``mlpinspect._cli_sweep``). ``mlpinspect explore MODEL --data SOURCE --out
PAGE`` writes the explorer page of a model file (see ``mlpinspect._cli_explore``).
``python -m mlpinspect ...`` does the same.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from . import _cli_explore, _cli_sweep
from ._version import __version__

__all__ = ["main"]


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated whole numbers such as 2,3,4,5,10,30; got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be >= 1; got {text!r}")
    return sizes


def _whole_number(minimum: int, *, every_core: bool = False):
    """An argparse type: a whole number >= ``minimum`` (or -1 when ``every_core``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number; got {text!r}"
            ) from None
        if every_core and value == -1:
            return value
        if value < minimum:
            extra = ", or -1 for every core" if every_core else ""
            raise argparse.ArgumentTypeError(
                f"must be >= {minimum}{extra}; got {value}"
            )
        return value

    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)
_jobs = _whole_number(1, every_core=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlpinspect",
        description="What did this neural network actually learn?",
    )
    parser.add_argument(
        "--version", action="version", version=f"mlpinspect {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    study = commands.add_parser(
        "study",
        help="run the whole study and write figures, networks and a report",
        description=(
            "Train the study's 784-30-10 network, draw its weights, rank each digit's "
            "hidden units by weight and by contribution, decompose and attribute one "
            "decision, compare two trainings by drift and smoothness, sweep the hidden "
            "size over seeds, and write report.md and report.html."
        ),
    )
    study.add_argument(
        "--out",
        default="study-output",
        metavar="DIR",
        help="output folder (default: %(default)s)",
    )
    study.add_argument(
        "--data",
        default="sample",
        metavar="SOURCE",
        help="'sample' (bundled, offline; default), 'mnist' (the full MNIST: "
        "$MLPINSPECT_MNIST_DIR, the cache, or a verified download) or a folder "
        "holding the four MNIST IDX files",
    )
    study.add_argument(
        "--seed", type=_non_negative, default=0, help="random seed (default 0)"
    )
    study.add_argument(
        "--epochs",
        type=_positive,
        default=30,
        help="training epochs per network (default 30)",
    )
    study.add_argument(
        "--sweep-sizes",
        type=_sizes,
        default=(2, 3, 4, 5, 10, 30),
        metavar="N,N,...",
        help="hidden sizes of the sweep (default 2,3,4,5,10,30); '' skips it",
    )
    study.add_argument(
        "--sweep-seeds",
        type=_positive,
        default=3,
        metavar="N",
        help="seeds per hidden size (default 3)",
    )
    study.add_argument(
        "--jobs",
        type=_jobs,
        default=-1,
        metavar="N",
        help="processes for the trainings (default -1: every core)",
    )
    study.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of seconds (1,000 images, 1 epoch, small sweep)",
    )
    study.add_argument(
        "--engine",
        choices=("auto", "numpy", "numba"),
        default="auto",
        help="training loop: auto (default: numba, compiled, where it imports; "
        "else numpy), numpy (the readable reference) or numba",
    )
    study.add_argument("--quiet", action="store_true", help="no progress output")
    _cli_sweep.add_parser(commands, _jobs)
    _cli_explore.add_parser(commands, _positive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "sweep":
        return _cli_sweep.run(args)
    if args.command == "explore":
        return _cli_explore.run(args)
    from .errors import MlpinspectError
    from .study._context import Interrupts

    def fail(message: str, code: int) -> int:
        print(f"mlpinspect study: {message}", file=sys.stderr, flush=True)
        return code

    try:
        # SIGTERM is handled like Ctrl-C from here on (also while the study
        # imports and checks its arguments), and an interrupt Python swallowed
        # in a finaliser is raised again before the run counts as done.
        with Interrupts() as interrupts:
            from .study import run_study  # matplotlib and all: an interruptible wait

            run_study(
                args.out,
                data=args.data,
                seed=args.seed,
                epochs=args.epochs,
                sweep_sizes=args.sweep_sizes,
                sweep_seeds=args.sweep_seeds,
                n_jobs=args.jobs,
                quick=args.quick,
                quiet=args.quiet,
                engine=args.engine,
            )
            interrupts.check()
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        word = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
        return fail(
            f"{word}; {args.out} holds no file of the unfinished run", 128 + signum
        )
    except (MlpinspectError, ImportError) as exc:
        return fail(f"error: {exc}", 1)
    except OSError as exc:  # a full disk, an I/O error
        reason = exc.strerror or str(exc) or type(exc).__name__
        where = f": {exc.filename}" if exc.filename else ""
        return fail(f"error: {reason}{where}", 1)
    except MemoryError:
        return fail("error: out of memory", 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
