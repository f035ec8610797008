"""ONNX: the activation operators, activations written out as subgraphs by
exporters, BatchNormalization and constant arithmetic folded exactly, and
initializers whose dimensions disagree with their data.

float64 graphs are compared with ONNX's reference implementation
(``onnx.reference``; onnxruntime has no float64 kernels for most of these
operators) to 1e-12, except where the standard itself holds float32
constants (HardSigmoid's and HardSwish's 1/6, Selu's constants, the 1/sqrt(2)
of Gelu's function body): 1e-7;
float32 graphs with onnxruntime to float32 rounding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import ModelFileError, UnsupportedModelError, adapt, weight_images
from mlpinspect.adapters import OnnxAdapter
from mlpinspect.testing import check_adapter

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 22


def reference(model):
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(model)

    def forward(X):
        return evaluator.run(None, {"x": np.asarray(X, dtype=np.float64)})[0]

    return forward


def runtime(model):
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name

    def forward(X):
        return session.run(None, {name: np.asarray(X, dtype=np.float32)})[0]

    return forward


def graph_model(nodes, inits, n_in, n_out, *, dtype=TensorProto.DOUBLE, opset=OPSET):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", dtype, ["batch", n_in])],
        [helper.make_tensor_value_info("y", dtype, ["batch", n_out])],
        initializer=[numpy_helper.from_array(a, k) for k, a in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def two_layers(middle, *, seed=0, n_in=5, hidden=6, n_out=3, extra=None,
               dtype=np.float64, opset=OPSET):  # fmt: skip
    """x -> Gemm(W1, b1) -> h -> middle nodes (h -> a) -> Gemm(W2, b2) -> y."""
    rng = np.random.default_rng(seed)
    inits = {
        "W1": rng.normal(size=(hidden, n_in)),
        "b1": rng.normal(size=hidden),
        "W2": rng.normal(size=(n_out, hidden)),
        "b2": rng.normal(size=n_out),
        **(extra or {}),
    }
    inits = {k: np.asarray(v, dtype=dtype) for k, v in inits.items()}
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1, name="fc1"),
        *middle,
        helper.make_node("Gemm", ["a", "W2", "b2"], ["y"], transB=1, name="fc2"),
    ]
    proto = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    return graph_model(nodes, inits, n_in, n_out, dtype=proto, opset=opset)


def data(seed, n=10, d=5):
    return np.random.default_rng(seed).normal(size=(n, d)) * 2


def single(op, **attrs):
    return [helper.make_node(op, ["h"], ["a"], name="act", **attrs)]


# name -> (nodes, opset, float64 tolerance)
OPERATORS = {
    "gelu": (single("Gelu"), OPSET, 1e-7),
    "gelu_tanh": (single("Gelu", approximate="tanh"), OPSET, 1e-7),
    "elu(0.5)": (single("Elu", alpha=0.5), OPSET, 1e-12),
    "selu": (single("Selu"), OPSET, 1e-7),
    "celu(2.0)": (single("Celu", alpha=2.0), OPSET, 1e-12),
    "softplus": (single("Softplus"), OPSET, 1e-12),
    "softsign": (single("Softsign"), OPSET, 1e-12),
    "hardsigmoid(0.2, 0.5)": (single("HardSigmoid"), OPSET, 1e-7),
    "hardswish": (single("HardSwish"), OPSET, 1e-7),
    "mish": (single("Mish"), OPSET, 1e-12),
    "silu": (single("Swish"), 24, 1e-12),
    "leaky_relu(0.25)": (single("LeakyRelu", alpha=0.25), OPSET, 1e-12),
}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_each_activation_operator_matches_the_onnx_reference(name):
    nodes, opset, tol = OPERATORS[name]
    model = two_layers(nodes, opset=opset)
    X = data(1)
    mlp = check_adapter(OnnxAdapter(), model, reference(model), inputs=X,
                        rtol=tol, atol=tol)  # fmt: skip
    assert mlp.activation_names == (name, "identity")
    check_attributions(mlp, X)


@pytest.mark.parametrize(
    "name", sorted(n for n, (_, opset, _) in OPERATORS.items() if opset == OPSET)
)
def test_each_activation_operator_matches_onnxruntime_in_float32(name):
    nodes, opset, _ = OPERATORS[name]
    model = two_layers(nodes, dtype=np.float32, opset=opset)
    mlp = check_adapter(OnnxAdapter(), model, runtime(model), inputs=data(2))
    assert mlp.dtype == np.float32


def test_prelu_clip_and_log_softmax():
    slopes = np.linspace(-0.4, 0.6, 6)
    middle = [
        helper.make_node("PRelu", ["h", "slopes"], ["p"], name="prelu"),
        helper.make_node("Gemm", ["p", "W3", "b3"], ["q"], transB=1, name="fc3"),
        helper.make_node("Clip", ["q", "lo", "hi"], ["a"], name="relu6"),
    ]
    rng = np.random.default_rng(3)
    extra = {"slopes": slopes, "W3": rng.normal(size=(6, 6)), "b3": rng.normal(size=6),
             "lo": np.array(0.0), "hi": np.array(6.0)}  # fmt: skip
    model = two_layers(middle, extra=extra)
    model.graph.node.append(helper.make_node("LogSoftmax", ["y"], ["z"], name="ls"))
    model.graph.output[0].name = "z"
    X = data(4)
    mlp = check_adapter(OnnxAdapter(), model, reference(model), inputs=X,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    assert mlp.activation_names == ("prelu", "relu6", "log_softmax")
    np.testing.assert_array_equal(mlp.layers[0].activation_params, slopes)
    check_attributions(mlp, X, unit=1, stage="post")


def torch_export(module, *, dynamo):
    torch = pytest.importorskip("torch")
    module = module.eval()
    x = (torch.randn(2, 5),)
    if dynamo:
        pytest.importorskip("onnxscript")
        program = torch.onnx.export(module, x, dynamo=True, verbose=False)
        return program.model_proto
    buffer = io.BytesIO()
    torch.onnx.export(module, x, buffer, dynamo=False, opset_version=17)
    return onnx.load_from_string(buffer.getvalue())


WRITTEN_OUT = ["gelu", "gelu_tanh", "silu", "mish", "softplus(1.0, 20.0)"]


@pytest.mark.parametrize("name", WRITTEN_OUT)
@pytest.mark.parametrize("dynamo", [False, True])
def test_activations_exported_as_subgraphs_are_recognised(name, dynamo):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    act = {
        "gelu": nn.GELU(),
        "gelu_tanh": nn.GELU(approximate="tanh"),
        "silu": nn.SiLU(),
        "mish": nn.Mish(),
        "softplus(1.0, 20.0)": nn.Softplus(),
    }[name]
    module = nn.Sequential(nn.Linear(5, 6), act, nn.Linear(6, 3))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' own notices
        model = torch_export(module, dynamo=dynamo)
    ops = [n.op_type for n in model.graph.node]
    mlp = check_adapter(OnnxAdapter(), model, runtime(model), inputs=data(5, n=2))
    expected = name
    if name == "softplus(1.0, 20.0)" and "Where" not in ops:
        expected = "softplus"  # the legacy exporter writes ONNX's Softplus
    if name == "mish" and "Mish" in ops:
        expected = "mish"
    assert mlp.activation_names == (expected, "identity"), ops


def test_an_unknown_written_out_function_is_refused_naming_its_nodes():
    middle = [
        helper.make_node("Mul", ["h", "h"], ["sq"], name="square"),
        helper.make_node("Add", ["sq", "h"], ["a"], name="plus"),
    ]
    with pytest.raises(UnsupportedModelError, match=r"node 'square' \(ONNX Mul\) -> "
                       r"node 'plus' \(ONNX Add\) compute an elementwise function "
                       r"of 'h' that is none"):  # fmt: skip
        adapt(two_layers(middle))


def test_batch_norm_and_arithmetic_fold_to_the_analytic_weights():
    rng = np.random.default_rng(6)
    scale, bias = rng.normal(size=6), rng.normal(size=6)
    mean, var = rng.normal(size=6), rng.uniform(0.5, 2.0, size=6)
    middle = [
        helper.make_node("BatchNormalization", ["h", "s", "bb", "m", "v"], ["n"],
                         epsilon=1e-3, name="bn"),
        helper.make_node("Tanh", ["n"], ["a"], name="tanh"),
    ]  # fmt: skip
    extra = {"s": scale, "bb": bias, "m": mean, "v": var}
    model = two_layers(middle, extra=extra)
    # Inputs scaled and shifted before the first layer: (x - mu) / sigma.
    mu, sigma = rng.normal(size=5), rng.uniform(0.5, 2.0, size=5)
    pre = [
        helper.make_node("Sub", ["x", "mu"], ["c"], name="center"),
        helper.make_node("Div", ["c", "sigma"], ["xn"], name="scale"),
    ]
    model.graph.node[0].input[0] = "xn"
    for k, v in (("mu", mu), ("sigma", sigma)):
        model.graph.initializer.append(numpy_helper.from_array(v, k))
    nodes = [*pre, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    X = data(7)
    mlp = check_adapter(OnnxAdapter(), model, reference(model), inputs=X,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    check_attributions(mlp, X)
    w1 = numpy_helper.to_array(model.graph.initializer[0])
    s = scale / np.sqrt(var + float(np.float32(1e-3)))  # a float32 attribute
    expected = s[:, None] * w1 / sigma[None, :]
    np.testing.assert_allclose(mlp.layers[0].weight, expected, rtol=1e-13)
    np.testing.assert_allclose(
        weight_images(mlp, layer=0, shape=(5, 1))[:, :, 0], expected, rtol=1e-13
    )
    assert "'center'" in mlp.layers[0].name and "'bn'" in mlp.layers[0].name


def test_an_initializer_whose_dims_disagree_with_its_data_is_refused(tmp_path):
    model = two_layers(single("Relu"), dtype=np.float32)
    weight = model.graph.initializer[0]
    weight.dims[:] = [60, 5]  # 300 values declared, 30 held
    with pytest.raises(ModelFileError, match=r"the initializer 'W1' declares "
                       r"dimensions \[60, 5\]"):  # fmt: skip
        adapt(model)
    float_data = two_layers(single("Relu"), dtype=np.float32)
    w = float_data.graph.initializer[0]
    values = numpy_helper.to_array(w).ravel().tolist()
    w.ClearField("raw_data")
    w.float_data.extend(values[:7])
    with pytest.raises(ModelFileError, match="the initializer 'W1'"):
        adapt(float_data)
    path = tmp_path / "broken.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelFileError, match="'W1'"):
        adapt(path)


def test_selu_with_other_constants_is_refused():
    with pytest.raises(UnsupportedModelError, match=r"node 'act' \(ONNX Selu\) has "
                       r"alpha=1.5"):  # fmt: skip
        adapt(two_layers(single("Selu", alpha=1.5)))


def test_scaling_after_the_output_activation_is_refused():
    model = two_layers(single("Relu"))
    model.graph.node[-1].output[0] = "logits"
    model.graph.node.extend(
        [
            helper.make_node("Sigmoid", ["logits"], ["p"], name="sig"),
            helper.make_node("Mul", ["p", "two"], ["y"], name="double"),
        ]
    )
    model.graph.initializer.append(numpy_helper.from_array(np.array(2.0), "two"))
    with pytest.raises(UnsupportedModelError, match=r"node 'double' \(ONNX Mul\) "
                       r"rescales the output of node 'sig'"):  # fmt: skip
        adapt(model)
