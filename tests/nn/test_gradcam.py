"""Grad-CAM invariants on tiny models: a classifier, a nested backbone, and a two-backbone feature ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.gradcam import activation_model, grad_cam

SIDE = 16


def _backbone(name, filters, seed):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIDE, SIDE, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"{name}_conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(x)
    x = keras.layers.ReLU(name=f"{name}_last")(x)
    return keras.Model(inputs, x, name=name)


def _classifier(seed=0):
    import keras

    backbone = _backbone("backbone", 6, seed)
    inputs = keras.Input((SIDE, SIDE, 3))
    features = keras.layers.GlobalAveragePooling2D(name="gap")(backbone(inputs))
    outputs = keras.layers.Dense(3, activation="softmax", name="head_output")(features)
    return keras.Model(inputs, outputs)


def _ensemble():
    """P3's shape: two frozen extractors, pooled features concatenated, one softmax layer."""
    import keras

    left, right = _backbone("alex", 5, 1), _backbone("res", 4, 2)
    inputs = keras.Input((SIDE, SIDE, 3))
    pooled_left = keras.layers.GlobalAveragePooling2D()(left(inputs))
    pooled_right = keras.layers.GlobalAveragePooling2D()(keras.layers.MaxPooling2D(2)(right(inputs)))
    features = keras.layers.Concatenate()([pooled_left, pooled_right])
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(features))


def test_maps_are_image_sized_non_negative_and_normalised(random_images):
    model = _classifier()
    images = random_images(5, (SIDE, SIDE, 3))
    result = grad_cam(model, images, "backbone_last", batch_size=2)
    maps = result.maps["backbone_last"]
    assert maps.shape == (5, SIDE, SIDE) and result.combined is None
    assert np.isfinite(maps).all() and (maps >= 0).all()
    peaks = maps.reshape(5, -1).max(axis=1)
    assert np.all(np.isclose(peaks, 1.0) | (peaks == 0)) and np.isclose(peaks, 1.0).any()
    np.testing.assert_array_equal(result.class_index, np.argmax(model.predict(images, verbose=0), axis=1))
    np.testing.assert_allclose(result.scores, model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)


def test_gap_linear_head_gives_cam(random_images):
    """With GAP -> Dense, Grad-CAM on the logits is CAM: ReLU(sum_k w_kc A_k), up to a positive scale."""
    import keras

    model = _classifier()
    images = random_images(3, (SIDE, SIDE, 3), seed=3)
    feature_maps = np.asarray(activation_model(model, ["backbone_last"])(images)[0])
    kernel = model.get_layer("head_output").kernel.numpy()
    for target in range(3):
        cam = np.maximum(np.einsum("nhwk,k->nhw", feature_maps, kernel[:, target]), 0)
        cam = np.asarray(keras.ops.image.resize(cam[..., None], (SIDE, SIDE), interpolation="bilinear"))[..., 0]
        cam = cam / np.maximum(cam.reshape(3, -1).max(axis=1), 1e-12)[:, None, None]
        got = grad_cam(model, images, "backbone_last", class_index=target).maps["backbone_last"]
        np.testing.assert_allclose(got, cam, atol=1e-4)


def test_maps_change_with_the_target_class(random_images):
    model = _classifier()
    images = random_images(4, (SIDE, SIDE, 3), seed=1)
    maps = [grad_cam(model, images, "backbone_last", class_index=c).maps["backbone_last"] for c in range(3)]
    assert not np.allclose(maps[0], maps[1]) and not np.allclose(maps[1], maps[2])
    per_image = grad_cam(model, images, "backbone_last", class_index=np.array([0, 1, 2, 0])).maps["backbone_last"]
    np.testing.assert_allclose(per_image[1], maps[1][1], atol=1e-6)


def test_ensemble_maps_per_extractor_and_combined(random_images):
    model = _ensemble()
    images = random_images(3, (SIDE, SIDE, 3), seed=2)
    result = grad_cam(model, images, ["alex_last", "res_last"], class_index=1)
    assert set(result.maps) == {"alex_last", "res_last"}
    for maps in (*result.maps.values(), result.combined):
        assert maps.shape == (3, SIDE, SIDE) and (maps >= 0).all() and maps.max() <= 1 + 1e-6
    assert not np.allclose(result.maps["alex_last"], result.maps["res_last"])
    other = grad_cam(model, images, ["alex_last", "res_last"], class_index=0)
    assert not np.allclose(other.combined, result.combined)


def test_bad_layer_names_are_reported():
    model = _classifier()
    with pytest.raises(ValueError, match="no layer 'nope'"):
        grad_cam(model, np.zeros((1, SIDE, SIDE, 3), "float32"), "nope")


def test_registered_torchvision_backbones_in_a_classifier(random_images):
    """The named Grad-CAM layers of the torchvision layouts work through build_classifier's nesting."""
    from mstl_lib.nn.classifier import build_classifier
    from mstl_lib.nn.heads import gap_dense_head
    from mstl_lib.nn.torchvision_models import GRADCAM_LAYER

    model, _ = build_classifier("ResNet18", (40, 40, 4), gap_dense_head(2), weights=None)
    result = grad_cam(model, random_images(2, (40, 40, 4)), GRADCAM_LAYER["ResNet18"])
    maps = result.maps[GRADCAM_LAYER["ResNet18"]]
    assert maps.shape == (2, 40, 40) and (maps >= 0).all() and maps.max() <= 1 + 1e-6


def test_alexnet_resnet18_feature_ensemble(random_images):
    """P3's ensemble at a small size: 4,096 + 512 = 4,608 features, one map per extractor and a combined one."""
    import keras

    from mstl_lib.nn.backbones import BackbonePreprocessing, build_backbone
    from mstl_lib.nn.torchvision_models import GRADCAM_LAYER

    shape = (64, 64, 4)
    inputs = keras.Input(shape)
    pooled = []
    for arch in ("AlexNet", "ResNet18"):
        backbone, _ = build_backbone(arch, shape, weights=None, pooling="avg")
        pooled.append(backbone(BackbonePreprocessing(arch, name=f"{arch}_preprocessing")(inputs)))
    features = keras.layers.Concatenate(name="features")(pooled)
    assert features.shape[-1] == 4096 + 512
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(features))
    layers = [GRADCAM_LAYER["AlexNet"], GRADCAM_LAYER["ResNet18"]]
    result = grad_cam(model, random_images(2, shape), layers)
    for maps in (*result.maps.values(), result.combined):
        assert maps.shape == (2, 64, 64) and np.isfinite(maps).all() and (maps >= 0).all()


def _named_ensemble():
    """:func:`_ensemble` with every layer named, so its weights file loads by name on any backend."""
    import keras

    left, right = _backbone("alex", 5, 1), _backbone("res", 4, 2)
    inputs = keras.Input((SIDE, SIDE, 3), name="image")
    pooled_left = keras.layers.GlobalAveragePooling2D(name="gap_left")(left(inputs))
    pooled = keras.layers.MaxPooling2D(2, name="pool_right")(right(inputs))
    pooled_right = keras.layers.GlobalAveragePooling2D(name="gap_right")(pooled)
    features = keras.layers.Concatenate(name="features")([pooled_left, pooled_right])
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head_output")(features),
                       name="ensemble")


def ensemble_maps(weights_file, images_file, out_file) -> None:
    """Grad-CAM of :func:`_named_ensemble` with the given weights: the maps of both layers and the combined map."""
    model = _named_ensemble()
    model.load_weights(weights_file)
    result = grad_cam(model, np.load(images_file), ["alex_last", "res_last"], class_index=1)
    np.savez(out_file, alex=result.maps["alex_last"], res=result.maps["res_last"], combined=result.combined)


@pytest.mark.slow
def test_grad_cam_agrees_across_backends(tf, tmp_path, random_images):
    """The same weights and images give the same maps on JAX (TensorFlow unimportable) as on TensorFlow."""
    import os
    import subprocess
    import sys

    import keras

    from mstl_lib.paths import REPO_ROOT

    pytest.importorskip("jax")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the reference maps need the TensorFlow backend")
    model = _named_ensemble()
    model.save_weights(tmp_path / "ensemble.weights.h5")
    np.save(tmp_path / "images.npy", random_images(4, (SIDE, SIDE, 3)))
    ensemble_maps(tmp_path / "ensemble.weights.h5", tmp_path / "images.npy", tmp_path / "tf.npz")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO_ROOT)}
    code = (f"import sys; sys.path.insert(0, {str(REPO_ROOT / 'tests' / 'nn')!r}); import test_gradcam; "
            f"test_gradcam.ensemble_maps({str(tmp_path / 'ensemble.weights.h5')!r}, "
            f"{str(tmp_path / 'images.npy')!r}, {str(tmp_path / 'jax.npz')!r})")
    script = tmp_path / "probe.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "without_tensorflow.py"), str(script)], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    on_tf, on_jax = np.load(tmp_path / "tf.npz"), np.load(tmp_path / "jax.npz")
    for name in ("alex", "res", "combined"):
        assert on_tf[name].max() > 0
        np.testing.assert_allclose(on_jax[name], on_tf[name], atol=1e-4)
