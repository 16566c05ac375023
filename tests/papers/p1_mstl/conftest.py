"""Shared set-up of P1's tests: a phantom data folder, isolated folders, one smoke run of chapter 03, records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.context import start_run
from mstl_lib.papers.p1_mstl.settings import CHAPTER


@pytest.fixture
def smoke_run(phantom_dir, isolated_dirs):
    """Chapter 03's run context under ``smoke`` on the phantom folder, random initialisation."""
    return start_run(CHAPTER, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)


@pytest.fixture(scope="session")
def _chapter_session(phantom_chapters):
    """``grids.run_all`` once under ``smoke`` on the phantom folder (every grid, through the engine), shared with
    the contract test."""
    return phantom_chapters.run("p1_mstl"), phantom_chapters.env("p1_mstl")


@pytest.fixture
def chapter(_chapter_session, monkeypatch):
    """The :class:`grids.ChapterRun` of the session's smoke run, with its build and results folders in force."""
    chapter, env = _chapter_session
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return chapter


def stage2_frame(ctl: float = 0.6, mstl: float = 0.8, optimizers=("sgd", "adam"), folds=(0, 1), spread: float = 0.1,
                 backbone: str = "ResNet50", jitter: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Stage-2 records (a ``records_frame``-like table): every metric is ``base + spread * fold`` (+ noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for tl, base in (("CTL", ctl), ("MSTL", mstl)):
        for optimizer in optimizers:
            for fold in folds:
                value = base + spread * fold + jitter * rng.normal()
                rows.append({"tl": tl, "backbone": backbone, "optimizer": optimizer, "fold": fold, "status": "done",
                             "auc": value, "f1": value, "specificity": value, "sensitivity": value,
                             "loss": 1 - value, "accuracy": value})
    return pd.DataFrame(rows)


@pytest.fixture
def records_factory():
    """:func:`stage2_frame`."""
    return stage2_frame
