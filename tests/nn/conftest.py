"""Shared set-up of the network tests: a fresh Keras session per test and random images."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def fresh_session(tf):
    """Reset Keras names and graph state; skip the slow gc.collect()."""
    import keras

    keras.backend.clear_session(free_memory=False)


def _random_images(n: int, shape, seed: int = 0) -> np.ndarray:
    """``n`` float32 images of ``shape`` with values uniform in [0, 1)."""
    return np.random.default_rng(seed).random((n, *shape), dtype="float32")


@pytest.fixture
def random_images():
    """``random_images(n, shape, seed=0)``: a seeded batch of float32 images in [0, 1)."""
    return _random_images
