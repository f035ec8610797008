"""Build the MNIST sample that ships inside mlpinspect.

Usage::

    python tools/make_mnist_sample.py MNIST_FOLDER [--output FOLDER]

``MNIST_FOLDER`` holds the four original MNIST IDX files (gzip'd or not);
their content is verified against the published SHA-256 first. The script
writes into ``src/mlpinspect/datasets/data`` (or ``--output``):

- ``mnist-sample-{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``: gzip'd IDX
  (level 9, no time stamp, so the bytes depend only on the content);
- ``mnist-sample.json``: the SHA-256 of each file's decompressed content, the
  seed, how the sample was drawn and the indices into MNIST it holds.

The draw is stratified and deterministic: from a ``numpy.random.Generator``
seeded with ``SEED``, each digit gets 833 training images from MNIST's first
50,000 (Nielsen's training set), 167 from its last 10,000 (his validation
set) and 200 test images; within each stratum the images with the smallest
``rng.random()`` keys are taken. Indices are kept in MNIST's order. Running
the script twice gives the same files.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed
CC BY-SA 3.0; the sample is distributed under the same license
(``LICENSE-MNIST.txt`` beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from mlpinspect._io import create_temp
from mlpinspect.datasets import MNIST_SHA256, load_idx, save_idx
from mlpinspect.datasets._idx import decompressed_sha256
from mlpinspect.datasets._mnist import (
    MNIST_NAMES,
    NIELSEN_VALIDATION_START,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    find_files,
)
from mlpinspect.datasets._sample import SAMPLE_FILES, SAMPLE_MANIFEST

SEED = 1998  # the year MNIST was published
TRAIN_PER_DIGIT = (833, 167)  # from Nielsen's training / validation part
TEST_PER_DIGIT = 200
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1] / "src" / "mlpinspect" / "datasets" / "data"
)


def draw(
    labels: np.ndarray, lo: int, hi: int, per_digit: int, rng: np.random.Generator
) -> np.ndarray:
    """``per_digit`` random indices of each digit among ``labels[lo:hi]``."""
    chosen = []
    for digit in range(10):
        candidates = lo + np.flatnonzero(labels[lo:hi] == digit)
        keys = rng.random(len(candidates))
        chosen.append(candidates[np.argsort(keys, kind="stable")[:per_digit]])
    return np.concatenate(chosen)


def sample_indices(
    train_labels: np.ndarray, test_labels: np.ndarray, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted training and test indices of the sample."""
    rng = np.random.default_rng(seed)
    n_train, n_test = len(train_labels), len(test_labels)
    first, second = TRAIN_PER_DIGIT
    train = np.concatenate(
        [
            draw(train_labels, 0, NIELSEN_VALIDATION_START, first, rng),
            draw(train_labels, NIELSEN_VALIDATION_START, n_train, second, rng),
        ]
    )
    test = draw(test_labels, 0, n_test, TEST_PER_DIGIT, rng)
    return np.sort(train), np.sort(test)


def _json_list(values: np.ndarray, indent: str, per_line: int = 16) -> str:
    rows = [
        ", ".join(str(int(v)) for v in values[i : i + per_line])
        for i in range(0, len(values), per_line)
    ]
    inner = (",\n" + indent + "  ").join(rows)
    return "[\n" + indent + "  " + inner + "\n" + indent + "]"


def _write_text(path: Path, text: str) -> None:
    fd, tmp = create_temp(path.parent, path.name)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_sample(mnist_folder: Path, output: Path, seed: int = SEED) -> dict:
    """Write the sample and its manifest; return the manifest."""
    files, missing = find_files(mnist_folder, MNIST_NAMES)
    if missing:
        raise SystemExit(f"{mnist_folder} lacks the MNIST file(s) {missing}")
    data = {name: load_idx(files[name], sha256=MNIST_SHA256[name]) for name in files}
    train_idx, test_idx = sample_indices(data[TRAIN_LABELS], data[TEST_LABELS], seed)
    output.mkdir(parents=True, exist_ok=True)
    picks = {
        TRAIN_IMAGES: train_idx,
        TRAIN_LABELS: train_idx,
        TEST_IMAGES: test_idx,
        TEST_LABELS: test_idx,
    }
    entries = {}
    for name, idx in picks.items():
        target = save_idx(output / SAMPLE_FILES[name], data[name][idx], compresslevel=9)
        entries[SAMPLE_FILES[name]] = {
            "sha256": decompressed_sha256(target),
            "shape": list(data[name][idx].shape),
            "from": name,
        }
    manifest = {
        "description": (
            "A stratified, balanced sample of MNIST: per digit 833 training images "
            "from MNIST's first 50,000, 167 from its last 10,000 and 200 test "
            "images, in MNIST's order. Built by tools/make_mnist_sample.py."
        ),
        "license": (
            "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
            "CC BY-SA 3.0 (see LICENSE-MNIST.txt); this sample is under the same "
            "license."
        ),
        "source_sha256": dict(MNIST_SHA256),
        "method": (
            "rng = numpy.random.default_rng(seed); per stratum (training indices "
            "0-49999, then 50000-59999, then test) and digit 0-9 in that order, "
            "take the candidates with the smallest rng.random() keys "
            "(stable argsort); indices sorted"
        ),
        "seed": seed,
        "per_digit": {
            "train_from_first_50000": TRAIN_PER_DIGIT[0],
            "train_from_last_10000": TRAIN_PER_DIGIT[1],
            "test": TEST_PER_DIGIT,
        },
        "validation_start": int(np.sum(train_idx < NIELSEN_VALIDATION_START)),
        "files": entries,
        "indices": {"train": "@TRAIN@", "test": "@TEST@"},
    }
    text = json.dumps(manifest, indent=2) + "\n"
    text = text.replace('"@TRAIN@"', _json_list(train_idx, "    "))
    text = text.replace('"@TEST@"', _json_list(test_idx, "    "))
    _write_text(output / SAMPLE_MANIFEST, text)
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mnist_folder", type=Path, help="folder with the MNIST files")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    manifest = make_sample(args.mnist_folder, args.output, args.seed)
    total = 0
    for name in manifest["files"]:
        size = (args.output / name).stat().st_size
        total += size
        print(f"{name}: {size:,} bytes")
    print(f"total: {total:,} bytes in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
