"""Shared set-up of P4's tests: a phantom data folder, isolated build and results folders, a smoke run."""

from __future__ import annotations

import pytest

from mstl_lib.context import start_run
from mstl_lib.data.phantoms import write_phantom_data_dir
from mstl_lib.papers.p4_finetuning.settings import CHAPTER


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory):
    """A small phantom data folder (``busi/``, ``ddti/``...), written once per session."""
    return write_phantom_data_dir(tmp_path_factory.mktemp("p4_phantoms") / "data", seed=0, scale="small")


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """``MSTL_BUILD_DIR`` and ``MSTL_RESULTS_DIR`` under ``tmp_path``; returns the results folder."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture
def smoke_run(phantom_dir, isolated_dirs):
    """P4's run context under ``smoke`` on the phantom folder, random initialisation."""
    return start_run(CHAPTER, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)
