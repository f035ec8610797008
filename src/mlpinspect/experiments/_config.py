"""What one run is: a configuration (the network and its training) and a seed.

A configuration is a plain mapping, e.g. ``{"hidden": 30, "init": "scaled",
"l2": 5.0}``. This module checks it once and turns it into its canonical form
(every setting present, sizes and activations spelled out), which is what the
cache key, the table and the workers read. A grid (a mapping of setting to a
list of alternatives) expands to the list of its combinations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_choice, check_float, check_int, is_integer
from ..errors import InvalidParameterError
from ..network import COSTS, ENGINES, INITIALIZATIONS

__all__ = [
    "DEFAULTS",
    "NETWORK_SETTINGS",
    "SETTINGS",
    "TRAINING_SETTINGS",
    "check_configs",
    "check_seeds",
    "expand_grid",
]

NETWORK_SETTINGS = ("sizes", "activation", "init", "dtype")
"""Settings of the network: what :class:`~mlpinspect.Network` is built with."""

TRAINING_SETTINGS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "cost",
    "l2",
    "shuffle",
    "engine",
)
"""Settings of the training: what :meth:`~mlpinspect.Network.fit` is called with."""

SETTINGS = NETWORK_SETTINGS + TRAINING_SETTINGS

DEFAULTS: dict[str, Any] = {
    "activation": "sigmoid",
    "init": "normal",
    "dtype": "float64",
    "epochs": 30,
    "batch_size": 10,
    "learning_rate": 3.0,
    "cost": "quadratic",
    "l2": 0.0,
    "shuffle": True,
    "engine": "auto",
}
"""The value of every setting a configuration leaves out (Network's and fit's)."""

# Keys a configuration may hold besides SETTINGS: `hidden` (the hidden layers;
# the input and output sizes then come from the data) and `name` (a label).
_EXTRA_KEYS = ("hidden", "name")
KNOWN_KEYS = (*SETTINGS, *_EXTRA_KEYS)


def _known() -> str:
    return ", ".join(KNOWN_KEYS)


def _is_sequence(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim > 0  # a 0-d array has no items
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _check_layer_sizes(value: Any, name: str, *, allow_empty: bool) -> list[int]:
    if not _is_sequence(value):
        raise InvalidParameterError(
            f"`{name}` must be a list of layer sizes; got {value!r:.60}"
        )
    sizes = [check_int(s, f"{name}[{i}]", minimum=1) for i, s in enumerate(value)]
    if not allow_empty and len(sizes) < 2:
        raise InvalidParameterError(
            f"`{name}` must have at least 2 entries (inputs and outputs); got {sizes}"
        )
    return sizes


def _check_hidden(value: Any, name: str) -> list[int]:
    if is_integer(value):
        return [check_int(value, name, minimum=1)]
    return _check_layer_sizes(value, name, allow_empty=True)


def _check_dtype(value: Any, name: str) -> str:
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if value is None or dtype not in (np.float32, np.float64):
        raise InvalidParameterError(
            f"`{name}` must be 'float32' or 'float64'; got {value!r:.40}"
        )
    return dtype.name


def _check_activation(value: Any, name: str) -> str | list[str]:
    if isinstance(value, str):
        return value
    if _is_sequence(value) and value and all(isinstance(a, str) for a in value):
        return list(value)
    raise InvalidParameterError(
        f"`{name}` must be an activation name or a list of names (one per weight "
        f"layer); got {value!r:.60}"
    )


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"`{name}` must be True or False; got {value!r}")
    return bool(value)


def check_settings(
    config: Any, name: str, *, n_inputs: int, n_outputs: int | None
) -> tuple[str | None, dict[str, Any]]:
    """Check one configuration; return ``(label, settings)``.

    ``settings`` holds every key of :data:`SETTINGS`, defaults filled in,
    ``sizes`` spelled out (from ``hidden``, ``n_inputs`` and ``n_outputs``)
    and values of plain Python types. Activations are checked by name only
    here; building the network (in the runner) checks the rest.
    """
    if not isinstance(config, Mapping):
        raise InvalidParameterError(
            f"`{name}` must be a mapping of settings such as {{'hidden': 30, "
            f"'epochs': 10}}; got {type(config).__name__}"
        )
    unknown = [k for k in config if k not in KNOWN_KEYS]
    if unknown:
        raise InvalidParameterError(
            f"`{name}` has unknown settings {unknown}; known: {_known()}"
        )
    label = config.get("name")
    if label is not None and not isinstance(label, str):
        raise InvalidParameterError(
            f"`{name}['name']` must be a string; got {label!r:.60}"
        )
    settings = {**DEFAULTS, **{k: v for k, v in config.items() if k in SETTINGS}}
    if ("sizes" in config) == ("hidden" in config):
        raise InvalidParameterError(
            f"`{name}` must give the layers either as `sizes` (inputs to outputs, "
            f"e.g. [784, 30, 10]) or as `hidden` (e.g. 30 or [100, 30]); got "
            f"{'both' if 'sizes' in config else 'neither'}"
        )
    if "hidden" in config:
        hidden = _check_hidden(config["hidden"], f"{name}['hidden']")
        if n_outputs is None:
            raise InvalidParameterError(
                f"`{name}` gives `hidden`, so the number of outputs must come from "
                f"`n_outputs` or from the labels; give `sizes` instead"
            )
        sizes = [n_inputs, *hidden, n_outputs]
    else:
        sizes = _check_layer_sizes(config["sizes"], f"{name}['sizes']",
                                   allow_empty=False)  # fmt: skip
        if sizes[0] != n_inputs:
            raise InvalidParameterError(
                f"`{name}['sizes'][0]` must be {n_inputs} (the training inputs' "
                f"size); got {sizes[0]}"
            )
    settings["sizes"] = sizes
    settings["activation"] = _check_activation(
        settings["activation"], f"{name}['activation']"
    )
    settings["init"] = check_choice(settings["init"], f"{name}['init']",
                                    INITIALIZATIONS)  # fmt: skip
    settings["dtype"] = _check_dtype(settings["dtype"], f"{name}['dtype']")
    settings["epochs"] = check_int(settings["epochs"], f"{name}['epochs']", minimum=0)
    settings["batch_size"] = check_int(
        settings["batch_size"], f"{name}['batch_size']", minimum=1
    )
    settings["learning_rate"] = check_float(
        settings["learning_rate"], f"{name}['learning_rate']", minimum=0.0,
        strict_minimum=True,
    )  # fmt: skip
    settings["cost"] = check_choice(settings["cost"], f"{name}['cost']", COSTS)
    settings["l2"] = check_float(settings["l2"], f"{name}['l2']", minimum=0.0)
    settings["shuffle"] = _check_bool(settings["shuffle"], f"{name}['shuffle']")
    settings["engine"] = check_choice(settings["engine"], f"{name}['engine']",
                                      ENGINES)  # fmt: skip
    return label, {key: settings[key] for key in SETTINGS}


def check_configs(configs: Any, name: str = "configs") -> list[Mapping[str, Any]]:
    """A grid (mapping) expanded, or a list of configurations as given."""
    if isinstance(configs, Mapping):
        return expand_grid(configs, name)
    if not _is_sequence(configs) or len(configs) == 0:
        raise InvalidParameterError(
            f"`{name}` must be a grid (a mapping of setting to alternatives) or a "
            f"non-empty list of configurations; got {configs!r:.60}"
        )
    return list(configs)


def check_seeds(seeds: Any, name: str = "seeds") -> tuple[int, ...]:
    """Seeds as a tuple of non-negative ints; an int ``n`` means ``0 .. n-1``."""
    if is_integer(seeds):
        count = check_int(seeds, name, minimum=1)
        return tuple(range(count))
    if (
        isinstance(seeds, (str, bytes))
        or not isinstance(seeds, Iterable)
        or getattr(seeds, "ndim", 1) == 0  # a 0-d array has no items
    ):
        raise InvalidParameterError(
            f"`{name}` must be a list of non-negative integers or a count; got "
            f"{seeds!r:.60}"
        )
    values = tuple(check_int(s, f"{name}[{i}]", minimum=0) for i, s in
                   enumerate(seeds))  # fmt: skip
    if not values:
        raise InvalidParameterError(f"`{name}` must not be empty")
    return values


# -- grids ---------------------------------------------------------------------------

# Settings whose single value is itself a list: a grid lists their alternatives
# as a list of lists (or, for `hidden` and `activation`, a list of scalars).
_LIST_VALUED = {"sizes", "hidden", "activation"}


def _alternatives(key: str, value: Any, name: str) -> list[Any]:
    where = f"{name}[{key!r}]"
    if not _is_sequence(value):
        return [value]  # one alternative
    values = list(value)
    if not values:
        raise InvalidParameterError(f"`{where}` must list at least one alternative")
    if key == "sizes" and not all(_is_sequence(v) for v in values):
        raise InvalidParameterError(
            f"`{where}` must be a list of alternatives, each a list of layer sizes, "
            f"such as [[784, 30, 10], [784, 100, 10]]; got {value!r:.60}"
        )
    if key not in _LIST_VALUED and any(_is_sequence(v) for v in values):
        raise InvalidParameterError(
            f"`{where}` must be a value or a list of values; got a nested list "
            f"{value!r:.60}"
        )
    return values


def grid_size(grid: Mapping[str, Any], name: str = "grid") -> int:
    """How many configurations ``grid`` expands to, without expanding it."""
    return math.prod(len(_alternatives(k, v, name)) for k, v in grid.items())


def expand_grid(grid: Mapping[str, Any], name: str = "grid") -> list[dict[str, Any]]:
    """Every combination of a grid's alternatives, as a list of configurations.

    Parameters
    ----------
    grid : mapping of str to value or list of values
        Setting to alternatives. A scalar is one alternative. ``hidden``
        alternatives are ints (one hidden layer) or lists (several);
        ``activation`` alternatives are names or per-layer lists; ``sizes``
        alternatives are lists, so ``sizes`` is always a list of lists.
    name : str
        The argument's name, for messages.

    Returns
    -------
    list of dict
        One configuration per combination, the last key varying fastest (as
        ``itertools.product``).

    Examples
    --------
    >>> from mlpinspect.experiments import expand_grid
    >>> expand_grid({"hidden": [10, 30], "init": ["normal", "scaled"], "epochs": 5})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'hidden': 10, 'init': 'normal', 'epochs': 5},
     {'hidden': 10, 'init': 'scaled', 'epochs': 5},
     {'hidden': 30, 'init': 'normal', 'epochs': 5},
     {'hidden': 30, 'init': 'scaled', 'epochs': 5}]
    """
    if not isinstance(grid, Mapping):
        raise InvalidParameterError(
            f"`{name}` must be a mapping of setting to alternatives; got "
            f"{type(grid).__name__}"
        )
    if not grid:
        raise InvalidParameterError(f"`{name}` must name at least one setting")
    keys = list(grid)
    for key in keys:
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"`{name}` must have setting names as keys; got {key!r:.40}"
            )
    choices = [_alternatives(k, grid[k], name) for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*choices)]


def describe(settings: Mapping[str, Any], varying: Iterable[str]) -> str:
    """A short label of a run's settings: the ones that vary, as key=value."""
    parts = []
    for key in varying:
        value = settings[key]
        if key == "sizes":  # what varies is (nearly always) the hidden layers
            key, value = "hidden", ",".join(str(s) for s in value[1:-1]) or "none"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts)
