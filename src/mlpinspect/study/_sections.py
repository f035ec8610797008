"""The study's sections: each one computes its numbers, tables and figures.

A section is a function ``section(ctx) -> Section``. It reads what it needs
from the shared :class:`~mlpinspect.study._context.Context` (the data, the
settings, what earlier sections trained) and returns a :class:`Section`: its
title, the report blocks (paragraphs, tables, figures) and the numbers behind
them. :data:`SECTIONS` lists them in report order; adding a section is one
function and one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..experiments import STUDY_COMPARISON, compare_training, hidden_size_sweep
from ..network import Network
from ._context import DIGITS, Context

__all__ = ["SECTIONS", "Section"]


@dataclass
class Section:
    """One section of the report: blocks to render and the numbers behind them.

    Attributes
    ----------
    key : str
        Where its numbers go in the results (``numbers[key]``).
    title : str
        The section heading.
    blocks : list of (kind, value)
        ``("paragraph", markdown)``, ``("table", (headers, rows))`` or
        ``("figure", (name, matplotlib Figure, caption))``, in order.
    numbers : dict
        Plain Python numbers, lists and dicts.

    Examples
    --------
    >>> section = Section("demo", "A demo section")
    >>> section.paragraph("The answer is **42**.")
    >>> section.table(["x", "x squared"], [[2, 4], [3, 9]])
    >>> section.numbers["answer"] = 42
    >>> [kind for kind, _ in section.blocks]
    ['paragraph', 'table']
    """

    key: str
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(("table", (list(headers), [list(r) for r in rows])))

    def figure(self, name: str, fig: Any, caption: str) -> None:
        self.blocks.append(("figure", (name, fig, caption)))


def _fmt_units(indices: Sequence[int], values: Sequence[float]) -> str:
    return ", ".join(f"{int(i)} ({v:+.2f})" for i, v in zip(indices, values))


def _pct(value: float, decimals: int = 2) -> str:
    return f"{100 * value:.{decimals}f}%"


# -- 1. the study network --------------------------------------------------------------


def study_network(ctx: Context) -> Section:
    """Train the 784-30-10 network of the essay and report its accuracy."""
    from .. import plotting

    ctx.say(
        "training the study network: 784-30-10, sigmoid, quadratic cost, "
        "batch 10, learning rate 3.0, N(0, 1) initialisation"
    )
    X_test, y_test = ctx.test
    net = Network([784, 30, 10], init="normal", seed=ctx.seed, class_names=DIGITS)
    history = net.fit(
        *ctx.train,
        epochs=ctx.epochs,
        batch_size=10,
        learning_rate=3.0,
        cost="quadratic",
        validation_data=ctx.test,
        progress=not ctx.quiet,
        engine=ctx.engine,
    )
    mlp = net.to_mlp()
    accuracy = net.score(X_test, y_test)
    ctx.results.update(network=net, mlp=mlp, test_accuracy=accuracy)
    ctx.files["study-network.npz"] = net.save(ctx.out / "study-network.npz")
    section = Section("network", "1. The study network")
    section.numbers["test_accuracy"] = accuracy
    section.paragraph(
        f"784-30-10, sigmoid units, quadratic cost, mini-batches of 10, learning rate "
        f"3.0, weights and biases drawn from N(0, 1). **Test accuracy: "
        f"{_pct(accuracy)}** (the essay: about 95% on the full MNIST)."
    )
    section.figure(
        "training",
        plotting.plot_training(history, held_out_label="test"),
        "Cost and accuracy per epoch.",
    )
    return section


# -- 2. weights as pictures ------------------------------------------------------------


def weights_as_pictures(ctx: Context) -> Section:
    """The hidden units' weight images and the output units' weights."""
    from .. import plotting

    ctx.say("drawing the weight images")
    mlp = ctx.results["mlp"]
    section = Section("weights", "2. Weights as pictures")
    section.paragraph(
        "Each hidden unit's 784 incoming weights as a 28x28 image: blue where the "
        "unit likes ink (positive weight), red where it dislikes it, white zero; "
        "one symmetric colour scale for all tiles."
    )
    section.figure(
        "hidden-weights",
        plotting.plot_weight_images(mlp, layer=0),
        "The 30 hidden units' incoming weights (the essay's 'Lego blocks').",
    )
    section.figure(
        "output-weights",
        plotting.plot_output_weights(mlp),
        "Each digit's 30 incoming weights from the hidden units, as 5x6 images.",
    )
    return section


# -- 3. top-k units, by weight and by contribution -------------------------------------


def top_units_section(ctx: Context) -> Section:
    """Each digit's top-3 excitatory and inhibitory hidden units, two ways."""
    from .. import plotting
    from ..analysis import top_units

    ctx.say("ranking hidden units by weight and by contribution")
    mlp = ctx.results["mlp"]
    X_test, y_test = ctx.test
    section = Section("top_units", "3. Which hidden units does each digit use?")
    section.paragraph(
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
    section.table(
        [
            "digit",
            "excitatory by weight",
            "inhibitory by weight",
            "excitatory by contribution",
            "inhibitory by contribution",
        ],
        rows,
    )
    section.numbers["top3_overlap_mean"] = float(np.mean(overlaps)) / 6
    section.paragraph(
        f"On average {np.mean(overlaps):.1f} of the 6 units chosen by weight are also "
        f"chosen by contribution."
    )
    section.figure(
        "recipes-by-weight",
        plotting.plot_recipes(mlp, k=3, by="weight"),
        "Each digit's output weights, then its top-3 excitatory (blue frame) "
        "and inhibitory (red frame) hidden units, by weight.",
    )
    section.figure(
        "recipes-by-contribution",
        plotting.plot_recipes(mlp, k=3, by="contribution", X=X_test, y=y_test),
        "The same, ranked by mean contribution on the test images of each digit.",
    )
    return section


# -- 4. features used in part, unused, negatively --------------------------------------


def usage_section(ctx: Context) -> Section:
    """How each digit uses each hidden unit: always, never, in part; and how
    much of its evidence argues against it."""
    from .. import plotting
    from ..analysis import class_contributions

    ctx.say("measuring how each digit uses each hidden unit")
    mlp = ctx.results["mlp"]
    cc = class_contributions(mlp, *ctx.test)
    always, never, partly = cc.on_counts(consistent=0.95)
    shares = cc.negative_mass_share()
    section = Section("usage", "4. Features are used in part, and negatively")
    section.paragraph(
        "For each digit, over its test images: how many hidden units are on "
        "(pre-activation above 0, so a sigmoid output above 0.5) on at least 95% of "
        "them, on at most 5%, or in between (used in part: a Lego block would be "
        "all-or-nothing), and which share of the output unit's contribution mass "
        "(the sum of |weight x activation|) comes from units arguing against the "
        "digit."
    )
    section.table(
        [
            "digit",
            "units on for >=95% of images",
            "for <=5%",
            "in between",
            "share of contribution mass against the digit",
        ],
        [
            [d, int(always[d]), int(never[d]), int(partly[d]), _pct(shares[d], 0)]
            for d in range(10)
        ],
    )
    section.numbers["negative_share"] = {str(d): float(shares[d]) for d in range(10)}
    section.numbers["units_in_between_mean"] = float(np.mean(partly))
    worst = int(np.argmax(shares))
    section.paragraph(
        f"The digit whose output leans most on units that argue against it is "
        f"{worst}: {_pct(shares[worst], 0)} of its contribution mass is negative "
        f"(the essay found '8' built mostly from features it dislikes)."
    )
    section.figure(
        "class-contributions",
        plotting.plot_class_contributions(cc),
        "Mean contribution of each hidden unit (columns) to each digit's "
        "output unit (rows), over that digit's test images.",
    )
    return section


# -- 5. one decision, exactly ----------------------------------------------------------


def attribution_methods() -> tuple[str, ...]:
    """The registry's deterministic attribution methods, in registry order
    (the randomised ones, SmoothGrad and GradientSHAP, would make the report
    depend on a seed)."""
    from ..analysis.attribution import registered_methods

    return registered_methods(randomized=False)


def one_decision(ctx: Context) -> Section:
    """One test image: its exact decomposition and its attributions."""
    from .. import plotting
    from ..analysis import attribute, decompose
    from ..errors import InvalidParameterError

    ctx.say("decomposing one decision and attributing it to pixels")
    mlp = ctx.results["mlp"]
    X_test, y_test = ctx.test
    index = 0
    x = X_test[index : index + 1]
    dec = decompose(mlp, x)
    predicted = int(mlp.predict(x)[0])
    error = float(np.max(np.abs(dec.completeness_error)))
    section = Section("decision", "5. Why one image was classified as it was")
    section.numbers.update(
        image=index, label=int(y_test[index]), predicted=predicted,
        decomposition_error=error,
    )  # fmt: skip
    section.paragraph(
        f"Test image {index} (label {int(y_test[index])}) is classified as "
        f"{predicted}. The output unit's pre-activation is exactly the sum of 30 "
        f"hidden contributions and the bias (largest rounding error {error:.1e})."
    )
    section.figure(
        "decomposition",
        plotting.plot_decomposition(dec, sample=0, unit=predicted),
        "Per-hidden-unit contributions to the predicted digit's output, "
        "ending at its pre-activation.",
    )
    attributions, refused = {}, {}
    for m in attribution_methods():
        try:
            attributions[m] = attribute(mlp, x, predicted, method=m)
        except InvalidParameterError as exc:  # a method this model does not allow
            refused[m] = str(exc)
    rows, errors = [], {}
    for m, a in attributions.items():
        err = a.completeness_error
        errors[m] = None if err is None else float(np.max(np.abs(err)))
        rows.append([m, "-" if err is None else f"{errors[m]:.1e}"])
    section.numbers["completeness_error"] = errors
    section.numbers["refused_methods"] = sorted(refused)
    section.table(
        ["method", "completeness error (sum of attributions minus output difference)"],
        rows,
    )
    section.paragraph(
        "Integrated gradients and DeepLIFT are complete on any network (the first "
        "up to its quadrature error); gradient x input is complete only on "
        "bias-free ReLU networks, so on this sigmoid network with biases its "
        "error is large; the gradient and occlusion claim no completeness."
    )
    for m, reason in refused.items():
        section.paragraph(f"`{m}` is not shown: {reason.rstrip('.')}.")
    section.figure(
        "attributions",
        plotting.plot_attribution(attributions),
        f"Pixel attributions of the predicted digit by {len(attributions)} methods.",
    )
    return section


# -- 6. initialisation and regularisation ----------------------------------------------


def comparison_section(ctx: Context) -> Section:
    """Nielsen's network.py training against network2.py's, measured."""
    from .. import plotting
    from ..analysis import drift_from_init, smoothness, weight_images

    ctx.say(
        "training the comparison: N(0,1) + quadratic vs N(0,1/n) + cross-entropy + L2"
    )
    comparison = compare_training(
        STUDY_COMPARISON,
        train=ctx.train,
        test=ctx.test,
        seed=ctx.seed,
        epochs=ctx.epochs,
        progress=not ctx.quiet,
        engine=ctx.engine,
    )
    section = Section(
        "comparison", "6. Initialisation and regularisation change what is learned"
    )
    rows = []
    for i, name in enumerate(comparison.names):
        net = comparison.networks[name]
        ctx.files[f"comparison-{i + 1}.npz"] = net.save(
            ctx.out / f"comparison-{i + 1}.npz"
        )
        drift = drift_from_init(net)
        smooth = smoothness(weight_images(net, layer=0))
        smooth_init = smoothness(weight_images(net.initial_mlp(), layer=0))
        accuracy = comparison.test_accuracy[name]
        section.numbers[name] = {
            "test_accuracy": accuracy,
            "mean_cosine_to_init": drift.mean_cosine,
            "mean_relative_change": drift.mean_relative_change,
            "smoothness": smooth.mean,
            "smoothness_at_init": smooth_init.mean,
        }
        rows.append(
            [
                name,
                _pct(accuracy),
                f"{drift.mean_cosine:.3f}",
                f"{drift.mean_relative_change:.3f}",
                f"{smooth.mean:.3f}",
                f"{smooth_init.mean:.3f}",
            ]
        )
    section.paragraph(
        "Drift: cosine similarity between each hidden unit's trained and initial "
        "weights (1 = still its random start), and the norm of the change relative "
        "to the initial norm. Smoothness: correlation between neighbouring pixels of "
        "a weight image (0 = noise, 1 = smooth)."
    )
    section.table(
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
    first, second = (section.numbers[n] for n in comparison.names[:2])
    closer = comparison.names[
        0 if first["mean_cosine_to_init"] > second["mean_cosine_to_init"] else 1
    ]
    smoother = comparison.names[0 if first["smoothness"] > second["smoothness"] else 1]
    section.paragraph(
        f"Closer to its random start: '{closer}' (mean cosine to the initial "
        f"weights {first['mean_cosine_to_init']:.2f} for the first training, "
        f"{second['mean_cosine_to_init']:.2f} for the second). Smoother images: "
        f"'{smoother}' (smoothness {first['smoothness']:.2f} for the first, "
        f"{second['smoothness']:.2f} for the second; noise scores 0)."
    )
    section.figure(
        "comparison",
        plotting.plot_compare(comparison, layer=0, units=range(8)),
        "The first eight hidden units of each network, side by side.",
    )
    return section


# -- 7. the sweep ----------------------------------------------------------------------


def sweep_section(ctx: Context) -> Section | None:
    """The hidden-size sweep over several seeds (none when no sizes are given)."""
    from .. import plotting

    if not ctx.sweep_sizes:
        return None
    seeds = list(range(ctx.seed, ctx.seed + ctx.sweep_seeds))
    ctx.say(f"hidden-size sweep: sizes {list(ctx.sweep_sizes)}, seeds {seeds}")
    sweep = hidden_size_sweep(
        ctx.sweep_sizes,
        seeds,
        train=ctx.train,
        test=ctx.test,
        epochs=ctx.epochs,
        n_jobs=ctx.n_jobs,
        progress=not ctx.quiet,
        engine=ctx.engine,
    )
    section = Section("sweep", "7. How small can the hidden layer be?")
    section.numbers.update(sweep.to_dict())
    n_seeds = len(seeds)
    section.paragraph(
        f"784-h-10 networks, {n_seeds} seed{'s' if n_seeds != 1 else ''} each, "
        f"beside the essay's single runs on the full MNIST."
    )
    section.table(
        ["hidden units", "mean", "std", "min", "max", "essay (one run)"],
        [
            [
                r["hidden"],
                _pct(r["mean"]),
                f"{100 * r['std']:.2f}",
                _pct(r["min"]),
                _pct(r["max"]),
                "-" if r["reference"] is None else _pct(r["reference"]),
            ]
            for r in section.numbers["results"]
        ],
    )
    section.figure(
        "sweep",
        plotting.plot_sweep(sweep),
        "Test accuracy against hidden units: mean and range over seeds.",
    )
    return section


SECTIONS: tuple[Callable[[Context], Section | None], ...] = (
    study_network,
    weights_as_pictures,
    top_units_section,
    usage_section,
    one_decision,
    comparison_section,
    sweep_section,
)
"""The report's sections, in order."""
