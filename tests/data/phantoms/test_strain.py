"""The strain-elastography simulator: the drawn ratio survives, the ellipse keeps the mask's moments, it is seeded."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from mstl_lib.data.phantoms import strain

OFF = strain.StrainSettings(texture=0.0, blur=0.0, noise=0.0)


def _mask(shape=(96, 128), centre=(40, 70), axes=(22, 10), angle=0.5):
    return strain.ellipse_mask(shape, (*centre, *axes, angle))


@pytest.mark.parametrize("ratio", [0.4, 1.0, 3.3, 12.0])
def test_background_to_lesion_strain_ratio_equals_the_drawn_ratio(ratio):
    bmode = np.random.default_rng(0).random((96, 128))
    out = strain.strain_image(bmode, _mask(), ratio, np.random.default_rng(1), OFF)
    assert strain.strain_ratio(out["strain"], out["lesion"], out["roi"]) == pytest.approx(ratio, rel=1e-9)


def test_noise_and_texture_move_the_ratio_only_a_little_and_blur_keeps_its_order():
    bmode = np.zeros((96, 128))
    out = strain.strain_image(bmode, _mask(), 4.0, np.random.default_rng(1), replace(strain.StrainSettings(), blur=0))
    assert strain.strain_ratio(out["strain"], out["lesion"], out["roi"]) == pytest.approx(4.0, rel=0.3)
    read = [strain.strain_ratio(**{k: o[k] for k in ("strain", "lesion", "roi")})
            for o in (strain.strain_image(bmode, _mask(), r, np.random.default_rng(1)) for r in (1.5, 3.0, 6.0))]
    assert read[0] < read[1] < read[2]  # the blur shrinks the reading, monotonically


def _crop(out, size=32):
    top, bottom, left, right = out["roi"]
    return cv2.resize(np.ascontiguousarray(out["rgb"][top:bottom, left:right]), (size, size),
                      interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize(("settings", "same"), [(strain.StrainSettings(), True), (strain.LEGACY, False)])
def test_the_lesion_crop_carries_the_ratio_and_no_lesion_geometry_or_bmode(settings, same):
    """strain-2: two lesions of other size, aspect, tilt and place, one ratio -> one crop; strain-1 leaked them."""
    settings = replace(settings, texture=0.0, noise=0.0)
    bmode = np.random.default_rng(0).random((128, 128))
    small = _mask((128, 128), (30, 30), (8, 6), 0.0)
    large = _mask((128, 128), (75, 70), (34, 14), 1.2)
    a, b = (_crop(strain.strain_image(bmode, m, 3.0, np.random.default_rng(1), settings)) for m in (small, large))
    gap = float(np.abs(a - b).mean())
    assert (gap < 0.01) if same else (gap > 0.05)
    if same:  # and the ratio still shows: a softer lesion is greener (nearer mid-scale)
        c = _crop(strain.strain_image(bmode, small, 1.5, np.random.default_rng(1), settings))
        assert c[12:20, 12:20, 1].mean() > a[12:20, 12:20, 1].mean() + 0.3


def test_same_seed_same_image_other_seed_other_image():
    bmode, mask = np.random.default_rng(0).random((64, 64)), _mask((64, 64), (30, 30), (12, 8), 0.2)
    a = strain.strain_image(bmode, mask, 3.0, np.random.default_rng(5))["rgb"]
    b = strain.strain_image(bmode, mask, 3.0, np.random.default_rng(5))["rgb"]
    c = strain.strain_image(bmode, mask, 3.0, np.random.default_rng(6))["rgb"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_ellipse_has_the_masks_centroid_area_and_orientation_not_its_outline():
    mask = np.zeros((80, 80), dtype=bool)
    mask[20:40, 10:60] = True  # a wide rectangle
    mask[40:45, 30:35] = True  # with a bump
    cy, cx, a, b, theta = strain.lesion_ellipse(mask)
    ys, xs = np.nonzero(mask)
    assert (cy, cx) == pytest.approx((ys.mean(), xs.mean()))
    assert np.pi * a * b == pytest.approx(mask.sum())
    assert a > b and abs(np.sin(theta)) < 0.2  # major axis along the columns
    drawn = strain.ellipse_mask(mask.shape, (cy, cx, a, b, theta))
    assert abs(int(drawn.sum()) - int(mask.sum())) < 0.05 * mask.sum()
    assert not np.array_equal(drawn, mask)


def test_display_hard_is_blue_softer_is_redder_and_grey_outside_the_roi():
    jet = strain.jet
    bmode = np.full((96, 128), 0.3)
    out = strain.strain_image(bmode, _mask(), 6.0, np.random.default_rng(0), OFF)
    rgb, lesion = out["rgb"], out["lesion"]
    assert rgb[lesion][:, 2].mean() > rgb[lesion][:, 0].mean()  # stiff lesion: blue
    top, bottom, left, right = out["roi"]
    inside = np.zeros(lesion.shape, bool)
    inside[top:bottom, left:right] = True
    soft = rgb[inside & ~lesion]
    hard = rgb[lesion]
    assert soft[:, 0].mean() - soft[:, 2].mean() > hard[:, 0].mean() - hard[:, 2].mean()  # softer: redder
    np.testing.assert_allclose(soft, jet(np.array(0.5)) * np.ones_like(soft), atol=1e-6)  # background: mid-scale
    np.testing.assert_allclose(rgb[~inside], 0.3)


def test_separation_zero_is_one_class_independent_distribution():
    dists = strain.class_distributions([1.0, 2.0, 3.0], [5.0, 8.0, 13.0], separation=0.0)
    assert dists[0] == dists[1]
    fitted = strain.class_distributions([1.0, 2.0, 3.0], [5.0, 8.0, 13.0], separation=1.0)
    assert fitted[0].mu == pytest.approx(np.log([1.0, 2.0, 3.0]).mean())
    assert fitted[1].mu > fitted[0].mu and fitted[0].sigma == fitted[1].sigma


def test_draw_ratios_follow_the_class():
    dists = {0: strain.LogNormal(0.0, 0.1), 1: strain.LogNormal(2.0, 0.1)}
    drawn = strain.draw_ratios([0, 1, 0, 1], dists, np.random.default_rng(0))
    assert (drawn[[1, 3]] > 5).all() and (drawn[[0, 2]] < 2).all()


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="empty"):
        strain.lesion_ellipse(np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match="positive"):
        strain.strain_image(np.zeros((8, 8)), np.ones((8, 8), bool), 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="separation"):
        strain.class_distributions([1, 2], [3, 4], separation=-1)
