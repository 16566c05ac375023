"""When a difference follows from the folds: paired and Welch t intervals, said in words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mstl_lib.evaluation import stats


def verdict(differences) -> tuple[float, str]:
    """Mean of per-fold differences, and whether its sign follows from them.

    Returns
    -------
    mean : float
    status : {"follows", "within noise", "one fold", "no data"}
        ``follows``: at least two folds and the two-sided 95 % t interval of the
        mean excludes zero; ``one fold``: a single value, no spread to judge it by.
    """
    values = np.asarray(list(differences), dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, "no data"
    mean = float(values.mean())
    if values.size < 2:
        return mean, "one fold"
    se = float(values.std(ddof=1)) / math.sqrt(values.size)
    if se == 0:
        return mean, "follows" if mean != 0 else "within noise"
    test = stats.t_test(np.zeros_like(values), values, "paired")  # the 95 % interval excludes 0 iff p < 0.05
    return mean, "follows" if test["p_value"] < 0.05 else "within noise"


def unpaired_verdict(a, b) -> tuple[float, str]:
    """``mean(a) - mean(b)`` and whether it follows (Welch's 95 % t interval excludes zero; two folds each)."""
    a = np.asarray(list(a), dtype=float)
    b = np.asarray(list(b), dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return math.nan, "no data"
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, "one fold"
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:  # no spread: the t statistic is undefined
        return diff, "follows" if diff != 0 else "within noise"
    return diff, "follows" if stats.t_test(b, a, "welch")["p_value"] < 0.05 else "within noise"


def qualifier(status: str) -> str:
    return {
        "follows": "the 95 % t interval over folds excludes zero, so the direction follows",
        "within noise": "the 95 % t interval over folds includes zero: the direction does not follow",
        "one fold": "one fold, no spread: whether this is more than noise does not follow from this run",
        "no data": "no finished task to judge it by",
        "degenerate": ("some folds are degenerate (one class for at least 95 % of the test images), so no verdict "
                       "is given"),
    }[status]


def any_degenerate(frame: pd.DataFrame, heads=("ft", "svm")) -> bool:
    return any(f"{head}_degenerate" in frame.columns and bool((frame[f"{head}_degenerate"] > 0).any())
               for head in heads)
