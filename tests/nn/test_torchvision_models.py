"""torchvision's AlexNet, ResNet-18 and SqueezeNet 1.0 in Keras: sizes, layouts and the pieces PyTorch defines."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import torchvision_models as tvm
from mstl_lib.nn.backbones import BackbonePreprocessing, build_backbone, preprocess_for

# torchvision's published parameter counts (BN moving statistics are not parameters there)
TORCHVISION_PARAMETERS = {"AlexNet": 61_100_840, "ResNet18": 11_689_512, "SqueezeNet": 1_248_424}


def _n_trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("arch", list(tvm.ARCHITECTURES))
def test_parameter_counts_equal_torchvision(arch):
    side = tvm.MIN_SIZE[arch]  # the count does not depend on the input size
    model = tvm.ARCHITECTURES[arch](include_top=True, input_shape=(side, side, 3), classes=1000)
    assert _n_trainable(model) == TORCHVISION_PARAMETERS[arch]
    assert model.output_shape == (None, 1000)


@pytest.mark.parametrize(("arch", "width"), [("AlexNet", 4096), ("ResNet18", 512)])
def test_penultimate_widths_are_p3s(arch, width):
    """P3: AlexNet gives 4,096 features, ResNet-18 512; 4,608 together."""
    backbone, _ = build_backbone(arch, (64, 64, 4), weights=None, pooling="avg")
    assert backbone.output_shape == (None, width) == (None, tvm.PENULTIMATE_WIDTH[arch])


def _adaptive_average_loop(x, out):
    """PyTorch's definition, written out: one mean per bin."""
    n, h, w, c = x.shape
    result = np.zeros((n, out, out, c), dtype="float64")
    for i, (r0, r1) in enumerate(tvm.adaptive_bins(h, out)):
        for j, (c0, c1) in enumerate(tvm.adaptive_bins(w, out)):
            result[:, i, j] = x[:, r0:r1, c0:c1].mean(axis=(1, 2))
    return result


@pytest.mark.parametrize(("h", "w"), [(1, 1), (3, 5), (6, 6), (7, 13), (15, 15)])
def test_adaptive_average_pool_matches_pytorch_bins(h, w):
    x = np.random.default_rng(h * w).normal(size=(2, h, w, 3)).astype("float32")
    pooled = np.asarray(tvm.AdaptiveAveragePooling2D((6, 6))(x))
    np.testing.assert_allclose(pooled, _adaptive_average_loop(x, 6), rtol=1e-5, atol=1e-6)


def test_adaptive_bins_are_pytorchs():
    assert tvm.adaptive_bins(6, 6) == [(i, i + 1) for i in range(6)]
    assert tvm.adaptive_bins(1, 6) == [(0, 1)] * 6
    # PyTorch: start = floor(i*13/6), end = ceil((i+1)*13/6)
    assert tvm.adaptive_bins(13, 6) == [(0, 3), (2, 5), (4, 7), (6, 9), (8, 11), (10, 13)]


@pytest.mark.parametrize(("side", "expected"), [(224, (13, 13)), (64, (3, 3)), (32, (1, 1))])
def test_squeezenet_ceil_mode_feature_sizes(side, expected):
    """torchvision's squeezenet1_0 features at 224 px are 13x13 (ceil_mode pooling; floor would give 12)."""
    model = tvm.SqueezeNet(include_top=False, input_shape=(side, side, 3))
    assert model.output_shape[1:3] == expected and model.output_shape[-1] == 512


@pytest.mark.parametrize(("side", "expected"), [(224, 7), (63, 2)])
def test_resnet18_feature_sizes(side, expected):
    model = tvm.ResNet18(include_top=False, input_shape=(side, side, 3))
    assert model.output_shape == (None, expected, expected, 512)


def test_alexnet_input_size_limits():
    model = tvm.AlexNet(include_top=False, input_shape=(63, 63, 3))
    assert model.get_layer("features_12").output.shape[1:3] == (1, 1)
    assert model.get_layer("avgpool").output.shape[1:] == (6, 6, 256)
    with pytest.raises(ValueError, match="at least 63x63"):
        tvm.AlexNet(include_top=False, input_shape=(62, 62, 3))
    with pytest.raises(ValueError, match="3 or 4 channels"):
        tvm.AlexNet(include_top=False, input_shape=(64, 64, 2))


def test_n_layers_through_names_torchvisions_children():
    model = tvm.ResNet18(include_top=False, input_shape=(32, 32, 3))
    n = tvm.n_layers_through(model, "maxpool")
    assert [layer.name for layer in model.layers[:n]][-4:] == ["bn1", "relu", "maxpool_pad", "maxpool"]
    assert "conv1" in [layer.name for layer in model.layers[:n]]
    assert model.layers[n].name.startswith("layer1_0")
    with pytest.raises(ValueError, match="no layer"):
        tvm.n_layers_through(model, "layer9")


@pytest.mark.parametrize("channels", [3, 4])
def test_torch_preprocessing_layer_matches_function(random_images, channels):
    x = random_images(2, (8, 8, channels))
    layer = BackbonePreprocessing("ResNet18")
    expected = preprocess_for("ResNet18")(x)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)
    mean, std = tvm.normalisation_constants(channels)
    np.testing.assert_allclose(expected[..., -3:], (x[..., -3:] - tvm.IMAGENET_MEAN) / tvm.IMAGENET_STD,
                               rtol=1e-5, atol=1e-5)
    if channels == 4:  # grey first, with the mean ImageNet constants
        np.testing.assert_allclose(expected[..., 0], (x[..., 0] - mean[0]) / std[0], rtol=1e-5, atol=1e-5)
        assert mean[0] == pytest.approx(0.449, abs=1e-3) and std[0] == pytest.approx(0.226, abs=1e-3)


@pytest.mark.parametrize(("arch", "last_frozen"), [("ResNet18", "maxpool"), ("ResNet18", "layer2_1"),
                                                   ("AlexNet", "features_12")])
def test_p3s_freezing_points_split_through_the_freeze_cache(random_images, arch, last_frozen):
    """P3's freezing points cut cleanly: prefix then suffix computes the classifier."""
    from mstl_lib.nn.classifier import build_classifier
    from mstl_lib.nn.freeze_cache import split_classifier
    from mstl_lib.nn.heads import gap_dense_head

    side = tvm.MIN_SIZE[arch] + 1
    model, _ = build_classifier(arch, (side, side, 4), gap_dense_head(2), weights=None)
    n_frozen = tvm.n_layers_through(model.get_layer("backbone"), last_frozen)
    split = split_classifier(model, n_frozen)
    x = random_images(2, (side, side, 4))
    np.testing.assert_allclose(split.suffix(split.prefix(x)), model(x, training=False), rtol=1e-5, atol=1e-6)
    if arch == "AlexNet":  # the convolutions are frozen, the fully connected layers train
        assert split.boundary_shapes == [(1, 1, 256)]  # pool5 of a 64 px image; fc6 and fc7 are in the suffix
        assert {"classifier_1", "classifier_4"} <= {layer.name for layer in split.suffix.layers}
