"""Shared set-up of the engine tests: the importable tasks of :mod:`engine_tasks`, a run counter.

Grids name their task as ``"engine_tasks:ridge_task"``, which subprocesses and
dask workers import by name; so this folder goes on ``sys.path`` here (pytest's
importlib mode adds no test folder) and on ``PYTHONPATH`` for child processes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mstl_lib.paths import REPO_ROOT

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment of a child process that imports ``mstl_lib`` and ``engine_tasks``."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(HERE)])}


@pytest.fixture
def counter(tmp_path) -> Path:
    """Counter file the tasks append ``name|fold`` to (read with ``engine_tasks.count_runs``)."""
    return tmp_path / "counter.txt"
