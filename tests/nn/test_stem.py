"""The four-channel stem: grey B-mode first, its filter the mean of the pretrained RGB filters."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.stem import GREY_CHANNEL, four_channel_kernel


def test_grey_first_is_the_mean_and_rgb_are_kept():
    kernel = np.random.default_rng(0).standard_normal((7, 7, 3, 8)).astype("float32")
    wide = four_channel_kernel(kernel)
    assert GREY_CHANNEL == 0 and wide.shape == (7, 7, 4, 8) and wide.dtype == kernel.dtype
    np.testing.assert_array_equal(wide[:, :, 1:], kernel)
    np.testing.assert_allclose(wide[:, :, 0], kernel.mean(axis=2), rtol=1e-6)


def test_response_is_the_strain_stem_plus_a_third_of_grey_as_rgb():
    """conv4([g, r, gg, b]) = conv3([r, gg, b]) + conv3([g, g, g]) / 3 (biases aside): the stated rule."""
    import keras

    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((3, 3, 3, 5)).astype("float32")
    grey = rng.random((2, 9, 9, 1), dtype="float32")
    strain = rng.random((2, 9, 9, 3), dtype="float32")

    def conv(x, k):
        return np.asarray(keras.ops.conv(x, k, padding="valid"))

    stacked = np.concatenate([grey, strain], axis=-1)
    expected = conv(strain, kernel) + conv(np.repeat(grey, 3, axis=-1), kernel) / 3
    np.testing.assert_allclose(conv(stacked, four_channel_kernel(kernel)), expected, rtol=1e-4, atol=1e-4)


def test_rejects_kernels_that_are_not_rgb():
    with pytest.raises(ValueError, match=r"\(kh, kw, 3, filters\)"):
        four_channel_kernel(np.zeros((3, 3, 4, 2)))
