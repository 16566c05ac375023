"""Every registered backbone builds, predicts and trains at its smallest input (the backbone contract).

One parametrised test over :data:`mstl_lib.nn.backbones.BACKBONES`: a backbone
added to the registry (e.g. with ``register_backbone``) is checked with no
change here. Each build takes a few seconds at the minimum input size, so none
is marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.backbones import BACKBONES, EXPECTED_LAYER_COUNTS, backbone_spec
from mstl_lib.nn.classifier import build_classifier, count_layers
from mstl_lib.nn.heads import gap_dense_head

# Channels of the backbone's last feature map (include_top=False), where known.
FEATURE_CHANNELS = {
    "ResNet50": 2048,
    "ResNet101": 2048,
    "InceptionV3": 2048,
    "EfficientNetB2": 1408,
    "VGG16": 512,
    "VGG19": 512,
    "AlexNet": 4096,  # fc7, as a 1x1 map (torchvision_models' docstring)
    "ResNet18": 512,
    "SqueezeNet": 512,
}

# Every (backbone, channels) pair the registry accepts: 4 = grey B-mode + RGB strain.
CASES = [(name, channels) for name, spec in BACKBONES.items() for channels in spec.channels]


@pytest.mark.parametrize(("name", "channels"), CASES, ids=[f"{n}-{c}ch" for n, c in CASES])
def test_backbone_builds_predicts_and_has_gradients(tf, random_images, name, channels):
    import keras

    side = backbone_spec(name).min_size
    shape = (side, side, channels)
    model, info = build_classifier(name, shape, gap_dense_head(2), weights=None)
    assert info.used == "random"
    backbone = model.get_layer("backbone")
    if name in EXPECTED_LAYER_COUNTS and channels == 3:
        assert count_layers(backbone) == EXPECTED_LAYER_COUNTS[name]

    x = random_images(2, shape)
    features = backbone(model.get_layer("preprocessing")(x), training=False)
    assert features.shape[0] == 2 and np.isfinite(features.numpy()).all()
    if name in FEATURE_CHANNELS:
        assert features.shape[-1] == FEATURE_CHANNELS[name]

    # forward pass: two rows of class probabilities
    with tf.GradientTape() as tape:
        probabilities = model(x, training=False)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(np.array([0, 1]), probabilities))
    p = probabilities.numpy()
    assert p.shape == (2, 2)
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)

    # backward pass: every trainable weight gets a finite gradient, and some are non-zero
    weights = model.trainable_weights
    grads = tape.gradient(loss, weights)
    assert len(weights) > 2  # more than the head's kernel and bias
    missing = [w.path for w, g in zip(weights, grads, strict=True) if g is None]
    assert not missing, f"no gradient for {missing[:5]}"
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    backbone_ids = {id(w) for w in backbone.trainable_weights}
    assert any(np.abs(g.numpy()).max() > 0 for w, g in zip(weights, grads, strict=True) if id(w) in backbone_ids)
