"""Tables for the book: fold summaries (mean ± SD) built from run records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci
from mstl_lib.evaluation.metrics import format_mean_sd, summarize_folds
from mstl_lib.report.banner import markdown


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



CI_METRICS = ("auc", "balanced_accuracy", "accuracy")
"""The metrics :func:`pooled_ci` gives a 95 % CI for."""


def pooled_ci(predictions: pd.DataFrame, by: Sequence[str], score: str = "y_score", truth: str = "y_true",
              groups: Mapping | None = None, n_boot: int = 1000, seed: int = 0,
              metrics: Sequence[str] = CI_METRICS) -> pd.DataFrame:
    """Pooled out-of-fold AUC, balanced accuracy and accuracy per group of ``by``, each with a 95 % CI.

    The CI is a bootstrap over the pooled test predictions of every fold run
    (:func:`mstl_lib.evaluation.bootstrap.bootstrap_ci`), resampling whole groups
    (``groups``: image path -> group, such as near-duplicate clusters or patients)
    where given; the threshold is 0.5 on ``score``.

    Returns
    -------
    DataFrame
        ``by`` columns, ``n_images``, then ``<metric>``, ``<metric>_low`` and
        ``<metric>_high`` for each of ``metrics`` (default :data:`CI_METRICS`).
    """
    by = list(by)
    columns = [*by, "n_images", *[f"{m}{s}" for m in metrics for s in ("", "_low", "_high")]]
    if predictions.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for keys, part in predictions.groupby(by, sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        group = None if groups is None else part["path"].map(groups).fillna(part["path"]).to_numpy()
        row = {**dict(zip(by, keys, strict=True)), "n_images": len(part)}
        for name in metrics:
            estimate, low, high = bootstrap_ci(part[truth], part[score], name, groups=group, n_boot=n_boot, seed=seed)
            row.update({name: estimate, f"{name}_low": low, f"{name}_high": high})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def ci_strings(ci: pd.DataFrame, metrics: Sequence[str] = CI_METRICS, suffix: str = "_95ci", digits: int = 3,
               scale: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``"0.712 [0.650, 0.770]"`` columns ``<metric><suffix>`` from :func:`pooled_ci` (``scale``: e.g. accuracy in %)."""
    scale = dict(scale or {})
    out = pd.DataFrame(index=ci.index)
    for name in metrics:
        factor = scale.get(name, 1.0)
        out[f"{name}{suffix}"] = [format_ci(factor * e, factor * lo, factor * hi, digits if factor == 1 else 1)
                                  for e, lo, hi in zip(ci[name], ci[f"{name}_low"], ci[f"{name}_high"], strict=True)]
    return out


def table_or_note(frame: pd.DataFrame | None, note: str, columns: Sequence[str] | None = None):
    """``frame`` (its ``columns`` where given) when it holds rows, else ``note`` as Markdown: a notebook shows one
    or the other, with no branch of its own."""
    if frame is None or len(frame) == 0:
        return markdown(note)
    return frame[list(columns)] if columns is not None else frame
