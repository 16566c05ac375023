"""Every registered dataset loader returns the same kind of table (the loader contract).

A new entry of :data:`mstl_lib.data.registry.LOADERS` needs a fixture tree in
:data:`dataset_trees.TREES`; without one these tests fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import TREES

from mstl_lib.data import BASE_COLUMNS, load_dataset
from mstl_lib.data.registry import LOADERS


def test_every_loader_has_a_fixture_tree():
    assert set(TREES) == set(LOADERS), "add a builder to tests/data/dataset_trees.py:TREES"


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_returns_the_base_table(tmp_path, name):
    assert name in TREES, f"no fixture tree for dataset {name!r} in dataset_trees.TREES"
    TREES[name](tmp_path / name)
    df = load_dataset(name, tmp_path)

    assert len(df) > 0
    assert list(df.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert df.attrs["dataset"] == name
    assert (df["dataset"] == name).all()
    # path: existing files, as strings
    assert all(isinstance(p, str) and Path(p).is_file() for p in df["path"])
    # target: integers in {-1 (no binary label), 0 (benign), 1 (malignant)}
    assert df["target"].dtype.kind == "i" and set(df["target"]) <= {-1, 0, 1}
    # group: non-empty strings (the unit that splits must keep together)
    assert all(isinstance(g, str) and g for g in df["group"])
    # mask_paths: a list per row (maybe empty) of existing files
    assert all(isinstance(m, list) for m in df["mask_paths"])
    assert all(Path(p).is_file() for masks in df["mask_paths"] for p in masks)
