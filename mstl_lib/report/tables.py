"""Tables for the book: fold summaries (mean ± SD) built from run records."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mstl_lib.evaluation.metrics import format_mean_sd, summarize_folds


def aggregate(
    frame: pd.DataFrame, by: Sequence[str] | None = None, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean, sample SD (ddof=1) and count of metrics per configuration, over finished tasks.

    Parameters
    ----------
    frame
        From :func:`records_frame` (failed rows are left out).
    by
        Grouping columns; default all config columns (``frame.attrs``).
    metrics
        Metric columns; default all metrics (``frame.attrs``).

    Returns
    -------
    pandas.DataFrame
        One row per group in order of first appearance: the ``by`` columns, ``n``
        (finished tasks; ``n_tasks`` if a config field is named ``n``), then ``<metric>_mean`` and ``<metric>_sd`` per metric.
    """
    by = list(by if by is not None else frame.attrs.get("config_columns", []))
    metrics = list(metrics if metrics is not None else frame.attrs.get("metric_columns", []))
    if not metrics:
        raise ValueError("no metric columns: pass metrics=[...] (frame.attrs lost them?)")
    done = frame[frame["status"] == "done"] if "status" in frame.columns else frame
    done = done.astype({m: float for m in metrics})
    count = "n_tasks" if "n" in by else "n"
    table = summarize_folds(done, by, metrics).rename(columns={"n_folds": count})
    return table[[*by, count, *[f"{m}_{stat}" for m in metrics for stat in ("mean", "sd")]]]


def mean_sd_column(table: pd.DataFrame, metric: str, digits: int = 3) -> pd.Series:
    """``"0.912 ± 0.013"`` strings from the ``<metric>_mean`` / ``<metric>_sd`` columns of :func:`aggregate`."""
    return pd.Series(
        [format_mean_sd(m, s, digits) for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_sd"], strict=True)],
        index=table.index,
        name=metric,
    )


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame, on: Sequence[str], metrics: Sequence[str],
                 ours_label: str = "ours", paper_label: str = "paper") -> pd.DataFrame:
    """Our numbers and the paper's side by side, with their difference, one row per key.

    Parameters
    ----------
    ours, paper : DataFrame
        Both hold the ``on`` columns and the ``metrics`` columns (the paper's from
        :mod:`mstl_lib.paper_values`).
    on : columns identifying a row (e.g. ``["tl", "cnn", "optimizer"]``)
    metrics : the columns to compare

    Returns
    -------
    DataFrame
        ``on``, then for each metric ``<metric>_<ours_label>``, ``<metric>_<paper_label>``
        and ``<metric>_diff`` (ours minus paper; NaN where either is missing). Every
        row of either table appears (outer join), in the paper's order first.
    """
    on, metrics = list(on), list(metrics)
    for name, table in (("ours", ours), ("paper", paper)):
        missing = [c for c in on + metrics if c not in table.columns]
        if missing:
            raise KeyError(f"{name} table lacks columns {missing}")
    merged = paper[on + metrics].merge(ours[on + metrics], on=on, how="outer", sort=False,
                                       suffixes=(f"_{paper_label}", f"_{ours_label}"))
    columns = list(on)
    for metric in metrics:
        merged[f"{metric}_diff"] = merged[f"{metric}_{ours_label}"] - merged[f"{metric}_{paper_label}"]
        columns += [f"{metric}_{ours_label}", f"{metric}_{paper_label}", f"{metric}_diff"]
    return merged[columns]
