"""The adapter protocol, the registry and :func:`adapt`.

An adapter turns one kind of foreign model into an :class:`~mlpinspect.MLP`.
It is any object with a ``name``, a ``can_adapt(obj)`` test and an
``adapt(obj, **options)`` conversion (see :class:`Adapter`). :func:`adapt`
asks the registered adapters in order and uses the first that recognises the
object. Third-party packages add adapters with :func:`register_adapter` or,
without any import on the user's side, through the ``mlpinspect.adapters``
entry-point group, which is read the first time no registered adapter
recognises an object.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP
from ._chain import COMMON_OPTIONS

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "adapt",
    "register_adapter",
    "registered_adapters",
    "unregister_adapter",
]

ENTRY_POINT_GROUP = "mlpinspect.adapters"
"""The entry-point group third-party packages use to provide adapters."""


@runtime_checkable
class Adapter(Protocol):
    """What an adapter provides.

    An adapter is any object (an instance of any class; no base class is
    needed) with these three members. Check a new adapter with
    :func:`mlpinspect.testing.check_adapter`.

    Attributes
    ----------
    name : str
        A short, unique name such as ``"torch"``; used in error messages and
        by :func:`unregister_adapter`.

    Notes
    -----
    ``can_adapt`` is called on every object :func:`adapt` sees, so it must be
    fast, must not raise and must not import a framework: test
    ``type(obj).__module__`` or look the framework up in ``sys.modules`` (if
    the framework was never imported, ``obj`` cannot be one of its models).
    ``adapt`` imports the framework lazily, copies the weights into
    :class:`~mlpinspect.Dense` layers (``weight`` of shape ``(out, in)``) and
    raises :class:`~mlpinspect.UnsupportedModelError`, naming the layer and
    its type, for anything an MLP cannot express.

    An adapter also says what the model's outputs mean when the framework
    knows it: the ``task`` (``"multiclass"``, ``"binary"``, ``"multilabel"``
    or ``"regression"``; left out, the :class:`~mlpinspect.MLP` infers it
    from the output layer), the ``class_names`` in the framework's own types
    (two, negative then positive, for a binary model's one output unit) and
    the ``feature_names``. The options ``input_shape``, ``class_names``,
    ``feature_names``, ``task`` and ``name`` are applied by :func:`adapt`
    itself (with :meth:`MLP.replace <mlpinspect.MLP.replace>`) and never
    reach an adapter; an adapter should reject options it does not know.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpinspect
    >>> from mlpinspect.adapters import Adapter
    >>> class DictAdapter:
    ...     name = "dict-of-arrays"
    ...     def can_adapt(self, obj):
    ...         return isinstance(obj, dict) and "W" in obj and "b" in obj
    ...     def adapt(self, obj, **options):
    ...         if options:
    ...             raise TypeError(f"unknown options {sorted(options)}")
    ...         layer = mlpinspect.Dense(obj["W"], obj["b"], "identity")
    ...         return mlpinspect.MLP([layer], task="regression")
    >>> isinstance(DictAdapter(), Adapter)
    True
    """

    name: str

    def can_adapt(self, obj: Any) -> bool:
        """Return True when this adapter knows how to convert ``obj``."""
        ...

    def adapt(self, obj: Any, **options: Any) -> MLP:
        """Convert ``obj`` into an :class:`~mlpinspect.MLP`."""
        ...


def _check_adapter(adapter: Any, argument: str = "adapter") -> Any:
    """Return an adapter instance (instantiating a class), or raise."""
    if isinstance(adapter, type):
        try:
            adapter = adapter()
        except TypeError as exc:
            raise InvalidParameterError(
                f"`{argument}` is a class that cannot be created without "
                f"arguments ({exc}); pass an adapter instance instead"
            ) from None
    missing = [
        member
        for member in ("name", "can_adapt", "adapt")
        if not hasattr(adapter, member)
    ]
    if missing or not callable(adapter.can_adapt) or not callable(adapter.adapt):
        raise InvalidParameterError(
            f"`{argument}` must follow the mlpinspect.Adapter protocol (a `name` "
            f"string and `can_adapt(obj)` and `adapt(obj, **options)` methods); "
            f"{type(adapter).__name__} lacks {', '.join(missing) or 'callables'}"
        )
    if not isinstance(adapter.name, str) or not adapter.name:
        raise InvalidParameterError(
            f"`{argument}.name` must be a non-empty string; got {adapter.name!r}"
        )
    return adapter


class AdapterRegistry:
    """An ordered collection of adapters plus entry-point discovery.

    The library keeps one instance; its methods back :func:`adapt`,
    :func:`register_adapter`, :func:`unregister_adapter` and
    :func:`registered_adapters`.

    Examples
    --------
    >>> from mlpinspect.adapters import AdapterRegistry
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> registry = AdapterRegistry([FakeAdapter()])
    >>> registry.find(FakeModel([3, 2], seed=0)).name
    'fake'
    """

    def __init__(self, adapters: Iterable[Any] = ()) -> None:
        self._adapters: list[Any] = [_check_adapter(a) for a in adapters]
        self._entry_points_loaded = False
        self._lock = threading.RLock()

    # -- registration ------------------------------------------------------

    def register(self, adapter: Any, *, first: bool = False) -> Any:
        if not isinstance(first, (bool, np.bool_)):
            raise InvalidParameterError(
                f"`first` must be True or False; got {first!r:.60} "
                f"({type(first).__name__})"
            )
        adapter = _check_adapter(adapter)
        with self._lock:
            self._adapters = [a for a in self._adapters if a.name != adapter.name]
            if first:
                self._adapters.insert(0, adapter)
            else:
                self._adapters.append(adapter)
        return adapter

    def unregister(self, name: str) -> Any:
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"`name` must be the name (str) of a registered adapter "
                f"({self._names()}); got {name!r:.60} ({type(name).__name__})"
            )
        with self._lock:
            for i, adapter in enumerate(self._adapters):
                if adapter.name == name:
                    return self._adapters.pop(i)
        raise InvalidParameterError(
            f"`name` must name a registered adapter ({self._names()}); got {name!r}"
        )

    def adapters(self, *, discover: bool = True) -> tuple[Any, ...]:
        if discover:
            self.load_entry_points()
        with self._lock:
            return tuple(self._adapters)

    def _names(self) -> str:
        return ", ".join(repr(a.name) for a in self._adapters)

    # -- discovery ---------------------------------------------------------

    def load_entry_points(self) -> None:
        """Register the adapters of the ``mlpinspect.adapters`` group, once.

        An entry point may refer to an adapter instance or to a class that
        can be created without arguments. An adapter whose name is already
        registered is skipped: explicit :func:`register_adapter` calls win.
        A broken entry point is reported with a warning and skipped, so one
        faulty plug-in does not break every model.
        """
        with self._lock:
            if self._entry_points_loaded:
                return
            self._entry_points_loaded = True
        from importlib import metadata

        try:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # pragma: no cover - broken environments
            warnings.warn(
                f"mlpinspect could not list the {ENTRY_POINT_GROUP!r} entry points: "
                f"{exc}",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        for entry_point in entry_points:
            try:
                adapter = _check_adapter(entry_point.load(), "entry point")
            except Exception as exc:
                warnings.warn(
                    f"mlpinspect skipped the adapter entry point {entry_point.name!r} "
                    f"({entry_point.value}): {type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            with self._lock:
                if all(a.name != adapter.name for a in self._adapters):
                    self._adapters.append(adapter)

    # -- dispatch ----------------------------------------------------------

    def find(self, obj: Any) -> Any | None:
        """The first adapter that recognises ``obj`` (entry points if needed)."""
        for adapter in self.adapters(discover=False):
            if adapter.can_adapt(obj):
                return adapter
        if not self._entry_points_loaded:
            self.load_entry_points()
            for adapter in self.adapters(discover=False):
                if adapter.can_adapt(obj):
                    return adapter
        return None

    def unsupported(self, obj: Any) -> UnsupportedModelError:
        kinds = "\n".join(
            f"  - {a.name}: {getattr(a, 'description', '') or type(a).__name__}"
            for a in self.adapters(discover=False)
        )
        if isinstance(obj, (str, os.PathLike)):
            what = f"the path {os.fspath(obj)!r}"
        else:
            cls = type(obj)
            what = f"an object of type {cls.__module__}.{cls.__qualname__}"
        return UnsupportedModelError(
            f"no adapter recognises {what}. Supported kinds:\n{kinds}\n"
            f"For another framework, write an adapter (see mlpinspect.Adapter and "
            f"mlpinspect.testing.check_adapter) and call "
            f"mlpinspect.register_adapter(MyAdapter())."
        )


def _apply_common_options(mlp: MLP, options: Mapping[str, Any]) -> MLP:
    """Return ``mlp`` with the given input shape, labels, names or task."""
    options = dict(options)
    task = options.get("task")
    if (
        "task" in options
        and "class_names" not in options
        and (task is None or isinstance(task, str))
        and task == mlp.task
    ):
        # Restating the task the adapter found keeps the labels it read
        # (MLP.replace drops them on a change of task).
        del options["task"]
    if not options:
        return mlp
    return mlp.replace(**options)


_REGISTRY = AdapterRegistry()


def adapt(obj: Any, **options: Any) -> MLP:
    """Return ``obj`` as an :class:`~mlpinspect.MLP`.

    Every analysis function calls ``adapt`` on the model it is given, so a
    model from any supported framework can be passed directly.

    Parameters
    ----------
    obj : object
        An :class:`~mlpinspect.MLP` (returned unchanged), a
        :class:`mlpinspect.Network` or any object with a ``to_mlp()`` method,
        a Nielsen-style network (``sizes``, ``weights``, ``biases``), a list of
        ``(W, b)`` pairs with ``W`` of shape ``(out, in)``, a scikit-learn
        ``MLPClassifier``/``MLPRegressor``, a PyTorch ``nn.Module``, a Keras 3
        model, an ONNX ``ModelProto``, or the path of an ``.npz`` or
        ``.onnx`` file; or anything a registered adapter recognises.
    **options
        Common options, which override what the adapter found:

        - ``input_shape`` (tuple of int, e.g. ``(28, 28)``);
        - ``task``: ``"multiclass"``, ``"binary"``, ``"multilabel"`` or
          ``"regression"``. Needed for a model with one output and no
          sigmoid (a PyTorch ``Linear(..., 1)``): a regression value or a
          binary logit? Changing the task drops the class names the adapter
          found unless ``class_names`` is given too;
        - ``class_names``: labels of one kind (strings, integers or
          booleans), one per output, or two (negative, positive) for a
          binary model;
        - ``feature_names``: one string per input;
        - ``name``.

        Other options go to the adapter, e.g. ``activations`` for plain
        weights.

    Returns
    -------
    MLP
        A read-only copy of the model's weights, as they are: NaN and inf are
        kept, and :meth:`MLP.check_finite <mlpinspect.MLP.check_finite>`
        (which every analysis function calls) reports them.

    Raises
    ------
    UnsupportedModelError
        If no adapter recognises ``obj`` (the message lists the supported
        kinds), or the model has a part an MLP cannot express (the message
        names the layer and its type).
    InvalidParameterError
        If an option is unknown to the adapter or has a wrong value.

    Examples
    --------
    >>> import numpy as np
    >>> import mlpinspect
    >>> pairs = [(np.ones((3, 4)), np.zeros(3)), (np.ones((2, 3)), np.zeros(2))]
    >>> mlp = mlpinspect.adapt(pairs, activations=["relu", "softmax"])
    >>> mlp
    MLP(4-3-2, activations=[relu, softmax], task='multiclass')
    >>> mlpinspect.adapt(mlp) is mlp
    True
    >>> named = mlpinspect.adapt(mlp, class_names=["cat", "dog"])
    >>> named.predict(np.ones((1, 4))).tolist()
    ['cat']

    One output without a sigmoid needs its task:

    >>> logit = mlpinspect.adapt([(np.ones((1, 4)), np.zeros(1))],
    ...                          activations="identity")
    >>> logit.task is None
    True
    >>> binary = mlpinspect.adapt(logit, task="binary", class_names=["no", "yes"])
    >>> binary.predict([[1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]]).tolist()
    ['yes', 'no']
    """
    common = {k: options.pop(k) for k in COMMON_OPTIONS if k in options}
    if isinstance(obj, MLP) and not options:
        return _apply_common_options(obj, common)
    adapter = _REGISTRY.find(obj)
    if adapter is None:
        raise _REGISTRY.unsupported(obj)
    mlp = adapter.adapt(obj, **options)
    if not isinstance(mlp, MLP):
        raise UnsupportedModelError(
            f"the {adapter.name!r} adapter returned {type(mlp).__name__}, not an "
            f"MLP; an adapter's adapt() must return mlpinspect.MLP"
        )
    return _apply_common_options(mlp, common)


def register_adapter(adapter: Any, *, first: bool = False) -> Any:
    """Add an adapter to the ones :func:`adapt` asks.

    Parameters
    ----------
    adapter : Adapter or type
        An object following the :class:`Adapter` protocol, or a class that
        can be created without arguments. An adapter with the same ``name``
        as a registered one replaces it.
    first : bool
        Ask this adapter before all others (to take over objects a built-in
        adapter would also accept). By default it is asked last.

    Returns
    -------
    Adapter or type
        ``adapter`` itself, so the function also works as a class decorator.

    Raises
    ------
    InvalidParameterError
        If ``adapter`` does not follow the protocol.

    Examples
    --------
    >>> from mlpinspect.adapters import adapt, register_adapter, unregister_adapter
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> _ = register_adapter(FakeAdapter())
    >>> adapt(FakeModel([4, 3, 2], seed=0))
    MLP(4-3-2, activations=[relu, softmax], task='multiclass', name='FakeModel')
    >>> _ = unregister_adapter("fake")
    """
    _REGISTRY.register(adapter, first=first)
    return adapter


def unregister_adapter(name: str) -> Any:
    """Remove the adapter called ``name`` and return it.

    Raises
    ------
    InvalidParameterError
        If no registered adapter has that name.

    Examples
    --------
    >>> from mlpinspect.adapters import register_adapter, unregister_adapter
    >>> from mlpinspect.testing import FakeAdapter
    >>> _ = register_adapter(FakeAdapter())
    >>> unregister_adapter("fake").name
    'fake'
    """
    return _REGISTRY.unregister(name)


def registered_adapters() -> tuple[Any, ...]:
    """The adapters :func:`adapt` asks, in order (entry points included).

    Examples
    --------
    >>> from mlpinspect.adapters import registered_adapters
    >>> [a.name for a in registered_adapters()][:3]
    ['mlpinspect', 'npz', 'onnx']
    """
    return _REGISTRY.adapters()
