"""A kept compiled model trains to exactly the numbers a freshly compiled one does, with its traced step reused."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import compiled, training
from mstl_lib.nn.runtime import import_keras, set_seed

keras = import_keras()


def small_model(seed: int, width: int = 8):
    set_seed(seed)
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(width, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x), name="small")


def data(n=48):
    rng = np.random.default_rng(0)
    images = rng.random((n, 12, 12, 1), dtype="float32")
    return images, (images.mean(axis=(1, 2, 3)) > 0.5).astype("float32")


def optimizer(decay_steps=3):
    return training.make_optimizer("adagrad", training.exponential_decay(0.05, decay_steps, 0.9))


def train(model, seed, images, labels, **compile_options):
    with compiled.compiled_once(model, optimizer(**compile_options), "binary_crossentropy", ["accuracy"]) as twin:
        history = training.fit(twin, training.make_dataset(images, labels, 16, shuffle=True, seed=seed, repeat=True),
                               training.make_dataset(images, labels, 16), epochs=2, steps_per_epoch=3,
                               run_eagerly=False)
        return history, training.predict_scores(twin, images), twin


@pytest.fixture(autouse=True)
def nothing_kept():
    compiled.forget()
    yield
    compiled.forget()


def test_a_kept_model_gives_the_numbers_of_a_fresh_one_and_reuses_its_trace():
    images, labels = data()
    fresh = {}
    for seed in (1, 2):
        compiled.forget()
        history, scores, _ = train(small_model(seed), seed, images, labels)
        fresh[seed] = (history, scores)
    compiled.forget()
    first_model = small_model(1)
    _, _, first = train(first_model, 1, images, labels)
    assert first is first_model  # the first of a recipe is compiled and kept
    step = first.train_function
    caller = small_model(2)
    history, scores, twin = train(caller, 2, images, labels)
    assert twin is first and twin.train_function is step  # the second trains the kept model, traced once
    assert history == fresh[2][0]
    np.testing.assert_array_equal(scores, fresh[2][1])
    for mine, trained in zip(caller.variables, twin.variables, strict=True):  # the caller's model ends trained
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(trained))


def test_another_schedule_or_architecture_is_another_recipe():
    images, labels = data()
    _, _, first = train(small_model(1), 1, images, labels)
    _, _, other_schedule = train(small_model(1), 1, images, labels, decay_steps=4)
    _, _, wider = train(small_model(1, width=4), 1, images, labels)
    assert other_schedule is not first and wider is not first and wider is not other_schedule
    assert len(compiled._kept) == compiled.KEPT_MODELS  # the oldest was dropped
    with pytest.raises(ValueError, match="has shape"):
        compiled.copy_variables(small_model(1), small_model(1, width=4))
