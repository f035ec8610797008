"""load_nielsen_pickle: reads numpy arrays, refuses (never runs) anything else."""

from __future__ import annotations

import builtins
import gzip
import io
import os
import pickle
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpinspect.datasets import NielsenSplit, load_nielsen_pickle
from mlpinspect.errors import DatasetError, InvalidParameterError


def nielsen_parts(sizes=(7, 3, 4), seed=0):
    """Pixels (uint8) and Nielsen's (X = pixel/256 float32, y int64) parts."""
    rng = np.random.default_rng(seed)
    pixels, parts = [], []
    for n in sizes:
        p = rng.integers(0, 256, (n, 784), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.int64)
        pixels.append((p, y))
        parts.append((p.astype(np.float32) / np.float32(256), y))
    return pixels, tuple(parts)


def write_pickle(path, obj, *, protocol=4, compress=True, legacy_names=False):
    content = pickle.dumps(obj, protocol=protocol)
    if legacy_names:  # as written by numpy 1.x (Nielsen's file says this)
        assert protocol <= 3  # GLOBAL opcodes are text: the rename is safe
        content = content.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        assert b"numpy.core.multiarray\n_reconstruct" in content
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"compress": False},
        {"protocol": 3, "legacy_names": True},
        {"protocol": 2, "legacy_names": False, "compress": True, "py2": True},
    ],
    ids=["numpy2-gz", "raw", "numpy1-names", "py2-style"],
)
def test_reads_nielsen_layout(tmp_path, options):
    pixels, parts = nielsen_parts()
    if options.pop("py2", False):
        # Python 2 pickles store bytes as str; protocol 2 from Python 3 would
        # need _codecs.encode, which is refused, so emulate with latin1 text.
        path = tmp_path / "py2.pkl.gz"
        path.write_bytes(gzip.compress(_py2_style_pickle(parts)))
    else:
        path = write_pickle(tmp_path / "m.pkl.gz", parts, **options)
    split = load_nielsen_pickle(path)
    assert isinstance(split, NielsenSplit)
    for (p, y), (X_got, y_got) in zip(pixels, split):
        assert X_got.dtype == np.float32
        assert np.array_equal(X_got * 256, p.astype(np.float32))  # as stored
        assert np.array_equal(y_got, y)
        assert y_got.dtype == np.int64
    assert split.train.X.shape == (7, 784)
    assert split.validation.y.shape == (3,)


def _py2_style_pickle(parts) -> bytes:
    """A protocol-2 pickle whose array data are text, as Python 2 wrote them."""
    from numpy._core.multiarray import _reconstruct

    class Py2Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, np.ndarray):
                # numpy 1.x's ndarray.__reduce__, with the data as a latin1
                # str (what a Python 2 str reads as with encoding='latin1').
                raw = obj.tobytes().decode("latin1")
                state = (1, obj.shape, obj.dtype, False, raw)
                return (_reconstruct, (np.ndarray, (0,), "b"), state)
            return NotImplemented

    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(parts)
    content = buffer.getvalue()
    assert b"_codecs" not in content
    return content.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def test_pixel_scale_255_matches_idx_scaling(tmp_path):
    pixels, parts = nielsen_parts()
    path = write_pickle(tmp_path / "m.pkl.gz", parts)
    split = load_nielsen_pickle(path, pixel_scale=255)
    for (p, _), (X, _) in zip(pixels, split):
        assert X.dtype == np.float32
        assert np.array_equal(X, p.astype(np.float32) / np.float32(255))


def test_pixel_scale_255_needs_whole_pixels(tmp_path):
    _, parts = nielsen_parts()
    parts[0][0][0, 0] = 0.3  # not a multiple of 1/256
    path = write_pickle(tmp_path / "m.pkl.gz", parts)
    load_nielsen_pickle(path)  # fine as stored
    with pytest.raises(DatasetError, match="training images are not whole pixels"):
        load_nielsen_pickle(path, pixel_scale=255)


@pytest.mark.parametrize("scale", [254, 1.0, "256", True])
def test_bad_pixel_scale(tmp_path, scale):
    with pytest.raises(InvalidParameterError, match="`pixel_scale`"):
        load_nielsen_pickle(tmp_path / "x", pixel_scale=scale)


# -- refusing code ---------------------------------------------------------
class CallsOsSystem:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class CallsEval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


class CallsSubprocess:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


@pytest.mark.parametrize(
    ("payload", "global_name"),
    [
        (CallsOsSystem, f"{os.system.__module__}.system"),  # posix.system
        (CallsEval, "builtins.eval"),
        (CallsSubprocess, "subprocess.call"),
    ],
)
@pytest.mark.parametrize("where", ["top", "nested"])
def test_code_is_refused_and_not_run(tmp_path, payload, global_name, where):
    marker = tmp_path / "side-effect"
    evil = payload(marker)
    if where == "top":
        content = evil
    else:  # hidden among genuine arrays
        _, parts = nielsen_parts()
        content = (parts[0], (parts[1][0], evil), parts[2])
    path = write_pickle(tmp_path / "evil.pkl.gz", content)
    with pytest.raises(DatasetError, match="refused") as info:
        load_nielsen_pickle(path)
    assert f"'{global_name}'" in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_the_payload_really_would_run(tmp_path):
    # The control for the test above: unpickled without restriction, the same
    # bytes do create the marker, so its absence above means something.
    marker = tmp_path / "side-effect"
    pickle.loads(pickle.dumps(CallsSubprocess(marker)))
    assert marker.exists()


def test_hand_written_os_system_is_refused(tmp_path):
    marker = tmp_path / "side-effect"
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with pytest.raises(DatasetError, match=r"'os\.system'"):
        load_nielsen_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "global_name",
    [
        b"numpy\nload",
        b"numpy._core.multiarray\nscalar",
        b"numpy.core.multiarray\nscalar",
        b"numpy.core.multiarray\n_frombuffer",
        b"copyreg\n_reconstructor",
        b"builtins\ngetattr",
    ],
)
def test_other_numpy_and_helper_globals_are_refused(tmp_path, global_name):
    path = tmp_path / "g.pkl"
    path.write_bytes(b"c" + global_name + b"\n.")
    module, name = global_name.decode().split("\n")
    with pytest.raises(DatasetError, match=f"'{module}.{name}'"):
        load_nielsen_pickle(path)


def test_persistent_ids_are_refused(tmp_path):
    path = tmp_path / "p.pkl"
    path.write_bytes(b"Pid\n.")
    with pytest.raises(DatasetError, match="persistent id"):
        load_nielsen_pickle(path)


# -- wrong structure and broken files ---------------------------------------
def _structure_cases():
    _, (train, valid, test) = nielsen_parts()
    X, y = train
    return [
        ("a dict", {"a": 1}),
        ("2-tuple", (train, valid)),
        ("part not a pair", (train, valid, (X,))),
        ("images 1-D", (train, (X[0], y[:1]), test)),
        ("images 783 wide", (train, (X[:, :783], y), test)),
        ("images integer", (train, ((X * 256).astype(np.uint8), y), test)),
        ("images objects", (train, (X.astype(object), y), test)),
        ("labels float", (train, (X, y.astype(np.float64)), test)),
        ("labels short", (train, (X, y[:-1]), test)),
        ("values above 1", (train, (X + 2, y), test)),
        ("values NaN", (train, (X * np.nan, y), test)),
    ]


@pytest.mark.parametrize(("label", "content"), _structure_cases())
def test_wrong_structure(tmp_path, label, content):
    path = write_pickle(tmp_path / "s.pkl.gz", content)
    with pytest.raises(DatasetError) as info:
        load_nielsen_pickle(path)
    assert str(path) in str(info.value)


def test_broken_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_nielsen_pickle(tmp_path / "missing.pkl.gz")
    _, parts = nielsen_parts()
    good = gzip.compress(pickle.dumps(parts))
    for label, content in [
        ("truncated", good[: len(good) // 2]),
        ("junk", b"\x00\x01\x02 not a pickle"),
        ("empty", b""),
        ("gzip of junk", gzip.compress(b"junk")),
    ]:
        path = tmp_path / f"{label}.pkl.gz"
        path.write_bytes(content)
        with pytest.raises(DatasetError, match="could not be read"):
            load_nielsen_pickle(path)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_truncated_or_mutated_pickles_raise_only_dataset_error(tmp_path, data):
    _, parts = nielsen_parts(sizes=(2, 1, 1))
    content = bytearray(
        pickle.dumps(parts, protocol=data.draw(st.sampled_from([3, 4])))
    )
    if data.draw(st.booleans(), label="truncate"):
        content = content[: data.draw(st.integers(0, len(content) - 1))]
    else:
        position = data.draw(st.integers(0, len(content) - 1), label="position")
        content[position] = data.draw(st.integers(0, 255), label="value")
    path = tmp_path / "fuzz.pkl"
    path.write_bytes(bytes(content))
    try:
        result = load_nielsen_pickle(path)
    except DatasetError:
        return
    assert isinstance(result, NielsenSplit)
