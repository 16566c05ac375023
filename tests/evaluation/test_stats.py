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
    assert "significant" in stats.summarize_test(stats.t_test(pairs["CTL"], pairs["MSTL"]))
