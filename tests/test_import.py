"""`import mlpinspect` stays light: no framework, no pyplot."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "sklearn",
    "keras",
    "onnx",
    "onnxruntime",
    "tensorflow",
    "jax",
    "equinox",
    "flax",
    "skorch",
    "safetensors",
    "captum",
    "numba",
    "llvmlite",
    "matplotlib.pyplot",
)


def modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_mlpinspect_imports_no_framework():
    loaded = modules_after("import mlpinspect")
    assert "mlpinspect" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_adapting_a_numpy_model_imports_no_framework():
    loaded = modules_after(
        "import numpy as np, mlpinspect\n"
        "from mlpinspect.testing import FakeAdapter, FakeModel\n"
        "mlpinspect.adapters.adapt([(np.eye(2), np.zeros(2))], activations='relu')\n"
        "try:\n"
        "    mlpinspect.adapters.adapt(object())\n"
        "except mlpinspect.UnsupportedModelError:\n"
        "    pass\n"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_training_on_the_numpy_engine_imports_no_compiler():
    loaded = modules_after(
        "import numpy as np, mlpinspect\n"
        "net = mlpinspect.Network([2, 3, 2], seed=0)\n"
        "net.fit(np.eye(2), [0, 1], epochs=1, progress=False, engine='numpy')\n"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_check_sees_what_a_script_imports():
    # So the checks above can fail: a module imported in the subprocess shows up.
    assert "xml.dom.minidom" in modules_after("import mlpinspect, xml.dom.minidom")
    assert "xml.dom.minidom" not in modules_after("import mlpinspect")
