"""Bootstrap CIs: they cover the estimate, widen when groups are resampled, and say n/a when undefined."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mstl_lib.evaluation.bootstrap import bootstrap_ci, excludes_chance, format_ci


def scores(n=200, signal=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=n))))
    return y, s


@pytest.mark.parametrize("metric", ["auc", "accuracy", "balanced_accuracy", "sensitivity", "precision"])
def test_the_ci_brackets_the_estimate(metric):
    y, s = scores()
    estimate, low, high = bootstrap_ci(y, s, metric, n_boot=300)
    assert low <= estimate <= high and high - low < 0.3


def test_a_real_signal_excludes_chance_and_noise_does_not():
    y, s = scores(signal=1.5)
    assert excludes_chance(bootstrap_ci(y, s, "auc", n_boot=300)[1])
    y, s = scores(signal=0.0, seed=3)
    assert not excludes_chance(bootstrap_ci(y, s, "auc", n_boot=300)[1])


def test_resampling_duplicate_groups_widens_the_interval():
    """Each image copied 5 times: image-level resampling is overconfident; group resampling is not."""
    y, s = scores(n=60, seed=1)
    y5, s5, groups = np.repeat(y, 5), np.repeat(s, 5), np.repeat(np.arange(60), 5)
    _, low_img, high_img = bootstrap_ci(y5, s5, "auc", n_boot=300)
    _, low_grp, high_grp = bootstrap_ci(y5, s5, "auc", groups=groups, n_boot=300)
    assert (high_grp - low_grp) > 1.5 * (high_img - low_img)


def test_one_class_is_undefined_and_formatted_as_such():
    estimate, low, high = bootstrap_ci([1, 1, 1], [0.2, 0.6, 0.9], "auc")
    assert math.isnan(estimate) and format_ci(estimate, low, high) == "n/a"
    assert format_ci(0.71234, 0.6, 0.8) == "0.712 [0.600, 0.800]"


def test_bad_arguments():
    with pytest.raises(ValueError, match="metric must be one of"):
        bootstrap_ci([0, 1], [0.1, 0.9], "f1")
    with pytest.raises(ValueError, match="2 labels but 3 scores"):
        bootstrap_ci([0, 1], [0.1, 0.9, 0.5])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_metrics_equal_scikit_learns(seed):
    from sklearn import metrics as skm

    from mstl_lib.evaluation.bootstrap import auc, balanced_accuracy, precision, sensitivity

    y, s = scores(n=50, seed=seed)
    s = np.round(s, 1)  # ties
    assert auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    called = (s >= 0.5).astype(int)
    assert balanced_accuracy(y, s) == pytest.approx(skm.balanced_accuracy_score(y, called))
    assert sensitivity(y, s) == pytest.approx(skm.recall_score(y, called))
    assert precision(y, s) == pytest.approx(skm.precision_score(y, called))


def test_precision_with_nothing_called_malignant_is_left_out_of_the_resamples():
    y = np.array([0, 1] * 20)
    s = np.where(np.arange(40) == 1, 0.9, 0.1)  # one image called malignant: most resamples call none
    estimate, low, high = bootstrap_ci(y, s, "precision", n_boot=200)
    assert estimate == 1.0 and not math.isnan(low) and low <= high


def test_mean_ci_brackets_the_mean_and_widens_with_groups():
    from mstl_lib.evaluation.bootstrap import mean_ci

    rng = np.random.default_rng(0)
    values = rng.normal(size=60)
    mean, low, high = mean_ci(values, n_boot=300)
    assert low <= mean <= high and mean == pytest.approx(values.mean())
    repeated, groups = np.repeat(values, 5), np.repeat(np.arange(60), 5)
    _, low_img, high_img = mean_ci(repeated, n_boot=300)
    _, low_grp, high_grp = mean_ci(repeated, groups=groups, n_boot=300)
    assert (high_grp - low_grp) > 1.5 * (high_img - low_img)
    assert all(math.isnan(v) for v in mean_ci([]))
