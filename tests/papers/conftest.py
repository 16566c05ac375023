"""Fixtures every paper's tests share: a small phantom data folder and isolated build and results folders."""

from __future__ import annotations

import pytest

from mstl_lib.data.phantoms import write_phantom_data_dir


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory):
    """A small phantom data folder (``busi/``, ``ddti/``, ``cells/<line>/``), written once per session."""
    return write_phantom_data_dir(tmp_path_factory.mktemp("phantoms") / "data", seed=0, scale="small")


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """``MSTL_BUILD_DIR`` and ``MSTL_RESULTS_DIR`` under ``tmp_path``; returns the results folder."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"
