"""Cell-line phantoms: labelled frames whose lines differ in morphology, written one folder per line."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.measure import regionprops

from mstl_lib.data.phantoms import CELL_LINES, cell_phantom, write_cell_phantoms


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


def test_write_cell_phantoms_layout(tmp_path, read_files):
    out = write_cell_phantoms(tmp_path / "cells", n_frames_per_line=2, size=96, seed=0)
    names = ["frame_001.png", "frame_002.png"]
    assert set(read_files(out)) == {f"{line}/{name}" for line in CELL_LINES for name in names}
    # label images sit beside the frames' folder, out of a folder loader's way
    assert set(read_files(tmp_path / "cells_labels")) == set(read_files(out))
    labels = np.asarray(Image.open(tmp_path / "cells_labels" / CELL_LINES[0] / "frame_001.png"))
    assert labels.shape == (96, 96) and labels.max() >= 5


def test_write_cell_phantoms_custom_labels_dir(tmp_path, read_files):
    write_cell_phantoms(tmp_path / "frames", 1, size=64, labels_dir=tmp_path / "masks")
    expected = {f"{line}/frame_001.png" for line in CELL_LINES}
    assert set(read_files(tmp_path / "masks")) == set(read_files(tmp_path / "frames")) == expected
    assert not (tmp_path / "frames_labels").exists()
