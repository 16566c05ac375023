"""t-tests of MSTL against CTL, and finding which t-test a paper used.

P1 reports p = 0.01191 for MSTL vs CTL over "all the average 5-fold
cross-validation accuracy results from all CNN and optimizer combinations"
without naming the test. :func:`t_test_variants` computes the usual
candidates on the nine (CNN, optimizer) pairs of its Table 1 and
:func:`matching_tests` keeps those that give the reported value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

TESTS = ("paired", "student", "welch")
ALTERNATIVES = ("two-sided", "greater")


def t_test(ctl, mstl, test: str = "paired", alternative: str = "two-sided") -> dict:
    """One t-test of ``mstl`` against ``ctl``.

    Parameters
    ----------
    ctl, mstl : array-like of float
        Matched values (same order) for ``"paired"``; any two samples otherwise.
    test : {"paired", "student", "welch"}
        Paired t-test, two-sample t-test with pooled variance, or Welch's.
    alternative : {"two-sided", "greater"}
        ``"greater"``: MSTL's mean (of differences) is larger.

    Returns
    -------
    dict
        ``test``, ``alternative``, ``n`` (pairs or per-arm sizes), ``mean_difference``
        (MSTL - CTL), ``statistic``, ``df`` and ``p_value``.
    """
    ctl, mstl = np.asarray(ctl, dtype=float), np.asarray(mstl, dtype=float)
    if test == "paired":
        if ctl.shape != mstl.shape:
            raise ValueError("a paired test needs matched samples of equal length")
        result = stats.ttest_rel(mstl, ctl, alternative=alternative)
        n = len(ctl)
    elif test in ("student", "welch"):
        result = stats.ttest_ind(mstl, ctl, equal_var=test == "student", alternative=alternative)
        n = f"{len(ctl)} + {len(mstl)}"
    else:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    return {"test": test, "alternative": alternative, "n": n,
            "mean_difference": float(mstl.mean() - ctl.mean()), "statistic": float(result.statistic),
            "df": float(result.df), "p_value": float(result.pvalue)}


def t_test_variants(ctl, mstl) -> pd.DataFrame:
    """Every test of :data:`TESTS` x :data:`ALTERNATIVES`, one row each."""
    return pd.DataFrame([t_test(ctl, mstl, test, alternative) for test in TESTS for alternative in ALTERNATIVES])


def matching_tests(ctl, mstl, reported_p: float, decimals: int = 4) -> pd.DataFrame:
    """Rows of :func:`t_test_variants` whose p-value rounds to ``reported_p`` at ``decimals`` places."""
    variants = t_test_variants(ctl, mstl)
    return variants[np.round(variants["p_value"], decimals) == np.round(reported_p, decimals)].reset_index(drop=True)


def paper_accuracy_pairs(table1: pd.DataFrame, value: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
    """CTL and MSTL ``value`` of a P1-style Table 1, matched on (CNN, optimizer)."""
    wide = table1.pivot_table(index=["cnn", "optimizer"], columns="tl", values=value).dropna()
    return wide["CTL"].to_numpy(), wide["MSTL"].to_numpy()


def fold_pairs(records: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """CTL and MSTL ``metric`` per (backbone, optimizer, fold), from stage-2 records (done only)."""
    done = records[records["status"] == "done"]
    wide = done.pivot_table(index=["backbone", "optimizer", "fold"], columns="tl", values=metric)
    return wide.dropna().reset_index()


def summarize_test(result: dict, alpha: float = 0.05) -> str:
    """One sentence: the test, its p-value and whether it is below ``alpha``."""
    verdict = "significant" if result["p_value"] < alpha else "not significant"
    return (f"{result['test']} t-test ({result['alternative']}, n = {result['n']}): mean difference "
            f"MSTL - CTL = {result['mean_difference']:+.3g}, t = {result['statistic']:.3f}, "
            f"p = {result['p_value']:.5f}: {verdict} at {alpha}")


def above_chance(n_correct: int, n: int, chance: float, alpha: float = 0.05) -> dict:
    """One-sided exact binomial test: is ``n_correct`` of ``n`` better than guessing at rate ``chance``?

    Returns
    -------
    dict
        ``n_correct``, ``n``, ``accuracy``, ``chance``, ``p_value`` (NaN when
        ``n`` is 0) and ``above_chance`` (``p_value < alpha``).
    """
    n_correct, n = int(n_correct), int(n)
    if not 0 <= n_correct <= n:
        raise ValueError(f"need 0 <= n_correct <= n, got {n_correct} of {n}")
    p_value = float(stats.binomtest(n_correct, n, chance, alternative="greater").pvalue) if n else float("nan")
    return {"n_correct": n_correct, "n": n, "accuracy": n_correct / n if n else float("nan"), "chance": float(chance),
            "p_value": p_value, "above_chance": bool(p_value < alpha)}


def mean_difference_ci(differences, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired ``differences`` and its t-interval (NaN bounds with fewer than two, zero width if all equal).

    The interval excludes 0 exactly when a two-sided paired t-test at ``1 - level`` is significant.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    if len(d) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half
