"""Tests of mstl_lib.datasets on tiny fixture trees, and on ../shared/data when present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mstl_lib import data
from mstl_lib.data import (
    DATASETS,
    DatasetLayoutError,
    DatasetNotFoundError,
    build_mt_small_standin,
    class_counts,
    dataset_root,
    group_counts,
    load_breakhis,
    load_busi,
    load_cells,
    load_dataset,
    load_ddti,
    load_image_folder,
    load_mendeley,
    load_mt_small,
    locate_data_dir,
)
from mstl_lib.data import registry
from mstl_lib.data.images import image_shape


def _img(path: Path, size=(10, 12), mode="L", lesion=False) -> Path:
    """Write a small image (a bright square when ``lesion``) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full(size, 40, np.uint8)
    if lesion:
        pixels[:] = 0
        pixels[2:5, 3:7] = 255
    image = Image.fromarray(pixels)
    (image.convert("1") if mode == "1" else image.convert(mode)).save(path)
    return path


def _check_base_columns(df: pd.DataFrame, dataset: str) -> None:
    assert list(df.columns[:6]) == data.BASE_COLUMNS
    assert (df["dataset"] == dataset).all()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in df["path"])
    assert df["target"].dtype.kind == "i"
    assert df["group"].str.startswith(f"{dataset}:").all()
    assert all(isinstance(m, list) for m in df["mask_paths"])
    assert df.attrs["dataset"] == dataset and "excluded" in df.attrs


# --------------------------------------------------------------------------- #
# Registry, locating data, missing datasets
# --------------------------------------------------------------------------- #
def test_registry_citation_keys():
    keys = {name: info.citation_key for name, info in DATASETS.items()}
    assert keys == {
        "busi": "aldhabyani2020busi", "mendeley": "rodrigues2017mendeley", "mt_small": "mtsmall",
        "ddti": "pedraza2015ddti", "breakhis": "spanhol2016breakhis", "cells": "celltracking",
    }
    for info in DATASETS.values():
        assert info.url.startswith("http") and "\n" in info.layout and info.citation


@pytest.mark.parametrize("name", list(DATASETS))
def test_missing_dataset_message_shows_layout_url_and_citation(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, data_dir=tmp_path)
    message = str(info.value)
    entry = DATASETS[name]
    assert str(tmp_path / name) in message
    assert entry.layout.splitlines()[1].strip() in message
    assert entry.url in message and entry.citation in message
    assert isinstance(info.value, FileNotFoundError)


def test_loader_on_missing_root_raises_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="busi"):
        load_busi(tmp_path / "nowhere")


def test_locate_data_dir(tmp_path, monkeypatch):
    assert locate_data_dir(tmp_path) == (tmp_path.resolve(), "given")
    with pytest.raises(FileNotFoundError, match="missing-folder"):
        locate_data_dir(tmp_path / "missing-folder")
    monkeypatch.setenv("MSTL_DATA_DIR", str(tmp_path))
    assert locate_data_dir("auto") == (tmp_path.resolve(), "MSTL_DATA_DIR")


def test_locate_data_dir_none_found(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "data_dir_candidates", lambda: [("nowhere", tmp_path / "x")])
    path, reason = locate_data_dir("auto")
    assert path is None and reason.startswith("no data folder found in:") and "x" in reason
    with pytest.raises(DatasetNotFoundError, match="no data folder found"):
        dataset_root("auto", "busi")


def test_dataset_root_accepts_official_folder_names(tmp_path):
    (tmp_path / "Dataset_BUSI_with_GT").mkdir()
    assert dataset_root(tmp_path, "busi") == (tmp_path / "Dataset_BUSI_with_GT").resolve()
    (tmp_path / "busi").mkdir()
    assert dataset_root(tmp_path, "BUSI") == (tmp_path / "busi").resolve()
    with pytest.raises(KeyError, match="unknown dataset"):
        dataset_root(tmp_path, "imagenet")


# --------------------------------------------------------------------------- #
# BUSI
# --------------------------------------------------------------------------- #
@pytest.fixture
def busi_root(tmp_path):
    root = tmp_path / "data" / "busi"
    for label, n_images in (("benign", 3), ("malignant", 2), ("normal", 1)):
        for n in range(1, n_images + 1):
            _img(root / label / f"{label} ({n}).png", mode="RGB")
            _img(root / label / f"{label} ({n})_mask.png", mode="1", lesion=label != "normal")
    _img(root / "benign" / "benign (2)_mask_1.png", mode="RGB", lesion=True)
    _img(root / "benign" / "benign (9)_mask.png", mode="1")  # orphan mask
    return root


def test_load_busi(busi_root):
    df = load_busi(busi_root)
    _check_base_columns(df, "busi")
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
            _img(root / label / f"{label} ({n}).png")
    assert load_busi(root)["n"].tolist() == [1, 2, 10, 1, 2, 10]


def test_busi_empty_class_folder(busi_root):
    for path in (busi_root / "malignant").iterdir():
        path.unlink()
    with pytest.raises(DatasetLayoutError, match="malignant.*no images"):
        load_busi(busi_root)


def test_busi_missing_class_folder(busi_root, tmp_path):
    root = tmp_path / "only_benign"
    (root / "benign").mkdir(parents=True)
    _img(root / "benign" / "benign (1).png")
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


# --------------------------------------------------------------------------- #
# Generic folders and Mendeley
# --------------------------------------------------------------------------- #
def test_load_image_folder(tmp_path):
    root = tmp_path / "mine"
    _img(root / "Malignant" / "a.PNG")
    _img(root / "Malignant" / "sub" / "b.jpg", mode="RGB")
    _img(root / "benign" / "c.bmp")
    _img(root / "normal" / "d.tif")
    (root / "README.md").write_text("about")
    df = load_image_folder(root, dataset="mine")
    _check_base_columns(df, "mine")
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
        (lambda r: (_img(r / "benign" / "a.png"), (r / "benign" / "x.csv").write_text("1")),
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
    root = tmp_path / "mendeley"
    base = root / "Breast ultrasound images" if wrapped else root
    for i in range(2):
        _img(base / "Benign" / f"b{i}.bmp")
    for i in range(3):
        _img(base / "MALIGNANT" / f"m{i}.png")
    df = load_mendeley(root)
    _check_base_columns(df, "mendeley")
    assert class_counts(df)["images"].to_dict() == {"benign": 2, "malignant": 3}
    assert df["target"].tolist() == [0, 0, 1, 1, 1]
    assert df.attrs["root"] == str(root.resolve())


# --------------------------------------------------------------------------- #
# MT-Small and its stand-in
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("names", [("Benign", "Original", "Ground_Truth"),
                                   ("benign", "original", "ground truth")])
def test_load_mt_small(tmp_path, names):
    cls, orig, gt = names
    root = tmp_path / "mt_small"
    mal = cls.replace("enign", "alignant").replace("B", "M").replace("b", "m")
    _img(root / cls / orig / "case1.png")
    _img(root / cls / gt / "case1.png", lesion=True)
    _img(root / cls / orig / "case2.png")  # no mask
    _img(root / mal / orig / "case3.png")
    _img(root / mal / gt / "case3_mask.png", lesion=True)
    _img(root / mal / gt / "stray.png")
    df = load_mt_small(root)
    _check_base_columns(df, "mt_small")
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


def test_build_mt_small_standin(busi_root, tmp_path):
    busi = load_busi(busi_root)
    out = tmp_path / "build" / "mt_small_standin"
    assert build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1) == out
    df = load_mt_small(out)
    _check_base_columns(df, "mt_small")
    assert class_counts(df)["images"].to_dict() == {"benign": 2, "malignant": 2}
    assert df["standin"].all() and df.attrs["standin"]["seed"] == 1
    assert set(df["source_id"]) <= set(busi["image_id"])
    assert all(len(m) == 1 for m in df["mask_paths"])
    assert image_shape(df["path"].iloc[0]) == (16, 16)
    assert image_shape(df["mask_paths"].iloc[0][0]) == (16, 16)
    readme = (out / "README.md").read_text()
    assert "stand-in" in readme and "seed=1" in readme
    assert all(s in readme for s in df["source_id"])

    # same parameters: nothing is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1)
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    # other parameters: rebuilt
    build_mt_small_standin(busi, out, n_per_class=1, size=8, seed=1)
    assert len(load_mt_small(out)) == 2
    assert json.loads((out / data.STANDIN_FILE).read_text())["size"] == 8


def test_standin_refuses_foreign_folder_and_too_many(busi_root, tmp_path):
    busi = load_busi(busi_root)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        build_mt_small_standin(busi, foreign, n_per_class=1, size=8)
    with pytest.raises(ValueError, match="fewer than n_per_class=5"):
        build_mt_small_standin(busi, tmp_path / "new", n_per_class=5, size=8)


# --------------------------------------------------------------------------- #
# DDTI
# --------------------------------------------------------------------------- #
DDTI_LINES = [
    "1_1,bening,solid,hypoechogenicity,well-defined,non,2,F,40",
    "1_2,bening,solid,hypoechogenicity,well-defined,non,4a,F,40",
    "2_1,na,None,None,None,None,None,None,None",
    "10_1,maling,cystic,,spiculated,microcalcification,5,M,",
]


@pytest.fixture
def ddti_root(tmp_path):
    root = tmp_path / "ddti"
    root.mkdir()
    for image_id in ("1_1", "1_2", "2_1", "10_1", "99_1"):  # 99_1 not in label.txt
        _img(root / f"{image_id}.a.jpg", mode="RGB")
        _img(root / f"{image_id}.b.jpg", mode="RGB", lesion=True)
    (root / "label.txt").write_text("\n".join(DDTI_LINES))
    return root


def test_load_ddti(ddti_root):
    df = load_ddti(ddti_root)
    _check_base_columns(df, "ddti")
    assert df["case"].tolist() == ["1", "1", "10"]
    assert df["k"].tolist() == [1, 2, 1]
    assert df["tirads"].tolist() == ["2", "4a", "5"]
    assert df["label"].tolist() == ["benign", "malignant", "malignant"]
    assert df["target"].tolist() == [0, 1, 1]
    assert df["group"].tolist() == ["ddti:1", "ddti:1", "ddti:10"]
    assert df.attrs["excluded"] == {"no_tirads": 1, "not_in_label_txt": 1}
    last = df.iloc[-1]
    assert pd.isna(last["echogenicity"]) and np.isnan(last["age"]) and last["sex"] == "M"
    assert df["age"].iloc[0] == 40.0 and df["folder_label"].iloc[0] == "bening"
    assert all(Path(m[0]).name.endswith(".b.jpg") for m in df["mask_paths"])
    assert group_counts(df).loc["ddti:1", "n_labels"] == 2  # a case holding both labels


def test_ddti_include_unlabelled(ddti_root):
    df = load_ddti(ddti_root, include_unlabelled=True)
    assert len(df) == 4 and df.loc[df["case"] == "2", "target"].item() == -1


@pytest.mark.parametrize(
    ("bad_line", "match"),
    [("3_1,na,solid,,,non,4a", "line 2: expected 9"),
     ("3_1,na,solid,,,non,7,F,30", "line 2: unknown TIRADS '7'"),
     ("abc,na,solid,,,non,3,F,30", "line 2: image id 'abc'"),
     ("1_1,na,solid,,,non,3,F,30", "line 2: image id '1_1' already on line 1"),
     ("3_1,na,solid,,,non,3,F,old", "line 2: age 'old'")],
)
def test_ddti_malformed_label_line(ddti_root, bad_line, match):
    (ddti_root / "label.txt").write_text(DDTI_LINES[0] + "\n" + bad_line + "\n")
    label_file = re.escape(str(ddti_root / "label.txt"))
    with pytest.raises(DatasetLayoutError, match=label_file + ".*" + match):
        load_ddti(ddti_root)


def test_ddti_listed_image_missing(ddti_root):
    (ddti_root / "10_1.a.jpg").unlink()
    with pytest.raises(DatasetLayoutError, match=r"10_1\.a\.jpg \(label.txt line 4\)"):
        load_ddti(ddti_root)
    (ddti_root / "label.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="label.txt: missing"):
        load_ddti(ddti_root)


# --------------------------------------------------------------------------- #
# BreakHis
# --------------------------------------------------------------------------- #
def _breakhis_file(base: Path, bm: str, kind: str, subtype: str, patient: str, mag: int, seq: int):
    label = "benign" if bm == "B" else "malignant"
    folder = base / label / "SOB" / subtype / f"SOB_{bm}_{kind}_{patient}" / f"{mag}X"
    return _img(folder / f"SOB_{bm}_{kind}-{patient}-{mag}-{seq:03d}.png", mode="RGB")


@pytest.fixture
def breakhis_parent(tmp_path):
    breast = tmp_path / "breakhis" / "BreaKHis_v1" / "histology_slides" / "breast"
    _breakhis_file(breast, "B", "F", "fibroadenoma", "14-25197", 40, 1)
    _breakhis_file(breast, "B", "F", "fibroadenoma", "14-25197", 100, 2)
    _breakhis_file(breast, "B", "A", "adenosis", "14-22549AB", 40, 1)
    _breakhis_file(breast, "M", "DC", "ductal_carcinoma", "14-2523", 400, 10)
    return tmp_path / "breakhis"


@pytest.mark.parametrize("below", ["", "BreaKHis_v1", "BreaKHis_v1/histology_slides/breast"])
def test_load_breakhis(breakhis_parent, below):
    df = load_breakhis(breakhis_parent / below)
    _check_base_columns(df, "breakhis")
    assert df["label"].tolist() == ["benign"] * 3 + ["malignant"]
    assert df["tumor_type"].tolist() == ["A", "F", "F", "DC"]
    assert df["subtype"].tolist() == [
        "adenosis", "fibroadenoma", "fibroadenoma", "ductal_carcinoma"]
    assert df["patient"].tolist() == ["14-22549AB", "14-25197", "14-25197", "14-2523"]
    assert df["magnification"].tolist() == [40, 40, 100, 400]
    assert df["seq"].tolist() == [1, 1, 2, 10]
    assert df["group"].nunique() == 3 and df["group"].iloc[0] == "breakhis:14-22549AB"


def test_breakhis_bad_names(breakhis_parent):
    breast = breakhis_parent / "BreaKHis_v1" / "histology_slides" / "breast"
    bad = _img(breast / "malignant" / "SOB" / "x" / "SOB_B_F-14-1-40-001.png")
    with pytest.raises(DatasetLayoutError, match="says SOB_B but the file is under 'malignant'"):
        load_breakhis(breakhis_parent)
    bad.unlink()
    _img(breast / "benign" / "photo.png")
    with pytest.raises(DatasetLayoutError, match=r"photo\.png: name does not follow"):
        load_breakhis(breakhis_parent)
    with pytest.raises(DatasetLayoutError, match="no BreaKHis"):
        load_breakhis(breast / "benign")


# --------------------------------------------------------------------------- #
# Cells
# --------------------------------------------------------------------------- #
def test_load_cells_flat(tmp_path):
    root = tmp_path / "cells"
    for frame in (8, 9):
        _img(root / f"B3_01_1_1_BrightField_{frame:03d}.jpeg")
    _img(root / "hela_dic_t015.tif")
    _img(root / "hela_dic_t015_seg.tif")
    (root / "SOURCE_README.md").write_text("where these come from")
    df = load_cells(root)
    _check_base_columns(df, "cells")
    assert df.attrs["layout"] == "flat"
    assert len(df) == 3 and (df["target"] == -1).all()
    dic = df[df["modality"] == "DIC"].iloc[0]
    assert dic["cell_line"] == "HeLa" == dic["label"] and dic["frame"] == 15
    assert Path(dic["seg_path"]).name == "hela_dic_t015_seg.tif"
    bright = df[df["modality"] == "bright-field"]
    assert len(bright) == 2 and bright["seg_path"].isna().all()
    assert bright["group"].nunique() == 1 and bright["frame"].tolist() == [8, 9]


def test_load_cells_folder_per_line(tmp_path):
    root = tmp_path / "cells"
    _img(root / "HeLa" / "a.png")
    _img(root / "H1299" / "b.jpg")
    _img(root / "H1299" / "c.tif")
    df = load_cells(root)
    _check_base_columns(df, "cells")
    assert df.attrs["layout"] == "folders"
    assert df["label"].tolist() == ["H1299", "H1299", "HeLa"]
    assert (df["cell_line"] == df["label"]).all() and (df["target"] == -1).all()
    (root / "HeLa" / "a.png").unlink()
    with pytest.raises(DatasetLayoutError, match="'HeLa' holds no images"):
        load_cells(root)


def test_load_cells_empty(tmp_path):
    (tmp_path / "cells").mkdir()
    with pytest.raises(DatasetLayoutError, match="no images and no cell-line folders"):
        load_cells(tmp_path / "cells")


# --------------------------------------------------------------------------- #
# Summaries and dispatch
# --------------------------------------------------------------------------- #
def test_counts_and_dispatch(busi_root):
    df = load_dataset("busi", data_dir=busi_root.parent, include_normal=True)
    counts = class_counts(df)
    assert counts.loc["benign"].to_dict() == {"target": 0, "images": 3, "groups": 3, "with_mask": 3}
    groups = group_counts(df)
    assert len(groups) == 6 and (groups["images"] == 1).all() and (groups["n_labels"] == 1).all()


# --------------------------------------------------------------------------- #
# Real data (../shared/data), skipped when absent
# --------------------------------------------------------------------------- #
@pytest.mark.realdata
def test_real_busi(shared_data):
    df = load_busi(shared_data / "busi", include_normal=True)
    assert class_counts(df)["images"].to_dict() == {"benign": 437, "malignant": 210, "normal": 133}
    assert df["mask_paths"].map(len).sum() == 454 + 211 + 133
    assert df["group"].is_unique


@pytest.mark.realdata
def test_real_ddti(shared_data):
    df = load_ddti(shared_data / "ddti")
    assert df["tirads"].value_counts().to_dict() == {
        "4a": 117, "4c": 93, "4b": 92, "2": 67, "5": 66, "3": 35}
    assert class_counts(df)["images"].to_dict() == {"benign": 102, "malignant": 368}
    assert df.attrs["excluded"] == {"no_tirads": 125, "not_in_label_txt": 0}
    assert len(df) + df.attrs["excluded"]["no_tirads"] == 595


@pytest.mark.realdata
def test_real_breakhis(shared_data):
    df = load_breakhis(shared_data / "breakhis")
    assert class_counts(df)["images"].to_dict() == {"benign": 8, "malignant": 4}
    # 9 patient folders: 14-25197 (4 magnifications), 4 other benign, 4 malignant
    assert df["patient"].nunique() == 9
    assert sorted(df.loc[df["patient"] == "14-25197", "magnification"]) == [40, 100, 200, 400]


@pytest.mark.realdata
def test_real_cells(shared_data):
    df = load_cells(shared_data / "cells")
    assert df["modality"].value_counts().to_dict() == {"bright-field": 3, "DIC": 1}
    dic = df[df["modality"] == "DIC"].iloc[0]
    assert dic["cell_line"] == "HeLa" and Path(dic["seg_path"]).is_file()


@pytest.mark.realdata
def test_real_standin(shared_data, tmp_path):
    busi = load_busi(shared_data / "busi")
    out = build_mt_small_standin(busi, tmp_path / "standin", n_per_class=3, size=32)
    df = load_mt_small(out)
    assert class_counts(df)["images"].to_dict() == {"benign": 3, "malignant": 3}
    assert all(np.asarray(Image.open(masks[0])).any() for masks in df["mask_paths"])
