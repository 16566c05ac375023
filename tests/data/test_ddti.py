"""DDTI: ``label.txt`` parsing, TIRADS to target, cases as groups, malformed lines named."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_trees import DDTI_LINES, check_base_columns

from mstl_lib.data import DatasetLayoutError, class_counts, group_counts, load_ddti


def test_load_ddti(ddti_root):
    df = load_ddti(ddti_root)
    check_base_columns(df, "ddti")
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


@pytest.mark.realdata
def test_real_ddti(shared_data):
    df = load_ddti(shared_data / "ddti")
    assert df["tirads"].value_counts().to_dict() == {
        "4a": 117, "4c": 93, "4b": 92, "2": 67, "5": 66, "3": 35}
    assert class_counts(df)["images"].to_dict() == {"benign": 102, "malignant": 368}
    assert df.attrs["excluded"] == {"no_tirads": 125, "not_in_label_txt": 0}
    assert len(df) + df.attrs["excluded"]["no_tirads"] == 595
