"""The input pipeline without TensorFlow (``ArrayBatches``) has the semantics of the ``tf.data`` one."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import pipeline, runtime


def epoch(dataset) -> list:
    """One pass over a PyDataset, then the epoch end Keras calls."""
    got = [dataset[i] for i in range(dataset.num_batches)]
    dataset.on_epoch_end()
    return got


def toy(n=10):
    images = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    return images, np.arange(n) % 3


def test_the_pipeline_follows_tensorflow_unless_told(monkeypatch):
    monkeypatch.delenv("MSTL_INPUT_PIPELINE", raising=False)
    assert runtime.input_pipeline() == ("tf.data" if runtime.tensorflow_available() else "numpy")
    monkeypatch.setenv("MSTL_INPUT_PIPELINE", "numpy")
    images, labels = toy()
    assert isinstance(pipeline.array_dataset(images, labels, 4), pipeline.ArrayBatches)
    monkeypatch.setenv("MSTL_INPUT_PIPELINE", "torch.data")
    with pytest.raises(ValueError, match="MSTL_INPUT_PIPELINE"):
        runtime.input_pipeline()


def test_batches_keep_order_and_pair_labels():
    images, labels = toy()
    batches = epoch(pipeline.ArrayBatches([images], labels, 4))
    assert [x.shape for x, _ in batches] == [(4, 2, 2, 1), (4, 2, 2, 1), (2, 2, 2, 1)]
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels)
    (only,) = pipeline.ArrayBatches([images], None, 16)[0]
    assert only.shape == (10, 2, 2, 1) and only.dtype == np.float32


def test_shuffle_is_seeded_reshuffles_each_epoch_and_keeps_pairs():
    images, labels = toy()
    orders = []
    for _ in range(2):
        dataset = pipeline.ArrayBatches([images], labels, 4, shuffle=True, seed=3)
        first, second = epoch(dataset), epoch(dataset)
        order = [np.concatenate([x[:, 0, 0, 0] for x, _ in e]).astype(int) for e in (first, second)]
        for e, o in zip((first, second), order):
            assert sorted(o) == list(range(10))
            np.testing.assert_array_equal(np.concatenate([y for _, y in e]), labels[o])
        assert not np.array_equal(order[0], order[1])
        orders.append(order)
    np.testing.assert_array_equal(orders[0][0], orders[1][0])  # same seed, same order


def test_repeat_gives_full_batches_over_a_stream_of_permutations():
    images, labels = toy()
    dataset = pipeline.ArrayBatches([images], labels, 4, shuffle=True, seed=0, repeat=True)
    seen = [x[:, 0, 0, 0].astype(int) for _ in range(5) for x, _ in epoch(dataset)]
    assert all(len(s) == 4 for s in seen)  # one batch shape: a jit-compiling backend traces once
    stream = np.concatenate(seen)  # 5 epochs x 3 batches x 4 = 60 samples = 6 permutations
    for k in range(6):
        assert sorted(stream[10 * k:10 * (k + 1)]) == list(range(10))
    assert pipeline.cardinality(dataset) == 0 and pipeline.is_dataset(dataset)


def test_several_inputs_and_memory_mapped_arrays(tmp_path):
    images, labels = toy()
    mapped = np.lib.format.open_memmap(tmp_path / "a.npy", mode="w+", dtype="float32", shape=(10, 3))
    mapped[:] = np.arange(30, dtype="float32").reshape(10, 3)
    (x, y), = [pipeline.ArrayBatches([images, mapped], labels, 10)[0]]
    assert isinstance(x, tuple) and x[1].shape == (10, 3) and type(x[1]) is np.ndarray
    np.testing.assert_array_equal(x[1], mapped)


def test_fit_and_predict_on_the_numpy_pipeline(monkeypatch):
    from mstl_lib.nn.training import fit, make_dataset, predict_scores

    import keras

    monkeypatch.setenv("MSTL_INPUT_PIPELINE", "numpy")
    runtime.set_seed(0)
    rng = np.random.default_rng(0)
    labels = (np.arange(24) % 2).astype("float32")
    images = np.clip(np.where(labels == 1, 0.7, 0.3)[:, None, None, None]
                     + 0.05 * rng.standard_normal((24, 4, 4, 1)), 0, 1).astype("float32")
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    model.compile(keras.optimizers.Adam(0.1), "binary_crossentropy")
    train = make_dataset(images, labels, 8, shuffle=True, seed=0, repeat=True)
    history = fit(model, train, epochs=3, steps_per_epoch=3)
    assert isinstance(train, pipeline.ArrayBatches) and len(history["loss"]) == 3
    scores = predict_scores(model, images)
    assert scores.shape == (24,) and scores[labels == 1].min() > scores[labels == 0].max()  # pairs kept
