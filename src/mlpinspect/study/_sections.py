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

from ..experiments import STUDY_COMPARISON, SweepResult
from ._claims import (
    NOISY,
    claims_markdown,
    count,
    essay_claims,
    most_negative_sentence,
    pct,
    sweep_sentences,
    sweep_summary,
)
from ._context import STUDY_SETTINGS, STUDY_SIZES, Context

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


_pct = pct


def _sweep_sizes(hidden: int) -> tuple[int, ...]:
    return (STUDY_SIZES[0], hidden, STUDY_SIZES[-1])


def planned_networks(ctx: Context) -> list[tuple[Any, ...]]:
    """Every network the sections will train, as :meth:`Context.plan` keys:
    the study network of each seed the sweep and the seeds section use, the
    comparison's trainings and the two-hidden-layer network."""
    seeds = {ctx.seed, *(ctx.seed + i for i in range(SEED_COUNT))}
    if STUDY_SIZES[1] in ctx.sweep_sizes:
        seeds |= {ctx.seed + i for i in range(ctx.sweep_seeds)}
    plans = [ctx.plan(TWO_HIDDEN, STUDY_SETTINGS, ctx.seed)]
    plans += [ctx.plan(STUDY_SIZES, STUDY_SETTINGS, s) for s in sorted(seeds)]
    plans += [
        ctx.plan(STUDY_SIZES, dict(c), ctx.seed) for c in STUDY_COMPARISON.values()
    ]
    plans += [
        ctx.plan(_sweep_sizes(h), STUDY_SETTINGS, ctx.seed + i)
        for h in sorted(ctx.sweep_sizes, reverse=True)  # the longest first
        for i in range(ctx.sweep_seeds)
    ]
    return list(dict.fromkeys(plans))


def watched_networks(ctx: Context) -> list[tuple[Any, ...]]:
    """The networks whose per-epoch history and snapshots a section reads or
    saves: the study network (its training curves), the comparison's
    trainings (how their units form) and the two-hidden-layer network (saved
    with its history). The sweep and the seeds section read only trained
    networks."""
    plans = [ctx.plan(STUDY_SIZES, STUDY_SETTINGS, ctx.seed)]
    plans += [
        ctx.plan(STUDY_SIZES, dict(c), ctx.seed) for c in STUDY_COMPARISON.values()
    ]
    return [*plans, ctx.plan(TWO_HIDDEN, STUDY_SETTINGS, ctx.seed)]


# -- 1. the study network --------------------------------------------------------------


def study_network(ctx: Context) -> Section:
    """Train the 784-30-10 network of the essay and report its accuracy."""
    from .. import plotting

    X_test, y_test = ctx.test
    ctx.watch(watched_networks(ctx))
    ctx.prefetch(planned_networks(ctx))  # every training of the run, in parallel
    net = ctx.study_network()
    history = net.history
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
    section.paragraph(
        most_negative_sentence(section.numbers["negative_share"])
        + " Whether the essay's '8' is built mostly from features it dislikes: "
        "see the last section."
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

    ctx.say("the comparison: N(0,1) + quadratic vs N(0,1/n) + cross-entropy + L2")
    # The first training is the study network (the same settings and seed):
    # the context trains each network once per run.
    names = list(STUDY_COMPARISON)
    networks = {name: ctx.comparison_network(name) for name in names}
    section = Section(
        "comparison", "6. Initialisation and regularisation change what is learned"
    )
    rows = []
    for i, name in enumerate(names):
        net = networks[name]
        ctx.files[f"comparison-{i + 1}.npz"] = net.save(
            ctx.out / f"comparison-{i + 1}.npz"
        )
        drift = drift_from_init(net)
        smooth = smoothness(weight_images(net, layer=0))
        smooth_init = smoothness(weight_images(net.initial_mlp(), layer=0))
        accuracy = net.score(*ctx.test)
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
    first, second = (section.numbers[n] for n in names[:2])
    closer = names[
        0 if first["mean_cosine_to_init"] > second["mean_cosine_to_init"] else 1
    ]
    smoother = names[0 if first["smoothness"] > second["smoothness"] else 1]
    section.paragraph(
        f"Closer to its random start: '{closer}' (mean cosine to the initial "
        f"weights {first['mean_cosine_to_init']:.2f} for the first training, "
        f"{second['mean_cosine_to_init']:.2f} for the second). Smoother images: "
        f"'{smoother}' (smoothness {first['smoothness']:.2f} for the first, "
        f"{second['smoothness']:.2f} for the second; noise scores 0)."
    )
    section.figure(
        "comparison",
        plotting.plot_compare(networks, layer=0, units=range(8)),
        "The first eight hidden units of each network, side by side.",
    )
    return section


# -- 7. how the units form -------------------------------------------------------------

FORMED = 0.9
"""A unit has formed once its cosine similarity to its final weights stays at
or above this (see :func:`mlpinspect.unit_dynamics`)."""


def _curve(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), 6) for v in values]


def _forming_text(name: str, numbers: dict[str, Any]) -> str:
    """What the numbers of one training say, in words generated from them."""
    start = numbers["formed_at_start"]
    median, last = numbers["median_formed_at"], numbers["last_formed_at"]
    cosine = numbers["mean_cosine_to_init"][-1]
    when = (
        f"the median unit forms at epoch {median:g} and the last at epoch {last:g}"
        if median > 0
        else f"the last forms at epoch {last:g}"
    )
    verdict = (
        "training nudged its random units rather than forming new ones"
        if cosine > 0.5
        else "its units were formed by training, not inherited from the initialisation"
    )
    return (
        f"'{name}': {_pct(start, 0)} of its units are within {FORMED} of their final "
        f"weights at initialisation; {when}; at the end their mean cosine to their "
        f"initial weights is {cosine:.2f} and their smoothness "
        f"{numbers['mean_smoothness'][-1]:.2f} (noise scores 0): {verdict}."
    )


def units_forming(ctx: Context) -> Section:
    """When and how the hidden units of both trainings become what they are."""
    from .. import plotting
    from ..analysis import unit_dynamics

    ctx.say("following the hidden units through training")
    names = list(STUDY_COMPARISON)
    dynamics = {
        name: unit_dynamics(
            ctx.comparison_network(name).history.snapshots,
            threshold=FORMED,
            X=ctx.test[0],
            y=ctx.test[1],
        )
        for name in names
    }
    section = Section("dynamics", "7. How the units form")
    section.paragraph(
        "Both trainings of the comparison recorded every hidden unit's weights at "
        "the start and after every epoch. For each unit and epoch: the cosine "
        "similarity to its initial weights and to its final weights, the change "
        "relative to its initial norm, and the smoothness of its weight image. A "
        f"unit *forms* at the first epoch from which its cosine similarity to its "
        f"final weights stays at or above {FORMED} until the end: epoch 0 means it "
        f"was already there at initialisation."
    )
    rows = []
    for name, dyn in dynamics.items():
        formed = dyn.formed_at
        at_start = float(np.mean(formed == 0))
        one = min(1, dyn.n_snapshots - 1)  # the snapshot after one epoch
        section.numbers[name] = {
            "threshold": FORMED,
            "epochs": _curve(dyn.times),
            "formed_at": _curve(formed),
            "median_formed_at": dyn.median_formed_at,
            "last_formed_at": float(np.nanmax(formed)),
            "formed_at_start": at_start,
            "mean_cosine_to_init": _curve(dyn.mean("cosine_to_init")),
            "mean_cosine_to_final": _curve(dyn.mean("cosine_to_final")),
            "mean_relative_change": _curve(dyn.mean("relative_change")),
            "mean_smoothness": _curve(dyn.mean("smoothness")),
            "test_accuracy": _curve(dyn.metrics["accuracy"]),
        }
        rows.append(
            [
                name,
                _pct(at_start, 0),
                f"{dyn.median_formed_at:g}",
                f"{np.nanmax(formed):g}",
                f"{dyn.mean('cosine_to_init')[one]:.3f}",
                f"{dyn.mean('cosine_to_init')[-1]:.3f}",
                f"{dyn.mean('smoothness')[one]:.3f}",
                f"{dyn.mean('smoothness')[-1]:.3f}",
            ]
        )
    section.table(
        [
            "training",
            "units formed at initialisation",
            "median epoch of formation",
            "last unit formed at epoch",
            "cosine to init after epoch 1",
            "at the end",
            "smoothness after epoch 1",
            "at the end",
        ],
        rows,
    )
    section.paragraph(" ".join(_forming_text(n, section.numbers[n]) for n in names))
    for i, name in enumerate(names):
        section.figure(
            f"units-forming-{i + 1}",
            plotting.plot_film_strip(
                ctx.comparison_network(name).history.snapshots, frames=8
            ),
            f"'{name}': the first eight hidden units (rows) from initialisation to "
            f"the end of training (columns, with the test accuracy), one colour "
            f"scale for all tiles.",
        )
    section.figure(
        "unit-dynamics",
        plotting.plot_unit_dynamics(dynamics, metric="accuracy"),
        "Per hidden unit (thin) and on average (thick), epoch by epoch: cosine to "
        "the initial and to the final weights, relative change, smoothness, the "
        "share of units formed, and the test accuracy (from the start); one colour "
        "per training.",
    )
    return section


# -- 8. the sweep ----------------------------------------------------------------------


def sweep_section(ctx: Context) -> Section | None:
    """The hidden-size sweep over several seeds (none when no sizes are given).

    Every network comes from the context, trained once per run with the
    others (:func:`planned_networks`): a 30-unit network of the sweep has the
    study network's settings, so it *is* ``ctx.study_network(seed)``."""
    from .. import plotting
    from ..experiments import STUDY_SWEEP_REFERENCE

    if not ctx.sweep_sizes:
        return None
    seeds = list(range(ctx.seed, ctx.seed + ctx.sweep_seeds))
    study_size = STUDY_SIZES[1]
    accuracy = np.array(
        [
            [ctx.network(_sweep_sizes(h), seed=s).score(*ctx.test) for s in seeds]
            for h in ctx.sweep_sizes
        ]
    )  # fmt: skip
    sweep = SweepResult(
        sizes=tuple(ctx.sweep_sizes),
        seeds=tuple(seeds),
        accuracy=accuracy,
        reference=dict(STUDY_SWEEP_REFERENCE),
        settings={
            "epochs": ctx.epochs, "batch_size": 10, **STUDY_SETTINGS,
            "activation": "sigmoid", "engine": ctx.engine,
            "n_train": len(ctx.train[1]), "n_test": len(ctx.test[1]),
        },
    )  # fmt: skip
    section = Section("sweep", "8. How small can the hidden layer be?")
    section.numbers.update(sweep.to_dict())
    section.paragraph(
        f"784-h-10 networks, {count(len(seeds), 'seed')} each, beside the essay's "
        f"single runs on the full MNIST"
        + (
            f". The {study_size}-unit networks are the study network's trainings "
            f"(seed {seeds[0]} is section 1's network)."
            if study_size in ctx.sweep_sizes
            else "."
        )
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
    section.paragraph(
        " ".join([sweep_summary(section.numbers), *sweep_sentences(section.numbers)])
    )
    section.figure(
        "sweep",
        plotting.plot_sweep(sweep),
        f"Test accuracy against hidden units: mean and range over "
        f"{count(len(seeds), 'seed')}.",
    )
    return section


# -- 8. the same units across seeds ----------------------------------------------------

SEED_COUNT = 3
"""Seeds of the study network compared (the run's seed and the next ones)."""

PARTNER_THRESHOLDS = (0.5, 0.8)
"""Correlations at which a unit counts as having a partner in another seed."""


def seeds_section(ctx: Context) -> Section:
    """Do different seeds learn the same units? CKA and one-to-one matched units
    between study networks trained from several seeds, against the same
    networks untrained; and the always-on and dead units of the study network,
    with what they contribute."""
    from .. import plotting
    from ..analysis import cka_matrix, class_contributions, match_units, unit_atlas

    seeds = [ctx.seed + i for i in range(SEED_COUNT)]
    nets = {s: ctx.study_network(s) for s in seeds}
    ctx.say(f"comparing the hidden units of seeds {seeds} (CKA, matched units)")
    X_test, y_test = ctx.test
    trained = {f"seed {s}": nets[s].to_mlp() for s in seeds}
    untrained = {f"seed {s} untrained": nets[s].initial_mlp() for s in seeds}
    similarity = cka_matrix({**trained, **untrained}, X_test, layers=0)
    n_hidden = trained[f"seed {seeds[0]}"].layers[0].n_out
    section = Section("seeds", "9. Do different seeds learn the same units?")
    section.numbers["seeds"] = seeds
    rows, pairs = [], []
    matchings = {}
    for kind, models in (("trained", trained), ("untrained", untrained)):
        names = list(models)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                a, b = names[i], names[j]
                m = match_units(models[a], models[b], X_test, names=(a, b))
                matchings[kind, i, j] = m
                entry = {
                    "kind": kind,
                    "a": seeds[i],
                    "b": seeds[j],
                    "cka": similarity.get(a, b),
                    "mean_matched_r": float(np.nanmean(m.pair_correlation)),
                }
                for t in PARTNER_THRESHOLDS:
                    entry[f"partners_{t}"] = m.count_above(t)
                pairs.append(entry)
                rows.append(
                    [
                        f"{seeds[i]} and {seeds[j]} ({kind})",
                        f"{entry['cka']:.3f}",
                        *(
                            f"{entry[f'partners_{t}']} of 30"
                            for t in PARTNER_THRESHOLDS
                        ),
                        f"{entry['mean_matched_r']:.2f}",
                    ]
                )
    section.numbers["pairs"] = pairs
    for kind in ("trained", "untrained"):
        values = [p["cka"] for p in pairs if p["kind"] == kind]
        section.numbers[f"cka_{kind}"] = {
            "mean": float(np.mean(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
        }
        section.numbers[f"partners_{kind}"] = _partners_of_first(
            matchings, kind, len(seeds)
        )
    section.paragraph(
        f"The study network trained from seeds {', '.join(map(str, seeds))}, compared "
        f"on the {len(y_test):,} test images, against the same networks before "
        f"training (their random initial weights): a baseline, because random "
        f"projections of the same images already resemble each other. CKA (linear, "
        f"Kornblith et al. 2019) compares the whole hidden layer up to rotation and "
        f"scale; matching pairs the {n_hidden} hidden units of two networks one to "
        f"one by the correlation of their activations (Li et al. 2016), and counts the "
        f"units whose partner correlates at r >= 0.5 and >= 0.8."
    )
    section.table(
        [
            "seeds",
            "CKA of the hidden layers",
            "units with a partner at r >= 0.5",
            "at r >= 0.8",
            "mean matched r",
        ],
        rows,
    )
    mine = section.numbers["partners_trained"]
    base = section.numbers["partners_untrained"]
    cka_t, cka_u = section.numbers["cka_trained"], section.numbers["cka_untrained"]
    section.paragraph(
        f"Of the {n_hidden} hidden units of the study network (seed {seeds[0]}), "
        f"**{mine['0.5']['any']} have a partner at r >= 0.5** in at least one other "
        f"seed ({mine['0.5']['all']} in every other seed) and **{mine['0.8']['any']} "
        f"at r >= 0.8** ({mine['0.8']['all']} in every other seed); untrained: "
        f"{base['0.5']['any']} and {base['0.8']['any']}. CKA between trained seeds: "
        f"**{cka_t['mean']:.2f}** ({cka_t['min']:.2f}-{cka_t['max']:.2f}); between "
        f"untrained networks: {cka_u['mean']:.2f} ({cka_u['min']:.2f}-"
        f"{cka_u['max']:.2f})."
    )
    section.figure(
        "seed-cka",
        plotting.plot_cka_matrix(similarity),
        "Linear CKA between the hidden layers of the trained and untrained networks.",
    )
    section.figure(
        "matched-units",
        plotting.plot_matched_units(matchings["trained", 0, 1]),
        f"The ten best-matched hidden units of seeds {seeds[0]} and {seeds[1]}, "
        f"their weights side by side, with the correlation of their activations.",
    )
    ctx.say("building the unit atlas of the study network")
    mlp = trained[f"seed {seeds[0]}"]
    atlas = unit_atlas(mlp, X_test, y_test)
    _flagged_units(section, atlas, class_contributions(mlp, X_test, y_test))
    section.figure(
        "unit-atlas",
        plotting.plot_unit_atlas(atlas),
        "The study network's hidden units: weights (flagged units framed), the "
        "share of test images on which each is on, and what each digit does to it.",
    )
    shown = _notable_unit(atlas)
    section.figure(
        "unit-profile",
        plotting.plot_unit_profile(atlas, shown),
        f"Hidden unit {shown}: its weights, the test images that drive it most and "
        f"least, its activation quantiles and its mean activation per digit.",
    )
    return section


def _partners_of_first(matchings: dict, kind: str, n_seeds: int) -> dict:
    """For the first seed's units: how many have a partner at each threshold in
    at least one other seed (``any``) and in every other seed (``all``)."""
    found = {}
    for t in PARTNER_THRESHOLDS:
        hits = []
        for j in range(1, n_seeds):
            m = matchings[kind, 0, j]
            has = np.zeros(m.correlation.shape[0], dtype=bool)
            with np.errstate(invalid="ignore"):
                good = m.pair_correlation >= t
            has[m.pairs[good, 0]] = True
            hits.append(has)
        stacked = np.array(hits)
        found[str(t)] = {
            "any": int(stacked.any(axis=0).sum()),
            "all": int(stacked.all(axis=0).sum()),
        }
    return found


def _flagged_units(section: Section, atlas: Any, cc: Any) -> None:
    """A paragraph and a table on the always-on and dead hidden units."""
    flagged = [u for u in range(atlas.n_units) if atlas.always_on[u] or atlas.dead[u]]
    most_inhibitory = np.argmin(cc.mean_contribution, axis=1)  # per digit
    entries = []
    for u in flagged:
        entries.append(
            {
                "unit": u,
                "flag": "always on" if atlas.always_on[u] else "dead",
                "on_share": float(atlas.active_share[u]),
                "mean": float(atlas.output_mean[u]),
                "std": float(atlas.std[u]),
                "equivalent_bias": atlas.equivalent_bias[u].tolist(),
                "most_inhibitory_for": int(np.sum(most_inhibitory == u)),
            }
        )
    section.numbers["flagged_units"] = entries
    section.numbers["duplicates"] = int(np.sum(atlas.duplicate_of >= 0))
    threshold = atlas.thresholds["always_on_share"]
    if not entries:
        section.paragraph(
            f"The unit atlas of the study network flags no hidden unit as always on "
            f"(on for at least {threshold:.0%} of the test images) or dead (never "
            f"on)."
        )
        return
    texts = []
    for e in entries:
        text = (
            f"hidden unit {e['unit']} is {e['flag']}: on for "
            f"{_pct(e['on_share'], 1)} of the test images, output "
            f"{e['mean']:.3f} ± {e['std']:.3f}"
        )
        if e["flag"] == "always on":
            text += (
                f"; it is the most inhibitory unit by mean contribution for "
                f"{e['most_inhibitory_for']} of the 10 digits"
            )
        texts.append(text)
    section.paragraph(
        "The unit atlas (on = pre-activation above 0, i.e. sigmoid output above "
        f"0.5; always on = on for at least {threshold:.0%} of the test images): "
        + "; ".join(texts)
        + ". A unit that is on for every image and barely varies carries no "
        "information about the image: to the output layer it is a second bias. The "
        "table gives the bias it is equivalent to, its mean output times its "
        "outgoing weight, added to each digit's logit."
    )
    section.table(
        ["unit", "flag", "on for", *(f"bias on {d}" for d in range(10))],
        [
            [
                e["unit"],
                e["flag"],
                _pct(e["on_share"], 1),
                *(f"{b:+.2f}" for b in e["equivalent_bias"]),
            ]
            for e in entries
        ],
    )


def _notable_unit(atlas: Any) -> int:
    """The unit to draw in detail: the first always-on unit, else the first
    dead one, else the one on most often."""
    for flags in (atlas.always_on, atlas.dead):
        hits = np.flatnonzero(flags)
        if hits.size:
            return int(hits[0])
    return int(np.argmax(atlas.active_share))


# -- 10. two hidden layers ------------------------------------------------------------

TWO_HIDDEN = (784, 16, 16, 10)
"""The 3Blue1Brown network the essay points at."""


def two_hidden_section(ctx: Context) -> Section:
    """The 784-16-16-10 network: its first layer's weight images, its second
    layer in input space (effective weights) and the second layer's preferred
    inputs."""
    from .. import plotting
    from ..analysis import effective_weights, preferred_input, smoothness

    net = ctx.network(TWO_HIDDEN)
    ctx.say(
        "the 784-16-16-10 network: first layer, effective weights, preferred inputs"
    )
    mlp = net.to_mlp()
    accuracy = net.score(*ctx.test)
    effective = effective_weights(mlp, layer=1)
    first = smoothness(mlp, layer=0).mean
    second = smoothness(effective.images()).mean
    preferred = preferred_input(mlp, list(range(16)), layer=1, box=(0, 1), seed=0)
    W1, b1 = mlp.layers[1].weight, mlp.layers[1].bias
    bound = b1 + np.maximum(W1, 0).sum(axis=1)
    reached = np.asarray(preferred.activation, dtype=float)
    ctx.files["two-hidden-network.npz"] = net.save(ctx.out / "two-hidden-network.npz")
    section = Section("two_hidden", "10. Two hidden layers: the 784-16-16-10 network")
    section.numbers.update(
        test_accuracy=accuracy,
        smoothness=[first, second],
        effective_exact=bool(effective.exact),
        preferred_reached=reached.tolist(),
        preferred_bound=bound.tolist(),
        preferred_at_bound=int(np.sum(reached >= 0.99 * bound)),
    )  # fmt: skip
    section.paragraph(
        f"The essay points at 3Blue1Brown's network: two hidden layers of 16 "
        f"sigmoid units. Trained here as the study network is (seed {ctx.seed}, "
        f"the same settings and epochs), it reaches **{pct(accuracy)}** test "
        f"accuracy. A first-layer unit is drawn as its 784 weights; a second-layer "
        f"unit has 16 incoming weights, so it is drawn in input space two ways: "
        f"its effective weights (the product of the two weight matrices, ignoring "
        f"the sigmoid in between) and its preferred input (the image with pixels in "
        f"[0, 1] and the size of a real digit that drives its pre-activation "
        f"highest, found by gradient ascent through the real network)."
    )
    section.table(
        ["layer", "drawn as", "mean smoothness"],
        [
            ["first hidden", "weights", f"{first:.2f}"],
            ["second hidden", "effective weights", f"{second:.2f}"],
        ],
    )
    at_bound = section.numbers["preferred_at_bound"]
    section.paragraph(
        f"Smoothness scores noise 0 and smooth blobs near 1; the report calls a "
        f"layer 'almost random' below {NOISY}. The first layer scores "
        f"{first:.2f}: {'almost random' if first < NOISY else 'structured'}. "
        f"The preferred inputs of {at_bound} of the 16 second-layer units reach "
        f"(within 1%) the largest pre-activation the unit can reach at all, its "
        f"bias plus its positive weights: the unit is a vote over the first "
        f"layer, and its preferred input is whatever speckle saturates that vote."
    )
    section.figure(
        "two-hidden-first-layer",
        plotting.plot_weight_images(mlp, layer=0),
        "The 16 first-layer units' incoming weights.",
    )
    section.figure(
        "two-hidden-effective",
        plotting.plot_weight_images(mlp, layer=1, space="input"),
        "The 16 second-layer units in input space: effective weights "
        "(second weight matrix times first).",
    )
    section.figure(
        "two-hidden-preferred",
        plotting.plot_preferred_input(preferred, ncols=8),
        "The preferred input of each second-layer unit, with the pre-activation "
        "it reaches.",
    )
    return section


# -- 11. the essay's claims -----------------------------------------------------------


def claims_section(ctx: Context) -> Section:
    """Each claim of the essay and whether it holds in this run, generated
    from the numbers of the sections before."""
    claims = essay_claims({"sections": ctx.numbers, "data": {"name": ctx.data_name}})
    section = Section("claims", "11. The essay's claims, checked")
    section.numbers["verdicts"] = {c["key"]: c["verdict"] for c in claims}
    section.paragraph(
        "Each sentence below is generated from the numbers of the sections above "
        "(and written to results.json with them); the thresholds are stated with "
        "each verdict."
    )
    section.paragraph(claims_markdown(claims))
    return section


claims_section.after_all = True  # type: ignore[attr-defined]


SECTIONS: tuple[Callable[[Context], Section | None], ...] = (
    study_network,
    weights_as_pictures,
    top_units_section,
    usage_section,
    one_decision,
    comparison_section,
    units_forming,
    sweep_section,
    seeds_section,
    two_hidden_section,
    claims_section,
)
"""The report's sections, in order."""
