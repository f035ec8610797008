"""The explorer page without a browser: its data are the library's numbers,
the page is one self-contained file, and bad arguments are named.

The page itself (views, keys, what the DOM shows) is tested in a real browser
in ``tests/browser/test_explorer.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import classifiers, inputs_for, labels_of

import mlpinspect
from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    MlpinspectError,
    Network,
    attribute,
    decompose,
    explore,
    load_mnist_sample,
    top_units,
    unit_atlas,
    weight_images,
)
from mlpinspect.explorer._data import (
    DEFAULT_METHODS,
    available_methods,
    build_payload,
    pack,
    quantise_signed,
    unpack,
)
from mlpinspect.explorer._page import STATIC_FILES

ROOT = Path(__file__).resolve().parents[2]
N = 150


@pytest.fixture(scope="module")
def study():
    """A small 784-30-10 sigmoid network trained on the bundled sample."""
    data = load_mnist_sample(dtype=np.float64)
    net = Network([784, 30, 10], seed=1)
    net.fit(data.X_train[:3000], data.y_train[:3000], epochs=2, monitor=False)
    return net, data.X_test[:N], data.y_test[:N]


@pytest.fixture(scope="module")
def payload(study):
    net, X, y = study
    return build_payload(net, X, y, k=5)


def _data_of(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="mlpinspect-data">(.*?)</script>',
        page,
        re.S,
    )
    assert match is not None
    return json.loads(match.group(1))


# -- the numbers are the library's ------------------------------------------------


def test_unit_numbers_equal_the_atlas(study, payload):
    net, X, y = study
    atlas = unit_atlas(net, X, y, layer=0, k=5)
    units = payload["units"]
    for name in ("top_indices", "top_values", "bottom_indices", "bottom_values"):
        np.testing.assert_array_equal(unpack(units[name]), getattr(atlas, name))
    np.testing.assert_array_equal(unpack(units["class_means"]), atlas.class_means)
    np.testing.assert_array_equal(unpack(units["mean"]), atlas.mean)
    np.testing.assert_array_equal(unpack(units["active_share"]), atlas.active_share)
    np.testing.assert_array_equal(
        unpack(units["mean_contribution"]), atlas.equivalent_bias
    )
    assert units["dead"] == atlas.dead.tolist()
    assert units["always_on"] == atlas.always_on.tolist()
    assert units["duplicate_of"] == atlas.duplicate_of.tolist()
    assert units["preferred_class"] == atlas.preferred_class.tolist()
    np.testing.assert_array_equal(unpack(units["outgoing"]), net.weights[1])


def test_weight_images_are_quantised_on_one_symmetric_scale(study, payload):
    net, _, _ = study
    images = payload["units"]["weights"]["images"]
    w = weight_images(net).reshape(30, -1)
    limit = images["limit"]
    assert limit == np.abs(w).max()
    codes = unpack(images)
    assert codes.dtype == np.int8 and codes.shape == (30, 784)
    assert np.abs(codes).max() == 127
    np.testing.assert_allclose(codes / 127 * limit, w, atol=limit / 254 + 1e-12)


def test_inputs_come_back_exactly(study, payload):
    _, X, _ = study
    inputs = payload["inputs"]
    back = inputs["lo"] + unpack(inputs).astype(np.float64) * inputs["scale"]
    np.testing.assert_allclose(back, X, rtol=0, atol=1e-12)
    assert payload["input"] == {"kind": "image", "height": 28, "width": 28}


@pytest.mark.parametrize("by", ["weight", "contribution"])
def test_recipes_equal_top_units(study, payload, by):
    net, X, y = study
    recipe = payload["recipes"][by]
    exc, exc_v = unpack(recipe["excitatory"]), unpack(recipe["excitatory_values"])
    inh, inh_v = unpack(recipe["inhibitory"]), unpack(recipe["inhibitory_values"])
    for c in range(10):
        for k in (1, 3, 30):
            extra = {"X": X, "y": y} if by == "contribution" else {}
            top = top_units(net, c, k=k, by=by, **extra)
            np.testing.assert_array_equal(exc[c, :k], top.excitatory)
            np.testing.assert_array_equal(exc_v[c, :k], top.excitatory_values)
            np.testing.assert_array_equal(inh[c, :k], top.inhibitory)
            np.testing.assert_array_equal(inh_v[c, :k], top.inhibitory_values)


def test_decomposition_equals_decompose(study, payload):
    net, X, y = study
    dec = decompose(net, X, layer=-1)
    ex = payload["examples"]
    focus = unpack(ex["focus"])
    predicted = np.argmax(net.forward(X), axis=1)
    np.testing.assert_array_equal(focus[:, 0], predicted)
    wrong = predicted != y
    np.testing.assert_array_equal(focus[wrong, 1], y[wrong])
    contributions = unpack(ex["contributions"])
    pre = unpack(ex["pre_activation"])
    for i in range(N):
        for s in range(2):
            o = focus[i, s]
            np.testing.assert_array_equal(contributions[i, s], dec.contributions[i, o])
            assert pre[i, s] == dec.pre_activation[i, o]
    np.testing.assert_array_equal(unpack(ex["bias"]), dec.bias)
    # What the waterfall shows adds up: bias + contributions = logit.
    np.testing.assert_allclose(
        contributions.sum(-1) + unpack(ex["bias"])[focus], pre, atol=1e-12
    )
    np.testing.assert_array_equal(unpack(payload["labels"]), y)
    np.testing.assert_array_equal(unpack(payload["predicted"]), predicted)


def test_attributions_equal_attribute(study, payload):
    net, X, _ = study
    at = payload["attribution"]
    assert at["methods"] == [m for m in DEFAULT_METHODS if m in available_methods()]
    predicted = np.argmax(net.forward(X), axis=1)
    maps, limits = unpack(at["maps"]), unpack(at["limits"])
    sums = unpack(at["sums"])
    errors = unpack(at["completeness_error"])
    exact = np.stack(
        [attribute(net, X, predicted, method=m).values for m in at["methods"]], 1
    )
    np.testing.assert_array_equal(limits, np.abs(exact).max(axis=(1, 2)))
    np.testing.assert_allclose(
        maps / 127 * limits[:, None, None], exact, atol=limits.max() / 254 + 1e-12
    )
    np.testing.assert_array_equal(sums, exact.sum(-1))
    for mi, method in enumerate(at["methods"]):
        err = attribute(net, X, predicted, method=method).completeness_error
        if err is None:
            assert np.isnan(errors[:, mi]).all()
        else:
            np.testing.assert_array_equal(errors[:, mi], err)


def test_pack_round_trips_and_quantise_keeps_zero():
    rng = np.random.default_rng(0)
    for dtype, arr in [
        ("f8", rng.normal(size=(3, 4))),
        ("i4", rng.integers(-9, 9, (5,))),
        ("u1", rng.integers(0, 255, (2, 3))),
    ]:
        np.testing.assert_array_equal(unpack(pack(arr, dtype)), arr)
    q, limit = quantise_signed(np.array([0.0, -2.0, 1.0]))
    assert q.tolist() == [0, -127, 64] and limit == 2.0
    q, limit = quantise_signed(np.zeros(3))
    assert q.tolist() == [0, 0, 0] and limit == 1.0


# -- the page is one self-contained file -------------------------------------------


def test_page_is_self_contained(study):
    net, X, y = study
    page = explore(net, X[:40], y[:40], k=3, methods=["gradient_x_input"])
    assert isinstance(page, str)
    assert page.startswith("<!doctype html>")
    assert not re.search(r"https?://", page)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<(img|iframe|object|embed)\b", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert page.count("</script>") == 2  # the data and the script, nothing else
    data = _data_of(page)
    assert data["n_examples"] == 40 and data["k"] == 3
    for name in STATIC_FILES:
        text = resources.files("mlpinspect.explorer").joinpath("static", name)
        assert text.read_text(encoding="utf-8").strip()[:40] in page


def test_text_cannot_break_out_of_the_page(study):
    net, X, y = study
    title = "a </script><script>alert(1)</script> & <b>"
    page = explore(net, X[:20], y[:20], k=2, methods=(), title=title)
    assert "<script>alert(1)" not in page
    assert _data_of(page)["title"] == title
    assert "<title>a &lt;/script&gt;" in page


def test_write_is_atomic_and_returns_the_path(study, tmp_path, monkeypatch):
    net, X, y = study
    out = tmp_path / "sub" / "page.html"
    written = explore(net, X[:20], y[:20], path=out, k=2, methods=())
    assert written == out and out.read_text(encoding="utf-8").startswith("<!doctype")
    before = out.read_bytes()

    def boom(payload):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(mlpinspect.explorer, "render_page", boom)
    with pytest.raises(RuntimeError):
        explore(net, X[:20], y[:20], path=out, k=2, methods=())
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]


def test_study_page_size_is_bounded(study):
    """Per example the page holds its image and four attribution maps as
    compressed bytes: 1,000 MNIST test images stay far below 5 MB (measured
    by benchmarks/explorer_size.py); 150 here stay below 0.5 MB."""
    net, X, y = study
    page = explore(net, X, y)
    assert len(page.encode("utf-8")) < 500_000


def test_static_files_ship_with_the_package():
    folder = resources.files("mlpinspect.explorer").joinpath("static")
    for name in STATIC_FILES:
        assert folder.joinpath(name).is_file()
    js = folder.joinpath("explorer.js").read_text(encoding="utf-8")
    assert len(js.splitlines()) < 600  # small enough to read
    assert "</script" not in js.lower()


def test_wheel_holds_the_static_files(tmp_path):
    pytest.importorskip("hatchling")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("mlpinspect-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in STATIC_FILES:
        assert f"mlpinspect/explorer/static/{name}" in names


# -- tabular models ---------------------------------------------------------------


def test_tabular_inputs_get_feature_tables():
    rng = np.random.default_rng(3)
    names = ("age", "height", "weight", "score", "income")
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 5)), rng.normal(size=6), "relu"),
            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax"),
        ],
        feature_names=names,
        class_names=["low", "mid", "high"],
    )
    X = rng.normal(size=(60, 5))
    y = rng.choice(["low", "mid", "high"], 60)
    data = build_payload(mlp, X, y, k=4, methods=["gradient_x_input", "occlusion"])
    assert data["input"] == {"kind": "table", "features": list(names)}
    assert data["outputs"] == ["low", "mid", "high"]
    np.testing.assert_array_equal(unpack(data["inputs"]), X)
    for j, unit in enumerate(data["units"]["weights"]["features"]):
        top = top_units(mlp, j, layer=0, k=5)
        assert unit["excitatory"] == top.excitatory.tolist()
        assert unit["inhibitory_values"] == top.inhibitory_values.tolist()
    values = unpack(data["attribution"]["values"])
    target = mlp.forward(X).argmax(1)
    np.testing.assert_array_equal(
        values[:, 1], attribute(mlp, X, target, method="occlusion").values
    )
    # String labels become class positions.
    np.testing.assert_array_equal(
        unpack(data["labels"]), [["low", "mid", "high"].index(v) for v in y]
    )


def test_binary_and_regression_models():
    rng = np.random.default_rng(4)
    hidden = Dense(rng.normal(size=(4, 3)), np.zeros(4), "tanh")
    binary = MLP([hidden, Dense(rng.normal(size=(1, 4)), [0.0], "sigmoid")],
                 class_names=["no", "yes"])  # fmt: skip
    X = rng.normal(size=(30, 3))
    y = rng.choice(["no", "yes"], 30)
    data = build_payload(binary, X, y, k=2, methods=["gradient", "gradient_x_input"])
    assert data["outputs"] == ["yes"] and data["classes"] == ["no", "yes"]
    assert unpack(data["examples"]["focus"]).shape == (30, 1)
    # The maps attribute the one unit (the positive class's logit), as the
    # waterfall decomposes it.
    sums = unpack(data["attribution"]["sums"])
    expected = attribute(binary, X, "yes", method="gradient_x_input").values
    np.testing.assert_array_equal(sums[:, 1], expected.sum(1))
    regressor = MLP(
        [hidden, Dense(rng.normal(size=(2, 4)), [0.0, 0.0], "identity")],
        task="regression",
    )
    data = build_payload(regressor, X, k=2, methods=["gradient_x_input"])
    assert data["classes"] is None and data["labels"] is None
    assert data["units"]["class_means"] is None
    with pytest.raises(InvalidParameterError, match="`y` must be None"):
        build_payload(regressor, X, np.zeros(30), methods=())


# -- bad arguments -----------------------------------------------------------------


def test_bad_arguments_are_named(study):
    net, X, y = study
    with pytest.raises(InvalidParameterError, match="`methods` must name"):
        explore(net, X[:10], y[:10], methods=["saliency_magic"])
    with pytest.raises(InvalidParameterError, match="must not repeat"):
        explore(net, X[:10], y[:10], methods=["gradient", "gradient"])
    with pytest.raises(InvalidParameterError, match="`k` must be >= 1"):
        explore(net, X[:10], y[:10], k=0)
    with pytest.raises(InvalidParameterError, match="`n_examples` must be"):
        explore(net, X[:10], y[:10], n_examples=0)
    with pytest.raises(InvalidParameterError, match="one label per row"):
        explore(net, X[:10], y[:9])
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 784\)"):
        explore(net, X[:10, :700], y[:10])
    flat = MLP([Dense(np.ones((3, 4)), np.zeros(3), "softmax")])
    with pytest.raises(MlpinspectError, match="hidden layer"):
        explore(flat, np.ones((2, 4)))


# -- invariants on random classifiers ----------------------------------------------


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_payload_matches_the_library_on_random_classifiers(data):
    task = data.draw(st.sampled_from(["multiclass", "binary"]))
    mlp = data.draw(classifiers(task=task, min_layers=2))
    X = data.draw(inputs_for(mlp, min_rows=2, max_rows=12))
    y = data.draw(labels_of(mlp, X.shape[0]))
    payload = build_payload(mlp, X, y, k=2, methods=["gradient_x_input"])
    positions = np.array([mlp.classes.tolist().index(v) for v in y.tolist()])
    np.testing.assert_array_equal(unpack(payload["labels"]), positions)
    atlas = unit_atlas(mlp, X, y, layer=-2, k=2)
    np.testing.assert_array_equal(
        unpack(payload["units"]["class_means"]), atlas.class_means
    )
    np.testing.assert_array_equal(
        unpack(payload["units"]["top_indices"]), atlas.top_indices
    )
    ex = payload["examples"]
    focus = unpack(ex["focus"])
    total = unpack(ex["contributions"]).sum(-1) + unpack(ex["bias"])[focus]
    np.testing.assert_allclose(total, unpack(ex["pre_activation"]), atol=1e-9)
    exc = unpack(payload["recipes"]["weight"]["excitatory"])
    for unit in range(mlp.n_outputs):
        top = top_units(mlp, mlp.replace(class_names=None).classes[unit], k=1)
        assert exc[unit, 0] == top.excitatory[0]
    assert payload["outputs"] == [
        mlp.class_label(1 if task == "binary" else u) for u in range(mlp.n_outputs)
    ]


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(max_dims=3, max_side=5),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    )
)
def test_quantised_values_are_within_half_a_step_and_keep_their_sign(values):
    q, limit = quantise_signed(values)
    assert np.all(np.abs(q / 127 * limit - values) <= limit / 254 * (1 + 1e-9))
    assert np.all((q == 0) | (np.sign(q) == np.sign(values)))
    np.testing.assert_array_equal(unpack(pack(values, "f8")), values)
