"""Reading an MLP from a flat mapping of named arrays: a PyTorch state dict.

A state dict names each tensor ``"<layer>.<what>"``: a linear layer is a
prefix with a 2-D ``weight`` of shape ``(out, in)`` and optionally a 1-D
``bias``. Such a file says neither the activations nor, always, the order
of the layers, so:

- ``activations`` must be given (one name per linear layer, or one for all)
  unless the file records them;
- the order is ``layers`` when given; otherwise the one order in which the
  shapes chain (each layer's ``in`` is the previous layer's ``out``). When
  several orders chain (hidden layers of equal width), the file's own order
  is used if the format keeps the model's order (``torch.save`` of
  ``state_dict()`` does) and the caller says so; otherwise ``layers`` is
  required, and the message lists the layers to order.

Any tensor that is not a linear layer's weight or bias (batch norm
statistics, PReLU slopes, ...) is refused naming it: a weights file does not
say what such a tensor does or where it sits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ModelFileError, UnsupportedModelError
from ..mlp import MLP, Dense
from .weights import resolve_activations

__all__ = ["mlp_from_state"]


def _natural(key: str) -> list[Any]:
    """``"layers.10"`` after ``"layers.2"``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def _linear_layers(
    tensors: Mapping[str, np.ndarray], where: str
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """``prefix -> (weight, bias)`` for every linear layer, in file order."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = value
    layers: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for prefix, parts in groups.items():
        weight, bias = parts.get("weight"), parts.get("bias")
        others = sorted(set(parts) - {"weight", "bias"})
        is_linear = (
            weight is not None
            and weight.ndim == 2
            and not others
            and (bias is None or bias.shape == (weight.shape[0],))
        )
        if not is_linear:
            name = f"{prefix}.{(others or sorted(parts))[0]}".lstrip(".")
            shape = (
                parts.get(others[0]) if others else next(iter(parts.values()))
            ).shape
            raise UnsupportedModelError(
                f"{where} holds {name!r} (shape {shape}), which is not the weight "
                f"(out, in) or bias of a linear layer; a weights file does not say "
                f"what such a tensor does (batch norm, PReLU, ...) or where it "
                f"sits. Build the model, load_state_dict(...) into it and adapt "
                f"the model"
            )
        layers[prefix] = (weight, bias)
    if not layers:
        raise ModelFileError(f"{where} holds no linear layer (no 2-D 'weight')")
    return layers


def _chains(order: Sequence[str], layers: Mapping[str, tuple[np.ndarray, Any]]) -> bool:
    shapes = [layers[p][0].shape for p in order]
    return all(shapes[i][1] == shapes[i - 1][0] for i in range(1, len(shapes)))


def _orders_by_shape(
    layers: Mapping[str, tuple[np.ndarray, Any]], limit: int = 2
) -> list[list[str]]:
    """Up to ``limit`` orders of all layers in which the shapes chain."""
    names = sorted(layers, key=_natural)
    found: list[list[str]] = []

    def extend(path: list[str], left: set[str]) -> None:
        if len(found) >= limit:
            return
        if not left:
            found.append(list(path))
            return
        for name in names:
            if name in left and (
                not path or layers[name][0].shape[1] == layers[path[-1]][0].shape[0]
            ):
                path.append(name)
                left.remove(name)
                extend(path, left)
                left.add(name)
                path.pop()

    extend([], set(names))
    return found


def _order(
    layers: Mapping[str, tuple[np.ndarray, Any]],
    given: Any,
    where: str,
    *,
    file_order_is_model_order: bool,
) -> list[str]:
    if given is not None:
        if isinstance(given, str) or not all(isinstance(g, str) for g in given):
            raise InvalidParameterError(
                f"`layers` must be a list of layer names such as {list(layers)!r}; "
                f"got {given!r}"
            )
        order = list(given)
        unknown = [g for g in order if g not in layers]
        missing = [p for p in layers if p not in order]
        if unknown or missing or len(set(order)) != len(order):
            raise InvalidParameterError(
                f"`layers` must list each linear layer of {where} once, in order; "
                f"the file has {sorted(layers, key=_natural)!r}, got {order!r}"
            )
        if not _chains(order, layers):
            shapes = [layers[p][0].shape for p in order]
            raise InvalidParameterError(
                f"`layers` {order!r} do not chain: their weights have shapes "
                f"{shapes} (out, in), and each layer's in must be the previous "
                f"layer's out"
            )
        return order
    orders = _orders_by_shape(layers)
    if not orders:
        shapes = {p: layers[p][0].shape for p in layers}
        raise ModelFileError(
            f"the linear layers of {where} do not chain in any order (weights "
            f"(out, in): {shapes})"
        )
    if len(orders) == 1:
        return orders[0]
    file_order = list(layers)
    if file_order_is_model_order and _chains(file_order, layers):
        return file_order
    raise InvalidParameterError(
        f"the linear layers of {where} chain in more than one order (layers of "
        f"equal width); give the order: adapt(path, layers="
        f"{sorted(layers, key=_natural)!r}, activations=[...])"
    )


def mlp_from_state(
    tensors: Mapping[str, np.ndarray],
    where: str,
    *,
    activations: Any,
    layers: Any = None,
    file_order_is_model_order: bool = False,
    name: str | None = None,
) -> MLP:
    """The MLP of a state dict's linear layers (see the module documentation)."""
    linear = _linear_layers(tensors, where)
    order = _order(
        linear, layers, where, file_order_is_model_order=file_order_is_model_order
    )
    if activations is None:
        raise InvalidParameterError(
            f"{where} does not record the activations; give one per layer "
            f"({len(order)}: {order}), e.g. adapt(path, activations=['relu', ..., "
            f"'log_softmax'])"
        )
    acts = resolve_activations(activations, len(order))
    dense = []
    for i, prefix in enumerate(order):
        weight, bias = linear[prefix]
        if bias is None:
            bias = np.zeros(weight.shape[0], dtype=weight.dtype)
        try:
            dense.append(Dense(weight, bias, acts[i], name=prefix or "(root)"))
        except UnsupportedModelError as exc:
            raise UnsupportedModelError(f"`activations[{i}]`: {exc}") from None
    return MLP(dense, name=name)
