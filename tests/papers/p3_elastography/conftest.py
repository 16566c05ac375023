"""Shared set-up of P3's tests: a smoke run context on the phantom data folder."""

from __future__ import annotations

import pytest

from mstl_lib.context import start_run
from mstl_lib.papers.p3_elastography.settings import CHAPTER


@pytest.fixture
def smoke_run(phantom_dir, isolated_dirs):
    """P3's run context under ``smoke`` on the phantom folder, random initialisation."""
    return start_run(CHAPTER, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)
