"""P3's task pieces: the fixed 4-channel map, the heads' feature widths, the frozen stem, one arm end to end."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib import engine
from mstl_lib.papers.p3_elastography import grids, protocol, report, tasks

import keras  # noqa: E402,I001 - tasks imported TensorFlow quietly first


def test_adapter_maps_grey_first_then_rgb_to_rgb_plus_a_third_of_grey():
    pixel = np.array([[[[0.3, 0.1, 0.5, 0.9]]]], dtype="float32")  # grey, R, G, B
    out = np.asarray(tasks.channel_adapter(4)(pixel))
    np.testing.assert_allclose(out[0, 0, 0], [0.1 + 0.1, 0.5 + 0.1, 0.9 + 0.1], rtol=1e-6)
    np.testing.assert_allclose(tasks.adapter_matrix(1), np.ones((1, 3)))
    np.testing.assert_allclose(tasks.adapter_matrix(3), np.eye(3))
    assert not tasks.channel_adapter(4).trainable
    with pytest.raises(ValueError, match="channels"):
        tasks.adapter_matrix(2)


def test_mean_filter_stem_equals_the_adapter_then_the_rgb_stem():
    rng = np.random.default_rng(0)
    w_rgb = rng.normal(size=(3, 3, 3, 8)).astype("float32")
    w4 = np.concatenate([w_rgb.mean(axis=2, keepdims=True), w_rgb], axis=2)  # grey filter = mean of RGB filters
    x = rng.random((1, 9, 9, 4)).astype("float32")
    stem4 = keras.layers.Conv2D(8, 3, use_bias=False)
    stem4.build((None, 9, 9, 4))
    stem4.set_weights([w4])
    stem3 = keras.layers.Conv2D(8, 3, use_bias=False)
    stem3.build((None, 9, 9, 3))
    stem3.set_weights([w_rgb])
    np.testing.assert_allclose(np.asarray(stem4(x)), np.asarray(stem3(tasks.channel_adapter(4)(x))), atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(("constituent", "width"), [("AlexNet", 4096), ("ResNet18", 512)])
def test_constituents_have_p3s_feature_widths_and_trainable_parts(constituent, width, channels):
    model, _ = tasks.build_constituent(constituent, constituent, 64, channels, None)
    assert model.input.shape[-1] == channels and model.output.shape[-1] == 2
    assert model.get_layer("features").output.shape[-1] == width == protocol.FEATURE_WIDTHS[constituent]
    backbone = model.get_layer("backbone")
    n = tasks.frozen_count(constituent, backbone, "stem")
    trainable_dense = [layer for layer in backbone.layers[n:] if isinstance(layer, keras.layers.Dense)]
    if constituent == "AlexNet":  # convolutions frozen, fc6 and fc7 train (with the new FC: three)
        assert len(trainable_dense) == 2
        assert not any(isinstance(layer, keras.layers.Conv2D) for layer in backbone.layers[n:])
    else:  # conv1, bn1, relu, maxpool frozen
        assert isinstance(backbone.layers[n - 1], keras.layers.MaxPooling2D)
        assert sum(isinstance(layer, keras.layers.Conv2D) for layer in backbone.layers[:n]) == 1


def test_ensemble_features_concatenate_to_4608():
    from mstl_lib.nn.features import concatenate_features

    blocks = [np.zeros((3, protocol.FEATURE_WIDTHS[c])) for c in protocol.CONSTITUENTS]
    assert concatenate_features(*blocks).shape == (3, 4608)


def test_a_three_channel_stand_in_gets_the_fixed_adapter():
    model, _ = tasks.build_constituent("AlexNet", "VGG16", 32, 4, None)
    assert model.get_layer("channel_adapter") is not None
    assert model.get_layer("features").output.shape[-1] == 4096  # the head adds fc6 and fc7
    backbone = model.get_layer("backbone")
    assert tasks.frozen_count("ResNet18", backbone, "all") == len(backbone.layers)
    assert tasks.frozen_count("AlexNet", backbone, "stem") == len(backbone.layers)


@pytest.mark.slow
def test_negative_control_arm_is_at_chance_and_the_oracle_sees_the_signal(smoke_run):
    """One SE arm at separation 0 and one at a large separation: the oracle follows the injected signal."""
    grid = grids.build(smoke_run)["p3-busi-nested-smoke"]
    store = engine.ResultsStore()
    base = {k: v for k, v in grid.configs[0].items() if k not in ("input", "separation")}
    configs = [{**base, "input": "SE", "separation": 0.0}, {**base, "input": "SE", "separation": 3.0}]
    grid = engine.Grid(name=grid.name, configs=configs, folds=[0, 1], task=grid.task,
                       code_version=grid.code_version, data_fingerprint=grid.data_fingerprint, context=grid.context)
    engine.run_grid(grid, store)
    results = report.collect(store, {grid.name: grid})
    controls = report.controls_table(results, n_boot=200)
    null = controls[(controls["separation"] == 0.0) & (controls["model"] == "ensemble")].iloc[0]
    # a 95 % CI misses 0.5 in 1 run of 20 by design (and training is not bitwise repeatable), so the test asks
    # for chance within a wide margin; the generator's own test (test_strain) catches a leaking strain image
    assert abs(null["auc"] - 0.5) < 0.25
    oracle = controls[(controls["separation"] == 3.0) & (controls["model"] == "oracle")].iloc[0]
    assert oracle["auc"] > 0.9
    assert set(results.records["AlexNet_image_degenerate"].notna()) == {True}


def test_the_sensitivity_arm_freezes_resnet18_through_layer2():
    model, _ = tasks.build_constituent("ResNet18", "ResNet18", 64, 4, None)
    backbone = model.get_layer("backbone")
    n = tasks.frozen_count("ResNet18", backbone, "layer2")
    assert backbone.layers[n - 1].name.startswith("layer2") and backbone.layers[n].name.startswith("layer3")
    assert n > tasks.frozen_count("ResNet18", backbone, "stem")
    with pytest.raises(ValueError, match="resnet_freeze"):
        tasks.frozen_count("ResNet18", backbone, "half")


def test_gradcam_maps_of_the_ensemble_per_extractor_and_combined():
    models = {c: tasks.build_constituent(c, c, 64, 4, None)[0] for c in protocol.CONSTITUENTS}
    features = keras.Input((4608,))
    dense = keras.layers.Dense(2, activation="softmax", name="ensemble_output")
    dense(features)
    images = np.random.default_rng(0).random((3, 64, 64, 4)).astype("float32")
    out = tasks.gradcam_maps(models, dense, images, np.array([1, 0, 1]), size=16)
    assert out["rows"] == [1, 0] and out["label"] == [0, 1]
    for key in ("image", "combined", "AlexNet", "ResNet18"):
        maps = np.asarray(out[key])
        assert maps.shape == (2, 16, 16)
    assert 0 <= np.asarray(out["combined"]).min() and np.asarray(out["combined"]).max() <= 1.0


@pytest.mark.parametrize("backbone", ["SqueezeNet", "VGG16"])
def test_comparison_models_take_bse_and_end_in_pooled_features(backbone):
    model, info = tasks.build_comparison(backbone, 64, 4, None)
    assert model.input_shape == (None, 64, 64, 4) and model.output_shape == (None, 2)
    assert model.get_layer("features").output.shape[-1] == 512
    assert info.used == "random"


def test_every_comparison_backbone_is_registered():
    from mstl_lib.nn import backbones

    assert {backbones.canonical_name(b) for b in protocol.COMPARISONS.values()} == set(protocol.COMPARISONS.values())


@pytest.mark.parametrize("point", ["0.5", "validation"])
def test_the_ensemble_layer_moves_its_operating_point_only_when_asked(point):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 20)
    features = (rng.normal(size=(40, 6)) + labels[:, None]).astype("float32")
    parts = {"fit": np.arange(0, 24), "val": np.arange(24, 32), "test": np.arange(32, 40)}
    head = tasks.train_softmax_layer(features, labels, parts, epochs=2, patience=2, batch_size=8,
                                     learning_rate=1e-2, seed=0, operating_point=point)
    assert head["operating_point"].startswith(("operating point set on 8 validation images",
                                               "operating point kept")) == (point != "0.5")
    assert head["predict"](parts["test"]).shape == (8,)
    with pytest.raises(ValueError, match="operating_point"):
        tasks.train_softmax_layer(features, labels, parts, epochs=1, patience=1, batch_size=8, learning_rate=1e-2,
                                  seed=0, operating_point="median")
