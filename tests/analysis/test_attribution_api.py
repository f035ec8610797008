"""The attribution API around the methods: the registry, options checked as
data, Captum's names, refusals up front, streams of batches and targets per
batch, and reproducible randomised methods."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import MLP, Dense, InvalidParameterError, attribute, iter_attribute
from mlpinspect.analysis.attribution import (
    LRP_PRESETS,
    LRP_RULES,
    METHODS,
    AttributionMethod,
    Computed,
    Integer,
    Option,
    Real,
    get_method,
    register_method,
    registered_methods,
    unregister_method,
)
from mlpinspect.analysis.attribution._docs import rst_table


@pytest.fixture
def mlp():
    rng = np.random.default_rng(0)
    return MLP(
        [
            Dense(rng.normal(size=(6, 8)), rng.normal(size=6), "tanh"),
            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "softmax"),
        ],
        input_shape=(2, 4),
        class_names=["a", "b", "c"],
    )


@pytest.fixture
def X():
    return np.random.default_rng(1).normal(size=(10, 8))


# ---------------------------------------------------------------------------
# The registry.
# ---------------------------------------------------------------------------


def test_a_third_party_method_is_one_record(mlp, X):
    @register_method(
        name="times_input_squared",
        summary="gradient times the input, squared",
        options=(Option("power", 2, Integer(1), "the power"),),
        baseline="zero",
        completeness=None,
    )
    def times_input(problem):
        grad, out = problem.gradient(problem.X)
        return Computed(grad * problem.X ** problem.options["power"], out)

    try:
        assert "times_input_squared" in registered_methods()
        # The docs' method table is generated from the registry.
        assert "``times_input_squared``" in rst_table("methods")
        assert "gradient times the input, squared" in rst_table("methods")
        assert "``power=2``" in rst_table("methods")
        result = attribute(mlp, X, 1, method="times_input_squared", power=3)
        grad = attribute(mlp, X, 1, method="gradient").values
        np.testing.assert_allclose(result.values, grad * X**3)
        assert result.method == "times_input_squared"
        assert result.options == {"power": 3}
        with pytest.raises(InvalidParameterError, match=r"`power` must be >= 1"):
            attribute(mlp, X, 1, method="times_input_squared", power=0)
        with pytest.raises(InvalidParameterError, match=r"registered already"):
            register_method(METHODS["times_input_squared"])
        # streams, chunking and targets come for free
        parts = list(
            iter_attribute(mlp, [X[:4], X[4:]], 1, method="times_input_squared")
        )
        np.testing.assert_allclose(
            np.concatenate([p.values.reshape(-1, 8) for p in parts]), grad * X**2
        )
    finally:
        unregister_method("times_input_squared")
    assert "times_input_squared" not in METHODS
    assert "times_input_squared" not in rst_table("methods")


def test_the_docs_tables_list_every_registered_method_and_rule():
    methods, captum = rst_table("methods"), rst_table("captum")
    for name, record in METHODS.items():
        assert f"* - ``{name}``" in methods
        if record.captum:
            assert f"method='{name}'" in captum
    for name in LRP_RULES:
        assert f"* - ``{name}``" in rst_table("lrp-rules")
    for name in LRP_PRESETS:
        assert f"* - ``{name}``" in rst_table("lrp-presets")


def test_the_registry_lists_the_builtin_methods():
    assert registered_methods() == (
        "gradient", "gradient_x_input", "integrated_gradients", "deeplift", "lrp",
        "occlusion", "noise_tunnel", "gradient_shap",
    )  # fmt: skip
    assert registered_methods(randomized=True) == ("noise_tunnel", "gradient_shap")
    assert get_method("smoothgrad") is METHODS["noise_tunnel"]
    assert get_method("expected_gradients") is METHODS["gradient_shap"]
    with pytest.raises(TypeError):
        METHODS["mine"] = METHODS["gradient"]  # read-only


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"name": "has space"}, r"must be an identifier"),
        ({"baseline": "some"}, r"`baseline` of method 'm' must be one of"),
        ({"completeness": "sum"}, r"`completeness` of method 'm'"),
        ({"randomized": True}, r"randomized and needs a `seed` option"),
        ({"wraps": "inner"}, r"wraps the method named by option 'inner'"),
    ],
)
def test_malformed_records_are_refused(fields, match):
    record = {"name": "m", "compute": lambda p: None, "summary": "s", **fields}
    with pytest.raises(InvalidParameterError, match=match):
        AttributionMethod(**record)


# ---------------------------------------------------------------------------
# Options, checked against the record.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "gradient", "n_steps": 5}, r"`n_steps` is not an option of method "
         r"'gradient'; its options: none"),
        ({"method": "deeplift", "rule": "exact"}, r"`rule` is not an option of method "
         r"'deeplift'; its options: 'n_steps'"),
        ({"method": "gradient", "baseline": 0.5}, r"'gradient' takes no baseline"),
        ({"method": "gradient_x_input", "baseline": 0.5}, r"uses the zero input"),
        ({"method": "gradient_shap"}, r"needs `baseline`: reference inputs"),
        ({"baseline": 0.0, "baselines": 0.0}, r"`baselines` is Captum's name"),
        ({"chunk_size": 10, "internal_batch_size": 20}, r"Captum's name for `chunk_s"),
        ({"method": "occlusion", "window": 1, "sliding_window_shapes": 1}, r"same opt"),
        ({"method": "noise_tunnel", "nt_type": "mean"}, r"`nt_type` must be one of"),
        ({"method": "noise_tunnel", "base_method": "shap"}, r"`method` must be one of"),
        ({"method": "noise_tunnel", "base_method": "smoothgrad"}, r"not be 'noise_t"),
        ({"method": "noise_tunnel", "stdevs": -1}, r"`stdevs` must be >= 0"),
        ({"method": "noise_tunnel", "seed": -3}, r"`seed` must be >= 0"),
        ({"method": "noise_tunnel", "n_stepz": 3}, r"`n_stepz` is not an option of m"
         r"ethod 'gradient'"),
        ({"method": "noise_tunnel", "noise": np.zeros((10, 2, 8))}, r"`noise` must ha"
         r"ve one row per input and 20 draws"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_naming_them(mlp, X, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        attribute(mlp, X, 0, **kwargs)


def test_captum_names_mean_the_same(mlp, X):
    B = np.random.default_rng(2).normal(size=8)
    ours = attribute(mlp, X, 0, baseline=B, rule="gauss_legendre", chunk_size=64)
    theirs = attribute(
        mlp, X, 0, baselines=B, rule="gausslegendre", internal_batch_size=64
    )
    np.testing.assert_array_equal(ours.values, theirs.values)
    assert theirs.options["rule"] == "gauss_legendre"
    window = attribute(mlp, X, 0, method="occlusion", window=(1, 2), stride=(1, 2))
    captum = attribute(
        mlp, X, 0, method="occlusion", sliding_window_shapes=(1, 2), strides=(1, 2)
    )
    np.testing.assert_array_equal(window.values, captum.values)
    smooth = attribute(mlp, X, 0, method="smoothgrad", seed=3, nt_samples=2)
    assert smooth.method == "noise_tunnel"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_steps": 10**9, "rule": "riemann_middle"}, r"n_steps=1000000000 would "
         r"need 14.9 GiB"),
        ({"n_steps": 10**5}, r"gauss_legendre nodes and weights for n_steps=100000 "
         r"would need 149.0 GiB"),
        ({"n_steps": 2**70, "rule": "riemann_left"}, r"n_steps=1180591620717411303424 "
         r"would need [\d.]+ PiB"),
        # Draws are streamed (no memory to speak of), but would never finish.
        ({"method": "smoothgrad", "nt_samples": 2**70}, r"`nt_samples` must be <= "
         r"1048576; got 1180591620717411303424"),
        ({"method": "smoothgrad", "nt_samples": 10**9}, r"`nt_samples` must be <= "),
        ({"method": "gradient_shap", "n_samples": 2**70, "baseline": np.zeros((2, 8))},
         r"`n_samples` must be <= 1048576"),
    ],
)  # fmt: skip
def test_huge_counts_are_refused_up_front_with_the_memory_they_need(mlp, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        attribute(mlp, np.ones((1, 8)), 0, **kwargs)


def test_steps_beyond_the_chunk_are_split_not_refused(mlp, X):
    # One input's 37 steps do not fit 5 rows: they run in blocks.
    small = attribute(mlp, X, 0, rule="riemann_left", n_steps=37, chunk_size=5)
    large = attribute(mlp, X, 0, rule="riemann_left", n_steps=37)
    np.testing.assert_allclose(small.values, large.values, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# Streams of batches.
# ---------------------------------------------------------------------------

METHOD_OPTIONS = {
    "gradient": {},
    "integrated_gradients": {"baseline": 0.1},
    "deeplift": {"baseline": np.linspace(0, 1, 8)},
    "occlusion": {"window": (1, 2)},
    "noise_tunnel": {"seed": 5, "nt_samples": 3},
    "gradient_shap": {"seed": 5, "baseline": np.eye(8)[:3]},
}


@pytest.mark.parametrize("method", sorted(METHOD_OPTIONS))
def test_a_stream_gives_what_the_array_gives(mlp, X, method):
    kw = METHOD_OPTIONS[method]
    whole = attribute(mlp, X, "b", method=method, **kw)
    batches = [X[:3], X[3:4], X[4:]]
    streamed = attribute(mlp, iter(batches), "b", method=method, **kw)
    assert streamed.values.shape == (10, 2, 4)  # a stream: (n, *input_shape)
    np.testing.assert_allclose(
        streamed.values.reshape(10, 8), whole.values, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_array_equal(streamed.target, whole.target)
    np.testing.assert_allclose(streamed.output, whole.output, rtol=1e-13)
    pieces = list(iter_attribute(mlp, batches, "b", method=method, **kw))
    assert [p.n_samples for p in pieces] == [3, 1, 6]
    np.testing.assert_allclose(
        np.concatenate([p.values.reshape(-1, 8) for p in pieces]),
        whole.values, rtol=1e-12, atol=1e-14,
    )  # fmt: skip


def test_a_torch_dataloader_is_a_stream_and_its_labels_can_be_targets(mlp, X):
    torch = pytest.importorskip("torch")
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 0])
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=4)
    by_labels = attribute(mlp, loader, "labels", method="deeplift")
    by_array = attribute(mlp, X, y, method="deeplift")
    np.testing.assert_allclose(by_labels.values.reshape(10, 8), by_array.values)
    np.testing.assert_array_equal(by_labels.target, y)
    # without labels, the loader's y is ignored and the target applies to all
    np.testing.assert_array_equal(attribute(mlp, loader, 2).target, np.full(10, 2))


def test_predicted_and_callable_targets(mlp, X):
    predicted = mlp.predict(X)
    expected = attribute(mlp, X, predicted, method="gradient").values
    np.testing.assert_allclose(
        attribute(mlp, X, "predicted", method="gradient").values, expected
    )
    stream = [X[:5], X[5:]]
    np.testing.assert_allclose(
        attribute(mlp, stream, "predicted", method="gradient").values.reshape(10, 8),
        expected,
    )
    second = attribute(mlp, stream, lambda Xb: np.argsort(mlp.forward(Xb))[:, -2])
    runner_up = np.argsort(mlp.forward(X))[:, -2]
    np.testing.assert_array_equal(second.target, runner_up)


def test_per_row_targets_and_baselines_follow_the_stream(mlp, X):
    t = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    B = np.random.default_rng(3).normal(size=(10, 8))
    whole = attribute(mlp, X, t, method="deeplift", baseline=B)
    streamed = attribute(mlp, [X[:7], X[7:]], t, method="deeplift", baseline=B)
    np.testing.assert_allclose(streamed.values.reshape(10, 8), whole.values, rtol=1e-13)
    np.testing.assert_allclose(streamed.baseline.reshape(10, 8), B)
    with pytest.raises(
        InvalidParameterError,
        match=r"`target` must have one row per "
        r"input; it has 10 rows but the stream has more inputs",
    ):
        attribute(mlp, [X, X], t, method="deeplift")
    with pytest.raises(
        InvalidParameterError,
        match=r"`baseline` must have one row per "
        r"input \(7\); got 10 rows",
    ):
        attribute(mlp, [X[:7]], 0, method="deeplift", baseline=B)
    with pytest.raises(InvalidParameterError, match=r"one per row of shape \(4, 8\)"):
        attribute(mlp, X[:4], 0, method="deeplift", baseline=B)


@pytest.mark.parametrize(
    ("X_arg", "target", "match"),
    [
        ("array", "labels", r"`target='labels'` takes each row's label from a stream"),
        ("stream", "labels", r"must be an \(X_batch, y_batch\) tuple because labels"),
        ("empty", 0, r"`X` must not be empty"),
    ],
)
def test_stream_refusals(mlp, X, X_arg, target, match):
    data = {"array": X, "stream": [X[:3], X[3:]], "empty": []}[X_arg]
    with pytest.raises(InvalidParameterError, match=match):
        attribute(mlp, data, target, method="gradient")


def test_named_targets_that_clash_with_a_label_are_refused(X):
    rng = np.random.default_rng(4)
    clash = MLP(
        [Dense(rng.normal(size=(2, 8)), np.zeros(2), "softmax")],
        class_names=["predicted", "other"],
    )
    with pytest.raises(InvalidParameterError, match=r"ambiguous: the model has a cl"):
        attribute(clash, X, "predicted", method="gradient")
    regression = MLP(
        [Dense(rng.normal(size=(1, 8)), np.zeros(1), "identity")], task="regression"
    )
    with pytest.raises(InvalidParameterError, match=r"needs a classifier"):
        attribute(regression, X, "predicted", method="gradient")


def test_dataframe_batches_keep_their_column_names(mlp, X):
    pd = pytest.importorskip("pandas")
    names = [f"f{i}" for i in range(8)]
    frames = [pd.DataFrame(X[:4], columns=names), pd.DataFrame(X[4:], columns=names)]
    assert attribute(mlp, frames, 0, method="gradient").feature_names == tuple(names)


# ---------------------------------------------------------------------------
# Randomised methods: reproducible from a seed.
# ---------------------------------------------------------------------------

RANDOM = {
    "noise_tunnel": {"nt_samples": 7, "stdevs": 0.3},
    "gradient_shap": {"n_samples": 7, "stdevs": 0.1, "baseline": np.eye(8)},
}


@settings(max_examples=10, deadline=None)
@given(
    method=st.sampled_from(sorted(RANDOM)),
    chunk=st.integers(1, 40),
    cut=st.integers(1, 9),
)
def test_randomised_methods_do_not_depend_on_chunks_or_batches(method, chunk, cut):
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 8)), rng.normal(size=6), "tanh"),
            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "identity"),
        ]
    )
    X = rng.normal(size=(10, 8))
    kw = {"method": method, "seed": 11, **RANDOM[method]}
    reference = attribute(mlp, X, 1, **kw)
    chunked = attribute(mlp, X, 1, chunk_size=chunk, **kw)
    streamed = attribute(mlp, [X[:cut], X[cut:]], 1, **kw)
    for other in (chunked, streamed):
        np.testing.assert_allclose(
            other.values, reference.values, rtol=1e-12, atol=1e-14
        )


@pytest.mark.parametrize("method", sorted(RANDOM))
def test_the_recorded_seed_replays_the_draws(mlp, X, method):
    first = attribute(mlp, X, 0, method=method, **RANDOM[method])
    again = attribute(
        mlp, X, 0, method=method, seed=first.options["seed"], **RANDOM[method]
    )
    np.testing.assert_array_equal(first.values, again.values)
    other = attribute(mlp, X, 0, method=method, seed=1, **RANDOM[method])
    assert not np.allclose(other.values, first.values)


def test_smoothgrad_without_noise_is_its_base_method(mlp, X):
    B = np.random.default_rng(5).normal(size=(10, 8))
    for base, kw in [
        ("gradient", {}),
        ("integrated_gradients", {"baseline": B}),
        ("deeplift", {"baseline": B}),
    ]:
        plain = attribute(mlp, X, 2, method=base, **kw)
        smooth = attribute(
            mlp,
            X,
            2,
            method="smoothgrad",
            base_method=base,
            stdevs=0.0,
            nt_samples=3,
            **kw,
        )
        np.testing.assert_allclose(smooth.values, plain.values, rtol=1e-12, atol=1e-15)
        assert smooth.completeness_error is None
        var = attribute(
            mlp,
            X,
            2,
            method="smoothgrad",
            base_method=base,
            nt_type="vargrad",
            stdevs=0.0,
            nt_samples=3,
            **kw,
        )
        np.testing.assert_allclose(var.values, 0.0, atol=1e-12)


def test_noise_tunnel_passes_options_to_its_base_method(X):
    rng = np.random.default_rng(6)
    relu = MLP(
        [
            Dense(rng.normal(size=(6, 8)), rng.normal(size=6), "relu"),
            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "identity"),
        ]
    )
    smooth = attribute(
        relu,
        X,
        1,
        method="noise_tunnel",
        base_method="lrp",
        lrp_rule="epsilon_plus",
        seed=0,
        nt_samples=2,
    )
    assert smooth.options["base_options"]["layer_rules"] == ("zplus", "epsilon")
    nested = attribute(
        relu,
        X,
        1,
        method="noise_tunnel",
        base_method="gradient_shap",
        baseline=np.eye(8),
        n_samples=3,
        seed=4,
        nt_samples=2,
    )
    replay = attribute(
        relu,
        [X[:2], X[2:]],
        1,
        method="noise_tunnel",
        base_method="gradient_shap",
        baseline=np.eye(8),
        n_samples=3,
        seed=4,
        nt_samples=2,
        chunk_size=3,
    )
    np.testing.assert_allclose(replay.values, nested.values, rtol=1e-12, atol=1e-15)
    with pytest.raises(InvalidParameterError, match=r"`alphas` \(explicit draws of "):
        attribute(
            relu,
            X,
            1,
            method="noise_tunnel",
            base_method="gradient_shap",
            baseline=np.eye(8),
            alphas=np.zeros((10, 5)),
        )


def test_expected_gradients_with_one_baseline_and_midpoints_is_riemann_ig(mlp, X):
    # One baseline and the draws alpha = (k + 1/2)/n: the midpoint rule of IG.
    n = 6
    alphas = np.tile((np.arange(n) + 0.5) / n, (10, 1))
    b = np.random.default_rng(7).normal(size=8)
    shap = attribute(
        mlp,
        X,
        0,
        method="expected_gradients",
        baseline=b[None],
        n_samples=n,
        alphas=alphas,
        indices=np.zeros((10, n), int),
    )
    ig = attribute(mlp, X, 0, baseline=b, rule="riemann_middle", n_steps=n)
    np.testing.assert_allclose(shap.values, ig.values, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"indices": np.full((10, 5), 3)}, r"`indices` must be positions in the base"),
        ({"indices": np.zeros((10, 5))}, r"`indices` must be integers"),
        ({"alphas": np.full((10, 5), 1.5)}, r"`alphas` must hold numbers in \[0, 1\]"),
        ({"alphas": np.zeros((10, 4))}, r"`alphas` must have one row per input and 5"),
        ({"noise": np.zeros((10, 5, 7))}, r"`noise` must hold one input per draw"),
        ({"baseline": np.zeros((3, 7))}, r"must have shape \(K, 8\)"),
    ],
)
def test_bad_draws_are_named(mlp, X, kwargs, match):
    kwargs = {"baseline": np.zeros((3, 8)), **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        attribute(mlp, X, 0, method="gradient_shap", **kwargs)


def test_real_constraint_describes_itself():
    assert Real(0.0).describe() == "float >= 0.0"
    assert Integer(1, 5).describe() == "int in [1, 5]"


def test_a_gradient_that_overflows_only_in_the_last_product_is_caught():
    # delta_0 (1e150) and W_0 (1e200) are finite; their product is not.
    from mlpinspect import NumericalError

    mlp = MLP(
        [
            Dense(np.full((2, 3), 1e200), np.zeros(2), "identity"),
            Dense(np.full((1, 2), 1e150), np.zeros(1), "identity"),
        ]
    )
    with pytest.raises(NumericalError, match=r"layer 0 of the MLP overflowed"):
        attribute(mlp, np.full((1, 3), 1e-300), 0, method="gradient")
