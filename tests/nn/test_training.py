"""Pipelines, augmentation, schedules, optimizers and the checked fit, on toy data."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn.runtime import set_seed
from mstl_lib.nn.training import (
    BestWeights,
    NonFiniteLossError,
    augment_offline,
    augmentation,
    exponential_decay,
    fit,
    make_dataset,
    make_optimizer,
    predict_scores,
    steps_for,
)


def toy_problem(n=32, side=8, seed=0):
    """Bright images are class 1, dark ones class 0: separable by the mean."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels == 1, 0.7, 0.3)[:, None, None, None]
    images = np.clip(base + 0.1 * rng.standard_normal((n, side, side, 1)), 0, 1).astype("float32")
    return images, labels.astype("float32")


def tiny_cnn(seed=0, dropout=0.0, learning_rate=0.05, optimizer="adam"):
    import keras

    set_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(make_optimizer(optimizer, learning_rate), "binary_crossentropy", metrics=["accuracy"])
    return model


def batches(dataset):
    return [tuple(np.asarray(t) for t in batch) for batch in dataset]


def test_make_dataset_batches_and_shapes():
    images, labels = toy_problem(10)
    got = batches(make_dataset(images, labels, batch_size=4))
    assert [x.shape for x, _ in got] == [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    assert got[0][0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([y for _, y in got]), labels)  # order kept
    only_images = list(make_dataset(images, None, batch_size=4))
    assert only_images[0].shape == (4, 8, 8, 1)
    repeated = make_dataset(images, labels, batch_size=4, repeat=True).take(6)
    assert len(batches(repeated)) == 6
    assert steps_for(10, 4) == 3 and steps_for(8, 4) == 2
    assert make_dataset(images, labels, 4).options().autotune.enabled is False
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        make_dataset(images, labels[:9], 4)


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    images, _ = toy_problem(16)
    ids = np.arange(16)
    first = make_dataset(images, ids, 16, shuffle=True, seed=3)
    second = make_dataset(images, ids, 16, shuffle=True, seed=3)
    epoch_1, epoch_2 = batches(first)[0][1], batches(first)[0][1]
    np.testing.assert_array_equal(epoch_1, batches(second)[0][1])
    assert sorted(epoch_1) == list(ids) and not np.array_equal(epoch_1, epoch_2)


def test_augmentation_keeps_shape_and_is_seeded():
    images, labels = toy_problem(8)
    augmenter = augmentation(("horizontal", "vertical"), rotation=0.1, shift=0.1, seed=1)
    out = np.asarray(augmenter(images, training=True))
    assert out.shape == images.shape and not np.allclose(out, images)
    np.testing.assert_array_equal(np.asarray(augmenter(images, training=False)), images)

    def augmented_batches():
        again = augmentation(("horizontal", "vertical"), rotation=0.1, shift=0.1, seed=1)
        return batches(make_dataset(images, labels, 4, augment=again))

    first, second = augmented_batches(), augmented_batches()
    assert first[0][0].shape == (4, 8, 8, 1)
    for (x1, y1), (x2, y2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_augment_offline_threefold():
    images, labels = toy_problem(6)
    big_images, big_labels = augment_offline(images, labels, copies=3, seed=0)
    assert big_images.shape == (18, 8, 8, 1) and big_labels.shape == (18,)
    np.testing.assert_array_equal(big_images[:6], images)  # originals first
    np.testing.assert_array_equal(big_labels, np.tile(labels, 3))
    assert not np.allclose(big_images[6:12], images)
    assert augment_offline(images, labels, copies=1)[0].shape == images.shape
    with pytest.raises(ValueError, match="copies"):
        augment_offline(images, labels, copies=0)


def test_fit_learns_a_separable_problem():
    images, labels = toy_problem(32)
    model = tiny_cnn()
    history = fit(model, make_dataset(images, labels, 8, shuffle=True), epochs=8)
    assert set(history) == {"loss", "accuracy"}
    assert all(type(v) is float for v in history["loss"])
    assert history["loss"][-1] < 0.8 * history["loss"][0]


def test_fit_with_repeated_dataset():
    images, labels = toy_problem(16)
    model = tiny_cnn()
    train = make_dataset(images, labels, 8, shuffle=True, repeat=True)
    history = fit(model, train, make_dataset(images, labels, 8), epochs=2, steps_per_epoch=steps_for(16, 8))
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2
    assert all(np.isfinite(history[key]).all() for key in ("loss", "val_loss", "accuracy", "val_accuracy"))
    # the last validation loss is the evaluation of the final weights on the same batches
    assert model.evaluate(make_dataset(images, labels, 8), verbose=0)[0] == pytest.approx(history["val_loss"][-1],
                                                                                          rel=1e-5)


def test_fit_splits_its_time_into_tracing_and_steps():
    from mstl_lib import timing

    images, labels = toy_problem(32)
    model = tiny_cnn()
    timing.reset()
    fit(model, make_dataset(images, labels, 8, shuffle=True), make_dataset(images, labels, 8), epochs=3,
        run_eagerly=False)
    predict_scores(model, images)
    tally = timing.tally()
    assert tally["steps"] > 0 and tally["tracing"] > 0 and tally["predict"] > 0
    # the graph is traced once: the first batch and the first validation pass carry it
    assert tally["tracing"] > 0.2 * (tally["tracing"] + tally["steps"])


def test_non_finite_loss_raises():
    images, labels = toy_problem(32)
    model = tiny_cnn(learning_rate=1e30, optimizer="sgd")
    with pytest.raises(NonFiniteLossError) as caught:
        fit(model, make_dataset(images, labels, 4), epochs=3)
    assert isinstance(caught.value, FloatingPointError)
    assert caught.value.epoch == 0 and caught.value.batch >= 1
    assert "epoch 0" in str(caught.value)


def test_seeded_runs_give_identical_histories():
    images, labels = toy_problem(32)

    def run():
        model = tiny_cnn(seed=7, dropout=0.3)
        return fit(model, make_dataset(images, labels, 8, shuffle=True, seed=7), epochs=3, seed=7)

    assert run() == run()


def test_exponential_decay_values():
    schedule = exponential_decay(1e-3, decay_steps=100, decay_rate=0.5)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(100)) == pytest.approx(5e-4)
    assert float(schedule(50)) == pytest.approx(1e-3 * 0.5**0.5)
    stairs = exponential_decay(1e-3, decay_steps=100, decay_rate=0.5, staircase=True)
    assert float(stairs(99)) == pytest.approx(1e-3)


@pytest.mark.parametrize(("name", "class_name"), [("SGD", "SGD"), ("adam", "Adam"), ("Adagrad", "Adagrad"), ("rmsprop", "RMSprop")])
def test_make_optimizer(name, class_name):
    optimizer = make_optimizer(name, 0.01)
    assert type(optimizer).__name__ == class_name
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_make_optimizer_rejects_unknown_and_takes_schedules():
    with pytest.raises(ValueError, match="sgd, adam, adagrad, rmsprop"):
        make_optimizer("lbfgs")
    optimizer = make_optimizer("sgd", exponential_decay(0.1, 10), momentum=0.9)
    assert optimizer.momentum == 0.9


def test_restore_best_keeps_the_best_epoch():
    images, labels = toy_problem(32)
    val_images, val_labels = toy_problem(16, seed=1)
    val = make_dataset(val_images, val_labels, 16)
    # a too large learning rate makes the best epoch an early one
    model = tiny_cnn(learning_rate=2.0, optimizer="sgd")
    history = fit(model, make_dataset(images, labels, 4, shuffle=True), val, epochs=6, restore_best=True)
    assert np.argmin(history["val_loss"]) < 5, "toy run should not improve until the last epoch"
    restored_loss = model.evaluate(val, verbose=0)[0]
    assert restored_loss == pytest.approx(min(history["val_loss"]), rel=1e-5)
    with pytest.raises(ValueError, match="no val_ds"):
        fit(model, make_dataset(images, labels, 4), restore_best=True)


def test_best_weights_callback_restores(tf):
    model = tiny_cnn()
    callback = BestWeights("val_accuracy")
    callback.set_model(model)
    assert callback.mode == "max"
    best = [np.array(w) for w in model.get_weights()]
    callback.on_epoch_end(0, {"val_accuracy": 0.9})
    model.set_weights([w + 1 for w in best])
    callback.on_epoch_end(1, {"val_accuracy": 0.5})
    callback.on_train_end()
    assert callback.best_epoch == 0 and callback.best == 0.9
    for a, b in zip(best, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_predict_scores(tf):
    import keras

    images, _ = toy_problem(5)
    sigmoid = tiny_cnn()
    scores = predict_scores(sigmoid, images, batch_size=2)
    assert scores.shape == (5,) and ((scores > 0) & (scores < 1)).all()

    inputs = keras.Input((8, 8, 1))
    flat = keras.layers.Flatten()(inputs)
    softmax = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(flat))
    np.testing.assert_allclose(predict_scores(softmax, images), softmax.predict(images, verbose=0)[:, 1], rtol=1e-6)
    three = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(flat))
    with pytest.raises(ValueError, match="2-way softmax"):
        predict_scores(three, images)


def test_balanced_class_weights_equalise_the_classes():
    from mstl_lib.nn.training import balanced_class_weights

    weights = balanced_class_weights([0, 1, 1, 1])
    assert weights == {0: 2.0, 1: 2 / 3}
    assert weights[0] * 1 == pytest.approx(weights[1] * 3)  # each class carries the same total weight
    with pytest.raises(ValueError, match="at least two classes"):
        balanced_class_weights([1, 1])


def test_class_weights_move_a_prior_only_model_towards_the_weighted_class():
    """No signal in the images, 1 positive in 4: plain loss learns P(1) ~ 0.25, balanced weights ~ 0.5."""
    import keras

    from mstl_lib.nn.training import balanced_class_weights

    rng = np.random.default_rng(0)
    images = rng.random((64, 8, 8, 1)).astype("float32")
    labels = (np.arange(64) % 4 == 0).astype("float32")
    means = []
    for weights in (None, balanced_class_weights(labels)):
        set_seed(0)
        inputs = keras.Input((8, 8, 1))
        outputs = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")(
            keras.layers.GlobalAveragePooling2D()(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(make_optimizer("adam", 0.1), "binary_crossentropy")
        fit(model, make_dataset(images, labels, 16, shuffle=True, seed=0), epochs=30, class_weight=weights)
        means.append(float(np.mean(predict_scores(model, images))))
    assert means[0] == pytest.approx(0.25, abs=0.08) and means[1] == pytest.approx(0.5, abs=0.08)
