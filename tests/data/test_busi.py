"""BUSI: class folders, numeric order, several masks per image, layout errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dataset_trees import check_base_columns, write_image

from mstl_lib.data import DatasetLayoutError, class_counts, load_busi


def test_load_busi(busi_root):
    df = load_busi(busi_root)
    check_base_columns(df, "busi")
    assert df["label"].tolist() == ["benign"] * 3 + ["malignant"] * 2
    assert df["target"].tolist() == [0, 0, 0, 1, 1]
    assert df["image_id"].tolist()[:3] == ["benign (1)", "benign (2)", "benign (3)"]
    assert df["n"].tolist() == [1, 2, 3, 1, 2]
    assert df["group"].iloc[0] == "busi:benign (1)"
    masks = df.set_index("image_id")["mask_paths"]
    names = [Path(p).name for p in masks["benign (2)"]]
    assert names == ["benign (2)_mask.png", "benign (2)_mask_1.png"]
    assert df.attrs["excluded"] == {"normal": 1}
    assert df.attrs["orphan_masks"] == 1


def test_load_busi_include_normal(busi_root):
    df = load_busi(busi_root, include_normal=True)
    assert class_counts(df)["images"].to_dict() == {"benign": 3, "malignant": 2, "normal": 1}
    assert df.loc[df["label"] == "normal", "target"].tolist() == [-1]
    assert df.attrs["excluded"] == {}


def test_load_busi_sorts_numerically(tmp_path):
    root = tmp_path / "busi"
    for n in (10, 2, 1):
        for label in ("benign", "malignant"):
            write_image(root / label / f"{label} ({n}).png")
    assert load_busi(root)["n"].tolist() == [1, 2, 10, 1, 2, 10]


def test_busi_empty_class_folder(busi_root):
    for path in (busi_root / "malignant").iterdir():
        path.unlink()
    with pytest.raises(DatasetLayoutError, match="malignant.*no images"):
        load_busi(busi_root)


def test_busi_missing_class_folder(tmp_path):
    root = tmp_path / "only_benign"
    (root / "benign").mkdir(parents=True)
    write_image(root / "benign" / "benign (1).png")
    with pytest.raises(DatasetLayoutError, match="'malignant' is missing"):
        load_busi(root)


def test_busi_non_image_file(busi_root):
    (busi_root / "benign" / "notes.txt").write_text("hello")
    (busi_root / "benign" / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    notes = re.escape(str(busi_root / "benign" / "notes.txt"))
    with pytest.raises(DatasetLayoutError, match=notes):
        load_busi(busi_root)
    assert load_busi(busi_root, validate=False).attrs["ignored_files"] == 1


def test_busi_broken_image_named(busi_root):
    (busi_root / "benign" / "benign (1).png").write_bytes(b"")
    with pytest.raises(ValueError, match=re.escape("benign (1).png")):
        load_busi(busi_root)


@pytest.mark.realdata
def test_real_busi(shared_data):
    df = load_busi(shared_data / "busi", include_normal=True)
    assert class_counts(df)["images"].to_dict() == {"benign": 437, "malignant": 210, "normal": 133}
    assert df["mask_paths"].map(len).sum() == 454 + 211 + 133
    assert df["group"].is_unique
