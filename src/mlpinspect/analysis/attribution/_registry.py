"""The registry of attribution methods: one record per method.

A method is an :class:`AttributionMethod`: the function that computes it, its
options as data (:class:`Option`), what kind of baseline it takes, what its
attributions add up to, and a line for the documentation. The built-in
methods register themselves when :mod:`mlpinspect.analysis.attribution` is
imported; anyone can add one with :func:`register_method` (the way Zennit
registers rules and composites), and :func:`mlpinspect.attribute`, the docs'
method table and the study all read the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...errors import InvalidParameterError
from ._options import Option, check_options, refuse_unknown
from ._problem import Computed, Problem

__all__ = [
    "BASELINE_KINDS",
    "COMPLETENESS",
    "METHODS",
    "AttributionMethod",
    "get_method",
    "register_method",
    "registered_methods",
    "unregister_method",
]

BASELINE_KINDS = ("none", "zero", "reference", "distribution")
"""What a method does with ``baseline``: ignores it and refuses one (``"none"``),
uses the zero input and refuses another (``"zero"``), takes one reference input
per row (``"reference"``, default zeros) or draws from a set of reference inputs
(``"distribution"``, e.g. training images)."""

COMPLETENESS = ("baseline", "output")
"""What attributions add up to: ``f(x) - f(baseline)`` or ``f(x)``."""

#: ``prepare(mlp, stage, options) -> options``: model-dependent checks.
Prepare = Callable[[Any, str, dict[str, Any]], dict[str, Any]]
#: ``memory(mlp, options, chunk_size) -> [(what, bytes), ...]``.
Memory = Callable[[Any, Mapping[str, Any], int], Sequence[tuple[str, int]]]


@dataclass(frozen=True)
class AttributionMethod:
    """One attribution method and everything :func:`~mlpinspect.attribute` needs.

    Attributes
    ----------
    name : str
        The name ``method=`` takes, e.g. ``"integrated_gradients"``.
    compute : callable
        ``compute(problem) -> Computed`` for one batch (a :class:`Problem`).
    summary : str
        One line for the documentation's method table.
    options : tuple of Option
        The keyword options the method takes, with their checks.
    baseline : {"none", "zero", "reference", "distribution"} or callable
        What the method does with ``baseline``: refuses one (``"none"``),
        uses zeros (``"zero"``), takes one per row (``"reference"``) or draws
        from a set (``"distribution"``);
        a callable ``baseline(options) -> kind`` for a method that wraps
        another.
    completeness : {"baseline", "output"} or None
        What the attributions of a row add up to: ``f(x) - f(baseline)``,
        ``f(x)``, or nothing (None); the result's ``completeness_error``
        measures the difference.
    captum : str or None
        The Captum call this method matches, for the documentation.
    randomized : bool
        True when the method draws random numbers (it then takes a ``seed``
        option and receives the problem's ``random`` streams).
    wraps : str or None
        For a method over another method (SmoothGrad), the name of the option
        that names the inner method; keyword arguments that are not this
        method's options are the inner method's.
    prepare : callable or None
        ``prepare(mlp, stage, options) -> options``: checks and choices that
        depend on the model (a rule that needs ReLU layers, a window that must
        fit the input shape). ``mlp`` is the float64 model.
    memory : callable or None
        ``memory(mlp, options, chunk_size) -> [(what, bytes), ...]``: tables
        the method must hold at once whatever ``chunk_size`` is (quadrature
        nodes, say). A call that would exceed
        :data:`~mlpinspect.analysis.attribution.MEMORY_LIMIT` is refused up
        front, saying how much it would need.
    aliases : tuple of str
        Other names ``method=`` accepts.

    Examples
    --------
    >>> from mlpinspect.analysis.attribution import METHODS
    >>> record = METHODS["deeplift"]
    >>> record.baseline, record.completeness
    ('reference', 'baseline')
    >>> [option.name for option in record.options]
    ['n_steps']
    """

    name: str
    compute: Callable[[Problem], Computed]
    summary: str
    options: tuple[Option, ...] = ()
    baseline: str | Callable[[Mapping[str, Any]], str] = "none"
    completeness: str | None = None
    captum: str | None = None
    randomized: bool = False
    wraps: str | None = None
    prepare: Prepare | None = None
    memory: Memory | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InvalidParameterError(
                f"`name` must be an identifier such as 'my_method'; got {self.name!r}"
            )
        if not callable(self.compute):
            raise InvalidParameterError(
                f"`compute` of method {self.name!r} must be callable"
            )
        if not callable(self.baseline) and self.baseline not in BASELINE_KINDS:
            raise InvalidParameterError(
                f"`baseline` of method {self.name!r} must be one of "
                f"{', '.join(map(repr, BASELINE_KINDS))}; got {self.baseline!r}"
            )
        if self.completeness not in (*COMPLETENESS, None):
            raise InvalidParameterError(
                f"`completeness` of method {self.name!r} must be 'baseline', "
                f"'output' or None; got {self.completeness!r}"
            )
        names = [o.name for o in self.options]
        if self.randomized and "seed" not in names:
            raise InvalidParameterError(
                f"method {self.name!r} is randomized and needs a `seed` option"
            )
        if self.wraps is not None and self.wraps not in names:
            raise InvalidParameterError(
                f"method {self.name!r} wraps the method named by option "
                f"{self.wraps!r}, which it does not declare"
            )

    def baseline_kind(self, options: Mapping[str, Any]) -> str:
        """The kind of baseline the method takes, given its options."""
        if callable(self.baseline):
            return self.baseline(options)
        return self.baseline

    def resolve(self, given: Mapping[str, Any], mlp: Any, stage: str) -> dict:
        """Check ``given`` keyword options for ``mlp`` and return every option's
        value (a wrapped method's options under ``"base_options"``)."""
        values, rest = check_options(self.options, given, self.name)
        if self.wraps is not None:
            inner = get_method(values[self.wraps])
            values[self.wraps] = inner.name
            values["base_options"] = inner.resolve(rest, mlp, stage)
        else:
            refuse_unknown(rest, self.options, self.name)
        if self.prepare is not None:
            values = self.prepare(mlp, stage, values)
        return values

    def inner(self, options: Mapping[str, Any]) -> AttributionMethod | None:
        """The wrapped method, for a method over another."""
        return None if self.wraps is None else get_method(options[self.wraps])


_REGISTRY: dict[str, AttributionMethod] = {}
_ALIASES: dict[str, str] = {}

METHODS: Mapping[str, AttributionMethod] = MappingProxyType(_REGISTRY)
"""Registered methods by name (read-only, live): ``sorted(METHODS)`` lists them."""


def register_method(record: AttributionMethod | None = None, /, **fields: Any) -> Any:
    """Register an attribution method, or use as a decorator of its function.

    Parameters
    ----------
    record : AttributionMethod, optional
        A ready record. Without it, the keyword arguments are the record's
        fields except ``compute``, and the call returns a decorator that
        registers the function it decorates (returning it unchanged).
    **fields
        :class:`AttributionMethod` fields (``name``, ``summary``,
        ``options``, ``baseline``, ``completeness``, ...).

    Returns
    -------
    AttributionMethod or decorator

    Raises
    ------
    InvalidParameterError
        If a method or alias of that name exists already (unregister it
        first), or the record is malformed.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> from mlpinspect.analysis.attribution import (
    ...     Computed, Option, Real, register_method, unregister_method)
    >>> @register_method(name="scaled_gradient", summary="c times the gradient",
    ...                  options=(Option("c", 1.0, Real()),))
    ... def scaled_gradient(problem):
    ...     grad, out = problem.gradient(problem.X)
    ...     return Computed(problem.options["c"] * grad, out)
    >>> mlp = MLP([Dense([[2.0, -1.0]], [0.0], "identity")])
    >>> attribute(mlp, [[1.0, 1.0]], 0, method="scaled_gradient", c=3.0).values
    array([[ 6., -3.]])
    >>> unregister_method("scaled_gradient")
    """
    if record is None:

        def decorator(function: Callable[[Problem], Computed]) -> Any:
            register_method(AttributionMethod(compute=function, **fields))
            return function

        return decorator
    if fields:
        raise InvalidParameterError(
            "pass either an AttributionMethod or its fields, not both"
        )
    if not isinstance(record, AttributionMethod):
        raise InvalidParameterError(
            f"`record` must be an AttributionMethod; got {type(record).__name__}"
        )
    for name in (record.name, *record.aliases):
        if name in _REGISTRY or name in _ALIASES:
            raise InvalidParameterError(
                f"an attribution method called {name!r} is registered already; "
                f"call unregister_method({name!r}) first to replace it"
            )
    _REGISTRY[record.name] = record
    for alias in record.aliases:
        _ALIASES[alias] = record.name
    return record


def unregister_method(name: str) -> None:
    """Remove a registered method (and its aliases).

    Examples
    --------
    >>> from mlpinspect.analysis.attribution import METHODS, register_method
    >>> record = METHODS["gradient"].__class__(
    ...     name="copy", compute=METHODS["gradient"].compute, summary="a copy")
    >>> _ = register_method(record)
    >>> unregister_method("copy")
    >>> "copy" in METHODS
    False
    """
    record = _REGISTRY.pop(get_method(name).name)
    for alias in record.aliases:
        _ALIASES.pop(alias, None)


def get_method(name: Any) -> AttributionMethod:
    """The record of a method, by name or alias.

    Examples
    --------
    >>> get_method("smoothgrad").name
    'noise_tunnel'
    """
    if isinstance(name, str):
        key = _ALIASES.get(name, name)
        if key in _REGISTRY:
            return _REGISTRY[key]
    known = ", ".join(repr(n) for n in _REGISTRY)
    aliases = ", ".join(repr(a) for a in _ALIASES)
    raise InvalidParameterError(
        f"`method` must be one of {known} (or {aliases}); got {name!r}"
    )


def registered_methods(*, randomized: bool | None = None) -> tuple[str, ...]:
    """Names of the registered methods, in registration order.

    Parameters
    ----------
    randomized : bool, optional
        Only the methods that draw random numbers (True) or only those that
        do not (False).

    Examples
    --------
    >>> registered_methods(randomized=False)[:3]
    ('gradient', 'gradient_x_input', 'integrated_gradients')
    """
    return tuple(
        name
        for name, record in _REGISTRY.items()
        if randomized is None or record.randomized == randomized
    )
