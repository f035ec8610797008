"""Run the Examples sections of the plotting modules as doctests."""

import doctest
import importlib
import os

import pytest

MODULES = [
    "mlpinspect.plotting._colors",
    "mlpinspect.plotting._grid",
    "mlpinspect.plotting._bars",
    "mlpinspect.plotting.weights",
    "mlpinspect.plotting.recipes",
    "mlpinspect.plotting.contributions",
    "mlpinspect.plotting.attribution",
    "mlpinspect.plotting.training",
    "mlpinspect.plotting.faithfulness",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, tmp_path):
    module = importlib.import_module(name)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # any file an example writes lands here
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        os.chdir(cwd)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
