"""Reading a grid's records back from the store as tidy tables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from mstl_lib.engine.grid import Grid, as_store
from mstl_lib.engine.store import ResultsStore
from mstl_lib.engine.task import RESERVED_COLUMNS

# =========================================================================== reading back


def load_records(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> list[dict]:
    """Records of a grid's current tasks (in grid order), or of every task of an experiment.

    Given a :class:`Grid`, only its present tasks are returned (records left by
    older versions of the grid are ignored); given a name, all records stored
    for that experiment.
    """
    store = as_store(store)
    if isinstance(grid, Grid):
        found = (store.read(grid.name, t.key) for t in grid.tasks())
        return [r for r in found if r is not None]
    return store.records(grid)


def _flatten(config: Mapping, prefix: str = "") -> dict:
    """Nested dicts become dotted names; lists become tuples (hashable for grouping)."""
    out = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = tuple(value) if isinstance(value, list) else value
    return out


def _config_columns(records: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """Flattened configs (clashing names prefixed ``config.``), config and metric column names."""
    metrics = list(dict.fromkeys(m for r in records for m in (r.get("metrics") or {})))
    taken = set(RESERVED_COLUMNS) | set(metrics)
    flat = []
    for record in records:
        config = _flatten(record.get("config") or {})
        flat.append({(f"config.{k}" if k in taken else k): v for k, v in config.items()})
    columns = list(dict.fromkeys(c for row in flat for c in row))
    return flat, columns, metrics


def records_table(records: list[dict]) -> pd.DataFrame:
    flat, config_columns, metric_columns = _config_columns(records)
    rows = []
    for record, config in zip(records, flat, strict=True):
        row = {name: record.get(name) for name in ("experiment", "key", "index", "fold", "status")}
        row.update(config)
        row.update(record.get("metrics") or {})
        row["wall_time_s"] = record.get("wall_time_s")
        rows.append(row)
    columns = ["experiment", "key", "index", "fold", "status", *config_columns, *metric_columns, "wall_time_s"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["config_columns"] = config_columns
    frame.attrs["metric_columns"] = metric_columns
    return frame


def failures_table(records: list[dict]) -> pd.DataFrame:
    failed = [r for r in records if r.get("status") == "failed"]
    flat, config_columns, _ = _config_columns(failed)
    rows = []
    for record, config in zip(failed, flat, strict=True):
        error = record.get("error") or {}
        row = {"key": record["key"], "fold": record.get("fold"), **config}
        row.update({f"error_{k}": error.get(k) for k in ("kind", "type", "message")})
        row.update(traceback=error.get("traceback"), host=record.get("host"), finished=record.get("finished"))
        rows.append(row)
    columns = ["key", "fold", *config_columns, "error_kind", "error_type", "error_message",
               "traceback", "host", "finished"]
    return pd.DataFrame(rows, columns=columns)


def _long_table(records: list[dict], field_name: str, build: Callable[[dict], pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-record tables, each prefixed with key, fold and config columns."""
    chosen = [r for r in records if r.get("status") == "done" and r.get(field_name)]
    flat, config_columns, _ = _config_columns(chosen)
    parts = []
    for record, config in zip(chosen, flat, strict=True):
        part = build(record[field_name])
        ids = {"key": record["key"], "fold": record.get("fold"), **config}
        parts.append(pd.concat([pd.DataFrame({k: [v] * len(part) for k, v in ids.items()}), part], axis=1))
    if not parts:
        return pd.DataFrame(columns=["key", "fold", *config_columns])
    return pd.concat(parts, ignore_index=True)


def _history_long(history: Mapping) -> pd.DataFrame:
    epochs = history.get("epoch")
    rows = [
        (epochs[i] if epochs is not None else i + 1, metric, value)
        for metric, values in history.items()
        if metric != "epoch"
        for i, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["epoch", "metric", "value"])


def records_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """One row per task: ids, status, config fields, metrics and wall time.

    Columns: ``experiment, key, index, fold, status``, then config fields
    (nested dicts flattened as ``optimizer.lr``; a field named like a metric or
    one of the columns above is prefixed ``config.``), then metrics, then
    ``wall_time_s``. ``frame.attrs`` holds ``config_columns`` and
    ``metric_columns``, used by :func:`aggregate`.

    Parameters
    ----------
    store
        The store or its folder (``None``: the default store).
    grid
        A :class:`Grid` (its current tasks) or an experiment name (every record stored).
    """
    return records_table(load_records(store, grid))


def failures_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """One row per failed task: key, fold, config fields, error kind/type/message, traceback, host."""
    return failures_table(load_records(store, grid))


def predictions_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """Per-sample predictions of the finished tasks, long: key, fold, config fields, prediction columns."""
    return _long_table(load_records(store, grid), "predictions", pd.DataFrame)


def history_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """Training histories of the finished tasks, long: key, fold, config fields, epoch, metric, value."""
    return _long_table(load_records(store, grid), "history", _history_long)


FRAMES = {"records": records_frame, "predictions": predictions_frame, "history": history_frame,
          "failures": failures_frame}
"""What :func:`gather` can read: the frame readers by name."""


def gather(store: ResultsStore | str | os.PathLike | None, grids: Mapping[str, Grid],
           labels: Callable[[Grid], Mapping], frames=("records", "predictions", "failures")) -> dict:
    """Every grid's frames (:data:`FRAMES` names), each row labelled with ``labels(grid)``, stacked.

    Returns ``{name: DataFrame}`` for each of ``frames`` (an empty frame where no grid
    has rows), plus ``"raw"``: every grid's records, in grid order.
    """
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in frames}
    raw: list[dict] = []
    for grid in grids.values():
        extra = dict(labels(grid))
        raw.extend(load_records(store, grid))
        for name in frames:
            found = FRAMES[name](store, grid)
            if len(found):
                parts[name].append(found.assign(**extra))
    out = {name: pd.concat(found, ignore_index=True) if found else pd.DataFrame() for name, found in parts.items()}
    out["raw"] = raw
    return out


@dataclass
class ChapterResults:
    """A chapter's stored records, read back once by :func:`collect`.

    Attributes
    ----------
    records : DataFrame
        One row per task (done and failed) of every grid: config, metrics and each grid's labels.
    raw : list of dict
        The records themselves (histories, timings, weights).
    predictions, history, failures : DataFrame
        Per-test-image scores of the finished tasks, their histories (long: epoch, metric, value) and one
        row per failed task, each with the grids' labels (empty when not gathered).
    """

    records: pd.DataFrame
    raw: list[dict] = field(default_factory=list)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def weights(self) -> list[dict]:
        """Every task's weights entries (:func:`mstl_lib.nn.weights.weights_entries`)."""
        from mstl_lib.nn.weights import weights_entries  # noqa: PLC0415 - no TensorFlow, only when asked

        return weights_entries(self.raw)

    def part(self, frame: str = "records", **where) -> pd.DataFrame:
        """The rows of ``frame`` whose columns equal ``where`` (``part("predictions", dataset="busi")``)."""
        table = getattr(self, frame)
        if table.empty or not where:
            return table
        chosen = pd.Series(True, index=table.index)
        for column, value in where.items():
            chosen &= table[column] == value
        return table[chosen]


def collect(store: ResultsStore | str | os.PathLike | None, grids: Mapping[str, Grid],
            labels: Callable[[Grid], Mapping], frames=("records", "predictions", "failures")) -> ChapterResults:
    """:func:`gather` as one :class:`ChapterResults`: what every paper's report reads back."""
    found = gather(store, grids, labels, frames)
    return ChapterResults(found["records"], found["raw"], **{name: found[name] for name in frames if name != "records"})
