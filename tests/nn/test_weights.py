"""Weight resolution: random on request, ImageNet with a helpful error or fallback offline, files."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import weights as nn_weights
from mstl_lib.nn.backbones import BACKBONES, build_backbone
from mstl_lib.nn.classifier import build_classifier, count_layers
from mstl_lib.nn.heads import gap_dense_head
from mstl_lib.nn.weights import (
    WeightsUnavailableError,
    imagenet_weights_available,
    resolve_weights,
)


@pytest.mark.parametrize("request_", [None, "none", "Random"])
def test_random_weights_requested(request_):
    keras_weights, info = resolve_weights(request_, "VGG16")
    assert keras_weights is None and info.used == "random"


def test_explicit_imagenet_offline_raises_helpfully():
    if imagenet_weights_available("VGG16", timeout=2.0)[0]:
        pytest.skip("ImageNet weights are available here")
    with pytest.raises(WeightsUnavailableError) as caught:
        build_backbone("VGG16", (32, 32, 3), weights="imagenet", timeout=2.0)
    message = str(caught.value)
    assert BACKBONES["VGG16"].weights_url in message
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "KERAS_HOME" in message


def test_auto_falls_back_to_random_with_reason():
    if imagenet_weights_available("VGG16", timeout=2.0)[0]:
        pytest.skip("ImageNet weights are available here")
    backbone, info = build_backbone("VGG16", (32, 32, 3), weights="auto", timeout=2.0)
    assert info.requested == "auto" and info.used == "random"
    assert info.detail.startswith("ImageNet weights unavailable:")
    assert count_layers(backbone) == 19


def test_auto_falls_back_when_download_fails(monkeypatch):
    """The host seems reachable but the download itself fails (offline here)."""
    if imagenet_weights_available("VGG16", timeout=2.0)[0]:
        pytest.skip("ImageNet weights are available here")
    monkeypatch.setattr(nn_weights, "_host_reachable", lambda url, timeout: (True, "pretend reachable"))
    _, info = build_backbone("VGG16", (32, 32, 3), weights="auto")
    assert info.used == "random" and "download failed" in info.detail
    with pytest.raises(WeightsUnavailableError, match="download failed"):
        build_backbone("VGG16", (32, 32, 3), weights="imagenet")


def test_weights_file_round_trip(tmp_path):
    original, _ = build_backbone("VGG16", (32, 32, 3), weights=None)
    path = tmp_path / "vgg16_backbone.weights.h5"
    original.save_weights(path)

    loaded, info = build_backbone("VGG16", (32, 32, 3), weights=str(path))
    assert info.used == "file" and info.source == str(path.resolve())
    for a, b in zip(original.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    model, info = build_classifier("vgg16", (32, 32, 3), gap_dense_head(2), weights=path)
    assert info.used == "file"
    np.testing.assert_array_equal(model.get_layer("backbone").get_weights()[0], original.get_weights()[0])


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        build_backbone("VGG16", (32, 32, 3), weights=str(missing))
