"""Activation caching at the freeze boundary: the cached path equals the naive one."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import classifier, freeze_cache, heads

keras = pytest.importorskip("keras")




def random_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size, 3)).astype("float32")


def cached_logits(model: keras.Model, n_frozen: int, images: np.ndarray) -> np.ndarray:
    split = freeze_cache.split_classifier(model, n_frozen)
    arrays = freeze_cache.compute_activations(split.prefix, images, batch_size=2)
    return np.asarray(split.suffix.predict(arrays[0] if len(arrays) == 1 else arrays, verbose=0))


@pytest.mark.parametrize("n_frozen", [1, 2, 3, 5, 7])
def test_chain_cached_logits_equal_naive(n_frozen, chain_classifier):
    model = chain_classifier()
    images = random_images(5, 16)
    np.testing.assert_allclose(cached_logits(model, n_frozen, images), model.predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_chain_boundary_is_one_tensor(chain_classifier):
    split = freeze_cache.split_classifier(chain_classifier(), 3)
    assert split.boundary_shapes == [(16, 16, 4)]  # input, conv, batch norm


FROZEN = {"ResNet50": {0: 175, 15: 149, 50: 88, 85: 26}, "InceptionV3": {0: 311, 15: 264, 50: 156, 85: 47}}
"""Frozen-layer counts of P4's Table 2 at a few strategies (the cache must cut anywhere)."""


@pytest.mark.parametrize(
    ("backbone", "size", "strategies"),
    [("ResNet50", 32, (0, 15, 50, 85)), ("InceptionV3", 75, (0, 15, 50, 85))],
)
def test_backbone_cached_logits_equal_naive(backbone, size, strategies):
    model, _ = classifier.build_classifier(backbone, (size, size, 3), heads.p4_head(), weights=None)
    images = random_images(3, size)
    naive = model.predict(images, verbose=0)
    for pct in strategies:
        n_frozen = FROZEN[backbone][pct]
        np.testing.assert_allclose(cached_logits(model, n_frozen, images), naive, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{backbone} at {pct}% trainable")


def test_resnet_boundary_crosses_a_residual_branch():
    model, _ = classifier.build_classifier("ResNet50", (32, 32, 3), heads.p4_head(), weights=None)
    split = freeze_cache.split_classifier(model, FROZEN["ResNet50"][50])
    assert len(split.boundary_names) == 2  # the block's main path and its shortcut


def test_features_model_gives_the_head_dense_output(chain_classifier):
    model = chain_classifier()
    images = random_images(4, 16)
    split = freeze_cache.split_classifier(model, 4, feature_layer="head_dense")
    arrays = freeze_cache.compute_activations(split.prefix, images)
    reference = keras.Model(model.inputs, model.get_layer("head_dense").output).predict(images, verbose=0)
    np.testing.assert_allclose(split.features.predict(arrays[0], verbose=0), reference, rtol=1e-5, atol=1e-6)


def test_memmap_cache_matches_memory(tmp_path, chain_classifier):
    model = chain_classifier()
    images = random_images(6, 16)
    split = freeze_cache.split_classifier(model, 3)
    in_memory = freeze_cache.compute_activations(split.prefix, images)
    on_disk = freeze_cache.compute_activations(split.prefix, images, max_memory_bytes=0, cache_dir=tmp_path)
    assert isinstance(on_disk[0], np.memmap)
    np.testing.assert_allclose(on_disk[0], in_memory[0])
    labels = np.arange(6) % 2
    batches = [freeze_cache.activation_dataset(arrays, labels, 4, shuffle=True, seed=3)
               for arrays in (in_memory, on_disk)]
    for (xa, ya), (xb, yb) in zip(*batches):
        np.testing.assert_allclose(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_n_frozen_zero_is_refused(chain_classifier):
    with pytest.raises(ValueError, match="n_frozen"):
        freeze_cache.split_classifier(chain_classifier(), 0)


def test_cache_rows_runs_each_named_row_once_and_addresses_it_by_row(chain_classifier):
    images = random_images(10, 16)
    split = freeze_cache.split_classifier(chain_classifier(), 2)
    parts = {"fit": np.array([7, 1, 3]), "val": np.array([3, 8]), "test": np.array([0])}
    cached = freeze_cache.cache_rows(split.prefix, images, parts)
    assert len(cached.arrays[0]) == 5  # rows 0, 1, 3, 7, 8: row 3 once
    direct = freeze_cache.compute_activations(split.prefix, images[[8, 1]])
    np.testing.assert_allclose(cached.inputs([8, 1]), direct[0], rtol=1e-6)
    assert cached.nbytes == cached.arrays[0].nbytes and cached.seconds >= 0
    with pytest.raises(KeyError, match=r"\[2\]"):
        cached.take([2, 3])
