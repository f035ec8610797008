"""``mlpinspect explore``: write the explorer page of a saved model.

``mlpinspect explore MODEL --data SOURCE --out page.html`` loads ``MODEL`` (a
file :func:`mlpinspect.adapt` reads: a Network ``.npz``, an ONNX, Keras,
torch or safetensors file, a Nielsen pickle...), takes examples from
``SOURCE`` and writes the page (see :func:`mlpinspect.explore`):

``sample``
    The test images of the MNIST sample bundled with mlpinspect (offline).
``mnist``
    The full MNIST test set (``$MLPINSPECT_MNIST_DIR``, the cache, or a
    verified download).
``PATH.npz``
    An ``.npz`` archive with inputs ``X`` and optionally labels ``y`` (or
    ``X_test``/``y_test``, or Keras' ``x_test``/``y_test``), read without
    pickle; each array's declared size is checked against the archive entry
    before anything is allocated.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError

__all__ = ["add_parser", "read_examples", "run"]

_KEY_PAIRS = (("X", "y"), ("X_test", "y_test"), ("x_test", "y_test"))


def add_parser(commands: Any, positive: Any) -> argparse.ArgumentParser:
    """Add the ``explore`` subcommand to ``commands`` (argparse subparsers)."""
    explore = commands.add_parser(
        "explore",
        help="write one interactive, offline HTML page that looks inside a model",
        description=(
            "Compute every hidden unit's weights, top examples and class means, each "
            "class's top units, and each example's exact decomposition and "
            "attributions, and write them into one self-contained HTML page that "
            "opens from file:// in any current browser."
        ),
    )
    explore.add_argument(
        "model", metavar="MODEL", help="model file (Network .npz, ONNX, Keras, ...)"
    )
    explore.add_argument(
        "--data",
        default="sample",
        metavar="SOURCE",
        help="'sample' (the bundled MNIST sample's test images; default), 'mnist' "
        "(the full MNIST test set) or an .npz file with X (and y)",
    )
    explore.add_argument(
        "--out",
        default="explorer.html",
        metavar="PAGE",
        help="the page to write (default: %(default)s)",
    )
    explore.add_argument(
        "--n-examples",
        type=positive,
        default=1000,
        metavar="N",
        help="examples analysed and embedded (default 1000)",
    )
    explore.add_argument(
        "--k",
        type=positive,
        default=8,
        metavar="K",
        help="top and bottom examples per unit (default 8)",
    )
    explore.add_argument(
        "--methods",
        default=None,
        metavar="M,M,...",
        help="attribution methods (default: gradient_x_input, integrated_gradients, "
        "deeplift, occlusion); '' for none",
    )
    explore.add_argument("--title", default=None, help="the page's title")
    return explore


def _check_entry(zf: zipfile.ZipFile, name: str, where: str) -> None:
    """Refuse an entry whose header promises more data than the entry holds
    (numpy would allocate the promised array first) or an object array."""
    info = zf.getinfo(name)
    with zf.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        except ValueError as exc:
            raise DatasetError(
                f"{where}: entry {name!r} is no .npy array ({exc})"
            ) from None
        header = fh.tell()
    if dtype.hasobject:
        raise DatasetError(f"{where}: array {name!r} holds Python objects (refused)")
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if need != info.file_size - header:
        raise DatasetError(
            f"{where}: array {name!r} declares {need:,} bytes of data but its "
            f"entry holds {info.file_size - header:,}"
        )


def read_examples(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs and (optional) labels from an ``.npz`` archive."""
    path = Path(path).expanduser()
    where = f"data file '{path}'"
    if not path.is_file():
        raise DatasetError(f"{where} does not exist")
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
            x_key, y_key = next(((x, y) for x, y in _KEY_PAIRS if x in names), ("", ""))
            if not x_key:
                raise DatasetError(
                    f"{where} must hold an array X (or X_test, x_test); it holds "
                    f"{', '.join(sorted(names)) or 'none'}"
                )
            keys = [x_key] + ([y_key] if y_key in names else [])
            for key in keys:
                _check_entry(zf, names[key], where)
            arrays = {}
            for key in keys:
                with zf.open(names[key]) as fh:
                    arrays[key] = np.lib.format.read_array(fh, allow_pickle=False)
    except zipfile.BadZipFile:
        raise DatasetError(f"{where} is not an .npz (zip) archive") from None
    X = arrays[x_key]
    if X.dtype == np.uint8:  # raw pixels, as Keras' mnist.npz
        X = X / 255.0
    return X, arrays.get(y_key)


def _examples(source: str) -> tuple[Any, Any]:
    if source == "sample":
        from .datasets import load_mnist_sample

        data = load_mnist_sample(dtype=np.float64)
        return data.X_test, data.y_test
    if source == "mnist":
        from .datasets import load_mnist

        data = load_mnist(dtype=np.float64)
        return data.X_test, data.y_test
    return read_examples(source)


def run(args: argparse.Namespace) -> int:
    """Run ``mlpinspect explore``; returns the exit status."""
    from .errors import MlpinspectError
    from .explorer import explore

    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        X, y = _examples(args.data)
        path = explore(
            args.model, X, y, path=args.out, k=args.k, n_examples=args.n_examples,
            methods=methods, title=args.title,
        )  # fmt: skip
    except (MlpinspectError, ImportError, OSError) as exc:
        print(f"mlpinspect explore: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0
