"""MT-Small: class / image / mask folders in any spelling, masks matched by case name."""

from __future__ import annotations

import pytest
from dataset_trees import check_base_columns, mt_small_tree

from mstl_lib.data import DatasetLayoutError, load_mt_small


@pytest.mark.parametrize("names", [("Benign", "Original", "Ground_Truth"),
                                   ("benign", "original", "ground truth")])
def test_load_mt_small(tmp_path, names):
    df = load_mt_small(mt_small_tree(tmp_path / "mt_small", names))
    check_base_columns(df, "mt_small")
    assert df["label"].tolist() == ["benign", "benign", "malignant"]
    assert df["target"].tolist() == [0, 0, 1]
    assert [len(m) for m in df["mask_paths"]] == [1, 0, 1]
    assert df["group"].tolist() == ["mt_small:benign/case1", "mt_small:benign/case2",
                                    "mt_small:malignant/case3"]
    assert not df["standin"].any() and df.attrs["standin"] is None
    assert df.attrs["orphan_masks"] == 1


def test_mt_small_missing_original(tmp_path):
    root = tmp_path / "mt_small"
    (root / "Benign" / "Ground_Truth").mkdir(parents=True)
    (root / "Malignant" / "Original").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match="'Original' is missing"):
        load_mt_small(root)
