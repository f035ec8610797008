"""Tables of the registry for the documentation (reStructuredText).

The docs' Sphinx configuration renders them with its ``mlpinspect-table``
directive, so the method table and the Captum table list what is
registered, never a list typed by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._lrp import LRP_PRESETS, LRP_RULES
from ._registry import METHODS

__all__ = ["TABLES", "rst_table"]

_COMPLETENESS = {
    "baseline": "``f(x) - f(baseline)``",
    "output": "``f(x)``",
    None: "none",
}
_BASELINE = {
    "none": "none",
    "zero": "zeros (fixed)",
    "reference": "one per row (default zeros)",
    "distribution": "drawn from a set of inputs",
}

#: Captum's argument names that mean the same in :func:`mlpinspect.attribute`.
CAPTUM_NAMES: tuple[tuple[str, str], ...] = (
    ("``baselines=B``", "``baseline=B`` (or ``baselines=B``)"),
    ("``internal_batch_size=k``", "``chunk_size=k`` (or ``internal_batch_size=k``)"),
    ("``n_steps=50``", "``n_steps=50``"),
    (
        "``method='gausslegendre'`` (IG)",
        "``rule='gauss_legendre'`` (or ``rule='gausslegendre'``)",
    ),
    (
        "``method='riemann_left' | 'riemann_right' | 'riemann_middle'`` (IG)",
        "``rule=`` the same name",
    ),
    (
        "``method='riemann_trapezoid'`` (IG)",
        "``rule='riemann_trapezoid'``, the true trapezoid rule: Captum's result "
        "times ``n_steps / (n_steps - 1)``",
    ),
    (
        "``sliding_window_shapes=w``, ``strides=s``",
        "``window=w``, ``stride=s`` (or Captum's names)",
    ),
    ("``nt_type``, ``nt_samples``, ``stdevs``", "the same names"),
    ("``n_samples``, ``stdevs`` (GradientShap)", "the same names"),
    (
        "``return_convergence_delta=True``",
        "always: ``result.completeness_error`` (alias ``result.convergence_delta``)",
    ),
    (
        "``target=t``",
        "``target=t`` (also class labels, ``'predicted'``, "
        "``'labels'`` of a stream, a callable)",
    ),
    (
        "``captum.metrics.infidelity(model, perturb_func, X, attributions, target=t)``",
        "``mlpinspect.infidelity(model, result, perturbations=I)``",
    ),
    (
        "``captum.metrics.sensitivity_max(explainer.attribute, X, target=t)``",
        "``mlpinspect.max_sensitivity(model, X, t, method=...)``",
    ),
)


def _list_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [headers, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"


def _options(record: object) -> str:
    options = getattr(record, "options", ())
    if not options:
        return "none"
    parts = []
    for opt in options:
        text = f"``{opt.name}={opt.default!r}``"
        if opt.aliases:
            text += " (" + ", ".join(f"``{a}``" for a in opt.aliases) + ")"
        parts.append(text)
    return ", ".join(parts)


def _methods() -> str:
    rows = []
    for name, record in METHODS.items():
        defaults = {o.name: o.default for o in record.options}
        if record.wraps:
            defaults["base_options"] = {}
        label = f"``{name}``"
        if record.aliases:
            label += " (" + ", ".join(f"``{a}``" for a in record.aliases) + ")"
        rows.append(
            [
                label,
                record.summary,
                _BASELINE[record.baseline_kind(defaults)],
                _COMPLETENESS[record.completeness],
                _options(record),
            ]
        )
    return _list_table(
        ["method", "what it computes", "baseline", "sums to", "options"], rows
    )


def _captum() -> str:
    rows = [
        [f"``{record.captum}``", f"``attribute(model, X, t, method='{name}')``"]
        for name, record in METHODS.items()
        if record.captum
    ]
    rows += [[a, b] for a, b in CAPTUM_NAMES]
    return _list_table(["Captum", "mlpinspect"], rows)


def _lrp_rules() -> str:
    rows = [
        [
            f"``{name}``",
            rule.summary,
            ", ".join(f"``{p}``" for p in rule.params) or "none",
            "first layer only"
            if rule.first_layer_only
            else ("non-negative inputs" if rule.nonnegative_inputs else "any layer"),
        ]
        for name, rule in LRP_RULES.items()
    ]
    return _list_table(["rule", "formula", "options", "where"], rows)


def _lrp_presets() -> str:
    rows = [
        [f"``{name}``", f"``{first}``", f"``{hidden}``", f"``{last}``"]
        for name, (first, hidden, last) in LRP_PRESETS.items()
    ]
    return _list_table(
        ["preset", "first layer", "other hidden layers", "output layer"], rows
    )


TABLES = {
    "methods": _methods,
    "captum": _captum,
    "lrp-rules": _lrp_rules,
    "lrp-presets": _lrp_presets,
}
"""Table name -> function returning it as reStructuredText."""


def rst_table(kind: str) -> str:
    """The table ``kind`` (one of :data:`TABLES`) as reStructuredText.

    Examples
    --------
    >>> print(rst_table("lrp-presets").splitlines()[0])
    .. list-table::
    """
    return TABLES[kind]()
