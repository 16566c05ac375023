"""Classifier assembly: head swaps keep the backbone, freezing the first layers, layer counts."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.classifier import (
    build_classifier,
    count_layers,
    freeze_first,
    replace_head,
)
from mstl_lib.nn.heads import gap_dense_head, mlp_head


def test_head_swap_keeps_backbone_weights(tmp_path, random_images):
    import keras

    stage_1, _ = build_classifier("VGG16", (32, 32, 3), gap_dense_head(3), weights=None)
    stage_1.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    stage_1.fit(random_images(4, (32, 32, 3)), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    trained = [np.array(w) for w in stage_1.get_layer("backbone").get_weights()]

    stage_2 = replace_head(stage_1, mlp_head(), name="stage_2")
    assert stage_2.get_layer("backbone") is stage_1.get_layer("backbone")
    for a, b in zip(trained, stage_2.get_layer("backbone").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert stage_2.output_shape == (None, 1)

    # the saved model needs no outside preprocessing
    path = tmp_path / "stage_2.keras"
    stage_2.save(path)
    reloaded = keras.models.load_model(path)
    x = random_images(2, (32, 32, 3))
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
