"""P1's report, ``significance``: The significance test: the paper's t-test recomputed, ours, the control, and the verdict in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p1_mstl import protocol, report


def _control_records(mstl_auc, control_auc, degenerate=0.0):
    rows = []
    for fold, (m, c) in enumerate(zip(mstl_auc, control_auc, strict=True)):
        for arm, auc in (("MSTL", m), (protocol.CONTROL, c), ("CTL", 0.5)):
            rows.append({"tl": arm, "backbone": "ResNet50", "optimizer": "adagrad", "fold": fold, "status": "done",
                         "auc": auc, "degenerate": degenerate if arm == "MSTL" else 0.0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("mstl", "control", "expected"), [
    ([0.80, 0.82, 0.85], [0.60, 0.61, 0.62], "MSTL beats the control"),
    ([0.60, 0.70, 0.65], [0.66, 0.64, 0.65], "MSTL does not beat the control"),
    ([0.80], [0.60], "One pair: a direction, not a test"),
])
def test_control_sentence_follows_the_pairs(mstl, control, expected):
    sentence = report.control_sentence(_control_records(mstl, control))
    assert expected in sentence
    assert f"mean AUC difference {np.mean(np.subtract(mstl, control)):+.3f}" in sentence


def test_control_sentence_without_the_control_or_with_degenerate_folds():
    assert "did not run" in report.control_sentence(_control_records([0.8], [0.6]).query("tl != 'SHUF'"))
    assert "no test is run" in report.control_sentence(_control_records([0.8, 0.9], [0.6, 0.5], degenerate=1.0))


def test_our_tests_pair_ctl_and_mstl_only_even_with_the_control():
    records = _control_records([0.8, 0.9], [0.6, 0.5])
    records = records.assign(**{m: records["auc"] for m in report.STAGE2_METRICS if m != "auc"})
    tests = report.our_tests(records)
    assert tests.loc[tests["level"] == "folds", "n"].iloc[0] == 2


def test_paper_ttest_finds_the_paired_two_sided_test():
    variants = report.paper_ttest()
    assert len(variants) == 6
    assert variants[variants["matches"]][["test", "alternative"]].values.tolist() == [["paired", "two-sided"]]
    sentence = report.paper_ttest_sentence(variants)
    assert "paired two-sided t-test" in sentence and "rests on pairing" in sentence


def test_paper_ttest_sentence_when_nothing_matches():
    variants = report.paper_ttest(reported_p=0.5)
    assert not variants["matches"].any()
    assert report.paper_ttest_sentence(variants, reported_p=0.5).startswith("No candidate t-test")


def test_paired_accuracies(records_factory):
    pairs = report.paired_accuracies(report.table1(records_factory()))
    assert pairs[["CTL", "MSTL"]].to_numpy() == pytest.approx(np.array([[65.0, 85.0], [65.0, 85.0]]))
    only_ctl = report.table1(records_factory().query("tl == 'CTL'"))
    assert report.paired_accuracies(only_ctl).empty


def test_our_tests_levels(records_factory):
    tests = report.our_tests(records_factory(optimizers=("sgd", "adam", "adagrad"), jitter=0.01))
    assert tests["level"].tolist() == ["configuration means (as P1)", "folds"]
    assert tests["n"].tolist() == [3, 6] and (tests["mean_difference"] > 0).all()
    assert report.our_tests(records_factory(optimizers=("sgd",), folds=(0,))).empty


@pytest.mark.parametrize(("ctl", "mstl", "verdict"), [(0.6, 0.8, "**survives**"), (0.8, 0.6, "significantly *worse*"),
                                                      (0.7, 0.7, "not significant at every level")])
def test_significance_sentence_states_the_direction(records_factory, ctl, mstl, verdict):
    records = records_factory(ctl=ctl, mstl=mstl, optimizers=("sgd", "adam", "adagrad"), jitter=0.01, seed=1)
    sentence = report.significance_sentence(report.our_tests(records), [])
    assert verdict in sentence and "bears on the claim" in sentence
    limited = report.significance_sentence(report.our_tests(records), ["stage 1 did not learn"])
    assert verdict in limited and "does not bear on P1's claim" in limited and "stage 1 did not learn" in limited


def test_significance_sentence_without_pairs():
    sentence = report.significance_sentence(report.our_tests(pd.DataFrame(columns=["tl", "status"])), [])
    assert "Too few" in sentence and "neither confirmed nor refuted" in sentence


def test_conclusion_limits_of_a_random_phantom_run(chapter):
    limits = report.conclusion_limits(chapter)
    assert any("random weights, not ImageNet" in limit for limit in limits)
    assert any("1 epoch" in limit for limit in limits)
    assert not any("ultrasound images" in limit for limit in limits)  # the phantom folder was given explicitly
    assert all(isinstance(limit, str) and limit for limit in limits)


@pytest.mark.parametrize(("degenerate", "expected"), [({}, None), ({"CTL": 2}, "2 degenerate folds in CTL"),
                                                       ({"CTL": 1, "MSTL": 1}, "1 degenerate fold in CTL and 1 "
                                                                              "degenerate fold in MSTL")])
def test_no_verdict_with_degenerate_folds(degenerate, expected):
    tests = pd.DataFrame([{"level": "folds", "test": "paired", "alternative": "two-sided", "n": 3,
                           "mean_difference": 9.0, "statistic": 5.0, "df": 2, "p_value": 0.01}])
    sentence = report.significance_sentence(tests, [], degenerate=degenerate)
    if expected is None:
        assert "**survives**" in sentence and "No verdict" not in sentence
    else:
        assert sentence.startswith("**No verdict**") and expected in sentence and "survives" not in sentence


def test_degenerate_arms_counts_per_arm():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL"], "status": "done", "degenerate": [1.0, 0.0, 0.0]})
    assert report.degenerate_arms(records) == {"CTL": 1}
    assert report.degenerate_arms(pd.DataFrame({"status": []})) == {}


def test_control_pairs_keep_folds_where_both_arms_ran():
    records = _control_records([0.8, 0.9], [0.6, 0.5])
    pairs = report.control_pairs(records)
    assert pairs[["fold", "MSTL", protocol.CONTROL]].values.tolist() == [[0, 0.8, 0.6], [1, 0.9, 0.5]]
    assert report.control_pairs(records[records["tl"] != "MSTL"]).empty
