"""Options of attribution methods, with their checks written as data.

A method declares its options as :class:`Option` records: a name, a default,
a :class:`Constraint` and a line of documentation. :func:`check_options`
validates what a caller passed against them, in one place, so that every
method's errors read alike ("`n_steps` must be >= 1; got 0") and an unknown
option lists the known ones (the scikit-learn ``_param_validation`` habit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._validation import check_array, check_float, check_int, is_integer
from ...errors import InvalidParameterError

__all__ = [
    "Array",
    "Choice",
    "Constraint",
    "Custom",
    "Integer",
    "Option",
    "Real",
    "Seed",
    "check_options",
]


class Constraint:
    """What values an option accepts: ``check`` returns the value to use
    (converted, e.g. to ``int``) or raises
    :class:`~mlpinspect.InvalidParameterError` naming the argument.

    Examples
    --------
    >>> Integer(1).describe()
    'int >= 1'
    """

    def check(self, value: Any, name: str) -> Any:
        """The value to use, or an error naming ``name``."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short description for the documentation tables."""
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``[minimum, maximum]`` (either end may be None).

    Examples
    --------
    >>> Integer(1).check(5, "n_steps")
    5
    """

    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any, name: str) -> int:
        """The value to use, or an error naming ``name``."""
        return check_int(value, name, minimum=self.minimum, maximum=self.maximum)

    def describe(self) -> str:
        """A short description for the documentation tables."""
        return _interval("int", self.minimum, self.maximum)


@dataclass(frozen=True)
class Real(Constraint):
    """A finite real number in ``[minimum, maximum]`` (``(minimum, ...`` when
    ``strict``).

    Examples
    --------
    >>> Real(0.0).check(1, "epsilon")
    1.0
    """

    minimum: float | None = None
    maximum: float | None = None
    strict: bool = False

    def check(self, value: Any, name: str) -> float:
        """The value to use, or an error naming ``name``."""
        return check_float(
            value,
            name,
            minimum=self.minimum,
            maximum=self.maximum,
            strict_minimum=self.strict,
        )

    def describe(self) -> str:
        """A short description for the documentation tables."""
        text = _interval("float", self.minimum, self.maximum)
        return text.replace(">=", ">") if self.strict else text


@dataclass(frozen=True)
class Choice(Constraint):
    """One of the strings ``choices``; ``aliases`` maps other spellings (e.g.
    Captum's) to one of them.

    Examples
    --------
    >>> Choice(("gauss_legendre",), {"gausslegendre": "gauss_legendre"}).check(
    ...     "gausslegendre", "rule")
    'gauss_legendre'
    """

    choices: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def check(self, value: Any, name: str) -> str:
        """The value to use, or an error naming ``name``."""
        if isinstance(value, str):
            value = self.aliases.get(value, value)
            if value in self.choices:
                return value
        known = ", ".join(repr(c) for c in self.choices)
        also = ""
        if self.aliases:
            also = " (also spelled " + ", ".join(repr(a) for a in self.aliases) + ")"
        raise InvalidParameterError(
            f"`{name}` must be one of {known}{also}; got {_show(value)}"
        )

    def describe(self) -> str:
        """A short description for the documentation tables."""
        return " | ".join(repr(c) for c in self.choices)


@dataclass(frozen=True)
class Array(Constraint):
    """A finite float array with ``ndim`` in ``ndims`` (a number is 0-D).

    Examples
    --------
    >>> Array((1, 2)).check([1, 2], "low").shape
    (2,)
    """

    ndims: tuple[int, ...]
    description: str = "an array"

    def check(self, value: Any, name: str) -> np.ndarray:
        """The value to use, or an error naming ``name``."""
        return check_array(value, name, ndim=self.ndims, allow_empty=False)

    def describe(self) -> str:
        """A short description for the documentation tables."""
        return self.description


@dataclass(frozen=True)
class Seed(Constraint):
    """None, a non-negative integer or a :class:`numpy.random.SeedSequence`:
    what reproduces a randomised method's draws.

    Examples
    --------
    >>> Seed().check(3, "seed")
    3
    """

    def check(self, value: Any, name: str) -> Any:
        """The value to use, or an error naming ``name``."""
        if value is None or isinstance(value, np.random.SeedSequence):
            return value
        if is_integer(value):
            return check_int(value, name, minimum=0)
        raise InvalidParameterError(
            f"`{name}` must be None, a non-negative integer or a "
            f"numpy.random.SeedSequence; got {_show(value)}"
        )

    def describe(self) -> str:
        """A short description for the documentation tables."""
        return "None | int >= 0"


@dataclass(frozen=True)
class Custom(Constraint):
    """A check written as a function ``check(value, name) -> value``.

    Examples
    --------
    >>> even = Custom(lambda v, name: v, "an even number")
    >>> even.describe()
    'an even number'
    """

    function: Callable[[Any, str], Any]
    description: str

    def check(self, value: Any, name: str) -> Any:
        """The value to use, or an error naming ``name``."""
        return self.function(value, name)

    def describe(self) -> str:
        """A short description for the documentation tables."""
        return self.description


@dataclass(frozen=True)
class Option:
    """One option of an attribution method.

    Attributes
    ----------
    name : str
        The keyword argument, e.g. ``"n_steps"``.
    default : object
        The value used when the caller does not pass it (not checked; None
        often means "decided from the model").
    constraint : Constraint
        What values are accepted.
    doc : str
        One line for the documentation tables.
    aliases : tuple of str
        Other keyword names for the same option (Captum's, e.g.
        ``"sliding_window_shapes"`` for ``"window"``).
    per_row : bool
        True when the value is an array whose first axis runs over the rows
        of ``X`` (explicit random draws): :func:`mlpinspect.attribute` gives
        each batch its rows.

    Examples
    --------
    >>> Option("n_steps", 50, Integer(1), "quadrature nodes").name
    'n_steps'
    """

    name: str
    default: Any
    constraint: Constraint
    doc: str = ""
    aliases: tuple[str, ...] = ()
    per_row: bool = False


def check_options(
    options: Iterable[Option], given: Mapping[str, Any], method: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``given`` keyword arguments against ``options``.

    Returns ``(values, rest)``: every option's value (the default when not
    given, the checked value otherwise) and the keywords that are none of
    these options (a wrapping method passes them on; anyone else refuses
    them with :func:`refuse_unknown`). An option given twice (by its name
    and an alias) is refused.
    """
    options = list(options)
    by_name: dict[str, Option] = {}
    for opt in options:
        by_name[opt.name] = opt
        for alias in opt.aliases:
            by_name[alias] = opt
    values = {opt.name: opt.default for opt in options}
    seen: dict[str, str] = {}
    rest: dict[str, Any] = {}
    for key, value in given.items():
        opt = by_name.get(key)
        if opt is None:
            rest[key] = value
            continue
        if opt.name in seen:
            raise InvalidParameterError(
                f"`{key}` and `{seen[opt.name]}` are the same option of method "
                f"{method!r}; pass only one"
            )
        seen[opt.name] = key
        values[opt.name] = opt.constraint.check(value, key)
    return values, rest


def refuse_unknown(
    rest: Mapping[str, Any], options: Iterable[Option], method: str
) -> None:
    """Raise for keyword arguments that are not options of ``method``."""
    if not rest:
        return
    names = [o.name for o in options]
    known = ", ".join(repr(n) for n in names) if names else "none"
    unknown = ", ".join(f"`{k}`" for k in rest)
    raise InvalidParameterError(
        f"{unknown} {'is not an option' if len(rest) == 1 else 'are not options'} "
        f"of method {method!r}; its options: {known}"
    )


def _interval(kind: str, low: Any, high: Any) -> str:
    if low is None and high is None:
        return kind
    if high is None:
        return f"{kind} >= {low}"
    if low is None:
        return f"{kind} <= {high}"
    return f"{kind} in [{low}, {high}]"


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"
