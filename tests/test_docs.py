"""The documentation covers the public API, and its examples run.

Three contracts:

- every name in the ``__all__`` of ``mlpinspect`` and of its public
  subpackages is listed in the API reference (``docs/api/*.rst``), so a new
  public name without documentation fails here;
- every public function and class has a docstring with an ``Examples``
  section holding at least one ``>>>`` line;
- the ``Examples`` of every module of mlpinspect run as doctests (modules
  whose examples import a framework that is not installed are skipped).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import io
import os
import pkgutil
import re
import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

import mlpinspect

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parents[1] / "docs"
API_DIR = DOCS / "api"

PUBLIC_MODULES = (
    "mlpinspect",
    "mlpinspect.activations",
    "mlpinspect.adapters",
    "mlpinspect.analysis",
    "mlpinspect.datasets",
    "mlpinspect.errors",
    "mlpinspect.experiments",
    "mlpinspect.explorer",
    "mlpinspect.plotting",
    "mlpinspect.study",
    "mlpinspect.testing",
)

# Public names the API reference mentions in its text instead of giving them
# an entry of their own (a version string has no docstring to render).
MENTIONED_ONLY = {"mlpinspect.__version__"}

# -- what the API reference lists ------------------------------------------------

_DIRECTIVE = re.compile(r"^\s*\.\.\s+([\w:-]+)::\s*(\S*)\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")
_ENTRY = re.compile(r"^\s+~?([A-Za-z_][\w.]*)\s*$")


def documented_names(text: str) -> set[str]:
    """Fully qualified names given an entry by the reST ``text``.

    Reads ``currentmodule`` / ``module`` / ``automodule`` directives, the
    ``auto*`` directives and the entries of ``autosummary`` tables (which are
    relative to the current module).
    """
    names: set[str] = set()
    module = ""
    in_table = False
    for line in text.splitlines():
        match = _DIRECTIVE.match(line)
        if match:
            directive, argument = match.groups()
            in_table = directive == "autosummary"
            if directive in ("currentmodule", "py:currentmodule", "module"):
                module = argument
            elif directive == "automodule":
                module = argument
                names.add(argument)
            elif (
                directive.startswith("auto") and argument and directive != "autosummary"
            ):
                names.add(argument if "." in argument else f"{module}.{argument}")
            continue
        if not in_table or not line.strip() or _OPTION.match(line):
            continue
        entry = _ENTRY.match(line)
        if entry is None:  # the table ended
            in_table = False
            continue
        name = entry.group(1)
        names.add(f"{module}.{name}" if module else name)
    return names


def api_sources() -> str:
    files = sorted(API_DIR.glob("*.rst"))
    assert files, f"no API reference sources in {API_DIR}"
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def resolve(name: str):
    """The object a fully qualified name refers to (module, then attributes)."""
    return pkgutil.resolve_name(name)


def public_names() -> list[tuple[str, str]]:
    return [
        (module, name)
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
    ]


def test_parser_reads_autosummary_tables():
    text = """
.. currentmodule:: pkg

.. autosummary::
   :toctree: generated/
   :nosignatures:

   alpha
   beta

Text after the table mentions gamma.

.. automodule:: pkg.sub
   :no-members:

.. autofunction:: delta
"""
    assert documented_names(text) == {
        "pkg.alpha",
        "pkg.beta",
        "pkg.sub",
        "pkg.sub.delta",
    }


def test_every_public_name_is_in_the_api_reference():
    text = api_sources()
    documented = documented_names(text)
    objects = {}
    for name in documented:
        try:
            objects[name] = resolve(name)
        except (ImportError, AttributeError):
            pytest.fail(f"the API reference lists {name!r}, which does not exist")
    missing = []
    for module, name in public_names():
        qualified = f"{module}.{name}"
        if qualified in MENTIONED_ONLY:
            if qualified not in text:
                missing.append(qualified)
            continue
        obj = getattr(importlib.import_module(module), name)
        # A re-exported object documented under another public path counts
        # (e.g. mlpinspect.analysis.top_units is documented as
        # mlpinspect.top_units); constants are matched by their path.
        same = qualified in documented or (
            (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))
            and any(o is obj for o in objects.values())
        )
        if not same:
            missing.append(qualified)
    assert not missing, (
        "public names missing from the API reference (add them to an "
        f"autosummary table in docs/api/): {missing}"
    )


def test_every_public_name_has_a_unique_entry():
    # One page per object: the same object listed twice makes two pages.
    documented = [
        n for n in documented_names(api_sources()) if not inspect.ismodule(resolve(n))
    ]
    by_id: dict[int, list[str]] = {}
    for name in documented:
        obj = resolve(name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            by_id.setdefault(id(obj), []).append(name)
    duplicates = [names for names in by_id.values() if len(names) > 1]
    assert not duplicates, f"objects documented more than once: {duplicates}"


# -- every public function and class has an example -------------------------------

_EXAMPLES = re.compile(r"^Examples\n-{8,}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", re.M | re.S)


def examples_section(doc: str | None) -> str | None:
    """The text of the ``Examples`` section of a cleaned docstring, or None."""
    if not doc:
        return None
    match = _EXAMPLES.search(doc)
    return match.group(1) if match else None


def public_callables() -> list[tuple[str, object]]:
    seen: set[int] = set()
    found = []
    for module, name in public_names():
        obj = getattr(importlib.import_module(module), name)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append((f"{module}.{name}", obj))
    return found


def test_examples_section_reader():
    doc = "Summary.\n\nExamples\n--------\n>>> 1 + 1\n2\n\nNotes\n-----\nText."
    assert examples_section(doc) == ">>> 1 + 1\n2\n\n"
    assert examples_section("Summary.\n\nNotes\n-----\n>>> 1") is None
    assert examples_section(None) is None


@pytest.mark.parametrize(
    ("name", "obj"), public_callables(), ids=[n for n, _ in public_callables()]
)
def test_public_callable_has_an_example(name, obj):
    section = examples_section(inspect.getdoc(obj))
    assert section is not None, f"{name} has no Examples section in its docstring"
    assert ">>>" in section, f"the Examples section of {name} has no >>> example"


# -- the docstring examples run ---------------------------------------------------

_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)


def all_modules() -> list[str]:
    names = ["mlpinspect"]
    for info in pkgutil.walk_packages(mlpinspect.__path__, "mlpinspect."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running it is the command line
        names.append(info.name)
    return sorted(names)


def missing_imports(tests: list[doctest.DocTest]) -> list[str]:
    """Top-level packages the examples import that are not installed."""
    wanted = {
        match
        for test in tests
        for example in test.examples
        for match in _IMPORT.findall(example.source)
    }
    return sorted(m for m in wanted if importlib.util.find_spec(m) is None)


def test_doctests_cover_the_modules():
    modules = all_modules()
    assert "mlpinspect.analysis.attribution" in modules
    assert "mlpinspect.adapters._registry" in modules  # private modules hold
    assert "mlpinspect.__main__" not in modules  # public functions' docstrings


# Modules that import an optional dependency at the top (the compiled engine).
OPTIONAL_AT_IMPORT = {"numba", "llvmlite"}


@pytest.mark.parametrize("name", all_modules())
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name not in OPTIONAL_AT_IMPORT:
            raise
        pytest.skip(f"{name} needs {exc.name}, an optional dependency")
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    if not tests:
        return
    missing = missing_imports(tests)
    if missing:
        pytest.skip(f"the examples of {name} need {', '.join(missing)}")
    monkeypatch.chdir(tmp_path)  # any file an example writes lands here
    output = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    environ = dict(os.environ)  # an example may set e.g. KERAS_BACKEND
    try:
        for test in tests:
            runner.run(test, out=output.write)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
    assert runner.failures == 0, (
        f"{runner.failures} of {runner.tries} examples failed in {name}:\n"
        f"{output.getvalue()}"
    )


# -- the Sphinx configuration --------------------------------------------------------


def load_conf(monkeypatch) -> dict:
    monkeypatch.setattr(sys, "path", list(sys.path))  # conf.py prepends src/
    return runpy.run_path(str(DOCS / "conf.py"))


def test_docs_quick_switch_sets_the_examples_quick_switch(monkeypatch):
    monkeypatch.delenv("MLPINSPECT_EXAMPLES_QUICK", raising=False)
    monkeypatch.setenv("MLPINSPECT_DOCS_QUICK", "1")
    load_conf(monkeypatch)
    assert os.environ.get("MLPINSPECT_EXAMPLES_QUICK") == "1"


def test_full_build_runs_the_examples_in_full(monkeypatch):
    monkeypatch.delenv("MLPINSPECT_EXAMPLES_QUICK", raising=False)
    monkeypatch.delenv("MLPINSPECT_DOCS_QUICK", raising=False)
    load_conf(monkeypatch)
    assert "MLPINSPECT_EXAMPLES_QUICK" not in os.environ


def test_build_needs_no_network_and_runs_every_example(monkeypatch):
    monkeypatch.delenv("MLPINSPECT_DOCS_QUICK", raising=False)
    conf = load_conf(monkeypatch)
    assert "sphinx.ext.intersphinx" not in conf["extensions"]
    assert not conf.get("intersphinx_mapping")
    gallery = conf["sphinx_gallery_conf"]
    assert gallery["examples_dirs"] == "../examples"
    assert gallery["gallery_dirs"] == "auto_examples"
    assert gallery["filename_pattern"] == "/plot_"
    assert conf["nitpicky"] is True


# -- no hand-typed result numbers -------------------------------------------------

ROOT = DOCS.parent

_PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%")


def _essay_numbers() -> set[str]:
    """The essay's published numbers, which the docs may quote: its single
    runs of the sweep (the library's constant) and its "about 95%"."""
    from mlpinspect.experiments import STUDY_SWEEP_REFERENCE

    return {f"{100 * v:.2f}%" for v in STUDY_SWEEP_REFERENCE.values()} | {"95%"}


# Percentages that are not results: thresholds of a method, and a benchmark
# record (not a study result) kept by the experiments guide.
_NOT_RESULTS = (
    re.compile(r"(at least|at most|below|above) (``\w+`` \()?\d+%"),
    re.compile(r"\{[^}]*:\.\d%\}"),  # a format spec in code
)
_BENCHMARK_RECORDS = {"docs/guide/sweep_speed_numbers.rst"}


def _doc_sources() -> list[Path]:
    docs = ROOT / "docs"
    skip = ("_build", "auto_examples", "gen_modules", "generated", "_ext")
    files = [
        p for p in docs.rglob("*")
        if p.suffix in (".rst", ".md", ".txt") and not set(p.parts) & set(skip)
    ]  # fmt: skip
    files += [ROOT / "README.md", *sorted((ROOT / "examples").glob("*.py"))]
    files += [ROOT / "examples" / "README.txt"]
    return sorted(set(files))


def test_docs_hold_no_hand_typed_result_percentages():
    allowed = _essay_numbers()
    found = []
    for path in _doc_sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in _BENCHMARK_RECORDS:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for rule in _NOT_RESULTS:
                line = rule.sub("", line)
            for match in _PERCENT.findall(line):
                if match.replace(" ", "") not in allowed:
                    found.append(f"{rel}:{n}: {match}")
    assert not found, (
        "hand-typed percentages in the docs (generate them from a results file "
        "with the study-results directive, or remove them):\n" + "\n".join(found)
    )


def test_the_percent_check_catches_a_typed_result(tmp_path):
    line = "the sweep reached 91.27% with ten units, at least 95% of images"
    for rule in _NOT_RESULTS:
        line = rule.sub("", line)
    assert _PERCENT.findall(line) == ["91.27%"]


def _study_extension_and_results():
    """The docs' study-results extension module and the committed results."""
    pytest.importorskip("docutils")  # the docs extension; in the docs extra
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import study_results
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    from mlpinspect.study._results import load_results

    return study_results, load_results(
        ROOT / "docs" / "study-results" / "full-mnist.json"
    )


def test_study_pages_agree_with_the_committed_results_file():
    from mlpinspect.study._claims import essay_claims

    study_results, results = _study_extension_and_results()
    assert results["data"]["name"] == "mnist" and not results["data"]["quick"]
    # the verdicts stored in the file are what the numbers give today
    assert essay_claims(results) == results["claims"]
    text = "\n".join(
        line for part in study_results.PARTS
        for line in study_results.render(results, part)
    )  # fmt: skip
    sweep = results["sections"]["sweep"]["results"]
    for r in sweep:
        assert f"{100 * r['mean']:.2f}%" in text
    study = (ROOT / "docs" / "guide" / "study_numbers.rst").read_text()
    for part in study_results.PARTS:
        assert f":part: {part}" in study


def test_study_value_role_reads_one_number_of_the_committed_results():
    study_results, results = _study_extension_and_results()
    first = results["sections"]["comparison"]["normal init, quadratic cost"]
    text = "comparison/normal init, quadratic cost/mean_cosine_to_init|.2f"
    assert study_results.study_value(results, text) == (
        f"{first['mean_cosine_to_init']:.2f}"
    )
    accuracy = "comparison/normal init, quadratic cost/test_accuracy|.2%"
    assert study_results.study_value(results, accuracy) == (
        f"{100 * first['test_accuracy']:.2f}%"
    )
    with pytest.raises(KeyError):
        study_results.study_value(results, "comparison/no such training/x|.2f")
    with pytest.raises(ValueError, match="not a number"):
        study_results.study_value(results, "comparison|.2f")
    # every value the docs quote this way exists in the committed file
    quoted = [
        m.group(1)
        for path in _doc_sources()
        for m in re.finditer(r":study-value:`([^`]+)`", path.read_text())
    ]
    assert len(quoted) >= 7
    for text in quoted:
        study_results.study_value(results, text)
