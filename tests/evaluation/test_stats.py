"""t-test helpers: the paper's p-value from its own Table 1, and fold pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib import paper_values
from mstl_lib.evaluation import stats


def test_paired_test_on_paper_table1_gives_the_papers_p_value():
    ctl, mstl = stats.paper_accuracy_pairs(paper_values.load("p1_table1"))
    reported = float(paper_values.load("p1_significance")["p_value"].iloc[0])
    result = stats.t_test(ctl, mstl, "paired", "two-sided")
    assert round(result["p_value"], 4) == round(reported, 4)
    assert result["n"] == 9 and result["mean_difference"] > 0


def test_only_the_paired_two_sided_test_matches():
    ctl, mstl = stats.paper_accuracy_pairs(paper_values.load("p1_table1"))
    matches = stats.matching_tests(ctl, mstl, 0.01191)
    assert matches[["test", "alternative"]].values.tolist() == [["paired", "two-sided"]]


def test_variants_cover_every_test_and_alternative():
    variants = stats.t_test_variants([1.0, 2.0, 3.0], [2.0, 2.5, 4.5])
    assert len(variants) == len(stats.TESTS) * len(stats.ALTERNATIVES)
    one_sided = variants.set_index(["test", "alternative"])["p_value"]
    assert one_sided["paired", "greater"] == pytest.approx(one_sided["paired", "two-sided"] / 2)


@pytest.mark.parametrize(("test", "ctl", "mstl"), [("paired", [1, 2, 3], [1, 2]), ("anova", [1, 2], [3, 4])])
def test_t_test_rejects_bad_input(test, ctl, mstl):
    with pytest.raises(ValueError):
        stats.t_test(ctl, mstl, test)


def test_fold_pairs_matches_arms_on_config_and_fold():
    records = pd.DataFrame({
        "tl": ["CTL", "MSTL", "CTL", "MSTL", "MSTL"], "backbone": ["R"] * 5, "optimizer": ["a"] * 5,
        "fold": [0, 0, 1, 1, 2], "status": ["done"] * 5, "accuracy": [0.5, 0.6, 0.7, 0.9, 0.1],
    })
    pairs = stats.fold_pairs(records)
    assert pairs["fold"].tolist() == [0, 1]
    np.testing.assert_allclose(pairs["MSTL"] - pairs["CTL"], [0.1, 0.2])
    # differences 0.1 and 0.2: t = 3 on 1 degree of freedom, p = 0.205
    result = stats.t_test(pairs["CTL"], pairs["MSTL"])
    assert result["statistic"] == pytest.approx(3.0) and result["p_value"] == pytest.approx(0.2048, abs=1e-4)
    assert stats.summarize_test(result).endswith(": not significant at 0.05")


@pytest.mark.parametrize(
    ("p_value", "alpha", "verdict"),
    [(0.01, 0.05, "significant"), (0.05, 0.05, "not significant"), (0.2, 0.05, "not significant"),
     (0.03, 0.01, "not significant"), (0.009, 0.01, "significant")],
)
def test_summarize_test_states_the_exact_verdict(p_value, alpha, verdict):
    result = {"test": "paired", "alternative": "two-sided", "n": 9, "mean_difference": 1.5,
              "statistic": 2.0, "p_value": p_value}
    text = stats.summarize_test(result, alpha=alpha)
    assert text.startswith("paired t-test (two-sided, n = 9): mean difference MSTL - CTL = +1.5")
    assert f"p = {p_value:.5f}" in text
    assert text.endswith(f": {verdict} at {alpha}")


def test_mean_difference_ci_agrees_with_the_paired_t_test():
    import numpy as np

    from mstl_lib.evaluation.stats import mean_difference_ci, t_test

    ctl, mstl = np.array([0.6, 0.7, 0.65, 0.8]), np.array([0.7, 0.72, 0.8, 0.79])
    mean, low, high = mean_difference_ci(mstl - ctl)
    p = t_test(ctl, mstl, "paired")["p_value"]
    assert low < mean < high and (low > 0) == (p < 0.05)
    _, low95, _ = mean_difference_ci(mstl - ctl, level=1 - p)
    assert abs(low95) < 1e-9  # at level 1 - p the interval just touches 0
    assert np.isnan(mean_difference_ci([0.1])[1]) and np.isnan(mean_difference_ci([])[0])
