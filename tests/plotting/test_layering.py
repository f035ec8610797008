"""The layering contract: plotting imports neither the experiments nor the
trainer (``mlpinspect.network``), directly or through the modules it imports.

Checked on the source (every ``import`` statement, those inside functions and
under ``TYPE_CHECKING`` included), so a lazy import cannot slip through. The
package's own ``__init__`` (the public façade, which re-exports everything) is
not followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlpinspect

ROOT = Path(mlpinspect.__file__).parent
FORBIDDEN = ("mlpinspect.experiments", "mlpinspect.network", "mlpinspect.study")


def _module_file(name: str) -> Path | None:
    parts = name.split(".")[1:]
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _with_parents(name: str) -> list[str]:
    """``name`` and the packages it lives in (their ``__init__`` runs first),
    the top-level façade excepted."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]


def _imports(name: str) -> set[str]:
    """The mlpinspect modules that module ``name`` imports."""
    path = _module_file(name)
    assert path is not None, name
    package = _package_of(name, path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from pkg import sub` imports the submodule when there is one.
            targets = [module] + [
                f"{module}.{a.name}"
                for a in node.names
                if _module_file(f"{module}.{a.name}") is not None
            ]
        else:
            continue
        for target in targets:
            if target.startswith("mlpinspect.") and _module_file(target):
                found.update(_with_parents(target))
    return found


def _reachable(start: list[str]) -> dict[str, str]:
    """Every module reachable from ``start``, each with the module that
    imported it first."""
    seen = {name: "" for name in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        for target in _imports(name):
            if target not in seen:
                seen[target] = name
                todo.append(target)
    return seen


def _chain(seen: dict[str, str], name: str) -> str:
    chain = [name]
    while seen[chain[-1]]:
        chain.append(seen[chain[-1]])
    return " <- ".join(chain)


PLOTTING = sorted(
    "mlpinspect.plotting" + ("" if p.stem == "__init__" else f".{p.stem}")
    for p in (ROOT / "plotting").glob("*.py")
)


def test_the_scan_sees_the_plotting_modules_and_what_they_import():
    seen = _reachable(PLOTTING)
    assert "mlpinspect.plotting.weights" in seen
    assert "mlpinspect.analysis.selection" in seen  # through plotting.recipes
    assert "mlpinspect.mlp" in seen


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_plotting_never_imports(forbidden):
    seen = _reachable(PLOTTING)
    bad = [name for name in seen if name == forbidden or name.startswith(forbidden)]
    assert not bad, "plotting imports " + "; ".join(_chain(seen, b) for b in bad)
