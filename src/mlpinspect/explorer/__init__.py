"""The explorer: the whole look inside a network, as one interactive page.

:func:`explore` computes, with the library's own analyses, what every hidden
unit looks like, which examples excite and inhibit it, which units make up
each class, and why each example got its output (its exact decomposition and
its attribution maps), and writes it into one self-contained HTML file. The
page opens from ``file://`` in any current browser, with no server, no
network and no installation; its four linked views are described in the user
guide (:doc:`/guide/explorer`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write
from ._data import build_payload
from ._page import render_page

__all__ = ["explore"]


def explore(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    path: str | os.PathLike | None = None,
    k: int = 8,
    n_examples: int = 1000,
    methods: Sequence[str] | None = None,
    title: str | None = None,
) -> Path | str:
    """An interactive page of a network's hidden units, classes and decisions.

    The page has four linked views (the URL's ``#`` part names the view, so
    the browser's back and forward buttons work and a view can be
    bookmarked):

    - **Layer** (``#layer``): every unit of the last hidden layer as its
      weight image (tabular inputs: its top-weighted features), flagged
      dead, always on, saturated or duplicate as :func:`~mlpinspect.unit_atlas`
      finds them;
    - **Unit** (``#unit/3``): its weight image, its top- and
      bottom-activating examples, its mean activation per class, its
      outgoing weights and mean contribution to each output;
    - **Class** (``#class/8``): the class's recipe, its top-``k``
      excitatory and inhibitory units by weight or by mean contribution
      (:func:`~mlpinspect.top_units`), ``k`` adjustable;
    - **Example** (``#example/12``): one example, or one from the list of
      misclassified ones; its exact decomposition
      (:func:`~mlpinspect.decompose`) as a waterfall from the bias to the
      logit, for the predicted class and the true one; its attribution maps
      (:func:`~mlpinspect.attribute`) for each method.

    Keys: ``1``-``4`` switch views, ``←``/``→`` (or ``j``/``k``) step through
    units, classes or examples. Every number shown is the library's (rounded
    for display only); the page computes none of its own.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        A classifier or regressor with at least one hidden layer. The views
        show the units of its last hidden layer: the ones the output
        decomposes into.
    X : array_like, shape ``(n, n_inputs)`` or ``(n, *input_shape)``
        Examples (a DataFrame's columns become feature names). The first
        ``n_examples`` rows are analysed and embedded.
    y : array_like, shape (n,), optional
        Their labels (a multiclass or binary model): per-class mean
        activations, recipes by contribution over each class's own examples,
        and the list of misclassified examples.
    path : str or path-like, optional
        Where to write the page (written atomically: a complete file or
        none). Without it the page is returned as a string.
    k : int, default 8
        Top- and bottom-activating examples kept per unit.
    n_examples : int, default 1000
        How many rows of ``X`` to analyse and embed (images are stored as
        bytes; the 784-30-10 MNIST network with 1,000 test images makes a
        page of about 1.7 MB).
    methods : sequence of str, optional
        Attribution methods for the Example view, among those
        :func:`mlpinspect.attribute` offers; default
        ``("gradient_x_input", "integrated_gradients", "deeplift",
        "occlusion")``; ``()`` for none.
    title : str, optional
        The page's title.

    Returns
    -------
    pathlib.Path or str
        The path written, or the page's HTML when ``path`` is None.

    Raises
    ------
    InvalidParameterError
        For a model without a hidden layer, inputs of the wrong layout, labels
        that do not fit, an unknown attribution method or bad ``k`` /
        ``n_examples``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, explore
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4), class_names=["a", "b", "c"])
    >>> X, y = rng.random((40, 16)), rng.integers(0, 3, 40)
    >>> page = explore(mlp, X, y, k=3, methods=["gradient_x_input"])
    >>> page.startswith("<!doctype html>"), "http" in page.split("</title>")[1]
    (True, False)
    """
    payload = build_payload(
        model, X, y, k=k, n_examples=n_examples, methods=methods, title=title
    )
    page = render_page(payload)
    if path is None:
        return page
    data = page.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data))
