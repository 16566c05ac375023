"""Backbones, weight resolution, preprocessing and heads, all built small."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import backbones

from mstl_lib.nn import weights as nn_weights
from mstl_lib.nn.backbones import BACKBONES, EXPECTED_LAYER_COUNTS, backbone_spec, build_backbone, preprocess_for
from mstl_lib.nn.weights import WeightsUnavailableError, imagenet_weights_available, resolve_weights
from mstl_lib.nn.classifier import build_classifier, count_layers, freeze_first, replace_head
from mstl_lib.nn.heads import gap_dense_head, mlp_head, p4_head

FEATURE_CHANNELS = {
    "ResNet50": 2048,
    "ResNet101": 2048,
    "InceptionV3": 2048,
    "EfficientNetB2": 1408,
    "VGG16": 512,
    "VGG19": 512,
}
BIG = {"ResNet101", "EfficientNetB2", "InceptionV3"}


def smallest_shape(name):
    side = max(32, backbone_spec(name).min_size)
    return (side, side, 3)


def images(n, shape, seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype="float32")


@pytest.fixture(autouse=True)
def fresh_session(tf):
    """Reset Keras names and graph state; skip the slow gc.collect()."""
    import keras

    keras.backend.clear_session(free_memory=False)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in BACKBONES]
)
def test_backbone_forward_and_gradients(tf, name):
    shape = smallest_shape(name)
    model, info = build_classifier(name, shape, gap_dense_head(2), weights=None)
    assert info.used == "random"
    backbone = model.get_layer("backbone")
    if name in EXPECTED_LAYER_COUNTS:
        assert count_layers(backbone) == EXPECTED_LAYER_COUNTS[name]

    x = images(2, shape)
    with tf.GradientTape() as tape:
        features = backbone(model.get_layer("preprocessing")(x), training=False)
        total = tf.reduce_sum(features)
    grads = tape.gradient(total, backbone.trainable_weights)

    assert tuple(features.shape) == (2, 1, 1, FEATURE_CHANNELS[name])
    assert np.isfinite(features.numpy()).all()
    assert all(g is not None for g in grads)
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    assert any(np.abs(g.numpy()).max() > 0 for g in grads)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_backbone_lookup_is_case_insensitive():
    assert backbone_spec("resnet50") is BACKBONES["ResNet50"]
    assert backbone_spec("inceptionv3").min_size == 75
    with pytest.raises(ValueError, match="valid names: ResNet50, ResNet101"):
        backbone_spec("AlexNet")


def test_input_shape_checks():
    with pytest.raises(ValueError, match="at least 75x75"):
        build_backbone("InceptionV3", (64, 64, 3), weights=None)
    with pytest.raises(ValueError, match="3 channels"):
        build_backbone("VGG16", (32, 32, 1), weights=None)


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
    for a, b in zip(original.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)

    model, info = build_classifier("vgg16", (32, 32, 3), gap_dense_head(2), weights=path)
    assert info.used == "file"
    np.testing.assert_array_equal(model.get_layer("backbone").get_weights()[0], original.get_weights()[0])


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        build_backbone("VGG16", (32, 32, 3), weights=str(missing))


@pytest.mark.parametrize("name", list(BACKBONES))
def test_preprocessing_layer_matches_keras_preprocess_input(name):
    x = images(2, (8, 8, 3))
    layer = backbones.BackbonePreprocessing(name)
    np.testing.assert_allclose(np.asarray(layer(x)), preprocess_for(name)(x), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("head", "out_shape"),
    [(gap_dense_head(3), (2, 3)), (mlp_head(), (2, 1)), (p4_head(), (2, 2))],
)
def test_heads_output_shapes(head, out_shape):
    model, _ = build_classifier("VGG16", (32, 32, 3), head, weights=None)
    assert model.predict(images(2, (32, 32, 3)), verbose=0).shape == out_shape


def test_head_swap_keeps_backbone_weights(tmp_path):
    import keras

    stage_1, _ = build_classifier("VGG16", (32, 32, 3), gap_dense_head(3), weights=None)
    stage_1.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    stage_1.fit(images(4, (32, 32, 3)), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    trained = [np.array(w) for w in stage_1.get_layer("backbone").get_weights()]

    stage_2 = replace_head(stage_1, mlp_head(), name="stage_2")
    assert stage_2.get_layer("backbone") is stage_1.get_layer("backbone")
    for a, b in zip(trained, stage_2.get_layer("backbone").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert stage_2.output_shape == (None, 1)

    # the saved model needs no outside preprocessing
    path = tmp_path / "stage_2.keras"
    stage_2.save(path)
    reloaded = keras.models.load_model(path)
    x = images(2, (32, 32, 3))
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), stage_2.predict(x, verbose=0), rtol=1e-5)


def test_freeze_first_and_count_layers():
    model, _ = build_classifier("ResNet50", (32, 32, 3), gap_dense_head(2), weights=None)
    backbone = freeze_first(model.get_layer("backbone"), 100)
    flags = [layer.trainable for layer in backbone.layers]
    assert not any(flags[:100]) and all(flags[100:])
    assert count_layers(model) == 5  # input, preprocessing, backbone, pooling, dense
    assert count_layers(model, nested=True) == 4 + 175
    with pytest.raises(ValueError, match="n_layers"):
        freeze_first(backbone, 1000)
