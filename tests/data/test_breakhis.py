"""BreakHis: found from any level of the release, names parsed, patients as groups."""

from __future__ import annotations

import pytest
from dataset_trees import breakhis_breast, check_base_columns, write_image

from mstl_lib.data import DatasetLayoutError, class_counts, load_breakhis


@pytest.mark.parametrize("below", ["", "BreaKHis_v1", "BreaKHis_v1/histology_slides/breast"])
def test_load_breakhis(breakhis_parent, below):
    df = load_breakhis(breakhis_parent / below)
    check_base_columns(df, "breakhis")
    assert df["label"].tolist() == ["benign"] * 3 + ["malignant"]
    assert df["tumor_type"].tolist() == ["A", "F", "F", "DC"]
    assert df["subtype"].tolist() == [
        "adenosis", "fibroadenoma", "fibroadenoma", "ductal_carcinoma"]
    assert df["patient"].tolist() == ["14-22549AB", "14-25197", "14-25197", "14-2523"]
    assert df["magnification"].tolist() == [40, 40, 100, 400]
    assert df["seq"].tolist() == [1, 1, 2, 10]
    assert df["group"].nunique() == 3 and df["group"].iloc[0] == "breakhis:14-22549AB"


def test_breakhis_bad_names(breakhis_parent):
    breast = breakhis_breast(breakhis_parent)
    bad = write_image(breast / "malignant" / "SOB" / "x" / "SOB_B_F-14-1-40-001.png")
    with pytest.raises(DatasetLayoutError, match="says SOB_B but the file is under 'malignant'"):
        load_breakhis(breakhis_parent)
    bad.unlink()
    write_image(breast / "benign" / "photo.png")
    with pytest.raises(DatasetLayoutError, match=r"photo\.png: name does not follow"):
        load_breakhis(breakhis_parent)
    with pytest.raises(DatasetLayoutError, match="no BreaKHis"):
        load_breakhis(breast / "benign")


@pytest.mark.realdata
def test_real_breakhis(shared_data):
    df = load_breakhis(shared_data / "breakhis")
    assert class_counts(df)["images"].to_dict() == {"benign": 8, "malignant": 4}
    # 9 patient folders: 14-25197 (4 magnifications), 4 other benign, 4 malignant
    assert df["patient"].nunique() == 9
    assert sorted(df.loc[df["patient"] == "14-25197", "magnification"]) == [40, 100, 200, 400]
