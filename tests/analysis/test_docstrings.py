"""Run the Examples sections of the analysis modules as doctests."""

import doctest
import importlib

import pytest

MODULES = [
    "mlpinspect.analysis.images",
    "mlpinspect.analysis.selection",
    "mlpinspect.analysis.decomposition",
    "mlpinspect.analysis.ablation",
    "mlpinspect.analysis.metrics",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
