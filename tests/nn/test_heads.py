"""Classification heads on a backbone feature map."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.classifier import build_classifier
from mstl_lib.nn.heads import gap_dense_head, mlp_head, p4_head


@pytest.mark.parametrize(
    ("head", "out_shape", "softmax"),
    [(gap_dense_head(3), (2, 3), True), (mlp_head(), (2, 1), False), (p4_head(), (2, 2), True)],
    ids=["gap_dense", "mlp", "p4"],
)
def test_heads_output_shapes_and_ranges(random_images, head, out_shape, softmax):
    model, _ = build_classifier("VGG16", (32, 32, 3), head, weights=None)
    out = model.predict(random_images(2, (32, 32, 3)), verbose=0)
    assert out.shape == out_shape
    assert np.isfinite(out).all() and ((out >= 0) & (out <= 1)).all()  # probabilities
    if softmax:
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
