"""Shared fixtures: the real data folder (skipped when absent) and quiet TensorFlow."""

from __future__ import annotations

import os

import pytest

from mstl_lib.paths import REPO_ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """Path of ``../shared/data``; tests using it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported without its start-up noise (Keras too); None where it is not installed."""
    from mstl_lib.nn.runtime import import_keras, import_tensorflow, tensorflow_available

    import_keras()
    return import_tensorflow() if tensorflow_available() else None


def build_chain_classifier(seed: int = 0):
    """Image -> preprocessing -> a plain chain "backbone" (7 layers, 2 BatchNorm) -> P4's head (8 units).

    A small network whose frozen-prefix cache, BatchNorm settling and head can be checked in seconds.
    """
    from mstl_lib.nn.runtime import import_keras
    from mstl_lib.seeding import seed_everything

    keras = import_keras()

    from mstl_lib.nn import heads

    seed_everything(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    backbone = keras.Model(inputs, x, name="backbone")
    image = keras.Input((16, 16, 3), name="image")
    features = backbone(keras.layers.Rescaling(2.0, offset=-1.0, name="preprocessing")(image))
    return keras.Model(image, heads.p4_head(units=8)(features), name="chain")


@pytest.fixture
def chain_classifier():
    """:func:`build_chain_classifier`, as a fixture (call it to build one)."""
    return build_chain_classifier
