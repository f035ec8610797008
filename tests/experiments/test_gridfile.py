"""Experiment files: TOML or JSON grids read into a plan."""

from __future__ import annotations

import json

import pytest

from mlpinspect import InvalidParameterError
from mlpinspect.experiments import ExperimentPlan, load_grid

TOML = """
seeds = [3, 4]
evaluate = ["accuracy", "drift"]
n_outputs = 10

[grid]
hidden = [2, [30, 30]]
init = ["normal", "scaled"]
epochs = 5
"""


def test_toml_grid(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(TOML)
    plan = load_grid(path)
    assert plan == ExperimentPlan(
        configs=(
            {"hidden": 2, "init": "normal", "epochs": 5},
            {"hidden": 2, "init": "scaled", "epochs": 5},
            {"hidden": [30, 30], "init": "normal", "epochs": 5},
            {"hidden": [30, 30], "init": "scaled", "epochs": 5},
        ),
        seeds=(3, 4),
        evaluate=("accuracy", "drift"),
        n_outputs=10,
        source=str(path),
    )
    assert plan.n_runs == 8


def test_json_with_several_grids_and_listed_configurations(tmp_path):
    path = tmp_path / "grid.json"
    content = {
        "seeds": 2,
        "grid": [{"hidden": [2, 3]}, {"hidden": 5, "l2": [0.0, 5.0]}],
        "configs": [{"name": "deep", "sizes": [784, 30, 30, 10]}],
    }
    path.write_text(json.dumps(content))
    plan = load_grid(path)
    assert plan.configs == (
        {"hidden": 2},
        {"hidden": 3},
        {"hidden": 5, "l2": 0.0},
        {"hidden": 5, "l2": 5.0},
        {"name": "deep", "sizes": [784, 30, 30, 10]},
    )
    assert plan.seeds == (0, 1) and plan.evaluate == ("accuracy",)


def test_toml_array_of_configs(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('[[configs]]\nname = "a"\nhidden = 3\n[[configs]]\nhidden = 4\n')
    plan = load_grid(path)
    assert plan.configs == ({"name": "a", "hidden": 3}, {"hidden": 4})
    assert plan.seeds == (0,)


@pytest.mark.parametrize(
    ("text", "suffix", "match"),
    [
        ("seeds = [0\n", ".toml", "not valid TOML"),
        ("{", ".json", "not valid JSON"),
        ("[1, 2]", ".json", "must hold a table"),
        ("seed = 3\n[grid]\nhidden = 2\n", ".toml", r"unknown keys \['seed'\]"),
        ("seeds = 3\n", ".toml", "there is no configuration"),
        ("seeds = -1\n[grid]\nhidden = 2\n", ".toml", "`seeds` must be >= 1"),
        ("grid = 3\n", ".toml", "`grid` must be a table"),
        ("configs = [1]\n", ".toml", "`configs` must be an array of tables"),
        ('evaluate = ["speed"]\n[grid]\nhidden = 2\n', ".toml", "`evaluate` must be"),
        ("n_outputs = 0\n[grid]\nhidden = 2\n", ".toml", "`n_outputs` must be"),
        ("[grid]\nl2 = []\n", ".toml", "at least one alternative"),
        (
            "seeds = 100\n[grid]\n"
            + "".join(f"k{i} = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" for i in range(10)),
            ".toml",
            "at most 1,000,000 runs",
        ),
    ],
)
def test_bad_files_are_refused_naming_the_file(tmp_path, text, suffix, match):
    path = tmp_path / f"grid{suffix}"
    path.write_text(text)
    with pytest.raises(InvalidParameterError, match=match) as info:
        load_grid(path)
    assert str(info.value).startswith(str(path))


def test_missing_huge_or_unnamed_files_are_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="no such file"):
        load_grid(tmp_path / "none.toml")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(InvalidParameterError, match="at most 1,048,576"):
        load_grid(big)
    with pytest.raises(InvalidParameterError, match="`path` must be a file path"):
        load_grid(3)
