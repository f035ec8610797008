"""ExperimentTable: records, filter, group, summary, conversions."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpinspect import InvalidParameterError
from mlpinspect.experiments import ExperimentTable

RECORDS = [
    {
        "name": None,
        "sizes": (4, 2, 3),
        "init": "normal",
        "seed": 0,
        "status": "ok",
        "test_accuracy": 0.5,
        "error": None,
        "seconds": 1.0,
        "key": "a",
    },
    {
        "name": None,
        "sizes": (4, 2, 3),
        "init": "normal",
        "seed": 1,
        "status": "ok",
        "test_accuracy": 0.7,
        "error": None,
        "seconds": 1.0,
        "key": "b",
    },
    {
        "name": None,
        "sizes": (4, 5, 3),
        "init": "scaled",
        "seed": 0,
        "status": "failed",
        "test_accuracy": math.nan,
        "error": "NumericalError: diverged",
        "seconds": 0.1,
        "key": "c",
    },
    {
        "name": None,
        "sizes": (4, 5, 3),
        "init": "scaled",
        "seed": 1,
        "status": "ok",
        "test_accuracy": 0.9,
        "error": None,
        "seconds": 1.0,
        "key": "d",
    },
]


def test_access_filter_and_group():
    table = ExperimentTable(RECORDS, networks={1: "net-b", 3: "net-d"})
    assert len(table) == 4 and table[1]["seed"] == 1
    assert [r["key"] for r in table] == ["a", "b", "c", "d"]
    assert table.column("init") == ["normal", "normal", "scaled", "scaled"]
    scaled = table.filter(init="scaled")
    assert scaled.column("key") == ["c", "d"] and scaled.networks == {1: "net-d"}
    assert table.filter(sizes=[4, 2, 3]).column("key") == ["a", "b"]  # list = tuple
    assert table.filter(lambda r: r["seed"] == 0, init="normal").column("key") == ["a"]
    assert table.failed.column("error") == ["NumericalError: diverged"]
    groups = table.group("sizes", "init")
    assert list(groups) == [((4, 2, 3), "normal"), ((4, 5, 3), "scaled")]
    assert groups[((4, 5, 3), "scaled")].networks == {1: "net-d"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: t.column("accuracy"), "one of the table's columns"),
        (lambda t: t.filter(accuracy=1), "one of the table's columns"),
        (lambda t: t.filter(3), "`where` must be a function"),
        (lambda t: t.group(), "at least one column"),
        (lambda t: ExperimentTable([{"a": 1}]).summary(), "`by` must be given"),
    ],
)
def test_bad_column_names_are_refused(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call(ExperimentTable(RECORDS))


def test_summary_over_seeds_skips_failed_runs():
    summary = ExperimentTable(RECORDS).summary()
    assert summary.columns[:3] == ("name", "sizes", "init")
    first, second = summary.records
    assert (first["runs"], first["failed"], second["runs"], second["failed"]) == (
        2,
        0,
        2,
        1,
    )
    assert first["test_accuracy_mean"] == pytest.approx(0.6)
    assert first["test_accuracy_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert (first["test_accuracy_min"], first["test_accuracy_max"]) == (0.5, 0.7)
    assert second["test_accuracy_mean"] == 0.9 and second["test_accuracy_std"] == 0.0
    assert "seconds_mean" not in summary.columns  # time is not a result
    by_init = ExperimentTable(RECORDS).summary(["seconds"], by=["init"])
    assert by_init.column("seconds_max") == [1.0, 1.0]


def test_to_dict_to_json_and_to_csv(tmp_path):
    table = ExperimentTable(RECORDS)
    plain = table.to_dict()
    assert plain["columns"] == list(table.columns)
    assert plain["records"][0]["sizes"] == [4, 2, 3]
    assert plain["records"][2]["test_accuracy"] is None
    path = table.to_json(tmp_path / "t.json")
    assert json.loads(path.read_text()) == plain
    path = table.to_csv(tmp_path / "t.csv")
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(table.columns)
    assert rows[1][1] == "[4,2,3]" and rows[3][5] == "" and rows[1][0] == ""
    assert rows[3][6] == "NumericalError: diverged"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_to_pandas():
    pytest.importorskip("pandas")
    frame = ExperimentTable(RECORDS).to_pandas()
    assert list(frame.columns) == list(ExperimentTable(RECORDS).columns)
    assert frame["sizes"].iloc[0] == (4, 2, 3)
    means = frame.groupby("init")["test_accuracy"].mean()
    assert means["normal"] == pytest.approx(0.6)


def test_printed_table_lists_shared_values_once():
    lines = str(ExperimentTable(RECORDS[:2])).splitlines()
    assert lines[0] == "every run: sizes=4-2-3, init=normal, status=ok, seconds=1"
    assert lines[1].split() == ["seed", "test_accuracy"]
    assert lines[2].split() == ["0", "0.5"]
    text = str(ExperimentTable(RECORDS))
    assert text.splitlines()[0].split()[:2] == ["sizes", "init"]  # nothing shared
    assert "key" not in text and "4-5-3" in text
    assert text.endswith("(1 failed; see .failed)")
    assert repr(ExperimentTable(RECORDS)).startswith("ExperimentTable(4 runs")


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "a": st.sampled_from([1, 2, 3]),
                "b": st.sampled_from(["x", "y"]),
                "v": st.floats(0, 1),
            }
        ),
        max_size=30,
    )
)
def test_groups_partition_the_table_in_order(records):
    table = ExperimentTable(records, columns=("a", "b", "v"))
    groups = table.group("a", "b")
    assert sum(len(g) for g in groups.values()) == len(table)
    for (a, b), group in groups.items():
        assert group.records == table.filter(a=a, b=b).records
    firsts = [
        next(i for i, r in enumerate(records) if (r["a"], r["b"]) == k) for k in groups
    ]
    assert firsts == sorted(firsts)
