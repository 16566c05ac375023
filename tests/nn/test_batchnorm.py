"""Settled BatchNorm: after settling, each layer's moving statistics are those of its inputs."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.batchnorm import (
    batchnorm_layers,
    frozen_batchnorm_layers,
    input_statistics,
    settle_batchnorm,
    trainable_batchnorm_layers,
)


def small_net(keras, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(5, 3, padding="same")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture
def trained(tf):
    """A net trained briefly with Keras' default momentum, on data far from N(0, 1)."""
    import keras

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 8, 8, 3)) * 5 + 3).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 3).astype("float32")
    model = small_net(keras)
    model.compile("sgd", "binary_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model, x


def mismatch(model, x):
    """Largest relative gap between a layer's moving statistics and its inputs' statistics."""
    gaps = []
    for layer in batchnorm_layers(model):
        mean, variance = input_statistics(model, layer, x)
        gaps.append(np.max(np.abs(np.asarray(layer.moving_mean) - mean) / (np.sqrt(variance) + 1e-6)))
        gaps.append(np.max(np.abs(np.asarray(layer.moving_variance) / variance - 1)))
    return max(gaps)


def test_short_training_leaves_the_statistics_off(trained):
    model, x = trained
    assert mismatch(model, x) > 0.5  # what the old code evaluated with


def test_settled_statistics_equal_the_inputs_statistics(trained):
    model, x = trained
    weights = [w.copy() for w in model.get_weights() if w.ndim > 1]
    report = settle_batchnorm(model, x, max_batch_images=64)
    assert report.exact and report.n_layers == 2 and report.n_images == 64
    assert mismatch(model, x) < 1e-3
    after = [w for w in model.get_weights() if w.ndim > 1]
    for before, now in zip(weights, after, strict=True):  # no kernel moved
        np.testing.assert_array_equal(before, now)
    assert all(layer.momentum == 0.99 for layer in batchnorm_layers(model))
    assert "2 BatchNorm layers settled on 64 training images in one batch" in report.sentence()


def test_pooled_batches_come_close_and_the_refining_pass_closer(trained, tf):
    import keras

    model, x = trained
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    report = settle_batchnorm(model, x, max_batch_pixels=16 * 64, refine=False)
    assert not report.exact and not report.refined and report.n_batches == 4
    pooled = mismatch(model, x)
    assert pooled < 0.15
    report = settle_batchnorm(twin, x, max_batch_pixels=16 * 64)
    assert report.refined and "in 4 batches (pooled, then refined in inference mode)" in report.sentence()
    refined = mismatch(twin, x)
    assert refined < 1e-3
    assert not any("call" in vars(layer) for layer in batchnorm_layers(twin))  # the wrapped calls are gone


def test_frozen_layers_keep_their_statistics_unless_named(trained):
    model, x = trained
    model.get_layer("bn1").trainable = False
    frozen_mean = np.asarray(model.get_layer("bn1").moving_mean).copy()
    assert [layer.name for layer in trainable_batchnorm_layers(model)] == ["bn2"]
    assert [layer.name for layer in frozen_batchnorm_layers(model)] == ["bn1"]
    settle_batchnorm(model, x)
    np.testing.assert_array_equal(np.asarray(model.get_layer("bn1").moving_mean), frozen_mean)
    settle_batchnorm(model, x, layers=frozen_batchnorm_layers(model))  # random init: settle them too
    assert not model.get_layer("bn1").trainable
    assert mismatch(model, x) > 0.01  # bn2 was settled on the old bn1: order matters
    settle_batchnorm(model, x, layers=batchnorm_layers(model))  # frozen and trainable together
    assert not model.get_layer("bn1").trainable
    assert mismatch(model, x) < 1e-3


def test_nested_backbones_are_found(tf):
    import keras

    inner = small_net(keras)
    outer = keras.Model(inner.inputs, inner.outputs)
    wrapper_inputs = keras.Input((8, 8, 3))
    wrapper = keras.Model(wrapper_inputs, outer(wrapper_inputs))
    assert [layer.name for layer in batchnorm_layers(wrapper)] == ["bn1", "bn2"]


def test_nothing_to_settle(tf):
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    report = settle_batchnorm(model, np.zeros((3, 4), "float32"))
    assert report.n_layers == 0 and report.sentence() == "no BatchNorm layer to settle"
