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
    """TensorFlow, imported without its start-up noise."""
    from mstl_lib.nn.runtime import import_tensorflow

    return import_tensorflow()
