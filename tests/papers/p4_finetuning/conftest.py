"""Shared set-up of P4's tests: a phantom data folder, isolated build and results folders, a smoke run."""

from __future__ import annotations

import pytest

from mstl_lib.context import start_run
from mstl_lib.papers.p4_finetuning.settings import CHAPTER


@pytest.fixture
def smoke_run(phantom_dir, isolated_dirs):
    """P4's run context under ``smoke`` on the phantom folder, random initialisation."""
    return start_run(CHAPTER, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)
