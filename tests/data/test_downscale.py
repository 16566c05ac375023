"""The downscaled BUSI copy, made from a full-size release."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mstl_lib.data.busi import load_busi
from mstl_lib.data.downscale import downscale_busi, downscaled_size
from mstl_lib.data.registry import DatasetLayoutError
from dataset_trees import busi_tree, write_image


@pytest.mark.parametrize(("size", "max_side", "expected"), [
    ((640, 480), 320, (320, 240)), ((480, 640), 320, (240, 320)), ((300, 200), 320, (300, 200)),
    ((1000, 3), 100, (100, 1)),
])
def test_the_longest_side_becomes_max_side_and_smaller_images_stay(size, max_side, expected):
    assert downscaled_size(size, max_side) == expected


def test_the_copy_keeps_names_modes_and_binary_masks_and_still_loads(tmp_path):
    source = busi_tree(tmp_path / "full")
    for label in ("benign", "malignant"):  # one full-size image with its mask per class
        write_image(source / label / f"{label} (1).png", size=(64, 90), mode="RGB")
        write_image(source / label / f"{label} (1)_mask.png", size=(64, 90), mode="1", lesion=True)
    result = downscale_busi(source, tmp_path / "busi", max_side=30)
    assert result == {"files": {"benign": 8, "malignant": 4, "normal": 2}, "resized": 4}
    for label in ("benign", "malignant"):
        with Image.open(tmp_path / "busi" / label / f"{label} (1).png") as image:
            assert image.size == (30, 21) and image.mode == "RGB"
        with Image.open(tmp_path / "busi" / label / f"{label} (1)_mask.png") as mask:
            assert mask.size == (30, 21) and mask.mode == "1"
            assert set(np.unique(np.asarray(mask.convert("L")))) == {0, 255}  # nearest: still a mask
    small = source / "normal" / "normal (1).png"
    assert (tmp_path / "busi" / "normal" / small.name).read_bytes() == small.read_bytes()
    before, after = load_busi(source, include_normal=True), load_busi(tmp_path / "busi", include_normal=True)
    assert list(after["image_id"]) == list(before["image_id"]) and list(after["n_masks"]) == list(before["n_masks"])


def test_a_missing_class_folder_shows_the_layout_and_nothing_is_overwritten(tmp_path):
    source = busi_tree(tmp_path / "full")
    (tmp_path / "busi").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        downscale_busi(source, tmp_path / "busi")
    for path in (source / "normal").iterdir():
        path.unlink()
    (source / "normal").rmdir()
    with pytest.raises(DatasetLayoutError, match="normal missing; expected layout"):
        downscale_busi(source, tmp_path / "other")
