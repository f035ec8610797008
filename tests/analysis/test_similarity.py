"""Linear CKA and unit matching: against the Gram-matrix formulas, the
invariances CKA promises, streaming against one shot, torch_cka, and the
recovery of a known permutation of units."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.strategies import float_arrays

from mlpinspect import (
    MLP,
    CKAMatrix,
    Dense,
    InvalidParameterError,
    UnitMatching,
    cka,
    cka_matrix,
    linear_cka,
    match_units,
)

# -- the Gram-matrix formulas, slow and obvious ----------------------------------------


def gram_hsic_biased(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H)


def gram_hsic_unbiased(K, L):
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0.0)
    np.fill_diagonal(L, 0.0)
    one = np.ones(n)
    return (
        np.trace(K @ L)
        + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ K @ L @ one)
    ) / (n * (n - 3))


def gram_cka(A, B, hsic=gram_hsic_biased):
    K, L = A @ A.T, B @ B.T
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def clearly_positive_self_hsic(*reps, size=None):
    """Whether every representation's unbiased HSIC with itself is clearly
    above 0 (on tiny or degenerate data it can be 0 or negative, and CKA is
    then undefined); per minibatch of ``size`` rows, summed, when given."""
    for R in reps:
        size_ = size or len(R)
        total, scale = 0.0, 0.0
        for i in range(0, len(R) - len(R) % size_ or len(R), size_):
            K = R[i : i + size_] @ R[i : i + size_].T
            total += gram_hsic_unbiased(K, K)
            scale += np.abs(K).max() ** 2
        if not total > 1e-6 * scale:
            return False
    return True


def gram_minibatch_cka(A, B, size):
    xy = xx = yy = 0.0
    for i in range(0, len(A), size):
        K, L = A[i : i + size] @ A[i : i + size].T, B[i : i + size] @ B[i : i + size].T
        xy += gram_hsic_unbiased(K, L)
        xx += gram_hsic_unbiased(K, K)
        yy += gram_hsic_unbiased(L, L)
    return xy / np.sqrt(xx * yy)


def _pair(data, min_rows=5, max_rows=40):
    n = data.draw(st.integers(min_rows, max_rows))
    p = data.draw(st.integers(1, 6))
    q = data.draw(st.integers(1, 6))
    A = data.draw(float_arrays((n, p), 3.0))
    B = data.draw(float_arrays((n, q), 3.0))
    # keep away from (near-)constant representations, where CKA is 0/0
    assume(np.linalg.norm(A - A.mean(0)) > 1e-3 * (1 + np.abs(A).max()))
    assume(np.linalg.norm(B - B.mean(0)) > 1e-3 * (1 + np.abs(B).max()))
    return A, B


# -- CKA against the Gram-matrix formulas ----------------------------------------------


@settings(max_examples=80, deadline=None)
@given(data=st.data(), chunk=st.integers(1, 12))
def test_biased_cka_equals_the_gram_matrix_formula(data, chunk):
    A, B = _pair(data)
    ours = linear_cka(A, B, chunk_size=chunk)
    assert ours == pytest.approx(gram_cka(A, B), abs=1e-9)
    assert -1e-12 <= ours <= 1 + 1e-12


@settings(max_examples=60, deadline=None)
@given(data=st.data(), chunk=st.integers(1, 12))
def test_unbiased_cka_equals_the_gram_matrix_formula(data, chunk):
    A, B = _pair(data, min_rows=6)
    assume(clearly_positive_self_hsic(A, B))
    expected = gram_cka(A, B, gram_hsic_unbiased)
    ours = linear_cka(A, B, estimator="unbiased", chunk_size=chunk)
    assert ours == pytest.approx(expected, abs=1e-7, rel=1e-7)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), size=st.integers(4, 9))
def test_minibatch_cka_averages_the_unbiased_hsic_of_each_batch(data, size):
    A, B = _pair(data, min_rows=12)
    n = len(A) - len(A) % size  # whole minibatches only: no remainder to join
    A, B = A[:n], B[:n]
    assume(clearly_positive_self_hsic(A, B, size=size))
    expected = gram_minibatch_cka(A, B, size)
    ours = linear_cka(A, B, estimator="minibatch", chunk_size=size)
    assert ours == pytest.approx(expected, abs=1e-7, rel=1e-7)


def test_minibatch_remainder_joins_the_batch_before_it():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(23, 3)), rng.normal(size=(23, 2))
    # 23 = 10 + 10 + 3: the last three rows join the second batch
    xy = xx = yy = 0.0
    for rows in (slice(0, 10), slice(10, 23)):
        K, L = A[rows] @ A[rows].T, B[rows] @ B[rows].T
        xy += gram_hsic_unbiased(K, L)
        xx += gram_hsic_unbiased(K, K)
        yy += gram_hsic_unbiased(L, L)
    expected = xy / np.sqrt(xx * yy)
    got = linear_cka(A, B, estimator="minibatch", chunk_size=10)
    assert got == pytest.approx(expected, rel=1e-10)


# -- what CKA promises -----------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    scale=st.floats(0.01, 100.0),
    estimator=st.sampled_from(["biased", "unbiased", "minibatch"]),
)
def test_cka_is_invariant_to_orthogonal_maps_isotropic_scaling_and_shifts(
    data, scale, estimator
):
    A, B = _pair(data, min_rows=8)
    p = A.shape[1]
    seed = data.draw(st.integers(0, 2**32 - 1))
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(p, p)))
    shift = data.draw(float_arrays((p,), 50.0))
    size = 8 if estimator == "minibatch" else None
    assume(estimator == "biased" or clearly_positive_self_hsic(A, B, size=size))
    base = linear_cka(A, B, estimator=estimator, chunk_size=8)
    moved = linear_cka(scale * A @ Q + shift, B, estimator=estimator, chunk_size=8)
    assert moved == pytest.approx(base, abs=1e-7)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_cka_of_a_representation_with_itself_is_one(data):
    A, _ = _pair(data)
    assert linear_cka(A, A) == pytest.approx(1.0, abs=1e-12)
    if clearly_positive_self_hsic(A):
        assert linear_cka(A, A, estimator="unbiased") == pytest.approx(1.0, abs=1e-9)


def test_cka_is_not_fooled_by_large_means():
    # an always-on unit: mean 1e6, spread 1; centring at the end in float64
    # about a provisional mean keeps every digit that matters
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 3))
    B[:, 0] += A[:, 0]
    for estimator in ("biased", "unbiased", "minibatch"):
        near = linear_cka(A, B, estimator=estimator)
        far = linear_cka(A + 1e6, B - 1e6, estimator=estimator)
        assert far == pytest.approx(near, abs=1e-8)


def test_a_constant_representation_has_no_cka():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(20, 3))
    assert np.isnan(linear_cka(A, np.full((20, 2), 0.7)))
    assert np.isnan(linear_cka(A, np.zeros((20, 2)), estimator="unbiased"))


def test_independent_representations_score_near_zero_but_unbiased_closer():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(60, 40)), rng.normal(size=(60, 40))
    biased = linear_cka(A, B)
    unbiased = linear_cka(A, B, estimator="unbiased")
    # few samples, many features: the biased estimator is inflated
    assert biased > 0.3 and abs(unbiased) < 0.1


# -- streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["biased", "unbiased", "minibatch"])
def test_streaming_equals_one_shot(estimator):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(1000, 7)) + 5
    B = np.tanh(A @ rng.normal(size=(7, 4))) + 0.1 * rng.normal(size=(1000, 4))
    one_shot = linear_cka(A, B, estimator=estimator, chunk_size=1000)
    pairs = [(A[i : i + 100], B[i : i + 100]) for i in range(0, 1000, 100)]
    streamed = linear_cka(iter(pairs), estimator=estimator)
    chunked = linear_cka(A, B, estimator=estimator, chunk_size=100)
    if estimator == "minibatch":  # a different minibatch size is another estimate
        assert streamed == pytest.approx(chunked, rel=1e-12)
        gram = gram_minibatch_cka(A, B, 100)
        assert streamed == pytest.approx(gram, rel=1e-9)
    else:
        assert streamed == pytest.approx(one_shot, rel=1e-12)
        assert chunked == pytest.approx(one_shot, rel=1e-12)


def test_cka_of_models_equals_cka_of_their_activations():
    rng = np.random.default_rng(4)
    a = MLP(
        [
            Dense(rng.normal(size=(6, 10)), rng.normal(size=6), "sigmoid"),
            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax"),
        ]
    )
    b = MLP([Dense(rng.normal(size=(5, 10)), np.zeros(5), "relu")])
    X = rng.random((300, 10))
    ta, tb = a.trace(X), b.trace(X)
    assert cka(a, b, X) == pytest.approx(linear_cka(ta.post[0], tb.post[0]), rel=1e-12)
    assert cka(a, b, X, layer=1, other_layer=0, stage="pre") == pytest.approx(
        linear_cka(ta.pre[1], tb.pre[0]), rel=1e-12
    )
    assert cka(a, a, X, layer=0, other_layer=-1) == pytest.approx(
        linear_cka(ta.post[0], ta.post[1]), rel=1e-12
    )
    batches = [X[i : i + 64] for i in range(0, 300, 64)]
    assert cka(a, b, batches) == pytest.approx(cka(a, b, X), rel=1e-12)
    assert cka(a, b, X, estimator="minibatch", chunk_size=50) == pytest.approx(
        gram_minibatch_cka(ta.post[0], tb.post[0], 50), rel=1e-9
    )


def test_cka_matrix_holds_every_pairwise_cka():
    rng = np.random.default_rng(5)
    nets = {
        name: MLP(
            [
                Dense(rng.normal(size=(6, 8)), np.zeros(6), "tanh"),
                Dense(rng.normal(size=(3, 6)), np.zeros(3), "identity"),
            ]
        )
        for name in ("a", "b", "c")
    }
    X = rng.normal(size=(200, 8))
    result = cka_matrix(nets, X, chunk_size=33)
    assert isinstance(result, CKAMatrix)
    assert result.values.shape == (6, 6)
    np.testing.assert_array_equal(result.values, result.values.T)
    np.testing.assert_array_equal(np.diag(result.values), np.ones(6))
    assert result.labels[1] == "a, layer 1"
    assert result.model_index.tolist() == [0, 0, 1, 1, 2, 2]
    assert result.get("a", "c", layer=0, other_layer=1) == pytest.approx(
        cka(nets["a"], nets["c"], X, layer=0, other_layer=1), rel=1e-12
    )
    assert result.get(1, 2, layer=-1) == result.get("b", "c", layer=1)
    table = result.to_dict()
    assert len(table["cka"]) == 36
    assert "Linear CKA (biased estimator" in str(result)
    hidden = cka_matrix(list(nets.values()), X, layers=0)
    assert hidden.labels == ("model 0", "model 1", "model 2")
    assert hidden.values[0, 1] == pytest.approx(result.get("a", "b"), rel=1e-12)
    with pytest.raises(InvalidParameterError, match="`layer` must be one of"):
        hidden.get(0, 1, layer=1)
    with pytest.raises(InvalidParameterError, match="`model` must be one of"):
        hidden.get("z", 1)


# -- torch_cka -------------------------------------------------------------------------


def test_minibatch_estimator_agrees_with_torch_cka():
    torch = pytest.importorskip("torch")
    torch_cka = pytest.importorskip("torch_cka")
    rng = np.random.default_rng(6)
    W1, W2 = rng.normal(size=(7, 12)), rng.normal(size=(5, 12))
    b2 = rng.normal(size=5)
    a = MLP([Dense(W1, np.zeros(7), "sigmoid")])
    b = MLP([Dense(W2, b2, "relu")])
    X = rng.random((400, 12))

    def module(W, bias, act):
        layer = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(bias))
        return torch.nn.Sequential(layer, act)

    m1 = module(W1, np.zeros(7), torch.nn.Sigmoid())
    m2 = module(W2, b2, torch.nn.ReLU())
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.zeros(400))
    loader = torch.utils.data.DataLoader(data, batch_size=100)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch_cka makes its ones() in it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch_cka.CKA(
                m1, m2, model1_name="a", model2_name="b", model1_layers=["1"],
                model2_layers=["1"],
            )  # fmt: skip
            with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
                theirs.compare(loader)
    finally:
        torch.set_default_dtype(default)
    expected = float(theirs.export()["CKA"][0, 0])
    ours = cka(a, b, X, estimator="minibatch", chunk_size=100)
    assert ours == pytest.approx(expected, rel=1e-9)
    # ... and on the DataLoader itself, as a stream of [X, y] batches
    assert cka(a, b, loader, estimator="minibatch") == pytest.approx(ours, rel=1e-12)


# -- unit matching ---------------------------------------------------------------------


def _permuted(mlp: MLP, perm: np.ndarray) -> MLP:
    """``mlp`` with its first hidden layer's units in the order ``perm``."""
    first, second, *rest = mlp.layers
    return MLP(
        [
            Dense(first.weight[perm], first.bias[perm], first.activation),
            Dense(second.weight[:, perm], second.bias, second.activation),
            *rest,
        ]
    )


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    units=st.integers(1, 12),
    act=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
)
def test_matching_recovers_a_known_permutation_exactly(data, units, act):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mlp = MLP(
        [
            Dense(rng.normal(size=(units, 10)), rng.normal(size=units), act),
            Dense(rng.normal(size=(3, units)), np.zeros(3), "softmax"),
        ]
    )
    X = rng.normal(size=(200, 10))
    values = mlp.trace(X).post[0]
    corr = np.corrcoef(values.T) if units > 1 else np.ones((1, 1))
    np.fill_diagonal(corr, 0.0)
    assume(np.all(values.std(0) > 1e-6) and np.all(np.abs(corr) < 0.999))
    perm = np.asarray(data.draw(st.permutations(range(units))))
    other = _permuted(mlp, perm)
    assert np.allclose(other.forward(X), mlp.forward(X))  # the same function
    m = match_units(mlp, other, X)
    np.testing.assert_array_equal(perm[m.partner], np.arange(units))
    np.testing.assert_allclose(m.pair_correlation, 1.0, atol=1e-9)
    assert m.count_above(0.99) == units


def test_matching_with_fewer_units_and_its_report():
    rng = np.random.default_rng(7)
    W = rng.normal(size=(5, 6))
    a = MLP([Dense(W, np.zeros(5), "tanh")], name="five")
    b = MLP([Dense(W[[3, 0, 4]], np.zeros(3), "tanh")], name="three")
    X = rng.normal(size=(300, 6))
    m = match_units(a, b, X)
    assert isinstance(m, UnitMatching)
    assert m.pairs.shape == (3, 2)
    assert sorted(m.pairs[:, 0].tolist()) == [0, 3, 4]
    assert m.partner.tolist()[1] == -1 and m.partner.tolist()[2] == -1
    assert m.partner[3] == 0 and m.partner[0] == 1 and m.partner[4] == 2
    values_a, values_b = a.forward(X), b.forward(X)
    full = np.corrcoef(values_a.T, values_b.T)[:5, 5:]
    np.testing.assert_allclose(m.correlation, full, atol=1e-12)
    np.testing.assert_allclose(m.best, full.max(1), atol=1e-12)
    assert m.names == ("five", "three")
    assert "partners at r >= 0.5: 3 of 3" in str(m)
    assert m.to_dict()["partner"] == m.pairs[:, 1].tolist()
    assert "'five' layer 0" in repr(m)
    assert match_units(a, b, X, names=("x", "y")).names == ("x", "y")


def test_count_above_is_the_number_of_pairs_above_the_threshold():
    rng = np.random.default_rng(8)
    a = MLP([Dense(rng.normal(size=(8, 6)), np.zeros(8), "sigmoid")])
    b = MLP([Dense(rng.normal(size=(8, 6)), np.zeros(8), "sigmoid")])
    m = match_units(a, b, rng.normal(size=(200, 6)))
    for t in (0.0, 0.3, 0.5, 0.8):
        assert m.count_above(t) == int((m.pair_correlation >= t).sum())
    # the assignment maximises the total correlation
    from itertools import permutations

    if a.layers[0].n_out <= 8:
        best = max(
            sum(m.correlation[i, p[i]] for i in range(8))
            for p in permutations(range(8))
        )
        assert m.pair_correlation.sum() == pytest.approx(best)


def test_a_constant_unit_has_no_correlation_and_counts_nowhere():
    rng = np.random.default_rng(9)
    W = rng.normal(size=(3, 4))
    a = MLP([Dense(W, [0.0, 0.0, -100.0], "relu")])  # unit 2 is dead
    m = match_units(a, a, rng.normal(size=(50, 4)))
    assert np.isnan(m.correlation[2]).all() and np.isnan(m.best[2])
    assert m.count_above(0.0) == 2
    assert np.isnan(m.pair_correlation[-1])


# -- errors ----------------------------------------------------------------------------


def test_bad_arguments_are_refused_by_name():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(10, 3))
    with pytest.raises(InvalidParameterError, match="same number of rows"):
        linear_cka(A, A[:5])
    with pytest.raises(InvalidParameterError, match="`estimator` must be one of"):
        linear_cka(A, A, estimator="rbf")
    with pytest.raises(InvalidParameterError, match="`chunk_size` must be >= 4"):
        linear_cka(A, A, estimator="minibatch", chunk_size=3)
    with pytest.raises(InvalidParameterError, match="at least 4 samples"):
        linear_cka(A[:3], A[:3], estimator="unbiased")
    with pytest.raises(InvalidParameterError, match="`B` is required"):
        linear_cka(A)
    with pytest.raises(InvalidParameterError, match="batch 1 must be an"):
        linear_cka([(A, A), A])
    with pytest.raises(InvalidParameterError, match="`A` must not be empty"):
        linear_cka([])
    with pytest.raises(InvalidParameterError, match="`A`"):
        linear_cka(np.full((10, 3), np.nan), A)
    a = MLP([Dense(rng.normal(size=(2, 3)), np.zeros(2), "relu")])
    b = MLP([Dense(rng.normal(size=(2, 4)), np.zeros(2), "relu")])
    with pytest.raises(InvalidParameterError, match="same inputs"):
        cka(a, b, A)
    with pytest.raises(InvalidParameterError, match="same inputs"):
        match_units(a, b, A)
    with pytest.raises(InvalidParameterError, match="`other_layer` must be in"):
        cka(a, a, A, other_layer=3)
    with pytest.raises(InvalidParameterError, match="`stage` must be one of"):
        match_units(a, a, A, stage="out")
    with pytest.raises(InvalidParameterError, match="`models` must hold"):
        cka_matrix([], A)
    with pytest.raises(InvalidParameterError, match="`layers` must"):
        cka_matrix([a], A, layers="0")
    with pytest.raises(InvalidParameterError, match="`names` must be two"):
        match_units(a, a, A, names="ab")
