"""The result of an experiment: one tidy table, a row per run."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._validation import _describe, is_sequence
from ..errors import InvalidParameterError
from ._config import SETTINGS

__all__ = ["ExperimentTable"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def _cell(value: Any) -> str:
    """A value as text in a printed table."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, tuple):
        return "-".join(map(str, value)) if all(
            isinstance(v, int) for v in value
        ) else ",".join(map(str, value))  # fmt: skip
    return str(value)


def _plain(value: Any) -> Any:
    """A value as JSON holds it: tuples as lists, non-finite floats as None."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class ExperimentTable:
    """Every run of an experiment, one record (dict) per run, in a fixed order.

    The order is the configurations' order, and within a configuration the
    seeds' order, however the runs were scheduled; a re-run from the cache
    gives the same table.

    Attributes
    ----------
    records : tuple of dict
        One per run. Its keys are ``columns``: ``name`` (the configuration's
        label or None), the settings (``sizes`` as a tuple, ``activation`` as a
        name, or a tuple with one name per layer, ``init``, ``dtype``,
        ``epochs``, ``batch_size``, ``learning_rate``, ``cost``, ``l2``,
        ``shuffle``, ``engine``), ``seed``, ``status`` (``"ok"`` or
        ``"failed"``), the numbers measured (``test_accuracy``, ... and those of
        your functions; NaN for a failed run), ``error`` (``"Type: message"``
        or None), ``seconds`` (training and evaluation) and ``key`` (the run's
        cache key).
    columns : tuple of str
        The column names, in order.
    networks : dict of int to Network
        The trained networks that were kept, by record position.
    n_trained : int
        Runs trained by the call that made the table.
    n_cached : int
        Runs read from the cache instead.

    Examples
    --------
    >>> table = ExperimentTable(
    ...     [{"hidden": 2, "seed": 0, "test_accuracy": 0.6},
    ...      {"hidden": 2, "seed": 1, "test_accuracy": 0.7},
    ...      {"hidden": 5, "seed": 0, "test_accuracy": 0.9}])
    >>> len(table), table.columns
    (3, ('hidden', 'seed', 'test_accuracy'))
    >>> table.column("test_accuracy")
    [0.6, 0.7, 0.9]
    >>> len(table.filter(hidden=2))
    2
    >>> {k: len(t) for k, t in table.group("hidden").items()}
    {(2,): 2, (5,): 1}
    """

    records: tuple[dict[str, Any], ...]
    columns: tuple[str, ...] = ()
    networks: dict[int, Any] = field(default_factory=dict)
    n_trained: int = 0
    n_cached: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.records, (str, bytes, Mapping)) or not isinstance(
            self.records, Iterable
        ):
            raise InvalidParameterError(
                f"`records` must be a sequence of dicts (one per run); got "
                f"{type(self.records).__name__}"
            )
        records = []
        for i, record in enumerate(self.records):
            if not isinstance(record, Mapping):
                raise InvalidParameterError(
                    f"`records[{i}]` must be a dict of column values; got "
                    f"{type(record).__name__}"
                )
            if not all(isinstance(k, str) for k in record):
                raise InvalidParameterError(
                    f"`records[{i}]` must have column names (str) as keys"
                )
            records.append(dict(record))
        if not isinstance(self.networks, Mapping):
            raise InvalidParameterError(
                f"`networks` must be a dict (record position -> network); got "
                f"{type(self.networks).__name__}"
            )
        columns = list(_column_names(self.columns, "columns"))
        for record in records:
            columns.extend(k for k in record if k not in columns)
        object.__setattr__(self, "records", tuple(records))
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "networks", dict(self.networks))

    # -- access --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.records[index]

    def _check_column(self, name: str) -> None:
        if not isinstance(name, str) or name not in self.columns:
            raise InvalidParameterError(
                f"`column` must be one of the table's columns "
                f"({', '.join(self.columns)}); got {name!r:.60}"
            )

    def column(self, name: str) -> list[Any]:
        """The values of one column, in record order (None where a run has none).

        Examples
        --------
        >>> ExperimentTable([{"seed": 0}, {"seed": 1}]).column("seed")
        [0, 1]
        """
        self._check_column(name)
        return [r.get(name) for r in self.records]

    @property
    def failed(self) -> ExperimentTable:
        """The runs that failed (``status == "failed"``), with their errors.

        Examples
        --------
        >>> len(ExperimentTable([{"status": "ok"}, {"status": "failed"}]).failed)
        1
        """
        return self.filter(lambda r: r.get("status") == "failed")

    def filter(
        self, where: Callable[[dict[str, Any]], bool] | None = None, **equal: Any
    ) -> ExperimentTable:
        """The runs for which ``where(record)`` is true and every column in
        ``equal`` has the given value; the kept networks follow their runs.

        Examples
        --------
        >>> table = ExperimentTable([{"l2": 0.0, "seed": 0}, {"l2": 5.0, "seed": 0}])
        >>> table.filter(l2=5.0).records
        ({'l2': 5.0, 'seed': 0},)
        >>> len(table.filter(lambda r: r["l2"] < 1))
        1
        """
        for name in equal:
            self._check_column(name)
        if where is not None and not callable(where):
            raise InvalidParameterError(
                f"`where` must be a function of a record returning True or False; "
                f"got {where!r:.60}"
            )
        equal = {k: tuple(v) if isinstance(v, list) else v for k, v in equal.items()}
        for k, v in equal.items():
            if isinstance(v, np.ndarray) and v.ndim:
                raise InvalidParameterError(
                    f"`{k}` must be one value of that column (a number, str or "
                    f"tuple); got {_describe(v)}"
                )
        keep = [
            i
            for i, r in enumerate(self.records)
            if all(r.get(k) == v for k, v in equal.items())
            and (where is None or where(r))
        ]
        return self._subset(keep)

    def group(self, *by: str) -> dict[tuple[Any, ...], ExperimentTable]:
        """The runs grouped by the values of columns ``by``, in order of first
        appearance: ``{(value, ...): table}``.

        Examples
        --------
        >>> table = ExperimentTable([{"init": "normal"}, {"init": "scaled"},
        ...                          {"init": "normal"}])
        >>> [(k, len(t)) for k, t in table.group("init").items()]
        [(('normal',), 2), (('scaled',), 1)]
        """
        if not by:
            raise InvalidParameterError("`by` must name at least one column")
        for name in by:
            self._check_column(name)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(self.records):
            groups.setdefault(tuple(r.get(name) for name in by), []).append(i)
        return {k: self._subset(v) for k, v in groups.items()}

    def _subset(self, positions: Sequence[int]) -> ExperimentTable:
        networks = {
            j: self.networks[i] for j, i in enumerate(positions) if i in self.networks
        }
        return ExperimentTable(
            tuple(self.records[i] for i in positions), self.columns, networks
        )

    def summary(
        self, metrics: Sequence[str] | None = None, *, by: Sequence[str] | None = None
    ) -> ExperimentTable:
        """Mean, standard deviation, minimum and maximum of each measured number
        over the runs that share a configuration (every seed of it).

        Parameters
        ----------
        metrics : sequence of str, optional
            The columns to summarise; by default every numeric column that is
            not a setting, the seed or the time.
        by : sequence of str, optional
            The columns that identify a group; by default every column before
            ``seed``.

        Returns
        -------
        ExperimentTable
            One record per group: the ``by`` columns, ``runs``, ``failed``,
            then ``<metric>_mean``, ``_std`` (``ddof=1``; 0 for one run),
            ``_min`` and ``_max`` over the runs that did not fail.

        Examples
        --------
        >>> table = ExperimentTable([
        ...     {"hidden": 2, "seed": 0, "status": "ok", "test_accuracy": 0.6},
        ...     {"hidden": 2, "seed": 1, "status": "ok", "test_accuracy": 0.8}])
        >>> row = table.summary().records[0]
        >>> row["hidden"], row["runs"], round(row["test_accuracy_mean"], 2)
        (2, 2, 0.7)
        """
        if by is None:
            if "seed" not in self.columns:
                raise InvalidParameterError(
                    "`by` must be given for a table without a `seed` column"
                )
            by = self.columns[: self.columns.index("seed")]
        by = _column_names(by, "by")
        if metrics is not None:
            metrics = _column_names(metrics, "metrics")
        if metrics is None:
            skip = {*by, "seed", "seconds", "status", "error", "key", "name"}
            metrics = [
                c
                for c in self.columns
                if c not in skip
                and any(_is_number(r.get(c)) for r in self.records)
                and c not in _SETTING_COLUMNS
            ]
        for name in metrics:
            self._check_column(name)
        rows = []
        groups = self.group(*by) if by else {(): self}
        for values, group in groups.items():
            ok = group.filter(lambda r: r.get("status", "ok") == "ok")
            row: dict[str, Any] = dict(zip(by, values))
            row["runs"] = len(group)
            row["failed"] = len(group) - len(ok)
            for name in metrics:
                data = np.array(
                    [v for v in ok.column(name) if _is_number(v)], dtype=np.float64
                )
                data = data[~np.isnan(data)]
                empty = data.size == 0
                row[f"{name}_mean"] = math.nan if empty else float(data.mean())
                row[f"{name}_std"] = (
                    math.nan
                    if empty
                    else float(data.std(ddof=1))
                    if data.size > 1
                    else 0.0
                )
                row[f"{name}_min"] = math.nan if empty else float(data.min())
                row[f"{name}_max"] = math.nan if empty else float(data.max())
            rows.append(row)
        return ExperimentTable(tuple(rows))

    # -- conversion --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain Python: ``{"columns": [...], "records": [...]}``, tuples as lists
        and NaN as None, ready for ``json.dump``.

        Examples
        --------
        >>> ExperimentTable([{"sizes": (4, 2, 3), "test_accuracy": float("nan")}]
        ...                 ).to_dict()
        {'columns': ['sizes', 'test_accuracy'], 'records': [{'sizes': [4, 2, 3], 'test_accuracy': None}]}
        """  # noqa: E501
        return {
            "columns": list(self.columns),
            "records": [
                {c: _plain(r.get(c)) for c in self.columns} for r in self.records
            ],
        }

    def to_pandas(self) -> Any:
        """The table as a :class:`pandas.DataFrame` (needs pandas).

        Examples
        --------
        >>> frame = ExperimentTable([{"seed": 0, "test_accuracy": 0.5}]).to_pandas()
        >>> list(frame.columns)
        ['seed', 'test_accuracy']
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                f"ExperimentTable.to_pandas needs pandas: pip install pandas ({exc})"
            ) from exc
        return pd.DataFrame.from_records(
            [{c: r.get(c) for c in self.columns} for r in self.records],
            columns=list(self.columns),
        )

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the table as CSV (atomically); tuples as JSON lists, NaN and
        None as empty cells. Returns the path."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for r in self.records:
            row = []
            for c in self.columns:
                value = _plain(r.get(c))
                if isinstance(value, list):
                    value = json.dumps(value, separators=(",", ":"))
                row.append("" if value is None else value)
            writer.writerow(row)
        return atomic_write(path, lambda fh: fh.write(buffer.getvalue().encode()))

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically). Returns the path."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        return atomic_write(path, lambda fh: fh.write(text.encode()))

    def __str__(self) -> str:
        """A text table of the columns that differ between runs; the values
        every run shares are listed once, above it."""
        columns = [c for c in self.columns if c not in ("key", "error")]
        shared = []
        if len(self.records) > 1:
            for c in list(columns):
                values = {repr(_cell(r.get(c))) for r in self.records}
                if len(values) == 1:
                    columns.remove(c)
                    value = _cell(self.records[0].get(c))
                    if value != "-":
                        shared.append(f"{c}={value}")
        rows = [[_cell(r.get(c)) for c in columns] for r in self.records]
        widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in
                  enumerate(columns)]  # fmt: skip
        lines = [f"every run: {', '.join(shared)}"] if shared else []
        lines.append("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
        lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
        n_failed = sum(1 for r in self.records if r.get("status") == "failed")
        if n_failed:
            lines.append(f"({n_failed} failed; see .failed)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ExperimentTable({len(self)} runs, columns={list(self.columns)!r:.80})"


_SETTING_COLUMNS = set(SETTINGS)


def _column_names(value: Any, name: str) -> tuple[str, ...]:
    """Column names given as one str or a sequence of str."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping) or not is_sequence(value):
        raise InvalidParameterError(
            f"`{name}` must be a column name or a sequence of column names (str); "
            f"got {_describe(value)}"
        )
    names = tuple(value)
    for i, item in enumerate(names):
        if not isinstance(item, str):
            raise InvalidParameterError(
                f"`{name}[{i}]` must be a column name (str); got {_describe(item)}"
            )
    return names
