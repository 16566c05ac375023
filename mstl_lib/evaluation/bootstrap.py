"""95 % confidence intervals by bootstrap over pooled out-of-fold test predictions.

Where images come in groups (patients, cases, near-duplicate clusters), whole
groups are resampled, so that a CI does not pretend that near-identical images
are independent evidence.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import rankdata


def auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC from ranks (the Mann-Whitney U statistic; ties count one half), fast enough to bootstrap."""
    positive = y_true == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    ranks = rankdata(y_score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean of the two classes' recalls at threshold 0.5."""
    predicted = y_score >= 0.5
    return float((predicted[y_true == 1].mean() + (~predicted[y_true == 0]).mean()) / 2)


def sensitivity(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Recall of the malignant class at threshold 0.5."""
    return float((y_score[y_true == 1] >= 0.5).mean())


def precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Share of the images called malignant (threshold 0.5) that are malignant; NaN when none is."""
    called = y_score >= 0.5
    return float(y_true[called].mean()) if called.any() else math.nan


METRICS = {
    "accuracy": lambda y, s: float(np.mean((s >= 0.5) == y)),
    "balanced_accuracy": balanced_accuracy,
    "auc": auc,
    "sensitivity": sensitivity,
    "precision": precision,
}
"""Metrics a CI can be drawn for: ``metric(y_true, y_score) -> float`` (both classes present;
precision is NaN where no image is called malignant, and such resamples are left out)."""


def group_resamples(n: int, groups=None, n_boot: int = 1000, seed: int = 0):
    """Yield ``n_boot`` bootstrap resamples of rows ``0..n-1``, each drawing whole ``groups`` with replacement
    (every row its own group when ``groups`` is None)."""
    groups = np.arange(n) if groups is None else np.asarray(groups)
    unique, index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(index == g) for g in range(len(unique))]
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield np.concatenate([members[g] for g in rng.integers(0, len(unique), len(unique))])


def mean_ci(values, groups=None, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap CI, resampling whole ``groups`` where given.

    Returns NaNs for no values.
    """
    values = np.asarray(values, dtype=float)
    if not len(values):
        return math.nan, math.nan, math.nan
    means = [values[rows].mean() for rows in group_resamples(len(values), groups, n_boot, seed)]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)


def bootstrap_ci(y_true, y_score, metric: str = "auc", groups=None, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap CI of ``metric``.

    Parameters
    ----------
    y_true, y_score : array-like
        Pooled out-of-fold test labels and scores (P(malignant)).
    metric : {"accuracy", "balanced_accuracy", "auc", "sensitivity", "precision"}
    groups : array-like, optional
        Resample whole groups (patients, cases, duplicate clusters) instead of images.
    n_boot : int
    level : float
    seed : int

    Returns
    -------
    estimate, low, high : float
        NaN where the metric is undefined (one class only).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, not {metric!r}")
    y_true, y_score = np.asarray(y_true, dtype=int), np.asarray(y_score, dtype=float)
    if len(y_true) != len(y_score):
        raise ValueError(f"{len(y_true)} labels but {len(y_score)} scores")
    if len(np.unique(y_true)) < 2:
        return math.nan, math.nan, math.nan
    function = METRICS[metric]
    estimate = function(y_true, y_score)
    values = []
    for rows in group_resamples(len(y_true), groups, n_boot, seed):
        if len(np.unique(y_true[rows])) < 2:
            continue
        value = function(y_true[rows], y_score[rows])
        if not math.isnan(value):
            values.append(value)
    if len(values) < n_boot // 2:
        warnings.warn(f"only {len(values)} of {n_boot} resamples held both classes", RuntimeWarning, stacklevel=2)
    if not values:
        return estimate, math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return estimate, float(low), float(high)


def format_ci(estimate: float, low: float, high: float, digits: int = 3) -> str:
    """``"0.712 [0.650, 0.770]"``; ``"n/a"`` when undefined."""
    if math.isnan(estimate):
        return "n/a"
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def excludes_chance(low: float, chance: float = 0.5) -> bool:
    """Whether a CI's lower end lies above chance."""
    return not math.isnan(low) and low > chance
