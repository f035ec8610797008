"""``mlpinspect sweep``: run an experiment file, resumably, and write its table.

``mlpinspect sweep GRID.toml --out DIR`` trains every configuration x seed of
the file (see :func:`mlpinspect.experiments.load_grid`) on the bundled sample,
the full MNIST or a folder of MNIST files, and writes

``DIR/runs/``
    One JSON file per finished run (and its network with ``--keep-models``),
    written as each run finishes; ``--resume`` continues from them.
``DIR/results.csv``, ``DIR/results.json``
    The table: one row per run.
``DIR/summary.csv``
    Mean, standard deviation, minimum and maximum over the seeds of each
    configuration (also printed).

Progress (runs done of total, estimated time left) goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, jobs_type: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to ``commands`` (argparse subparsers)."""
    sweep = commands.add_parser(
        "sweep",
        help="train a grid of configurations x seeds (resumable) and write a table",
        description=(
            "Train every configuration x seed of an experiment file (TOML or JSON: "
            "seeds, a [grid] of setting = alternatives and/or [[configs]]), measure "
            "each network, and write DIR/results.csv, DIR/results.json and "
            "DIR/summary.csv. Each finished run is kept in DIR/runs as it finishes, "
            "so an interrupted sweep continues with --resume."
        ),
    )
    sweep.add_argument("grid", metavar="GRID", help="experiment file (.toml or .json)")
    sweep.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (created if needed)"
    )
    sweep.add_argument(
        "--data",
        default="sample",
        metavar="SOURCE",
        help="'sample' (bundled, offline; default), 'mnist' (the full MNIST: "
        "$MLPINSPECT_MNIST_DIR, the cache, or a verified download) or a folder "
        "holding the four MNIST IDX files",
    )
    sweep.add_argument(
        "--jobs",
        type=jobs_type,
        default=1,
        metavar="N",
        help="worker processes (default 1; -1: every core); never more than runs",
    )
    sweep.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS (e.g. "
        "tcp://10.0.0.5:8786; needs pip install 'mlpinspect[dask]'); --jobs is "
        "then ignored and every worker of the cluster is used",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue the runs kept in DIR/runs (without it, a DIR that already "
        "holds runs is refused)",
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, train again the runs that failed",
    )
    sweep.add_argument(
        "--keep-models",
        action="store_true",
        help="save every trained network in DIR/runs as KEY.npz",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress output")
    return sweep


def _dask_backend(stack: ExitStack, address: str) -> None:
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ImportError(
            f"--dask needs dask.distributed: pip install 'mlpinspect[dask]' ({exc})"
        ) from exc
    import joblib

    client = stack.enter_context(Client(address))
    stack.enter_context(joblib.parallel_config(backend="dask", client=client))


def _sweep(args: argparse.Namespace) -> int:
    from .errors import InvalidParameterError
    from .experiments import load_grid, run_experiments
    from .study._context import check_output_folder, load_data

    plan = load_grid(args.grid)
    out = Path(args.out)
    runs = out / "runs"
    held = len(list(runs.glob("*.json"))) if runs.is_dir() else 0
    if held and not args.resume:
        raise InvalidParameterError(
            f"`--out` {out} already holds {held} finished runs in {runs}; pass "
            f"--resume to continue them, or choose another folder"
        )
    if args.retry_failed and not args.resume:
        raise InvalidParameterError("`--retry-failed` needs --resume")
    check_output_folder(out)
    train, test, text = load_data(args.data, quick=False)
    say = (lambda _: None) if args.quiet else (
        lambda m: print(m, file=sys.stderr, flush=True))  # fmt: skip
    say(f"{args.grid}: {len(plan.configs)} configurations x {len(plan.seeds)} "
        f"seeds = {plan.n_runs} runs; data: {text}")  # fmt: skip
    with ExitStack() as stack:
        if args.dask:
            _dask_backend(stack, args.dask)
        table = run_experiments(
            plan.configs,
            plan.seeds,
            train=train,
            test=test,
            evaluate=plan.evaluate,
            n_outputs=plan.n_outputs,
            n_jobs=None if args.dask else args.jobs,
            cache_dir=runs,
            keep_models=args.keep_models,
            retry_failed=args.retry_failed,
            progress=not args.quiet,
        )
    summary = table.summary()
    written = [
        table.to_csv(out / "results.csv"),
        table.to_json(out / "results.json"),
        summary.to_csv(out / "summary.csv"),
    ]
    print(_brief(summary))
    say("wrote " + ", ".join(str(p) for p in written))
    n_failed = len(table.failed)
    if n_failed:
        print(
            f"mlpinspect sweep: {n_failed} of {len(table)} runs failed; their errors "
            f"are in the `error` column of {written[0]} (--resume --retry-failed "
            f"trains them again)",
            file=sys.stderr,
        )
        return 1
    return 0


def _brief(summary: Any) -> Any:
    """The summary as printed: each number as mean ± std over the seeds."""
    from .experiments import ExperimentTable

    metrics = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    rows = []
    for record in summary:
        row = {k: v for k, v in record.items() if not k.startswith(tuple(metrics))}
        for m in metrics:
            mean, std = record[f"{m}_mean"], record[f"{m}_std"]
            row[m] = f"{mean:.4g} ± {std:.2g}"
        rows.append(row)
    return ExperimentTable(rows)


def run(args: argparse.Namespace) -> int:
    """Run ``mlpinspect sweep``; returns the exit status."""
    from .errors import MlpinspectError

    try:
        return _sweep(args)
    except (MlpinspectError, ImportError) as exc:
        print(f"mlpinspect sweep: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"mlpinspect sweep: interrupted; the finished runs are kept in "
            f"{Path(args.out) / 'runs'}: run the same command with --resume to "
            f"complete the others",
            file=sys.stderr,
        )
        return 130
