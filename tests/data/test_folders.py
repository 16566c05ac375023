"""Generic class-per-folder datasets and the Mendeley breast-ultrasound set."""

from __future__ import annotations

import pytest
from dataset_trees import check_base_columns, mendeley_tree, write_image

from mstl_lib.data import (
    DatasetLayoutError,
    class_counts,
    load_image_folder,
    load_mendeley,
)


def test_load_image_folder(tmp_path):
    root = tmp_path / "mine"
    write_image(root / "Malignant" / "a.PNG")
    write_image(root / "Malignant" / "sub" / "b.jpg", mode="RGB")
    write_image(root / "benign" / "c.bmp")
    write_image(root / "normal" / "d.tif")
    (root / "README.md").write_text("about")
    df = load_image_folder(root, dataset="mine")
    check_base_columns(df, "mine")
    assert df["label"].tolist() == ["Malignant", "Malignant", "benign", "normal"]
    assert df["target"].tolist() == [1, 1, 0, -1]
    assert df["relpath"].tolist()[1] == "Malignant/sub/b.jpg"
    assert df["group"].iloc[1] == "mine:Malignant/sub/b.jpg"
    assert df.attrs["ignored_files"] == ["README.md"]
    chosen = load_image_folder(root, classes=["benign", "malignant"], dataset="mine")
    assert chosen["label"].tolist() == ["benign", "malignant", "malignant"]


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda r: (r / "benign").mkdir(parents=True), "class folder 'benign' holds no images"),
        (lambda r: (write_image(r / "benign" / "a.png"), (r / "benign" / "x.csv").write_text("1")),
         r"x\.csv: not an image file"),
        (lambda r: r.mkdir(parents=True), "no class folders"),
    ],
    ids=["empty-class", "non-image", "no-classes"],
)
def test_load_image_folder_layout_errors(tmp_path, setup, match):
    root = tmp_path / "mine"
    setup(root)
    with pytest.raises(DatasetLayoutError, match=match):
        load_image_folder(root)


def test_load_image_folder_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "mine" / "benign").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError, match="'malignant' is missing"):
        load_image_folder(tmp_path / "mine", classes=["benign", "malignant"])


@pytest.mark.parametrize("wrapped", [False, True])
def test_load_mendeley(tmp_path, wrapped):
    root = mendeley_tree(tmp_path / "mendeley", wrapped=wrapped)
    df = load_mendeley(root)
    check_base_columns(df, "mendeley")
    assert class_counts(df)["images"].to_dict() == {"benign": 2, "malignant": 3}
    assert df["target"].tolist() == [0, 0, 1, 1, 1]
    assert df.attrs["root"] == str(root.resolve())
