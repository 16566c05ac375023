"""The burned-in annotation mask: colour, small bright marks and the border go; tissue stays."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.data import annotations

RULES = {"max_component": 0.005}  # the 100 px test image's marks are larger shares than on a real scan


def _scan(size=100):
    rng = np.random.default_rng(0)
    grey = 0.3 + 0.1 * rng.random((size, size))
    grey[40:70, 40:70] = 0.97            # a large bright region: tissue, kept
    grey[15:18, 20:30] = 1.0             # a small white mark: text, masked
    grey[80, 10:16], grey[77:83, 13] = 1.0, 1.0  # a caliper cross, masked
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    rgb[20:35, 85:90] = [0.9, 0.2, 0.1]  # a colour bar, masked
    return rgb


def test_mask_takes_colour_small_bright_marks_and_the_border_not_tissue():
    mask = annotations.annotation_mask(_scan(), dilate=0, **RULES)
    assert mask[16, 25] and mask[80, 12] and mask[30, 87]
    assert mask[0, 50] and mask[99, 50] and mask[50, 0] and mask[50, 99]  # 3 % border bands
    assert not mask[55, 55].any() and not mask[50:60, 10:30].any()  # bright tissue and speckle stay
    assert mask[3:97, 3:97].mean() < 0.05


def test_grey_input_uses_the_bright_and_border_rules_and_dilation_grows_the_mask():
    grey = _scan()[..., 0]
    mask = annotations.annotation_mask(grey, dilate=0, **RULES)
    assert mask[16, 25] and not mask[30, 87]  # no colour in a grey image
    assert annotations.annotation_mask(grey, dilate=1, **RULES).sum() > mask.sum()


def test_mask_annotations_fills_a_copy():
    rgb = _scan()
    out = annotations.mask_annotations(rgb, fill=0.0, **RULES)
    assert (out[16, 25] == 0).all() and rgb[16, 25, 0] == 1.0
    with pytest.raises(ValueError, match="image must be"):
        annotations.annotation_mask(np.zeros((4, 4, 2)))
