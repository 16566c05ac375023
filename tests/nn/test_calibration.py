"""The operating point: the threshold moves to the best balanced accuracy, the ranking never changes."""

import numpy as np
import pytest

from mstl_lib.nn import calibration
from mstl_lib.evaluation.metrics import binary_metrics


def test_balanced_offset_moves_a_threshold_that_calls_everything_one_class():
    logits = np.array([-3.0, -2.0, -1.5, -1.0])  # every score below 0.5, the ranking perfect
    offset = calibration.balanced_offset(logits, [0, 0, 1, 1])
    assert offset == pytest.approx(1.75)  # midway between the classes
    assert ((logits + offset >= 0) == np.array([False, False, True, True])).all()


def test_balanced_offset_keeps_a_threshold_that_is_already_best():
    assert calibration.balanced_offset([-1.0, -0.5, 0.5, 2.0], [0, 0, 1, 1]) == 0.0


def test_balanced_offset_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        calibration.balanced_offset([0.1, 0.2], [1, 1])


@pytest.mark.parametrize(("activation", "units"), [("sigmoid", 1), ("softmax", 2)])
def test_set_operating_point_moves_only_the_threshold(activation, units):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(units, activation=activation, name="head_output")(inputs))
    kernel = np.zeros((3, units), "float32")
    kernel[0, -1] = 2.0
    bias = np.zeros(units, "float32")
    bias[-1] = -6.0  # every image called benign
    model.get_layer("head_output").set_weights([kernel, bias])
    before = np.asarray(model.predict(x, verbose=0))[:, -1]
    assert (before < 0.5).all()

    point = calibration.set_operating_point(model, x, y)
    after = np.asarray(model.predict(x, verbose=0))[:, -1]
    assert point.balanced_after == 1.0 > point.balanced_before == 0.5
    assert ((after >= 0.5) == y.astype(bool)).all()
    assert np.array_equal(np.argsort(before, kind="stable"), np.argsort(after, kind="stable"))
    assert binary_metrics(y, after)["auc"] == binary_metrics(y, before)["auc"]


def test_set_operating_point_refuses_an_output_it_cannot_read():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head_output")(inputs))
    with pytest.raises(ValueError, match="1 sigmoid or 2 softmax"):
        calibration.set_operating_point(model, np.zeros((4, 3), "float32"), [0, 1, 0, 1])


def test_calibration_rows_take_validation_when_it_holds_both_classes():
    labels = np.array([0, 1, 0, 1, 1, 1])
    assert calibration.calibration_rows({"fit": [0, 1, 2], "val": [3, 4]}, labels).tolist() == [0, 1, 2]
    assert calibration.calibration_rows({"fit": [0, 1], "val": [2, 3]}, labels).tolist() == [2, 3]


def test_set_operating_point_takes_a_named_layer_and_several_inputs():
    import keras

    a, b = keras.Input((2,)), keras.Input((1,))
    joined = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(2, activation="softmax", name="ensemble_output")(joined))
    x = [np.random.default_rng(1).normal(size=(30, 2)).astype("float32"), np.zeros((30, 1), "float32")]
    y = (x[0][:, 0] > 0.3).astype(int)
    point = calibration.set_operating_point(model, x, y, layer="ensemble_output")
    assert point.balanced_after >= point.balanced_before and point.n_images == 30


def test_balanced_offset_never_picks_a_threshold_that_collapses_the_calls():
    logits = np.arange(20, dtype=float) - 10.0  # the one benign image scores lowest
    labels = np.r_[0, np.ones(19, int)]
    best_anywhere = calibration.balanced_offset(logits, labels, max_share=None)
    assert (logits + best_anywhere >= 0).sum() == 19  # balanced accuracy 1, but 95 % called malignant
    offset = calibration.balanced_offset(logits, labels)
    called = logits + offset >= 0
    assert max(called.mean(), 1 - called.mean()) < 0.95


def _shifted_model(bias_value: float):
    import keras

    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="head_output")(inputs))
    model.get_layer("head_output").set_weights([np.ones((1, 1), "float32"), np.array([bias_value], "float32")])
    return model


@pytest.mark.parametrize(("bias", "moves"), [(-0.25, False), (-2.5, True)])
def test_set_operating_point_moves_only_a_threshold_that_collapses_the_validation_calls(bias, moves):
    x = np.linspace(-1.0, 1.0, 40, dtype="float32")[:, None]
    y = (x[:, 0] > 0).astype(int)
    model = _shifted_model(bias)
    point = calibration.set_operating_point(model, x, y)
    assert point.collapsed is moves and (point.offset != 0.0) is moves
    assert ("kept" in point.sentence()) is not moves
    new_bias = float(np.asarray(model.get_layer("head_output").bias)[0])
    assert (new_bias != bias) is moves
    always = calibration.set_operating_point(_shifted_model(bias), x, y, collapsed_share=None)
    assert always.balanced_after == 1.0 and always.offset != 0.0
