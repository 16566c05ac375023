"""Ultrasound phantoms: deterministic, in the BUSI and DDTI layouts, and of tunable difficulty."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mstl_lib.data.phantoms import (
    sample_lesion_cues,
    ultrasound_phantom,
    write_ultrasound_phantoms,
)


# --------------------------------------------------------------------------- phantom
@pytest.mark.parametrize("malignant", [False, True])
@pytest.mark.parametrize("size", [32, 64, 97])
def test_ultrasound_phantom_types_and_shapes(malignant, size):
    image, mask = ultrasound_phantom(np.random.default_rng(0), malignant, size)
    assert image.shape == mask.shape == (size, size)
    assert image.dtype == np.uint8 and mask.dtype == bool
    assert 0.01 < mask.mean() < 0.5  # one lesion, neither a dot nor the frame
    assert image[mask].mean() < image[~mask].mean()  # hypoechoic


def test_ultrasound_phantom_is_deterministic_under_a_seed():
    def draw(seed):
        return ultrasound_phantom(np.random.default_rng(seed), True, 64)

    (a, mask_a), (b, mask_b), (c, _) = draw(1), draw(1), draw(2)
    assert np.array_equal(a, b) and np.array_equal(mask_a, mask_b)
    assert not np.array_equal(a, c)


def test_overlap_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        ultrasound_phantom(np.random.default_rng(0), True, 32, overlap=1.5)


def test_cues_follow_bi_rads_at_zero_overlap():
    rng = np.random.default_rng(0)
    benign = [sample_lesion_cues(rng, False, 0.0) for _ in range(50)]
    malignant = [sample_lesion_cues(rng, True, 0.0) for _ in range(50)]
    assert max(c.aspect for c in benign) < 1 < min(c.aspect for c in malignant) * 1.25
    assert all(c.posterior > 0 for c in benign) and all(c.posterior < 0 for c in malignant)
    assert all(c.spiculation == 0 for c in benign) and all(c.spiculation > 0 for c in malignant)


def roi_features(image, mask, out=(12, 16)):
    """Pixels of a window around the lesion (from its mask) and below it, downsampled."""
    size = image.shape[0]
    ys, xs = np.nonzero(mask)
    top, left = int(ys.mean() - 0.3 * size) + size, int(xs.mean() - 0.3 * size) + size
    window = np.pad(image, size)[top : top + int(0.8 * size), left : left + int(0.6 * size)]
    return cv2.resize(window, out, interpolation=cv2.INTER_AREA).ravel() / 255


def cross_validated_scores(overlap, n=200, size=64, seed=0):
    """AUC and accuracy of a logistic regression on lesion windows, 5-fold CV."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    features = np.stack([roi_features(*ultrasound_phantom(rng, bool(t), size, overlap)) for t in y])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(model, features, y, cv=folds, method="predict_proba")[:, 1]
    return roc_auc_score(y, p), accuracy_score(y, p > 0.5)


@pytest.mark.parametrize(
    ("overlap", "low", "high"),
    [
        (0.0, 0.95, 1.0),  # separable
        (0.35, 0.65, 0.97),  # the default: learnable, not trivial
        (1.0, 0.35, 0.67),  # indistinguishable: chance
    ],
)
def test_classifier_difficulty_follows_overlap(overlap, low, high):
    auc, accuracy = cross_validated_scores(overlap)
    assert low <= auc <= high, (overlap, auc, accuracy)
    assert low - 0.05 <= accuracy <= high, (overlap, auc, accuracy)


# --------------------------------------------------------------------------- writers
def test_busi_layout_names_and_masks(tmp_path, read_files):
    out = write_ultrasound_phantoms(tmp_path / "busi", 3, 2, 2, size=32, seed=0)
    expected = {
        f"{cls}/{cls} ({n}){suffix}.png"
        for cls, count in [("benign", 3), ("malignant", 2), ("normal", 2)]
        for n in range(1, count + 1)
        for suffix in ("", "_mask")
    }
    assert set(read_files(out)) == expected
    for cls in ("benign", "malignant", "normal"):
        mask = np.asarray(Image.open(out / cls / f"{cls} (1)_mask.png"))
        assert set(np.unique(mask)) <= {0, 255}
        assert mask.any() == (cls != "normal")
        assert np.asarray(Image.open(out / cls / f"{cls} (1).png")).shape == (32, 32)


def test_written_phantoms_are_deterministic(tmp_path, read_files):
    def write(name, seed):
        return read_files(write_ultrasound_phantoms(tmp_path / name, 2, 2, 1, size=32, seed=seed))

    assert write("a", 7) == write("b", 7)
    assert write("a", 7) != write("c", 8)


def test_ddti_layout_and_labels(tmp_path):
    out = write_ultrasound_phantoms(tmp_path / "ddti", 12, 14, 3, size=32, seed=1, layout="ddti")
    lines = [line.split(",") for line in (out / "label.txt").read_text().splitlines()]
    assert len(lines) == 12 + 14 + 3 and all(len(fields) == 9 for fields in lines)
    ids = [fields[0] for fields in lines]
    assert all(re.fullmatch(r"\d+_\d", image_id) for image_id in ids)
    images = {p.name[: -len(".a.jpg")] for p in out.glob("*.a.jpg")}
    masks = {p.name[: -len(".b.jpg")] for p in out.glob("*.b.jpg")}
    assert images == masks == set(ids)
    tirads = [fields[6] for fields in lines]
    assert sum(t in {"2", "3"} for t in tirads) == 12
    assert sum(t in {"4a", "4b", "4c", "5"} for t in tirads) == 14
    assert tirads.count("None") == 3
    assert any(image_id.endswith("_2") for image_id in ids)  # some cases have two images
    folders = {fields[1] for fields in lines if fields[6] in {"2", "3"}}
    assert folders == {"bening"}


def test_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ValueError, match="layout"):
        write_ultrasound_phantoms(tmp_path, 1, 1, layout="breakhis")


@pytest.mark.parametrize(("shape", "sigma"), [((64, 64), 12.0), ((16, 40), (0.0, 9.0)), ((12, 12), 5.0),
                                              ((32, 32), 1.5), ((1, 50), (0, 20.0))])
def test_wrapped_gaussian_equals_scipy_wrap_filter(shape, sigma):
    from scipy import ndimage

    from mstl_lib.data.phantoms.ultrasound import wrapped_gaussian

    field = np.random.default_rng(0).standard_normal(shape)
    expected = ndimage.gaussian_filter(field, sigma, mode="wrap")
    assert np.allclose(wrapped_gaussian(field, sigma), expected, rtol=0, atol=1e-12)
