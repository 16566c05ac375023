"""Phantoms: deterministic, in the real layouts, and of tunable difficulty."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.measure import regionprops
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mstl_lib.data import phantoms
from mstl_lib.data.phantoms import (
    CELL_LINES,
    GENERATOR_VERSION,
    cell_phantom,
    sample_lesion_cues,
    ultrasound_phantom,
    write_cell_phantoms,
    write_phantom_data_dir,
    write_ultrasound_phantoms,
)

TINY_SCALE = {"busi": (3, 2, 1), "busi_size": 32, "ddti": (3, 3, 1), "ddti_size": 32,
              "cell_frames": 1, "cell_size": 96}


@pytest.fixture
def tiny_scale(monkeypatch):
    """A data-dir scale small enough to build several times in a test."""
    monkeypatch.setitem(phantoms.PHANTOM_SCALES, "tiny", TINY_SCALE)
    return "tiny"


def read_files(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


# --------------------------------------------------------------------------- ultrasound
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
def test_busi_layout_names_and_masks(tmp_path):
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


def test_written_phantoms_are_deterministic(tmp_path):
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


# --------------------------------------------------------------------------- cells
@pytest.mark.parametrize("line", CELL_LINES)
def test_cell_phantom_types_and_labels(line):
    image, labels = cell_phantom(np.random.default_rng(0), line, size=128)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert labels.shape == (128, 128) and np.issubdtype(labels.dtype, np.integer)
    ids = np.unique(labels[labels > 0])
    assert ids.size >= 5 and ids.min() >= 1
    assert image[labels > 0].mean() < image[labels == 0].mean()  # darker bodies
    again, _ = cell_phantom(np.random.default_rng(0), line, size=128)
    assert np.array_equal(image, again)


def morphology(line, n_frames=3, size=256):
    """Mean area, eccentricity and share of cells touching another cell."""
    rng = np.random.default_rng(3)
    areas, eccentricities, touching = [], [], []
    for _ in range(n_frames):
        _, labels = cell_phantom(rng, line, size)
        for region in regionprops(labels):
            areas.append(region.area / size**2)
            eccentricities.append(region.eccentricity)
            grown = cv2.dilate((labels == region.label).astype(np.uint8), np.ones((5, 5), np.uint8))
            neighbours = np.setdiff1d(labels[grown > 0], [0, region.label])
            touching.append(neighbours.size > 0)
    return np.mean(areas), np.mean(eccentricities), np.mean(touching)


def test_cell_lines_differ_in_morphology():
    stats = {line: morphology(line) for line in CELL_LINES}
    hela, mcf7, h1299 = (stats[line] for line in CELL_LINES)
    assert mcf7[0] < h1299[0] < hela[0]  # MCF-7 smallest, HeLa largest
    assert h1299[1] > 0.9 and h1299[1] > max(hela[1], mcf7[1]) + 0.2  # spindles
    assert mcf7[2] > 0.6 and mcf7[2] > max(hela[2], h1299[2]) + 0.3  # clusters


def test_cell_size_scales_with_frame():
    def mean_area(size):
        _, labels = cell_phantom(np.random.default_rng(0), "phantom-HeLa", size)
        return np.bincount(labels.ravel())[1:].mean() / size**2

    assert mean_area(128) == pytest.approx(mean_area(512), rel=0.35)


def test_write_cell_phantoms_layout(tmp_path):
    out = write_cell_phantoms(tmp_path / "cells", n_frames_per_line=2, size=96, seed=0)
    names = ["frame_001.png", "frame_002.png"]
    assert set(read_files(out)) == {f"{line}/{name}" for line in CELL_LINES for name in names}
    # label images sit beside the frames' folder, out of a folder loader's way
    assert set(read_files(tmp_path / "cells_labels")) == set(read_files(out))
    labels = np.asarray(Image.open(tmp_path / "cells_labels" / CELL_LINES[0] / "frame_001.png"))
    assert labels.shape == (96, 96) and labels.max() >= 5


def test_write_cell_phantoms_custom_labels_dir(tmp_path):
    write_cell_phantoms(tmp_path / "frames", 1, size=64, labels_dir=tmp_path / "masks")
    assert len(list((tmp_path / "masks").rglob("*.png"))) == len(CELL_LINES)


# --------------------------------------------------------------------------- data dir
def test_phantom_data_dir_is_complete_and_idempotent(tmp_path, tiny_scale):
    out = write_phantom_data_dir(tmp_path / "data", seed=3, scale=tiny_scale)
    assert {p.name for p in out.iterdir()} == {
        "busi", "ddti", "cells", "cells_labels", "PHANTOM.md", "phantom.json"
    }
    params = json.loads((out / "phantom.json").read_text())
    assert params["seed"] == 3 and params["generator_version"] == GENERATOR_VERSION
    assert "synthetic" in (out / "PHANTOM.md").read_text()
    assert len(list((out / "busi" / "benign").glob("* (?).png"))) == 3

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert write_phantom_data_dir(out, seed=3, scale=tiny_scale) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # untouched

    files_seed_3 = read_files(out)
    write_phantom_data_dir(out, seed=4, scale=tiny_scale)  # other parameters: rebuilt
    assert json.loads((out / "phantom.json").read_text())["seed"] == 4
    assert read_files(out) != files_seed_3
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no staging left behind


def test_phantom_data_dir_refuses_a_foreign_folder(tmp_path, tiny_scale):
    (tmp_path / "notes.txt").write_text("real data")
    with pytest.raises(FileExistsError):
        write_phantom_data_dir(tmp_path, scale=tiny_scale)
    with pytest.raises(ValueError, match="scale"):
        write_phantom_data_dir(tmp_path / "x", scale="huge")


def test_small_scale_mimics_the_real_layout(tmp_path):
    out = write_phantom_data_dir(tmp_path / "data", scale="small")
    assert len(list((out / "busi" / "benign").glob("*_mask.png"))) == 24
    assert len(list((out / "busi" / "malignant").glob("*_mask.png"))) == 12
    assert (out / "ddti" / "label.txt").is_file()
    assert {p.name for p in (out / "cells").iterdir()} == set(CELL_LINES)
