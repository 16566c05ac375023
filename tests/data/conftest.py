"""Fixture trees of the dataset loaders (built by :mod:`dataset_trees`, importable by name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib does not add test folders
    sys.path.insert(0, str(HERE))

from dataset_trees import breakhis_tree, busi_tree, ddti_tree


@pytest.fixture
def busi_root(tmp_path):
    """A BUSI tree in ``tmp_path/data/busi`` (see :func:`dataset_trees.busi_tree`)."""
    return busi_tree(tmp_path / "data" / "busi")


@pytest.fixture
def ddti_root(tmp_path):
    """A DDTI tree in ``tmp_path/ddti`` (see :func:`dataset_trees.ddti_tree`)."""
    return ddti_tree(tmp_path / "ddti")


@pytest.fixture
def breakhis_parent(tmp_path):
    """A BreakHis tree in ``tmp_path/breakhis`` (see :func:`dataset_trees.breakhis_tree`)."""
    return breakhis_tree(tmp_path / "breakhis")
