"""Binary classification metrics and cross-validation fold summaries.

The positive class is 1 (malignant). Scores are probabilities of the
positive class, e.g. from :func:`mstl_lib.nn.training.predict_scores`.

Summaries report mean ± SD across folds, where SD is the sample standard
deviation across folds (``ddof=1``); with a single fold it is NaN.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

__all__ = [
    "binary_metrics",
    "roc_points",
    "confusion",
    "mean_sd",
    "summarize_folds",
    "format_mean_sd",
]

LOSS_EPS = 1e-7  # scores are clipped to [eps, 1 - eps] for the log loss

DEGENERATE_SHARE = 0.95
"""A fold whose predictions put at least this share of its test images in one class is degenerate."""


def is_degenerate(n_pred_benign: int, n_pred_malignant: int, share: float = DEGENERATE_SHARE) -> bool:
    """Whether predictions put at least ``share`` of the images in one class."""
    total = n_pred_benign + n_pred_malignant
    return bool(total) and max(n_pred_benign, n_pred_malignant) >= share * total


def _as_binary(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_score = np.asarray(y_score, dtype=float).reshape(-1)
    if len(y_true) != len(y_score):
        raise ValueError(f"{len(y_true)} labels but {len(y_score)} scores.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"Labels must be 0 or 1; got {np.unique(y_true).tolist()}.")
    return y_true, y_score


def confusion(y_true, y_pred, labels=(0, 1)) -> np.ndarray:
    """Confusion matrix, rows true and columns predicted, in ``labels`` order."""
    return skm.confusion_matrix(y_true, y_pred, labels=list(labels))


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def binary_metrics(y_true, y_score, threshold: float = 0.5) -> dict:
    """Threshold metrics, AUC and log loss of a binary classifier.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like of float
        Probability of class 1.
    threshold : float
        Predict 1 when ``y_score >= threshold``.

    Returns
    -------
    dict
        ``accuracy``, ``auc``, ``f1``, ``sensitivity`` (recall of class 1),
        ``specificity`` (recall of class 0), ``precision``, ``loss`` (binary
        log loss, scores clipped to ``[1e-7, 1 - 1e-7]``), ``tp``, ``fp``,
        ``tn``, ``fn`` and ``n``, ``balanced_accuracy``, the predicted-class
        counts ``pred_benign`` and ``pred_malignant``, the score range
        ``score_min`` and ``score_max``, and ``degenerate`` (1.0 when at least
        :data:`DEGENERATE_SHARE` of the predictions fall in one class, else 0.0),
        all numbers (a results table can store them as floats). Undefined ratios
        (no positives predicted, ...) are 0.

    Warns
    -----
    UndefinedMetricWarning
        When only one class is present: ``auc`` is then NaN.
    """
    y_true, y_score = _as_binary(y_true, y_score)
    y_pred = (y_score >= threshold).astype(int)
    (tn, fp), (fn, tp) = confusion(y_true, y_pred)
    if len(np.unique(y_true)) < 2:
        present = f"only class {int(y_true[0])}" if len(y_true) else "no samples"
        warnings.warn(f"AUC undefined ({present} present); reported as NaN.", UndefinedMetricWarning, stacklevel=2)
        auc = math.nan
    else:
        auc = float(skm.roc_auc_score(y_true, y_score))
    clipped = np.clip(y_score, LOSS_EPS, 1 - LOSS_EPS)
    loss = float(-np.mean(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))) if len(y_true) else math.nan
    sensitivity, specificity = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    return {
        "accuracy": _ratio(tp + tn, len(y_true)),
        "balanced_accuracy": (sensitivity + specificity) / 2,
        "auc": auc,
        "f1": float(skm.f1_score(y_true, y_pred, labels=[0, 1], zero_division=0)),
        "sensitivity": sensitivity,
        "specificity": specificity,
        "precision": float(skm.precision_score(y_true, y_pred, labels=[0, 1], zero_division=0)),
        "loss": loss,
        "tp": int(tp),
        "fp": int(fp),
        "tn": int(tn),
        "fn": int(fn),
        "n": int(len(y_true)),
        "pred_benign": int(tn + fn),
        "pred_malignant": int(tp + fp),
        "score_min": float(y_score.min()) if len(y_score) else math.nan,
        "score_max": float(y_score.max()) if len(y_score) else math.nan,
        "degenerate": float(is_degenerate(int(tn + fn), int(tp + fp))),
    }


def roc_points(y_true, y_score) -> pd.DataFrame:
    """ROC curve as a DataFrame with columns ``fpr``, ``tpr``, ``threshold``."""
    y_true, y_score = _as_binary(y_true, y_score)
    fpr, tpr, thresholds = skm.roc_curve(y_true, y_score)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of ``values``.

    SD is the sample standard deviation across folds (ddof=1); it is NaN
    for a single value. NaN values are ignored; with none left both are NaN.
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return float(np.mean(values)), sd


def summarize_folds(
    frame: pd.DataFrame,
    by: str | Sequence[str] | None,
    metrics: Sequence[str],
) -> pd.DataFrame:
    """Mean and SD of each metric across folds, per group.

    Parameters
    ----------
    frame : DataFrame
        One row per fold (and group), one column per metric.
    by : str, list of str or None
        Grouping columns (e.g. ``"model"``); None summarises all rows.
    metrics : sequence of str
        Metric columns.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``<metric>_mean`` and
        ``<metric>_sd`` (sample SD, ddof=1) for each metric, and ``n_folds``
        (rows in the group).
    """
    by = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in [*by, *metrics] if c not in frame.columns]
    if missing:
        raise KeyError(f"Columns not in the frame: {missing}.")
    groups = frame.groupby(by, sort=False, dropna=False) if by else [((), frame)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        for metric in metrics:
            row[f"{metric}_mean"], row[f"{metric}_sd"] = mean_sd(group[metric])
        row["n_folds"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)


def format_mean_sd(mean: float, sd: float, digits: int = 3) -> str:
    """``"0.912 ± 0.021"``; the SD part is left out when it is NaN."""
    if mean is None or math.isnan(mean):
        return "n/a"
    if sd is None or math.isnan(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"
