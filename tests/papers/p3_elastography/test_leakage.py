"""The strain-leak probe: its features, its chance level on noise, and its hit on a planted leak."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mstl_lib.papers.p3_elastography import leakage


def test_crop_features_are_block_means_then_channel_means_and_sds():
    images = np.zeros((2, 16, 16, 3))
    images[1, :8, :8, 0] = 1.0
    features = leakage.crop_features(images)
    assert features.shape == (2, 8 * 8 * 3 + 6)
    assert features[1, 0] == 1.0 and features[0].sum() == 0
    assert features[1, -6] == pytest.approx(0.25)  # channel 0 mean
    with pytest.raises(ValueError, match="multiples"):
        leakage.crop_features(np.zeros((1, 12, 12, 3)))


def test_probe_is_at_chance_on_noise_and_finds_a_planted_leak():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 60)
    groups = np.arange(120) // 2  # two images per patient, one label each
    noise = rng.standard_normal((120, 5))
    assert abs(roc_auc_score(y, leakage.probe_auc(noise, y, groups)) - 0.5) < 0.15
    planted = noise.copy()
    planted[:, 0] += 2.0 * y
    assert roc_auc_score(y, leakage.probe_auc(planted, y, groups)) > 0.85


def test_probe_settings_keep_the_chapter_generator_and_the_old_one():
    assert {"strain-2 (chapter)", "strain-1 (old)"} <= set(leakage.PROBE_SETTINGS)
