"""`mlpinspect sweep GRID --out DIR`: an experiment file from the command line."""

from __future__ import annotations

import csv
import json

import pytest

from mlpinspect.cli import main

GRID = """
seeds = 2
evaluate = ["accuracy", "drift"]

[grid]
hidden = [2, 3]
epochs = 1
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "grid.toml"
    path.write_text(GRID)
    return path


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_sweep_writes_the_table_the_summary_and_one_record_per_run(
    grid, tmp_path, capsys
):
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [
        "results.csv",
        "results.json",
        "runs",
        "summary.csv",
    ]
    assert len(list((out / "runs").glob("*.json"))) == 4
    rows = _rows(out / "results.csv")
    assert [(r["sizes"], r["seed"]) for r in rows] == [
        ("[784,2,10]", "0"),
        ("[784,2,10]", "1"),
        ("[784,3,10]", "0"),
        ("[784,3,10]", "1"),
    ]
    assert all(r["status"] == "ok" and 0 < float(r["test_accuracy"]) < 1 for r in rows)
    table = json.loads((out / "results.json").read_text())
    assert [r["drift_cosine"] for r in table["records"]] == [
        float(r["drift_cosine"]) for r in rows
    ]
    summary = _rows(out / "summary.csv")
    assert [s["runs"] for s in summary] == ["2", "2"]
    # Progress on standard error: runs done of total and the time left.
    err = captured.err
    assert "4 runs; data: the MNIST sample" in err
    assert "training 4 runs on 2 workers (loky)" in err
    assert "[1/4] hidden=" in err and "left)" in err and "[4/4]" in err
    # The summary on standard output, each number as mean ± std.
    assert "test_accuracy" in captured.out and "±" in captured.out

    # Again without --resume: refused, nothing lost.
    assert main(["sweep", str(grid), "--out", str(out)]) == 1
    assert "already holds 4 finished runs" in capsys.readouterr().err
    # With --resume: every run read back, the same table.
    assert main(["sweep", str(grid), "--out", str(out), "--resume"]) == 0
    assert "4 of 4 runs read from the cache" in capsys.readouterr().err
    assert _rows(out / "results.csv") == rows


def test_sweep_reports_failed_runs_and_exits_1(tmp_path, capsys):
    path = tmp_path / "diverge.json"
    path.write_text(
        json.dumps(
            {
                "configs": [
                    {"hidden": 2, "epochs": 1},
                    {
                        "hidden": 2,
                        "epochs": 1,
                        "activation": "identity",
                        "learning_rate": 1e4,
                    },
                ]
            }
        )
    )
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 runs failed" in err and "--retry-failed" in err
    rows = _rows(out / "results.csv")
    assert rows[1]["status"] == "failed"
    assert rows[1]["error"].startswith("NumericalError")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nowhere"], "nowhere"),
        (["--retry-failed"], "`--retry-failed` needs --resume"),
    ],
)
def test_sweep_errors_are_one_line_and_exit_1(grid, tmp_path, capsys, args, message):
    assert main(["sweep", str(grid), "--out", str(tmp_path / "o"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlpinspect sweep: error: ") and message in err


def test_sweep_refuses_a_bad_grid_file(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[grid]\nhidden = 2\nmomentum = 0.9\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "unknown settings ['momentum']" in capsys.readouterr().err


def test_sweep_help_lists_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    out = capsys.readouterr().out
    for option in ("--out", "--jobs", "--resume", "--data", "--dask", "--keep-models"):
        assert option in out
