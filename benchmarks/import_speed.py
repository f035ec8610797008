"""How long ``import mlpinspect`` takes in a fresh process, and what it loads.

Usage::

    python benchmarks/import_speed.py [REPEATS]

Each repeat starts a new interpreter (bytecode cached after the first run,
as an installed package has it) and times ``import mlpinspect`` alone; the
median and the fastest run are printed, next to the time the same
interpreter needs to import numpy alone (the floor: mlpinspect needs numpy).
It also prints any framework the import pulled in (there must be none).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

FRAMEWORKS = ("torch", "keras", "onnx", "sklearn", "jax", "equinox", "flax",
              "skorch", "safetensors", "tensorflow", "captum", "numba",
              "matplotlib.pyplot")  # fmt: skip

_SCRIPT = """
import json, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps([elapsed, sorted(sys.modules)]))
"""


def fresh(module: str) -> tuple[float, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(module=module)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed, modules = json.loads(out.stdout.splitlines()[-1])
    return elapsed, modules


def main(repeats: int = 9) -> None:
    fresh("mlpinspect")  # compile the bytecode once
    times = {"numpy": [], "mlpinspect": []}
    loaded: list[str] = []
    for _ in range(repeats):  # interleaved, so machine load hits both alike
        for module in times:
            elapsed, modules = fresh(module)
            times[module].append(elapsed)
            if module == "mlpinspect":
                loaded = modules
    for module, values in times.items():
        print(f"import {module:<11} median {statistics.median(values):.3f} s, "
              f"fastest {min(values):.3f} s ({repeats} fresh processes)")  # fmt: skip
    heavy = sorted(set(loaded) & set(FRAMEWORKS))
    print(f"frameworks imported by `import mlpinspect`: {heavy or 'none'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
