"""The linear-SVM head: C chosen inside the training part, scores that agree with its decisions."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.features import SVM_C_GRID, concatenate_features, linear_svm_head


def blobs(n=40, d=5, shift=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    x = rng.normal(size=(n, d)) + shift * y[:, None]
    return x, y


@pytest.mark.parametrize("grouped", [False, True])
def test_separable_features_are_separated(grouped):
    x, y = blobs()
    groups = np.arange(len(y)) // 2 if grouped else None
    search, scores = linear_svm_head(x[:30], y[:30], x[30:], groups_train=groups[:30] if grouped else None)
    assert search.best_params_["svc__C"] in SVM_C_GRID
    assert ((scores > 0.5) == search.predict(x[30:]).astype(bool)).all()
    assert np.mean((scores > 0.5) == y[30:]) == 1.0
    assert ((0 < scores) & (scores < 1)).all()


def test_the_test_part_never_reaches_the_search():
    """Changing the test features changes nothing that was fitted."""
    x, y = blobs(seed=1)
    first, _ = linear_svm_head(x[:30], y[:30], x[30:])
    second, _ = linear_svm_head(x[:30], y[:30], x[30:] * 100)
    assert first.best_params_ == second.best_params_
    np.testing.assert_allclose(first.best_estimator_[-1].coef_, second.best_estimator_[-1].coef_)


def test_concatenate_features():
    joined = concatenate_features(np.ones((3, 2)), np.zeros((3, 1, 4)))
    assert joined.shape == (3, 6) and joined.dtype == np.float32
    with pytest.raises(ValueError, match="different row counts"):
        concatenate_features(np.ones((3, 2)), np.ones((2, 2)))
