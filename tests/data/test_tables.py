"""Task tables: benign-vs-malignant rows, caps, balanced samples, groups and the image array."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data import phantoms
from mstl_lib.data.sources import REAL, DataSource
from mstl_lib.data.tables import balanced_sample, binary_table, image_array


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables") / "busi"
    phantoms.write_ultrasound_phantoms(root, 8, 5, n_normal=3, seed=1, size=32)
    return DataSource("busi", "train", REAL, str(root))


def test_only_benign_and_malignant_rows(source):
    table = binary_table(source)
    assert set(table["target"]) == {0, 1} and len(table) == 13
    assert (table["target"] == 1).sum() == 5


@pytest.mark.parametrize("max_images", [4, 6, 10])
def test_cap_is_stratified_and_a_subset(source, max_images):
    full = binary_table(source)
    capped = binary_table(source, max_images=max_images, seed=2)
    assert len(capped) == max_images
    assert set(capped["path"]) <= set(full["path"])
    assert capped["target"].nunique() == 2


@pytest.mark.parametrize("per_class, expected", [(2, {0: 2, 1: 2}), (5, {0: 5, 1: 5}), (50, {0: 8, 1: 5})])
def test_balanced_sample_counts(source, per_class, expected):
    table = binary_table(source, per_class=per_class, seed=0)
    assert table["target"].value_counts().to_dict() == expected


def test_balanced_sample_is_seeded_and_keeps_order():
    table = pd.DataFrame({"target": [0] * 6 + [1] * 4, "path": [f"p{i}" for i in range(10)]})
    first, again, other = (balanced_sample(table, 3, seed=s) for s in (0, 0, 1))
    assert first.equals(again) and not first.equals(other)
    assert list(first["path"]) == sorted(first["path"], key=lambda p: int(p[1:]))


def test_duplicate_grouping_merges_groups(source):
    image = binary_table(source, grouping="image")
    merged = binary_table(source, grouping="duplicates")
    assert merged["group"].nunique() <= image["group"].nunique()
    assert len(merged) == len(image)


def test_returned_tables_are_copies(source):
    table = binary_table(source)
    table["target"] = 9
    assert set(binary_table(source)["target"]) == {0, 1}


def test_unknown_grouping_is_refused(source):
    with pytest.raises(ValueError, match="grouping must be one of"):
        binary_table(source, grouping="patients")


def test_image_array_shape_range_and_read_only(source):
    paths = tuple(binary_table(source)["path"][:3])
    array = image_array(paths, 16)
    assert array.shape == (3, 16, 16, 3) and array.dtype == np.float32
    assert 0.0 <= array.min() and array.max() <= 1.0
    with pytest.raises(ValueError):
        array[0, 0, 0, 0] = 1.0
