"""ONNX models: exported from PyTorch and built by hand with onnx.helper."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import (
    InvalidParameterError,
    ModelFileError,
    UnsupportedModelError,
    adapt,
)
from mlpinspect.adapters import OnnxAdapter
from mlpinspect.testing import check_adapter

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 17


def run_onnxruntime(model):
    """The model's own output through onnxruntime (None when not installed)."""
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - onnxruntime is in the dev extra
        return None
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name

    def forward(X):
        return session.run(None, {name: np.ascontiguousarray(X)})[0]

    return forward


def initializer_arrays(model):
    return [numpy_helper.to_array(t) for t in model.graph.initializer]


def perturb(model):
    for tensor in model.graph.initializer:
        arr = numpy_helper.to_array(tensor)
        if arr.dtype.kind == "f":
            tensor.CopyFrom(numpy_helper.from_array(arr + 1, tensor.name))


def make_model(nodes, inits, n_in, n_out, *, input_dims=None, dtype=TensorProto.FLOAT):
    dims = input_dims or ["batch", n_in]
    graph = helper.make_graph(
        nodes,
        "hand_made",
        [helper.make_tensor_value_info("x", dtype, dims)],
        [helper.make_tensor_value_info("y", dtype, ["batch", n_out])],
        initializer=[numpy_helper.from_array(a, name) for name, a in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def check(model, **kwargs):
    return check_adapter(OnnxAdapter(), model, run_onnxruntime(model), **kwargs)


# -- exported from PyTorch ------------------------------------------------------------

torch_activations = ["relu", "sigmoid", "tanh", "identity", "leaky_relu(0.2)"]


def export(model, example, dynamo=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch_module().export.Dim("batch")
            program = torch_module().onnx.export(
                model,
                (example,),
                dynamo=True,
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
            return program.model_proto
        buffer = io.BytesIO()
        torch_module().onnx.export(
            model,
            (example,),
            buffer,
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        )
    return onnx.load_from_string(buffer.getvalue())


def torch_module():
    return pytest.importorskip("torch")


def torch_mlp(sizes, activations, seed, image=None, bias=True, softmax=False):
    torch = torch_module()
    nn = torch.nn
    torch.manual_seed(seed)
    modules = [nn.Flatten()] if image else []
    factories = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "identity": nn.Identity,
        "leaky_relu(0.2)": lambda: nn.LeakyReLU(0.2),
    }
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(nn.Linear(a, b, bias=bias))
        if i < len(activations):
            modules.append(factories[activations[i]]())
    if softmax:
        modules.append(nn.Softmax(dim=-1))
    return nn.Sequential(*modules).eval()


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
)
def test_legacy_exports_match_onnxruntime_and_torch(sizes, data, seed):
    torch = torch_module()
    activations = data.draw(
        st.lists(
            st.sampled_from(torch_activations),
            min_size=len(sizes) - 1,
            max_size=len(sizes) - 1,
        )
    )
    bias = data.draw(st.booleans())
    model = torch_mlp(sizes, activations, seed, bias=bias)
    proto = export(model, torch.randn(2, sizes[0]))
    mlp = check(proto, arrays=initializer_arrays(proto))
    assert mlp.activation_names == tuple(activations)
    X = np.random.default_rng(seed).normal(size=(5, sizes[0])).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(mlp.forward(X), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dynamo", [False, True])
def test_image_model_export_keeps_input_shape(dynamo):
    torch = torch_module()
    model = torch_mlp(
        [12, 5, 4, 3], ["relu", "leaky_relu(0.2)"], 0, image=True, softmax=True
    )
    proto = export(model, torch.randn(2, 3, 4), dynamo=dynamo)
    mlp = check(proto, mutate=perturb)
    assert mlp.input_shape == (3, 4)
    assert mlp.activation_names == ("relu", "leaky_relu(0.2)", "softmax")
    X = np.random.default_rng(0).normal(size=(4, 3, 4)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(mlp.forward(X), expected, rtol=1e-4, atol=1e-6)


def test_onnx_file_path(tmp_path):
    torch = torch_module()
    model = torch_mlp([4, 3, 2], ["tanh"], 1)
    proto = export(model, torch.randn(2, 4))
    path = tmp_path / "model.onnx"
    onnx.save(proto, path)
    for source in (path, str(path)):
        mlp = check_adapter(OnnxAdapter(), source, run_onnxruntime(proto))
        assert mlp.name == "model.onnx"
        assert adapt(source).sizes == (4, 3, 2)


# -- built by hand -------------------------------------------------------------------


def rand(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


def test_gemm_attributes():
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node(
            "Gemm", ["x", "W0", "b0"], ["h"], alpha=0.5, beta=2.0, transB=0, name="g0"
        ),
        helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.3),
        helper.make_node("Gemm", ["a", "W1", "b1"], ["z"], transB=1, name="g1"),
        helper.make_node("Softmax", ["z"], ["y"], axis=1),
    ]
    inits = {
        "W0": rand(rng, 4, 3),
        "b0": rand(rng, 1, 3),
        "W1": rand(rng, 2, 3),
        "b1": rand(rng, 2),
    }
    mlp = check(
        make_model(nodes, inits, 4, 2), arrays=list(inits.values()), mutate=perturb
    )
    assert mlp.activation_names == ("leaky_relu(0.3)", "softmax")


@pytest.mark.parametrize("bias_first", [False, True])
def test_matmul_add_either_order_and_constants(bias_first):
    rng = np.random.default_rng(1)
    w0, b0 = rand(rng, 5, 3), rand(rng, 3)
    add_inputs = ["b0c", "m"] if bias_first else ["m", "b0c"]
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("Constant", [], ["W0c"], value=numpy_helper.from_array(w0)),
        helper.make_node("Constant", [], ["b0c"], value=numpy_helper.from_array(b0)),
        helper.make_node("MatMul", ["f", "W0c"], ["m"]),
        helper.make_node("Add", add_inputs, ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Dropout", ["t"], ["d"]),
        helper.make_node("MatMul", ["d", "W1"], ["m1"]),
        helper.make_node("Identity", ["m1"], ["i"]),
        helper.make_node("Sigmoid", ["i"], ["y"]),
    ]
    model = make_model(nodes, {"W1": rand(rng, 3, 2)}, 5, 2, input_dims=["batch", 5, 1])
    mlp = check(model)
    assert mlp.activation_names == ("tanh", "sigmoid")
    assert mlp.input_shape == (5, 1)
    np.testing.assert_array_equal(mlp.layers[1].bias, np.zeros(2, np.float32))


@pytest.mark.parametrize("shape", [[-1, 6], [0, -1], [4, 6], [4, -1]])
def test_reshape_to_batch_features(shape):
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "W"], ["y"], transB=1),
    ]
    model = make_model(
        nodes,
        {"shape": np.array(shape, np.int64), "W": rand(rng, 2, 6)},
        6,
        2,
        input_dims=[4, 2, 3],
    )
    mlp = check(model, inputs=rng.normal(size=(4, 6)).astype(np.float32))
    assert mlp.input_shape == (2, 3)


@pytest.mark.parametrize(
    ("head", "n_out", "task"),
    [
        ("Sigmoid", 1, "binary"),
        ("Softmax", 3, "multiclass"),
        ("Identity", 3, "multiclass"),
        ("Identity", 1, None),
    ],
)
def test_task_is_read_from_the_last_node(head, n_out, task):
    rng = np.random.default_rng(4)
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["z"], transB=1),
        helper.make_node(head, ["z"], ["y"]),
    ]
    inits = {"W": rng.normal(size=(n_out, 4)), "b": rng.normal(size=n_out)}
    model = make_model(nodes, inits, 4, n_out, dtype=TensorProto.DOUBLE)
    assert adapt(model).task == task


def test_one_logit_graph_predicts_with_task_binary():
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)]
    inits = {"W": rng.normal(size=(1, 4)), "b": rng.normal(size=1)}
    model = make_model(nodes, inits, 4, 1, dtype=TensorProto.DOUBLE)
    X = rng.normal(size=(50, 4))
    with pytest.raises(InvalidParameterError, match="task="):
        adapt(model).predict(X)
    mlp = adapt(model, task="binary", class_names=["no", "yes"])
    logit = X @ inits["W"].T + inits["b"]
    expected = np.where(logit[:, 0] > 0, "yes", "no")
    assert set(expected.tolist()) == {"no", "yes"}
    assert mlp.predict(X).tolist() == expected.tolist()
    forward = run_onnxruntime(model)
    if forward is not None:
        own = np.where(forward(X)[:, 0] > 0, "yes", "no")
        assert mlp.predict(X).tolist() == own.tolist()


def test_float64_graph():
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["z"], transB=1),
        helper.make_node("Relu", ["z"], ["y"]),
    ]
    inits = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=3)}
    model = make_model(nodes, inits, 4, 3, dtype=TensorProto.DOUBLE)
    assert check(model).dtype == np.float64


def unsupported_cases():
    gemm = helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1, name="fc")
    yield (
        [gemm, helper.make_node("Add", ["h", "x"], ["y"], name="skip")],
        r"the tensor 'x' feeds several nodes \('fc', 'skip'\): a branch or "
        r"residual connection",
    )
    yield (
        [
            gemm,
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("Add", ["r", "b"], ["y"], name="late"),
        ],
        r"node 'late' \(ONNX Add\) rescales the output of node 'relu' \(ONNX Relu\) "
        r"\(which applies 'relu'\) at the end of the model",
    )
    yield (
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transA=1, name="ta")],
        r"node 'ta' \(ONNX Gemm\) has transA=1",
    )
    yield (
        [helper.make_node("MatMul", ["W", "x"], ["y"], name="left")],
        r"node 'left' \(ONNX MatMul\) multiplies the weights from the left",
    )
    yield (
        [
            gemm,
            helper.make_node(
                "BatchNormalization",
                ["h", "b", "b", "b", "b"],
                ["y"],
                name="bn",
                training_mode=1,
            ),
        ],
        r"node 'bn' \(ONNX BatchNormalization\) is in training mode",
    )
    yield (
        [gemm, helper.make_node("Softmax", ["h"], ["y"], axis=0, name="sm")],
        r"node 'sm' \(ONNX Softmax\) takes the softmax over axis=0",
    )
    yield (
        [gemm, helper.make_node("Selu", ["h"], ["y"], alpha=2.0, name="selu")],
        r"node 'selu' \(ONNX Selu\) has alpha=2.0",
    )
    yield (
        [gemm, helper.make_node("Hardmax", ["h"], ["y"], name="hm")],
        r"node 'hm' \(ONNX Hardmax\) is not supported",
    )
    yield (
        [
            gemm,
            helper.make_node("Relu", ["h"], ["r1"], name="r1"),
            helper.make_node("Relu", ["h"], ["r2"], name="r2"),
            helper.make_node("Mul", ["r1", "r2"], ["y"], name="mul"),
        ],
        r"node 'r1' \(ONNX Relu\) -> node 'r2' \(ONNX Relu\) -> node 'mul' "
        r"\(ONNX Mul\) compute an elementwise function of 'h' that is none of",
    )
    yield (
        [
            gemm,
            helper.make_node("Relu", ["h"], ["r1"], name="r1"),
            helper.make_node("MatMul", ["h", "W"], ["r2"], name="mm"),
            helper.make_node("Mul", ["r1", "r2"], ["y"], name="mul"),
        ],
        r"the tensor 'h' feeds several nodes \('r1', 'mm'\)",
    )
    yield (
        [
            helper.make_node("Flatten", ["x"], ["f"], axis=0, name="fl"),
            helper.make_node("Gemm", ["f", "W"], ["y"], transB=1),
        ],
        r"node 'fl' \(ONNX Flatten\) flattens with axis=0",
    )
    yield (
        [
            helper.make_node("Shape", ["x"], ["s"], name="shape"),
            helper.make_node("Reshape", ["x", "s"], ["y"], name="rs"),
        ],
        r"feeds several nodes \('shape', 'rs'\)",
    )
    yield (
        [helper.make_node("Gemm", ["x", "Wdyn", "b"], ["y"], transB=1, name="g")],
        "the ONNX graph has 2 inputs",
    )
    yield (
        [
            helper.make_node("Relu", ["x"], ["r"], name="first"),
            helper.make_node("Gemm", ["r", "W", "b"], ["y"], transB=1),
        ],
        r"node 'first' \(ONNX Relu\) applies 'relu' to the input",
    )


@pytest.mark.parametrize(("nodes", "match"), list(unsupported_cases()))
def test_unsupported_nodes_are_named(nodes, match):
    rng = np.random.default_rng(4)
    inits = {"W": rand(rng, 4, 4), "b": rand(rng, 4)}
    graph = helper.make_graph(
        nodes,
        "bad",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("Wdyn", TensorProto.FLOAT, [4, 4]),
        ]
        if any("Wdyn" in n.input for n in nodes)
        else [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, k) for k, a in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(model)


def test_custom_domain_is_refused():
    rng = np.random.default_rng(5)
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["h"], transB=1),
        helper.make_node("FancyAct", ["h"], ["y"], domain="com.example", name="fancy"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        initializer=[numpy_helper.from_array(rand(rng, 2, 2), "W")],
    )
    with pytest.raises(UnsupportedModelError, match=r"fancy.*domain 'com\.example'"):
        adapt(helper.make_model(graph))


def test_bad_files(tmp_path):
    with pytest.raises(ModelFileError, match="no ONNX file"):
        adapt(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage\xff" * 10)
    with pytest.raises(ModelFileError, match="not a readable ONNX model"):
        adapt(bad)


def test_float16_initializers_become_float32():
    rng = np.random.default_rng(6)
    w, b = rand(rng, 3, 4).astype(np.float16), rand(rng, 3).astype(np.float16)
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["z"], transB=1),
        helper.make_node("Sigmoid", ["z"], ["y"]),
    ]
    model = make_model(nodes, {"W": w, "b": b}, 4, 3, dtype=TensorProto.FLOAT16)
    mlp = adapt(model)
    assert mlp.dtype == np.float32
    np.testing.assert_array_equal(mlp.layers[0].weight, w.astype(np.float32))
    X = rng.normal(size=(5, 4))
    expected = 1 / (1 + np.exp(-(X @ w.T.astype(np.float64) + b)))
    np.testing.assert_allclose(mlp.forward(X), expected, rtol=1e-6)
