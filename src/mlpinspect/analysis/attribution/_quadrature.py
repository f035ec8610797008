"""Quadrature rules for integrated gradients, as a table.

Each rule maps ``n_steps`` to nodes and weights on ``[0, 1]``. Captum spells
Gauss-Legendre ``"gausslegendre"``; that spelling is accepted too. Captum's
``"riemann_trapezoid"`` is not the trapezoid rule (its weights sum to
``(n - 1) / n``); ours is, so the two differ by that factor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

__all__ = ["CAPTUM_RULE_NAMES", "QUADRATURE_RULES", "quadrature", "table_bytes"]


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    # leggauss solves an n x n eigenproblem: cache it for repeated calls.
    nodes, weights = np.polynomial.legendre.leggauss(n)
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def _riemann_left(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n) / n, np.full(n, 1.0 / n)


def _riemann_right(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(1, n + 1) / n, np.full(n, 1.0 / n)


def _riemann_middle(n: int) -> tuple[np.ndarray, np.ndarray]:
    return (np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)


def _riemann_trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    weights = np.full(n, 1.0 / (n - 1))
    weights[[0, -1]] *= 0.5
    return np.linspace(0.0, 1.0, n), weights


#: rule name -> (function of n_steps giving nodes and weights on [0, 1], min steps)
QUADRATURE_RULES: dict[str, tuple[Callable[[int], tuple], int]] = {
    "gauss_legendre": (_gauss_legendre, 1),
    "riemann_trapezoid": (_riemann_trapezoid, 2),
    "riemann_left": (_riemann_left, 1),
    "riemann_right": (_riemann_right, 1),
    "riemann_middle": (_riemann_middle, 1),
}

#: Captum's spellings of the same rules.
CAPTUM_RULE_NAMES = {"gausslegendre": "gauss_legendre"}


def quadrature(rule: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``rule`` with ``n_steps`` nodes on ``[0, 1]``."""
    return QUADRATURE_RULES[rule][0](n_steps)


def table_bytes(rule: str, n_steps: int) -> int:
    """Memory the rule's table takes to compute: the nodes and weights, and
    for Gauss-Legendre the ``n x n`` companion matrix and its eigensolver's
    workspace."""
    size = 16 * n_steps
    if rule == "gauss_legendre":
        size += 16 * n_steps * n_steps
    return size
