"""P1's cell-line pre-processing: thresholding, dilation, boxes, the w + h < 100 rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mstl_lib.papers.p1_mstl import cell_patches

BLOBS = [  # (x, y, w, h) of dark blobs on a bright background
    (20, 20, 60, 50),   # w + h = 110: kept
    (150, 30, 70, 80),  # kept
    (40, 200, 12, 10),  # debris: dropped
    (200, 220, 15, 20),  # debris: dropped
]


def synthetic_frame(blobs=BLOBS, size=(300, 300)) -> np.ndarray:
    """Bright RGB frame with filled dark rectangles."""
    image = np.full((*size, 3), 200, dtype=np.uint8)
    for x, y, w, h in blobs:
        image[y : y + h, x : x + w] = 60
    return image


def test_pipeline_finds_the_blobs_and_drops_debris():
    segmentation = cell_patches.segment_cells(synthetic_frame())
    assert isinstance(segmentation, cell_patches.CellSegmentation)
    assert len(segmentation.all_boxes) == len(BLOBS)
    kept = segmentation.boxes
    assert len(kept) == 2
    for x, y, w, h in BLOBS[:2]:
        # the 2 x 2 dilation may grow a box by one pixel
        assert any(abs(bx - x) <= 1 and abs(by - y) <= 1 and 0 <= bw - w <= 1 and 0 <= bh - h <= 1
                   for bx, by, bw, bh in kept)
    assert segmentation.n_discarded == 2


@pytest.mark.parametrize(("w", "h", "kept"), [(50, 50, True), (49, 50, False), (60, 39, False), (60, 40, True)])
def test_size_rule_boundary(w, h, kept):
    boxes = np.array([[0, 0, w, h]])
    assert len(cell_patches.keep_boxes(boxes, 100)) == int(kept)


def test_size_rule_boundary_through_the_pipeline():
    # a 49 x 50 blob grows to 50 x 51 (w + h = 101) by the dilation; without dilation it stays 99
    frame = synthetic_frame([(50, 50, 49, 50)])
    with_dilation = cell_patches.segment_cells(frame)
    without = cell_patches.segment_cells(frame, cell_patches.SegmentationParams(dilation_size=1))
    assert without.all_boxes[:, 2:].sum() == 99 and len(without.boxes) == 0
    assert with_dilation.all_boxes[:, 2:].sum() == 101 and len(with_dilation.boxes) == 1


def test_crop_patches_returns_box_regions():
    image = np.arange(100 * 100).reshape(100, 100)
    (patch,) = cell_patches.crop_patches(image, np.array([[10, 20, 30, 5]]))
    assert patch.shape == (5, 30)
    assert patch[0, 0] == image[20, 10]


@pytest.mark.parametrize("image", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32),
                                   np.zeros((8, 8, 1), np.uint8)])
def test_to_grayscale_shapes(image):
    gray = cell_patches.to_grayscale(image)
    assert gray.shape == (8, 8) and gray.dtype == np.uint8


@pytest.mark.parametrize(("block_size", "method"), [(4, "gaussian"), (1, "mean"), (51, "median")])
def test_binarize_rejects_bad_parameters(block_size, method):
    with pytest.raises(ValueError):
        cell_patches.binarize(np.zeros((10, 10), np.uint8), block_size, method=method)


def test_annotation_check_counts_found_cells_and_empty_boxes():
    labels = np.zeros((100, 100), np.int32)
    labels[10:20, 10:20] = 1  # centroid (14.5, 14.5): inside box A
    labels[60:70, 60:70] = 2  # centroid (64.5, 64.5): in no box
    boxes = np.array([[0, 0, 30, 30], [35, 0, 20, 20]])  # A holds cell 1, the second is empty
    check = cell_patches.annotation_check(boxes, labels)
    assert check == {"annotated_cells": 2, "cells_in_a_box": 1, "boxes": 2, "boxes_without_cell": 1,
                     "cells_per_box": 1.0}


def test_write_patch_dataset_one_folder_per_line(tmp_path):
    rows = []
    for line in ("lineA", "lineB"):
        path = tmp_path / "frames" / f"{line}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(synthetic_frame()).save(path)
        rows.append({"path": str(path), "label": line})
    out = tmp_path / "patches"
    table = cell_patches.write_patch_dataset(pd.DataFrame(rows), out, max_patches_per_line=1)
    assert table.groupby("label").size().to_dict() == {"lineA": 1, "lineB": 1}
    assert all((out / line).is_dir() for line in ("lineA", "lineB"))
    assert all(Image.open(p).size[0] + Image.open(p).size[1] >= 100 for p in table["path"])
    again = cell_patches.write_patch_dataset(pd.DataFrame(rows), out, max_patches_per_line=1)
    pd.testing.assert_frame_equal(table, again)


def test_real_hela_dic_frame_check(shared_data):
    frame = np.array(Image.open(shared_data / "cells" / "hela_dic_t015.tif").convert("RGB"))
    labels = np.array(Image.open(shared_data / "cells" / "hela_dic_t015_seg.tif"))
    check = cell_patches.annotation_check(cell_patches.segment_cells(frame).boxes, labels)
    assert check["annotated_cells"] == len(np.unique(labels[labels > 0]))
    assert 0 <= check["cells_in_a_box"] <= check["annotated_cells"]
    assert 0 <= check["boxes_without_cell"] <= check["boxes"]


def test_parameter_sweep_has_one_row_per_pair():
    labels = np.zeros((300, 300), np.int32)
    labels[20:70, 20:80] = 1
    sweep = cell_patches.parameter_sweep(synthetic_frame(), labels, block_sizes=(31, 51), offsets=(2, 4, 8))
    assert len(sweep) == 6
    assert {"block_size", "offset", "cells_in_a_box", "boxes_without_cell"} <= set(sweep.columns)
    assert (sweep["cells_in_a_box"] == 1).all()


@pytest.mark.parametrize(("size", "grown"), [(1, 0), (2, 1), (3, 2)])
def test_dilate_grows_a_blob_by_size_minus_one(size, grown):
    binary = np.zeros((20, 20), bool)
    binary[5:10, 5:10] = True
    dilated = cell_patches.dilate(binary, size)
    ys, xs = np.nonzero(dilated)
    assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (5 + grown, 5 + grown)
    assert dilated[binary].all()  # dilation never removes foreground


def test_bounding_boxes_one_per_outer_contour_in_reading_order():
    mask = np.zeros((50, 50), bool)
    mask[30:40, 5:15] = True
    mask[2:6, 20:30] = True
    mask[3:5, 22:24] = False  # a hole: still one outer contour
    boxes = cell_patches.bounding_boxes(mask)
    assert boxes.tolist() == [[20, 2, 10, 4], [5, 30, 10, 10]]
    assert cell_patches.bounding_boxes(np.zeros((5, 5), bool)).shape == (0, 4)


def test_annotated_centroids():
    labels = np.zeros((10, 10), np.int32)
    labels[0:2, 0:4] = 3
    labels[5, 7] = 8
    centroids = cell_patches.annotated_centroids(labels)
    assert centroids.values.tolist() == [[3, 1.5, 0.5], [8, 7.0, 5.0]]
    assert cell_patches.annotated_centroids(np.zeros((4, 4))).empty


@pytest.mark.parametrize("dark_cells", [True, False])
def test_binarize_marks_the_cells_as_foreground(dark_cells):
    gray = cell_patches.to_grayscale(synthetic_frame([(40, 40, 60, 60)]))
    binary = cell_patches.binarize(gray, block_size=51, offset=4, dark_cells=dark_cells)
    assert binary.dtype == bool and binary.shape == gray.shape
    assert binary[45, 45] == dark_cells  # just inside the dark blob's edge
    assert binary[5, 5] == (not dark_cells)  # flat background: above the local mean minus the offset
