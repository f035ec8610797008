"""Sentences generated from the study's numbers.

Every sentence of the report (and of the documentation's study pages) that
states a result, compares it with the essay or says whether one of the
essay's claims holds is made here, by a function of the results (the
``sections`` of ``results.json``), never typed by hand. Comparisons are made
on the values *as displayed* (rounded as in the tables), so a sentence cannot
say "above the range" while the table shows the same number as the range's
top, and equal displayed values are reported as ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..experiments import STUDY_SWEEP_REFERENCE

__all__ = [
    "CLAIMS",
    "ESSAY_ACCURACY",
    "NOISY",
    "count",
    "essay_claims",
    "join_words",
    "most_negative_sentence",
    "pct",
    "position",
    "sweep_sentences",
]

ESSAY_ACCURACY = 0.95
"""The essay's test accuracy of the 784-30-10 network: "about 95%"."""

NOISY = 0.35
"""Mean smoothness below which a layer's weight images "look almost random":
white noise scores 0, the smooth images of the regularised training about 0.7;
0.35 is half way."""

STILL_RANDOM = 0.5
"""Mean cosine similarity to the initial weights at or above which the hidden
units are still mostly their random start."""

CLAIMS = {
    "accuracy": "The 784-30-10 network reaches about 95% test accuracy.",
    "pictures": "Each hidden unit's weights, drawn as an image, look almost "
    "random: nothing like edges or loops.",
    "top_k": "A digit's largest output weights name the hidden units it relies "
    "on (its top-3 excitatory and inhibitory units).",
    "in_part": "A feature is used in part, not all-or-nothing.",
    "negative": "Some features contribute negatively yet matter.",
    "eight": "The '8' is built mostly from features it dislikes.",
    "smaller": "Smaller networks reach (single runs): "
    + ", ".join(
        f"{h} hidden units {100 * a:.2f}%"
        for h, a in sorted(STUDY_SWEEP_REFERENCE.items(), reverse=True)
    )
    + ".",
    "init": "Initialisation and regularisation change what is learned: "
    "N(0, 1/n) initialisation with L2 regularisation and cross-entropy gives much "
    "smoother, more structured weight images.",
    "two_hidden": "The 784-16-16-10 network's first-layer weight images look just "
    "as noisy.",
}
"""The essay's claims the study checks, by key, in the essay's words."""


def pct(value: float, decimals: int = 2) -> str:
    """``0.9491`` -> ``"94.91%"``."""
    return f"{100 * value:.{decimals}f}%"


def num(value: float, decimals: int = 2) -> str:
    """A number with ``decimals`` decimals, never ``-0.00``."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "seed")`` -> ``"1 seed"``, ``count(3, "seed")`` -> ``"3 seeds"``."""
    word = singular if n == 1 else (plural or singular + "s")
    return f"{n} {word}"


def join_words(items: Sequence[Any]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def position(value: float, low: float, high: float, decimals: int = 2) -> str:
    """``"below"``, ``"inside"`` or ``"above"`` the range ``[low, high]``,
    compared as percentages rounded to ``decimals`` (as the tables show them)."""
    v, lo, hi = (round(100 * x, decimals) for x in (value, low, high))
    if v < lo:
        return "below"
    if v > hi:
        return "above"
    return "inside"


def sweep_sentences(sweep: Mapping[str, Any]) -> list[str]:
    """One sentence per hidden size with an essay number: where the essay's
    single run falls against our range over seeds."""
    n_seeds = len(sweep.get("seeds", ()))
    out = []
    for r in sweep["results"]:
        ref = r.get("reference")
        if ref is None:
            continue
        where = position(ref, r["min"], r["max"])
        spread = (
            f"our {pct(r['min'])} to {pct(r['max'])} over {count(n_seeds, 'seed')}"
            if n_seeds > 1
            else f"our {pct(r['min'])} with {count(n_seeds, 'seed')}"
        )
        if n_seeds > 1:
            verb = {
                "inside": "is inside",
                "below": "is below",
                "above": "is above",
            }[where]
            text = f"{verb} {spread}"
        else:
            verb = {
                "inside": "equals",
                "below": "is below",
                "above": "is above",
            }[where]
            text = f"{verb} {spread}"
        out.append(
            f"{count(r['hidden'], 'hidden unit')}: the essay's {pct(ref)} {text}."
        )
    return out


def sweep_summary(sweep: Mapping[str, Any]) -> str:
    """How the essay's single runs sit against our ranges, in one sentence."""
    where: dict[str, list[int]] = {"below": [], "inside": [], "above": []}
    for r in sweep["results"]:
        if r.get("reference") is not None:
            where[position(r["reference"], r["min"], r["max"])].append(r["hidden"])
    if not any(where.values()):
        return "The essay gives no single run for these sizes."
    parts = []
    for key in ("below", "inside", "above"):
        sizes = where[key]
        if sizes:
            parts.append(
                f"{key} our range for {join_words(sizes)} hidden "
                f"unit{'' if sizes == [1] else 's'}"
            )
    return "The essay's single runs are " + join_words(parts) + "."


def most_negative_sentence(shares: Mapping[str, float]) -> str:
    """Which digit's output leans most on units that argue against it; digits
    whose shares display the same (whole percent) are reported as a tie."""
    shown = {d: round(100 * v) for d, v in shares.items()}
    top = max(shown.values())
    digits = [d for d, v in shown.items() if v == top]
    if len(digits) == 1:
        return (
            f"The digit whose output leans most on units that argue against it is "
            f"{digits[0]}: {top}% of its contribution mass is negative."
        )
    return (
        f"The digits whose outputs lean most on units that argue against them are "
        f"tied: {join_words(digits)}, {top}% of the contribution mass each."
    )


def _rank_of(shares: Mapping[str, float], digit: str) -> tuple[int, int]:
    """(rank from the highest, number of digits tied with it), on whole percents."""
    shown = {d: round(100 * v) for d, v in shares.items()}
    mine = shown[digit]
    higher = sum(v > mine for v in shown.values())
    tied = sum(v == mine for v in shown.values()) - 1
    return higher + 1, tied


def _ordinal(n: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(
        n % 10 if n % 100 not in (11, 12, 13) else 0
    )
    return f"{n}{suffix or 'th'}"


def _claim(key: str, verdict: str, text: str) -> dict[str, str]:
    return {"key": key, "essay": CLAIMS[key], "verdict": verdict, "text": text}


def essay_claims(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """Whether each of the essay's claims holds in this run, with the numbers.

    Parameters
    ----------
    results : mapping
        The results file's content (``results.json``): ``sections`` (numbers
        by section key) and ``data``.

    Returns
    -------
    list of dict
        ``{"key", "essay", "verdict", "text"}`` per claim the run measured;
        ``verdict`` is ``"holds"``, ``"holds in part"`` or ``"does not hold"``.
    """
    s = results["sections"]
    full = results.get("data", {}).get("name") == "mnist"
    where = "" if full else " (on the bundled sample, not the full MNIST)"
    comparison = s.get("comparison", {})
    first = next(iter(comparison.values()), None)
    return [
        *_accuracy_claim(s, where),
        *_pictures_claim(first),
        *_top_k_claim(s),
        *_usage_claims(s.get("usage")),
        *_smaller_claim(s.get("sweep")),
        *_init_claim(comparison),
        *_two_hidden_claim(s.get("two_hidden"), first),
    ]


def _accuracy_claim(s: Mapping[str, Any], where: str) -> list[dict[str, str]]:
    """The essay's about 95%."""
    out: list[dict[str, str]] = []
    if "network" in s:
        acc = s["network"]["test_accuracy"]
        holds = round(100 * acc) == round(100 * ESSAY_ACCURACY)
        out.append(
            _claim(
                "accuracy",
                "holds" if holds else "does not hold",
                f"The study network reaches {pct(acc)}{where}, which "
                f"{'rounds' if holds else 'does not round'} to the essay's 95%.",
            )
        )
    return out


def _pictures_claim(first: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """'The weights look almost random.'"""
    out: list[dict[str, str]] = []
    if first is not None:
        cos, smooth = first["mean_cosine_to_init"], first["smoothness"]
        still = cos >= STILL_RANDOM
        noisy = smooth < NOISY
        verdict = (
            "holds" if still and noisy else "holds in part" if still or noisy else
            "does not hold"
        )  # fmt: skip
        out.append(
            _claim(
                "pictures",
                verdict,
                f"Mean smoothness of the hidden units' weight images "
                f"{num(smooth)} (noise 0, the regularised training's about 0.7; "
                f"'almost random' means below {NOISY}), and a mean cosine "
                f"similarity of {num(cos)} to their random initial weights "
                f"({'at or above' if still else 'below'} {STILL_RANDOM}: the "
                f"units are {'still' if still else 'no longer'} mostly their "
                f"random start).",
            )
        )
    return out


def _top_k_claim(s: Mapping[str, Any]) -> list[dict[str, str]]:
    """Ranking by weight agrees with ranking by contribution."""
    out: list[dict[str, str]] = []
    if "top_units" in s:
        overlap = s["top_units"]["top3_overlap_mean"]
        verdict = (
            "holds" if overlap >= 0.8 else "holds in part" if overlap >= 0.4 else
            "does not hold"
        )  # fmt: skip
        out.append(
            _claim(
                "top_k",
                verdict,
                f"On average {6 * overlap:.1f} of the 6 units a digit's weights "
                f"rank at the top are also at the top by what they contribute on "
                f"the test images (holds from 4.8 of 6, in part from 2.4).",
            )
        )
    return out


def _usage_claims(usage: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Features used in part, negatively, and the '8' built from disliked units."""
    out: list[dict[str, str]] = []
    if usage is not None:
        between = usage["units_in_between_mean"]
        out.append(
            _claim(
                "in_part",
                "holds" if between >= 1 else "does not hold",
                f"On average {between:.1f} hidden units per digit are on for more "
                f"than 5% and fewer than 95% of its test images: used in part.",
            )
        )
        shares = usage["negative_share"]
        low = min(shares.values())
        out.append(
            _claim(
                "negative",
                "holds" if low >= 0.1 else "does not hold",
                f"Every digit takes at least {pct(low, 0)} of its contribution mass "
                f"from units arguing against it (from {pct(low, 0)} to "
                f"{pct(max(shares.values()), 0)}).",
            )
        )
        if "8" in shares:
            eight = shares["8"]
            rank, tied = _rank_of(shares, "8")
            lowest = rank + tied == len(shares)
            place = (
                ("tied for the highest" if rank == 1 else "tied for the lowest"
                 if lowest else f"tied for the {_ordinal(rank)} highest")
                if tied else
                "the highest" if rank == 1 else "the lowest" if lowest else
                f"the {_ordinal(rank)} highest"
            )  # fmt: skip
            holds = round(100 * eight) > 50
            out.append(
                _claim(
                    "eight",
                    "holds" if holds else "does not hold",
                    f"{pct(eight, 0)} of the '8' output's contribution mass comes "
                    f"from units arguing against it ({'more' if holds else 'not more'}"
                    f" than half), {place} of the ten digits.",
                )
            )
    return out


def _smaller_claim(sweep: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Smaller hidden layers, against the essay's runs."""
    out: list[dict[str, str]] = []
    if sweep is not None and any(r.get("reference") for r in sweep["results"]):
        places = [
            position(r["reference"], r["min"], r["max"])
            for r in sweep["results"]
            if r.get("reference") is not None
        ]
        inside = places.count("inside")
        verdict = (
            "holds" if inside == len(places) else "holds in part" if inside else
            "does not hold"
        )  # fmt: skip
        out.append(
            _claim(
                "smaller",
                verdict,
                " ".join([sweep_summary(sweep), *sweep_sentences(sweep)]),
            )
        )
    return out


def _init_claim(comparison: Mapping[str, Any]) -> list[dict[str, str]]:
    """Initialisation and regularisation change what is learned."""
    out: list[dict[str, str]] = []
    if len(comparison) >= 2:
        (n1, a), (n2, b) = list(comparison.items())[:2]
        smoother = b["smoothness"] > a["smoothness"]
        further = b["mean_cosine_to_init"] < a["mean_cosine_to_init"]
        verdict = (
            "holds" if smoother and further else "holds in part" if smoother else
            "does not hold"
        )  # fmt: skip
        out.append(
            _claim(
                "init",
                verdict,
                f"Smoothness {num(a['smoothness'])} for '{n1}' against "
                f"{num(b['smoothness'])} for '{n2}'; mean cosine to the initial "
                f"weights {num(a['mean_cosine_to_init'])} against "
                f"{num(b['mean_cosine_to_init'])}.",
            )
        )
    return out


def _two_hidden_claim(
    two: Mapping[str, Any] | None, first: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """The 784-16-16-10 first layer is just as noisy."""
    out: list[dict[str, str]] = []
    if two is not None:
        smooth = two["smoothness"][0]
        mine = first["smoothness"] if first is not None else None
        versus = "" if mine is None else f" (the 784-30-10 network's: {num(mine)})"
        out.append(
            _claim(
                "two_hidden",
                "holds" if smooth < NOISY else "does not hold",
                f"Mean smoothness of its first layer's weight images "
                f"{num(smooth)}{versus}; 'almost random' means below {NOISY}.",
            )
        )
    return out


def claims_markdown(claims: Sequence[Mapping[str, str]]) -> str:
    """The verdicts as a Markdown list (also valid reStructuredText)."""
    return "\n".join(
        f"- **{c['verdict'].capitalize()}.** {c['essay']} Here: {c['text']}"
        for c in claims
    )
