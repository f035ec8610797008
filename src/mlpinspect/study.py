"""The study, as one function: train, look inside, compare, sweep, report.

:func:`run_study` reproduces the study this library was built around (see
the user guide): a 784-30-10 sigmoid network trained on MNIST by mini-batch
gradient descent, its hidden units shown as images, the top-3 excitatory and
inhibitory hidden units of every digit by weight *and* by what they actually
contribute on real images, an exact decomposition and pixel attributions of
one decision, the initialisation/regularisation comparison measured by drift
from initialisation and smoothness, and the hidden-size sweep over several
seeds. It writes every figure as PNG, the trained networks as ``.npz``, and a
report (``report.md`` and a self-contained ``report.html``).

The command ``mlpinspect study`` (or ``python -m mlpinspect study``) calls it.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_write
from ._report import Report
from ._validation import check_choice, check_int
from ._version import __version__
from .errors import InvalidParameterError
from .experiments import STUDY_COMPARISON, compare_training, hidden_size_sweep
from .network import ENGINES, Network, _load_numba_engine

__all__ = ["StudyResult", "run_study"]

DEFAULT_SWEEP_SIZES = (2, 3, 4, 5, 10, 30)
DIGITS = tuple(str(d) for d in range(10))


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
        The report's key numbers (accuracies, drift, smoothness, sweep) as
        plain Python values.

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


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            seconds = time.perf_counter() - self.start
            print(f"[{seconds:6.1f} s] {message}", file=sys.stderr, flush=True)


def _load_data(data: str | os.PathLike, quick: bool):
    """Return (train, test, description) for ``data`` = sample, mnist or a folder."""
    from .datasets import load_mnist, load_mnist_sample

    if isinstance(data, str) and data == "sample":
        d = load_mnist_sample(dtype=np.float64)
        train, test = (d.X_train, d.y_train), (d.X_test, d.y_test)
        text = (
            f"the MNIST sample bundled with mlpinspect ({len(train[1]):,} training "
            f"and {len(test[1]):,} test images, balanced over the digits)"
        )
    else:
        path = None if (isinstance(data, str) and data == "mnist") else Path(data)
        d = load_mnist(path, dtype=np.float64)
        split = d.nielsen_split()
        train, test = (split.train.X, split.train.y), (split.test.X, split.test.y)
        text = (
            f"MNIST ({len(train[1]):,} training images: the first 50,000 of the "
            f"training set, as in Nielsen's book; {len(test[1]):,} test images)"
        )
    if quick:  # a smoke run: a slice of the data
        train = (train[0][:1000], train[1][:1000])
        test = (test[0][:300], test[1][:300])
        text += "; --quick: 1,000 training and 300 test images"
    return train, test, text


def _check_output_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / ".write-test", lambda fh: fh.write(b"ok"))
        (out / ".write-test").unlink()
    except OSError as exc:
        raise InvalidParameterError(
            f"`out` must be a folder mlpinspect can write to; {out}: "
            f"{exc.strerror or exc}"
        ) from None


def _fmt_units(indices: Sequence[int], values: Sequence[float]) -> str:
    return ", ".join(f"{int(i)} ({v:+.2f})" for i, v in zip(indices, values))


def run_study(
    out: str | os.PathLike = "study-output",
    *,
    data: str | os.PathLike = "sample",
    seed: int = 0,
    epochs: int = 30,
    sweep_sizes: Sequence[int] = DEFAULT_SWEEP_SIZES,
    sweep_seeds: int = 3,
    n_jobs: int = 1,
    quick: bool = False,
    quiet: bool = False,
    engine: str = "numpy",
) -> StudyResult:
    """Run the whole study and write its figures, networks and report to ``out``.

    Parameters
    ----------
    out : str or path-like, default "study-output"
        Output folder (created if needed).
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
    n_jobs : int, default 1
        Processes for the sweep (-1: every core).
    quick : bool, default False
        A smoke run of seconds: 1,000 training images, 1 epoch, a two-size
        sweep with one seed.
    quiet : bool, default False
        No progress output.
    engine : {"numpy", "numba"}, default "numpy"
        The training loop of every network, as in
        :meth:`~mlpinspect.Network.fit`. ``"numba"`` is faster; the numbers
        in the documentation were measured with ``"numpy"``, and the two round
        differently, so a seed gives a slightly different network in each.

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
    # Plotting and analysis are imported here: they load matplotlib.
    from . import plotting
    from .analysis import (
        attribute,
        class_contributions,
        decompose,
        drift_from_init,
        smoothness,
        top_units,
        weight_images,
    )

    out = Path(out)
    seed = check_int(seed, "seed", minimum=0)
    epochs = check_int(epochs, "epochs", minimum=1)
    sweep_seeds = check_int(sweep_seeds, "sweep_seeds", minimum=1)
    sweep_sizes = tuple(
        check_int(s, f"sweep_sizes[{i}]", minimum=1) for i, s in enumerate(sweep_sizes)
    )
    engine = check_choice(engine, "engine", ENGINES)
    if engine == "numba":
        _load_numba_engine()  # an ImportError now, not after the data has loaded
    if quick:
        epochs, sweep_sizes, sweep_seeds = 1, sweep_sizes[:2], 1
    _check_output_folder(out)
    say = _Progress(quiet)
    result = StudyResult(out=out)
    numbers = result.numbers

    say("loading data")
    train, test, data_text = _load_data(data, quick)
    X_test, y_test = test

    report = Report("What did this network learn? The study, reproduced by mlpinspect")
    report.paragraph(
        f"mlpinspect {__version__}, Python {platform.python_version()}, "
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Data: {data_text}. "
        f"Seed {seed}, {epochs} epoch{'' if epochs == 1 else 's'} per network."
    )

    # -- 1. the study network -------------------------------------------------------
    say(
        "training the study network: 784-30-10, sigmoid, quadratic cost, "
        "batch 10, learning rate 3.0, N(0, 1) initialisation"
    )
    net = Network([784, 30, 10], init="normal", seed=seed, class_names=DIGITS)
    history = net.fit(
        train[0],
        train[1],
        epochs=epochs,
        batch_size=10,
        learning_rate=3.0,
        cost="quadratic",
        validation_data=(X_test, y_test),
        progress=not quiet,
        engine=engine,
    )
    mlp = net.to_mlp()
    accuracy = net.score(X_test, y_test)
    result.test_accuracy = numbers["test_accuracy"] = accuracy
    result.files["study-network.npz"] = net.save(out / "study-network.npz")

    report.heading("1. The study network")
    report.paragraph(
        f"784-30-10, sigmoid units, quadratic cost, mini-batches of 10, learning rate "
        f"3.0, weights and biases drawn from N(0, 1). **Test accuracy: "
        f"{100 * accuracy:.2f}%** (the essay: about 95% on the full MNIST)."
    )
    report.figure(
        "training",
        plotting.plot_training(history).figure,
        "Cost and accuracy per epoch.",
    )

    # -- 2. weights as pictures -----------------------------------------------------
    say("drawing the weight images")
    report.heading("2. Weights as pictures")
    report.paragraph(
        "Each hidden unit's 784 incoming weights as a 28x28 image: blue where the "
        "unit likes ink (positive weight), red where it dislikes it, white zero; "
        "one symmetric colour scale for all tiles."
    )
    report.figure(
        "hidden-weights",
        plotting.plot_weight_images(mlp, layer=0),
        "The 30 hidden units' incoming weights (the essay's 'Lego blocks').",
    )
    report.figure(
        "output-weights",
        plotting.plot_output_weights(mlp),
        "Each digit's 30 incoming weights from the hidden units, as 5x6 images.",
    )

    # -- 3. top-k units, by weight and by contribution ------------------------------
    say("ranking hidden units by weight and by contribution")
    report.heading("3. Which hidden units does each digit use?")
    report.paragraph(
        "By weight: the three most positive (excitatory) and most negative "
        "(inhibitory) incoming weights of each digit's output unit, as in the essay. "
        "By contribution: the mean of weight x hidden activation over the test "
        "images of that digit, which is what the unit actually uses; a unit with a "
        "large weight that is rarely active is not a top feature."
    )
    rows, overlaps = [], []
    for d in range(10):
        by_w = top_units(mlp, d, k=3, by="weight")
        by_c = top_units(mlp, d, k=3, by="contribution", X=X_test, y=y_test)
        overlaps.append(
            len(set(by_w.excitatory) & set(by_c.excitatory))
            + len(set(by_w.inhibitory) & set(by_c.inhibitory))
        )
        rows.append(
            [
                d,
                _fmt_units(by_w.excitatory, by_w.excitatory_values),
                _fmt_units(by_w.inhibitory, by_w.inhibitory_values),
                _fmt_units(by_c.excitatory, by_c.excitatory_values),
                _fmt_units(by_c.inhibitory, by_c.inhibitory_values),
            ]
        )
    report.table(
        [
            "digit",
            "excitatory by weight",
            "inhibitory by weight",
            "excitatory by contribution",
            "inhibitory by contribution",
        ],
        rows,
    )
    numbers["top3_overlap_mean"] = float(np.mean(overlaps)) / 6
    report.paragraph(
        f"On average {np.mean(overlaps):.1f} of the 6 units chosen by weight are also "
        f"chosen by contribution."
    )
    report.figure(
        "recipes-by-weight",
        plotting.plot_recipes(mlp, k=3, by="weight"),
        "Each digit's output weights, then its top-3 excitatory (blue frame) "
        "and inhibitory (red frame) hidden units, by weight.",
    )
    report.figure(
        "recipes-by-contribution",
        plotting.plot_recipes(mlp, k=3, by="contribution", X=X_test, y=y_test),
        "The same, ranked by mean contribution on the test images of each digit.",
    )

    # -- 4. features used in part, unused, negatively -------------------------------
    say("measuring how each digit uses each hidden unit")
    cc = class_contributions(mlp, X_test, y_test)
    hidden = mlp.trace(X_test).post[0]
    full = decompose(mlp, X_test)
    report.heading("4. Features are used in part, and negatively")
    report.paragraph(
        "For each digit, over its test images: how many hidden units are on "
        "(activation > 0.5) on at least 95% of them, on at most 5%, or in between "
        "(used in part: a Lego block would be all-or-nothing), and which share of "
        "the output unit's contribution mass (the sum of |weight x activation|) "
        "comes from units arguing against the digit."
    )
    rows = []
    numbers["negative_share"] = {}
    in_between = []
    for d in range(10):
        mask = y_test == d
        on = (hidden[mask] > 0.5).mean(axis=0)
        always, never = int((on >= 0.95).sum()), int((on <= 0.05).sum())
        partly = hidden.shape[1] - always - never
        in_between.append(partly)
        c = full.contributions[mask, d, :]
        share = float(-c[c < 0].sum() / np.abs(c).sum())
        numbers["negative_share"][str(d)] = share
        rows.append([d, always, never, partly, f"{100 * share:.0f}%"])
    report.table(
        [
            "digit",
            "units on for >=95% of images",
            "for <=5%",
            "in between",
            "share of contribution mass against the digit",
        ],
        rows,
    )
    numbers["units_in_between_mean"] = float(np.mean(in_between))
    worst = max(numbers["negative_share"], key=numbers["negative_share"].get)
    report.paragraph(
        f"The digit whose output leans most on units that argue against it is "
        f"{worst}: {100 * numbers['negative_share'][worst]:.0f}% of its "
        f"contribution mass is negative (the essay found '8' built mostly from "
        f"features it dislikes)."
    )
    report.figure(
        "class-contributions",
        plotting.plot_class_contributions(cc).figure,
        "Mean contribution of each hidden unit (columns) to each digit's "
        "output unit (rows), over that digit's test images.",
    )

    # -- 5. one decision, exactly ---------------------------------------------------
    say("decomposing one decision and attributing it to pixels")
    index = 0
    x = X_test[index : index + 1]
    dec = decompose(mlp, x)
    predicted = int(mlp.predict(x)[0])
    report.heading("5. Why one image was classified as it was")
    report.paragraph(
        f"Test image {index} (label {int(y_test[index])}) is classified as "
        f"{predicted}. The output unit's pre-activation is exactly the sum of 30 "
        f"hidden contributions and the bias (largest rounding error "
        f"{_max_error(dec):.1e})."
    )
    report.figure(
        "decomposition",
        plotting.plot_contributions(dec, 0, predicted, x=x[0]).figure,
        "Per-hidden-unit contributions to the predicted digit's output, "
        "ending at its pre-activation.",
    )
    methods = [
        "gradient",
        "gradient_x_input",
        "integrated_gradients",
        "deeplift",
        "lrp",
        "occlusion",
    ]
    attributions = {m: attribute(mlp, x, predicted, method=m) for m in methods}
    rows = []
    for m, a in attributions.items():
        err = a.completeness_error
        rows.append([m, "-" if err is None else f"{float(np.max(np.abs(err))):.1e}"])
    report.table(
        ["method", "completeness error (sum of attributions minus output difference)"],
        rows,
    )
    report.paragraph(
        "Integrated gradients and DeepLIFT are complete on any network (the first "
        "up to its quadrature error); gradient x input and LRP are complete only on "
        "bias-free ReLU networks, so on this sigmoid network with biases their "
        "errors are large; the gradient and occlusion claim no completeness."
    )
    report.figure(
        "attributions",
        plotting.plot_attribution(x[0], attributions),
        "Pixel attributions of the predicted digit by six methods.",
    )

    # -- 6. initialisation and regularisation ---------------------------------------
    say("training the comparison: N(0,1) + quadratic vs N(0,1/n) + cross-entropy + L2")
    comparison = compare_training(
        STUDY_COMPARISON,
        train=train,
        test=test,
        seed=seed,
        epochs=epochs,
        progress=not quiet,
        engine=engine,
    )
    report.heading("6. Initialisation and regularisation change what is learned")
    rows = []
    numbers["comparison"] = {}
    for i, name in enumerate(comparison.names):
        cnet = comparison.networks[name]
        result.files[f"comparison-{i + 1}.npz"] = cnet.save(
            out / f"comparison-{i + 1}.npz"
        )
        drift = drift_from_init(cnet)
        smooth = smoothness(weight_images(cnet, layer=0))
        smooth_init = smoothness(weight_images(cnet.initial_mlp(), layer=0))
        acc = comparison.test_accuracy[name]
        numbers["comparison"][name] = {
            "test_accuracy": acc,
            "mean_cosine_to_init": drift.mean_cosine,
            "mean_relative_change": drift.mean_relative_change,
            "smoothness": smooth.mean,
            "smoothness_at_init": smooth_init.mean,
        }
        rows.append(
            [
                name,
                f"{100 * acc:.2f}%",
                f"{drift.mean_cosine:.3f}",
                f"{drift.mean_relative_change:.3f}",
                f"{smooth.mean:.3f}",
                f"{smooth_init.mean:.3f}",
            ]
        )
    report.paragraph(
        "Drift: cosine similarity between each hidden unit's trained and initial "
        "weights (1 = still its random start), and the norm of the change relative "
        "to the initial norm. Smoothness: correlation between neighbouring pixels of "
        "a weight image (0 = noise, 1 = smooth)."
    )
    report.table(
        [
            "training",
            "test accuracy",
            "cosine to init",
            "relative change",
            "smoothness",
            "smoothness at init",
        ],
        rows,
    )
    first, second = (numbers["comparison"][n] for n in comparison.names[:2])
    closer = comparison.names[
        0 if first["mean_cosine_to_init"] > second["mean_cosine_to_init"] else 1
    ]
    smoother = comparison.names[0 if first["smoothness"] > second["smoothness"] else 1]
    report.paragraph(
        f"Closer to its random start: '{closer}' (mean cosine to the initial "
        f"weights {first['mean_cosine_to_init']:.2f} for the first training, "
        f"{second['mean_cosine_to_init']:.2f} for the second). Smoother images: "
        f"'{smoother}' (smoothness {first['smoothness']:.2f} for the first, "
        f"{second['smoothness']:.2f} for the second; noise scores 0)."
    )
    report.figure(
        "comparison",
        plotting.plot_compare(comparison, layer=0, units=range(8)),
        "The first eight hidden units of each network, side by side.",
    )

    # -- 7. the sweep ---------------------------------------------------------------
    if sweep_sizes:
        seeds = list(range(seed, seed + sweep_seeds))
        say(f"hidden-size sweep: sizes {list(sweep_sizes)}, seeds {seeds}")
        sweep = hidden_size_sweep(
            sweep_sizes,
            seeds,
            train=train,
            test=test,
            epochs=epochs,
            n_jobs=n_jobs,
            progress=not quiet,
            engine=engine,
        )
        numbers["sweep"] = sweep.to_dict()
        report.heading("7. How small can the hidden layer be?")
        report.paragraph(
            f"784-h-10 networks, {len(seeds)} seed(s) each, beside the essay's "
            f"single runs on the full MNIST."
        )
        report.table(
            ["hidden units", "mean", "std", "min", "max", "essay (one run)"],
            [
                [
                    r["hidden"],
                    f"{100 * r['mean']:.2f}%",
                    f"{100 * r['std']:.2f}",
                    f"{100 * r['min']:.2f}%",
                    f"{100 * r['max']:.2f}%",
                    "-" if r["reference"] is None else f"{100 * r['reference']:.2f}%",
                ]
                for r in numbers["sweep"]["results"]
            ],
        )
        report.figure(
            "sweep",
            plotting.plot_sweep(sweep).figure,
            "Test accuracy against hidden units: mean and range over seeds.",
        )

    say("writing the report")
    result.files.update(report.write(out))
    say(f"done: {out / 'report.html'}")
    return result


def _max_error(dec: Any) -> float:
    total = dec.contributions.sum(axis=-1) + dec.bias
    return float(np.max(np.abs(total - dec.pre_activation)))
