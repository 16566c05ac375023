"""Metrics against values computed by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from mstl_lib.evaluation.metrics import (
    binary_metrics,
    confusion,
    format_mean_sd,
    mean_sd,
    roc_points,
    summarize_folds,
)

Y_TRUE = [0, 0, 1, 1]
Y_SCORE = [0.1, 0.6, 0.4, 0.9]  # predictions at 0.5: [0, 1, 0, 1]


def test_binary_metrics_hand_computed():
    m = binary_metrics(Y_TRUE, Y_SCORE)
    assert (m["tp"], m["fp"], m["tn"], m["fn"], m["n"]) == (1, 1, 1, 1, 4)
    for key in ("accuracy", "f1", "sensitivity", "specificity", "precision"):
        assert m[key] == pytest.approx(0.5), key
    # positive-negative pairs ranked right: (.4>.1), (.9>.1), (.9>.6) of 4
    assert m["auc"] == pytest.approx(0.75)
    assert m["loss"] == pytest.approx(-(math.log(0.9) + math.log(0.4)) / 2)
    assert all(isinstance(v, (int, float)) for v in m.values())  # storable as floats


def test_binary_metrics_threshold_and_zero_division():
    m = binary_metrics(Y_TRUE, Y_SCORE, threshold=0.95)  # nothing predicted positive
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (0, 0, 2, 2)
    assert m["precision"] == 0.0 and m["f1"] == 0.0 and m["sensitivity"] == 0.0
    assert m["specificity"] == 1.0 and m["accuracy"] == 0.5


def test_single_class_auc_is_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="only class 1"):
        m = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(m["auc"])
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["specificity"] == 0.0  # no negatives: undefined -> 0


def test_loss_clips_extreme_scores():
    m = binary_metrics([0, 1], [1.0, 0.0])
    assert math.isfinite(m["loss"]) and m["loss"] == pytest.approx(-math.log(1e-7), rel=1e-3)


def test_bad_labels_raise():
    with pytest.raises(ValueError, match="0 or 1"):
        binary_metrics([0, 2], [0.1, 0.2])


def test_roc_points_and_confusion():
    roc = roc_points(Y_TRUE, Y_SCORE)
    assert list(roc.columns) == ["fpr", "tpr", "threshold"]
    assert roc["fpr"].iloc[0] == 0 and roc["tpr"].iloc[-1] == 1
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(0.75)
    np.testing.assert_array_equal(confusion([0, 0, 1, 1], [0, 1, 0, 1]), [[1, 1], [1, 1]])
    np.testing.assert_array_equal(confusion([1, 1], [1, 1]), [[0, 0], [0, 2]])


def test_mean_sd_uses_sample_sd():
    mean, sd = mean_sd([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert sd == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5, ddof=1
    mean, sd = mean_sd([0.7])
    assert mean == 0.7 and math.isnan(sd)
    assert mean_sd([1.0, float("nan"), 3.0]) == pytest.approx((2.0, math.sqrt(2)))


def test_summarize_folds():
    frame = pd.DataFrame(
        {
            "model": ["a", "a", "a", "b", "b"],
            "fold": [0, 1, 2, 0, 1],
            "accuracy": [0.8, 0.9, 1.0, 0.5, 0.7],
            "auc": [0.9, 0.9, 0.9, 0.6, 0.8],
        }
    )
    summary = summarize_folds(frame, "model", ["accuracy", "auc"]).set_index("model")
    assert summary.loc["a", "accuracy_mean"] == pytest.approx(0.9)
    assert summary.loc["a", "accuracy_sd"] == pytest.approx(0.1)
    assert summary.loc["a", "auc_sd"] == pytest.approx(0.0)
    assert summary.loc["b", "auc_sd"] == pytest.approx(math.sqrt(0.02))
    assert summary["n_folds"].tolist() == [3, 2]
    overall = summarize_folds(frame, None, ["accuracy"])
    assert overall.loc[0, "n_folds"] == 5 and overall.loc[0, "accuracy_mean"] == pytest.approx(0.78)
    with pytest.raises(KeyError, match="f1"):
        summarize_folds(frame, "model", ["f1"])


def test_format_mean_sd():
    assert format_mean_sd(0.91234, 0.02149) == "0.912 ± 0.021"
    assert format_mean_sd(0.5, float("nan"), digits=2) == "0.50"
    assert format_mean_sd(float("nan"), 0.1) == "n/a"
