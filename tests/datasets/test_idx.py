"""IDX reading and writing: round trips, the byte layout, and every fault."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlpinspect.datasets import IDX_DTYPES, _idx, load_idx, save_idx
from mlpinspect.datasets._idx import decompressed_sha256, read_images
from mlpinspect.errors import DatasetError, InvalidParameterError

NATIVE_DTYPES = [dt.newbyteorder("=") for dt in IDX_DTYPES.values()]
UNKNOWN_CODES = [c for c in range(256) if c not in IDX_DTYPES]

# Every IDX dtype, rank 1-4, small dimensions (zero included), any values:
# NaN payloads and infinities must survive bit for bit too.
idx_arrays = st.sampled_from(NATIVE_DTYPES).flatmap(
    lambda dt: hnp.arrays(
        dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)
    )
)
# The same with every dimension >= 1 (no empty arrays).
nonempty_idx_arrays = st.sampled_from(NATIVE_DTYPES).flatmap(
    lambda dt: hnp.arrays(
        dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
    )
)
fuzz = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr``, written out by hand from the spec."""
    code = {dt: c for c, dt in IDX_DTYPES.items()}[arr.dtype.newbyteorder(">")]
    header = struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, content: bytes, compress: bool):
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    return path


# -- round trips -----------------------------------------------------------
@fuzz
@given(arr=idx_arrays, compress=st.booleans())
def test_round_trip_is_bit_exact(tmp_path, arr, compress):
    path = save_idx(tmp_path / "a.idx", arr, compress=compress)
    back = load_idx(path)
    assert back.dtype == arr.dtype.newbyteorder("=")
    assert back.dtype.isnative
    assert back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()
    # The checksum covers the decompressed content: header + data.
    assert decompressed_sha256(path) == hashlib.sha256(idx_bytes(arr)).hexdigest()
    load_idx(path, sha256=decompressed_sha256(path))


@fuzz
@given(arr=idx_arrays)
def test_written_bytes_follow_the_spec(tmp_path, arr):
    raw = save_idx(tmp_path / "a.idx", arr, compress=False)
    assert raw.read_bytes() == idx_bytes(arr)
    packed = save_idx(tmp_path / "a.idx.gz", arr)  # .gz -> compressed
    assert gzip.decompress(packed.read_bytes()) == idx_bytes(arr)


def test_known_layout_and_big_endian_input(tmp_path):
    arr = np.array([[1, -2], [300, 4]], dtype=">i2")
    path = save_idx(tmp_path / "x", arr)
    assert path.read_bytes() == bytes.fromhex("00000b02 00000002 00000002") + bytes(
        [0, 1, 0xFF, 0xFE, 0x01, 0x2C, 0, 4]
    )
    back = load_idx(path)
    assert back.dtype == np.dtype("int16")
    np.testing.assert_array_equal(back, arr)


def test_compression_is_detected_from_content_not_name(tmp_path):
    arr = np.arange(10, dtype=np.float32)
    raw_named_gz = save_idx(tmp_path / "raw.gz", arr, compress=False)
    gz_named_raw = save_idx(tmp_path / "packed.idx", arr, compress=True)
    assert raw_named_gz.read_bytes()[:2] == b"\x00\x00"
    assert gz_named_raw.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(load_idx(raw_named_gz), arr)
    np.testing.assert_array_equal(load_idx(gz_named_raw), arr)


def test_gzip_output_is_reproducible(tmp_path):
    arr = np.arange(1000, dtype=np.int32)
    first = save_idx(tmp_path / "a.gz", arr).read_bytes()
    second = save_idx(tmp_path / "b.gz", arr).read_bytes()
    assert first == second


def test_save_replaces_atomically_and_leaves_no_temp_on_failure(tmp_path, monkeypatch):
    path = save_idx(tmp_path / "a.idx", np.arange(4, dtype=np.uint8))
    before = path.read_bytes()

    def broken_write(out, header, data):
        out.write(header)
        raise OSError("disk full")

    monkeypatch.setattr(_idx, "_write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save_idx(path, np.arange(8, dtype=np.uint8))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.idx"]


def test_saved_file_has_the_usual_permissions(tmp_path):
    path = save_idx(tmp_path / "a.idx", np.arange(3, dtype=np.uint8))
    assert path.stat().st_mode & 0o044  # readable by group/others (not 0600)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.arange(3, dtype=np.int64), "IDX data type"),
        (np.array([True, False]), "IDX data type"),
        (np.array([1 + 2j]), "IDX data type"),
        (np.array(["a"]), "IDX data type"),
        (np.array(5, dtype=np.uint8), "1 to 255 dimensions"),
    ],
)
def test_save_rejects_arrays_idx_cannot_hold(tmp_path, array, match):
    with pytest.raises(InvalidParameterError, match=match):
        save_idx(tmp_path / "a.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidParameterError, match="`path`"):
        save_idx(3, np.arange(3, dtype=np.uint8))
    with pytest.raises(InvalidParameterError, match="`compresslevel`"):
        save_idx(tmp_path / "a", np.arange(3, dtype=np.uint8), compresslevel=10)
    with pytest.raises(InvalidParameterError, match="`path`"):
        load_idx(None)
    path = save_idx(tmp_path / "a", np.arange(3, dtype=np.uint8))
    with pytest.raises(InvalidParameterError, match="`sha256`"):
        load_idx(path, sha256="abc")


# -- faults ----------------------------------------------------------------
GOOD = idx_bytes(np.arange(24, dtype=np.int16).reshape(2, 3, 4))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "truncated"),
        (GOOD[:3], "truncated"),
        (GOOD[:10], "truncated"),
        (GOOD[:-1], "truncated"),
        (GOOD + b"\x00", "trailing bytes"),
        (b"\x01" + GOOD[1:], "wrong magic number"),
        (b"PK\x03\x04" + GOOD[4:], "wrong magic number"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown data type code 0x0A"),
        (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions"),
        (GOOD[:2] + b"\x0c" + GOOD[3:], "truncated"),  # int32: needs 96 bytes
        (GOOD[:2] + b"\x08" + GOOD[3:], "trailing bytes"),  # uint8: needs 24
        (GOOD[:7] + b"\x01" + GOOD[8:], "trailing bytes"),  # dims 1x3x4 < data
        (GOOD[:7] + b"\x03" + GOOD[8:], "truncated"),  # dims 3x3x4 > data
    ],
)
def test_malformed_files_raise_dataset_error_naming_the_file(
    tmp_path, content, match, compress
):
    path = write(tmp_path / "bad.idx", content, compress)
    with pytest.raises(DatasetError, match=match) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_idx(tmp_path / "nope.idx")
    assert "nope.idx" in str(info.value)
    with pytest.raises(DatasetError, match="cannot be opened"):
        load_idx(tmp_path)  # a folder


def test_checksum_mismatch_names_file_expected_and_actual(tmp_path):
    path = write(tmp_path / "a.idx.gz", GOOD, compress=True)
    actual = hashlib.sha256(GOOD).hexdigest()
    load_idx(path, sha256=actual.upper())  # case does not matter
    wrong = "0" * 64
    with pytest.raises(DatasetError, match="checksum") as info:
        load_idx(path, sha256=wrong)
    message = str(info.value)
    assert str(path) in message
    assert wrong in message
    assert actual in message


def test_corrupt_gzip_stream(tmp_path):
    content = idx_bytes(np.zeros(5000, dtype=np.uint8))
    packed = bytearray(gzip.compress(content, mtime=0))
    broken = bytes(packed[:15]) + b"\xff\xff\xff" + bytes(packed[18:])
    path = tmp_path / "broken.gz"
    path.write_bytes(broken)
    with pytest.raises(DatasetError, match="gzip") as info:
        load_idx(path)
    assert str(path) in str(info.value)
    with pytest.raises(DatasetError, match="gzip"):
        decompressed_sha256(path)


def test_gzip_crc_and_length_are_checked(tmp_path):
    packed = bytearray(gzip.compress(GOOD, mtime=0))
    for position in (-8, -1):  # CRC32, then ISIZE
        bad = bytearray(packed)
        bad[position] ^= 0xFF
        path = tmp_path / f"bad{position}.gz"
        path.write_bytes(bytes(bad))
        with pytest.raises(DatasetError, match="gzip"):
            load_idx(path)


def test_trailing_gzip_member_is_trailing_data(tmp_path):
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(GOOD, mtime=0) + gzip.compress(b"x", mtime=0))
    with pytest.raises(DatasetError, match="trailing bytes"):
        load_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_absurd_declared_size_fails_before_allocating(tmp_path, compress):
    header = struct.pack(">BBBB4I", 0, 0, 0x0E, 4, *([2**32 - 1] * 4))
    path = write(tmp_path / "huge.idx", header + b"\x00" * 64, compress)
    with pytest.raises(DatasetError, match=r"huge\.idx"):
        load_idx(path)


def test_read_images_requires_uint8_images(tmp_path):
    path = save_idx(tmp_path / "f.idx", np.zeros((2, 3, 3), dtype=np.float32))
    with pytest.raises(DatasetError, match="does not hold images"):
        read_images(path, None, np.dtype(np.float32))
    path = save_idx(tmp_path / "v.idx", np.zeros(9, dtype=np.uint8))
    with pytest.raises(DatasetError, match="does not hold images"):
        read_images(path, None, np.dtype(np.float32))


def test_read_images_scales_by_255_exactly(tmp_path):
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    path = save_idx(tmp_path / "img.gz", pixels)
    for dtype in (np.float32, np.float64):
        X, shape = read_images(path, None, np.dtype(dtype))
        assert shape == (8, 8)
        assert X.dtype == dtype
        expected = pixels.reshape(4, 64).astype(dtype) / dtype(255)
        assert np.array_equal(X, expected)
        assert X[0, 0] == 0
        assert X[-1, -1] == 1


def test_read_images_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(_idx, "_PIECE", 100)  # several rows per piece, and a tail
    pixels = np.random.default_rng(0).integers(0, 256, (23, 5, 5), dtype=np.uint8)
    path = save_idx(tmp_path / "img.gz", pixels)
    X, _ = read_images(path, decompressed_sha256(path), np.dtype(np.float32))
    assert np.array_equal(X * 255, pixels.reshape(23, 25).astype(np.float32))
    assert np.array_equal(load_idx(path), pixels)


# -- fuzzing: only DatasetError, ever ---------------------------------------
@fuzz
@given(arr=idx_arrays, data=st.data(), compress=st.booleans())
def test_every_truncation_raises_dataset_error(tmp_path, arr, data, compress):
    content = idx_bytes(arr)
    if compress:
        content = gzip.compress(content, mtime=0)
    cut = data.draw(st.integers(0, len(content) - 1), label="cut")
    path = tmp_path / "cut.idx"
    path.write_bytes(content[:cut])
    with pytest.raises(DatasetError):
        load_idx(path)


@fuzz
@given(arr=nonempty_idx_arrays, data=st.data(), compress=st.booleans())
def test_header_mutations_that_break_the_file_raise(tmp_path, arr, data, compress):
    content = bytearray(idx_bytes(arr))
    ndim = arr.ndim
    kind = data.draw(st.sampled_from(["magic", "dtype", "dim"]), label="kind")
    if kind == "magic":
        content[data.draw(st.integers(0, 1))] = data.draw(st.integers(1, 255))
    elif kind == "dtype":
        code = data.draw(st.sampled_from(UNKNOWN_CODES))
        known = data.draw(st.sampled_from(sorted(IDX_DTYPES)))
        if IDX_DTYPES[known].itemsize != arr.dtype.itemsize:
            code = known  # a known code of another size breaks the size too
        content[2] = code
    else:  # one dimension changes: the data no longer fit
        axis = data.draw(st.integers(0, ndim - 1))
        new = data.draw(
            st.integers(0, 2**32 - 1).filter(lambda d: d != arr.shape[axis])
        )
        content[4 + 4 * axis : 8 + 4 * axis] = struct.pack(">I", new)
    path = write(tmp_path / "mut.idx", bytes(content), compress)
    with pytest.raises(DatasetError):
        load_idx(path)


@fuzz
@given(arr=idx_arrays, data=st.data(), compress=st.booleans())
def test_any_header_mutation_raises_only_dataset_error(tmp_path, arr, data, compress):
    content = bytearray(idx_bytes(arr))
    header_size = 4 + 4 * arr.ndim
    position = data.draw(st.integers(0, header_size - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != content[position]))
    content[position] = value
    path = write(tmp_path / "mut.idx", bytes(content), compress)
    try:
        result = load_idx(path)
    except DatasetError:
        return
    # Some mutations give another valid file (e.g. ndim grows into the data).
    assert isinstance(result, np.ndarray)
    assert result.nbytes + 4 + 4 * result.ndim == len(content)


@fuzz
@given(data=st.data())
def test_corrupting_compressed_bytes_raises_or_changes_nothing(tmp_path, data):
    arr = data.draw(nonempty_idx_arrays, label="arr")
    packed = bytearray(gzip.compress(idx_bytes(arr), mtime=0))
    # From the deflate stream (after the 10-byte gzip header) to the end.
    position = data.draw(st.integers(10, len(packed) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="flip")
    packed[position] ^= flip
    path = tmp_path / "flip.gz"
    path.write_bytes(bytes(packed))
    try:
        result = load_idx(path)
    except DatasetError:
        return
    # Only bits deflate ignores (padding of the last byte) can change silently.
    assert result.tobytes() == arr.tobytes()


@fuzz
@given(junk=st.binary(max_size=64), compress=st.booleans())
def test_random_bytes_raise_only_dataset_error(tmp_path, junk, compress):
    path = write(tmp_path / "junk", junk, compress)
    try:
        result = load_idx(path)
    except DatasetError:
        return
    assert isinstance(result, np.ndarray)
