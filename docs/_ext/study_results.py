"""Sphinx extension: the study's pages generated from a results file.

``mlpinspect study`` writes every number of a run to ``results.json``
(schema ``mlpinspect.study.results/1``). The documentation does not copy
numbers from it by hand: the ``study-results`` directive renders a part of a
committed results file (tables and the sentences that compare them with the
essay, made by the same functions as the report's,
:mod:`mlpinspect.study._claims`) at build time::

    .. study-results:: study-results/full-mnist.json
       :part: sweep

Parts: ``provenance``, ``network``, ``usage``, ``comparison``, ``sweep``,
``seeds``, ``two-hidden``, ``claims``. The build depends on the file, so
committing a fresh run's results regenerates the pages; a part the file does
not hold is a build error, not a silent gap.

One number inside a sentence elsewhere in the docs comes from the same file
(``study_results_file`` in ``conf.py``) through the ``study-value`` role: a
path under the file's ``sections`` and a format::

    the mean cosine is
    :study-value:`comparison/normal init, quadratic cost/mean_cosine_to_init|.2f`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList

from mlpinspect.study._claims import (
    claims_markdown,
    count,
    most_negative_sentence,
    num,
    pct,
    sweep_sentences,
    sweep_summary,
)
from mlpinspect.study._results import load_results

PARTS = (
    "provenance",
    "network",
    "usage",
    "comparison",
    "sweep",
    "seeds",
    "two-hidden",
    "claims",
)


def _table(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A reST list-table."""
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [headers, *rows]:
        for i, cell in enumerate(row):
            out.append(("   * - " if i == 0 else "     - ") + str(cell))
    return [*out, ""]


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def render(results: dict[str, Any], part: str) -> list[str]:
    """The reST lines of ``part`` of ``results``."""
    s = results["sections"]
    data = results["data"]
    if part == "provenance":
        st = results["settings"]
        versions = ", ".join(
            f"{name} {results[name]}"
            for name in ("numpy", "scipy", "numba")
            if results.get(name)
        )
        return [
            f"Measured by ``mlpinspect study`` (mlpinspect {results['mlpinspect']}, "
            f"Python {results['python']}, {versions}, engine "
            f"``{st['engine']}``) on {results['date'][:10]}: {data['description']}; "
            f"seed {st['seed']}, {count(st['epochs'], 'epoch')} per network, the "
            f"sweep over {count(st['sweep_seeds'], 'seed')} per size. The whole run "
            f"took {_duration(results['timing']['seconds'])} (wall clock).",
            "",
        ]
    if part == "network":
        acc = s["network"]["test_accuracy"]
        return [
            f"The study network (784-30-10, seed {results['settings']['seed']}) "
            f"reaches **{pct(acc)}** test accuracy.",
            "",
        ]
    if part == "usage":
        shares = s["usage"]["negative_share"]
        return [
            *_table(
                "Share of each digit's contribution mass that argues against it",
                ["digit", *shares],
                [["share", *(pct(v, 0) for v in shares.values())]],
            ),
            most_negative_sentence(shares),
            "",
        ]
    if part == "comparison":
        rows = [
            [name, pct(v["test_accuracy"]), num(v["mean_cosine_to_init"], 3),
             num(v["mean_relative_change"], 3), num(v["smoothness"], 3),
             num(v["smoothness_at_init"], 3)]
            for name, v in s["comparison"].items()
        ]  # fmt: skip
        return _table(
            "Initialisation and regularisation (784-30-10, the same seed)",
            ["training", "test accuracy", "cosine to init", "relative change",
             "smoothness", "smoothness at init"],
            rows,
        )  # fmt: skip
    if part == "sweep":
        sweep = s["sweep"]
        rows = [
            [r["hidden"], pct(r["mean"]), num(100 * r["std"]), pct(r["min"]),
             pct(r["max"]), "-" if r["reference"] is None else pct(r["reference"])]
            for r in sweep["results"]
        ]  # fmt: skip
        seeds = sweep["seeds"]
        return [
            *_table(
                "Test accuracy by hidden units, 784-h-10, "
                + (
                    f"seeds {seeds[0]}-{seeds[-1]}"
                    if len(seeds) > 1
                    else f"seed {seeds[0]}"
                ),
                ["hidden", "mean", "std", "min", "max", "essay (one run)"],
                rows,
            ),
            " ".join([sweep_summary(sweep), *sweep_sentences(sweep)]),
            "",
        ]
    if part == "seeds":
        seeds = s["seeds"]
        rows = [
            [f"{p['a']} and {p['b']}, {p['kind']}", num(p["cka"], 3),
             f"{p['partners_0.5']} of 30", f"{p['partners_0.8']} of 30",
             num(p["mean_matched_r"])]
            for p in seeds["pairs"]
        ]  # fmt: skip
        mine, base = seeds["partners_trained"], seeds["partners_untrained"]
        ct, cu = seeds["cka_trained"], seeds["cka_untrained"]
        flagged = seeds["flagged_units"]
        flags = (
            "; ".join(
                f"hidden unit {e['unit']} is {e['flag']} (on for "
                f"{pct(e['on_share'], 1)} of the test images)"
                for e in flagged
            )
            if flagged
            else "no hidden unit is always on or dead"
        )
        return [
            *_table(
                "Do different seeds learn the same units? (hidden layer)",
                [
                    "seeds",
                    "CKA",
                    "units with a partner at r >= 0.5",
                    "at r >= 0.8",
                    "mean matched r",
                ],
                rows,
            ),
            f"CKA between trained seeds {num(ct['min'])}-{num(ct['max'])}, between "
            f"untrained networks {num(cu['min'])}-{num(cu['max'])}. Of the study "
            f"network's 30 hidden units, {mine['0.5']['any']} have a partner at "
            f"r >= 0.5 in at least one other seed ({mine['0.5']['all']} in every "
            f"other seed) and {mine['0.8']['any']} at r >= 0.8 "
            f"({mine['0.8']['all']} in every other seed); untrained: "
            f"{base['0.5']['any']} and {base['0.8']['any']}. The unit atlas: "
            f"{flags}.",
            "",
        ]
    if part == "two-hidden":
        two = s["two_hidden"]
        return [
            f"The 784-16-16-10 network reaches **{pct(two['test_accuracy'])}**; mean "
            f"smoothness of its first layer's weight images {num(two['smoothness'][0])}"
            f", of its second layer's effective weights {num(two['smoothness'][1])}; "
            f"the preferred inputs of {two['preferred_at_bound']} of its 16 "
            f"second-layer units reach the largest pre-activation the unit can reach.",
            "",
        ]
    if part == "claims":
        return [*claims_markdown(results["claims"]).splitlines(), ""]
    raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")


class StudyResults(Directive):
    """``.. study-results:: path`` with ``:part:``."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {
        "part": lambda arg: directives.choice(arg, PARTS)
    }

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        rel, path = env.relfn2path(self.arguments[0])
        env.note_dependency(rel)
        part = self.options.get("part", "claims")
        try:
            results = load_results(Path(path))
            lines = render(results, part)
        except Exception as exc:  # a build error naming the file and part
            message = f"study-results {self.arguments[0]} ({part}): {exc}"
            raise self.error(message) from exc
        container = nodes.container(classes=["study-results"])
        self.state.nested_parse(StringList(lines, source=str(path)), 0, container)
        return [container]


def study_value(results: dict[str, Any], text: str) -> str:
    """The number ``text`` names (``section/key/.../key|format``), formatted."""
    path, _, spec = text.partition("|")
    value: Any = results["sections"]
    for key in path.split("/"):
        value = value[key.strip()]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{path} is {value!r}, not a number")
    return format(value, spec)


def study_value_role(
    name: str, rawtext: str, text: str, lineno: int, inliner: Any,
    options: Any = None, content: Any = None,
) -> tuple[list[nodes.Node], list[nodes.Node]]:  # fmt: skip
    """``:study-value:`section/key|format``` from the committed results file."""
    env = inliner.document.settings.env
    rel, path = env.relfn2path("/" + env.config.study_results_file)
    env.note_dependency(rel)
    try:
        value = study_value(load_results(Path(path)), text)
    except Exception as exc:  # a build error naming the file and the value
        message = inliner.reporter.error(
            f"study-value {text!r} in {env.config.study_results_file}: {exc!r}",
            line=lineno,
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.Text(value)], []


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("study_results_file", "study-results/full-mnist.json", "env")
    app.add_directive("study-results", StudyResults)
    app.add_role("study-value", study_value_role)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
