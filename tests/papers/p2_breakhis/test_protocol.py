"""P2's protocol: patient ids, the release's counts, the four arms' splits, the leakage report and the refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data import load_breakhis
from mstl_lib.data.sources import PHANTOM, DataSource
from mstl_lib.data.splits import SplitLeakError, assert_disjoint
from mstl_lib.papers.p2_breakhis import protocol


@pytest.mark.parametrize(("folder", "definition", "expected"), [
    ("SOB_B_A_14-22549AB", "folder", "SOB_B_A_14-22549AB"),
    ("SOB_B_A_14-22549AB", "loader", "14-22549AB"),
    ("SOB_B_A_14-22549AB", "number", "14-22549"),
    ("SOB_M_PC_15-190EF", "number", "15-190"),
    ("SOB_M_DC_14-13412", "number", "14-13412"),
])
def test_folder_patient(folder, definition, expected):
    assert protocol.folder_patient(folder, definition) == expected


def test_folder_patient_refuses_bad_input():
    with pytest.raises(ValueError, match="not a BreakHis patient folder"):
        protocol.folder_patient("patient_7")
    with pytest.raises(ValueError, match="definition must be one of"):
        protocol.folder_patient("SOB_B_A_14-1", "name")


def test_patient_ids_of_rows(fixture_rows):
    assert protocol.patient_ids(fixture_rows, "number").nunique() == 5
    assert protocol.patient_ids(fixture_rows, "loader").nunique() == 6
    assert protocol.patient_ids(fixture_rows, "folder").iloc[0] == "SOB_B_F_14-1A"


def write_counts(path, rows):
    frame = pd.DataFrame(rows, columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"])
    frame.to_csv(path, index=False)
    return path


def test_counts_split_sizes_and_leakage_on_a_fixture_release(tmp_path):
    path = write_counts(tmp_path / "c.csv", [
        ("adenosis", "benign", "SOB_B_A_14-1AB", 2, 3, 4, 5),
        ("fibroadenoma", "benign", "SOB_B_F_14-1CD", 1, 1, 1, 1),
        ("ductal_carcinoma", "malignant", "SOB_M_DC_14-9", 3, 0, 0, 0),  # only 40X: never trained on
        ("lobular_carcinoma", "malignant", "SOB_M_LC_14-8", 4, 4, 4, 4),
    ])
    long = protocol.counts_long(protocol.read_folder_counts(path))
    table = protocol.table1_counts(long)
    assert table.loc["benign", "40X"] == 3 and table.loc["total", "total"] == 37
    sizes = protocol.split_sizes(long)
    assert sizes.loc["test (40X)", "total"] == 10 and sizes.loc["train (100/200/400X)", "total"] == 27
    report = protocol.leakage_report(long, "patient_folder")
    assert (report["patients"], report["patients_both"]) == (4, 3)
    assert report["test_images"] == 10 and report["test_images_seen"] == 7
    assert report["share_test_seen"] == pytest.approx(0.7)
    merged = protocol.leakage_report(long, "patient_number")
    assert (merged["patients"], merged["patients_both"]) == (3, 2)


def test_bad_counts_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("subtype,class,folder,40X\nadenosis,benign,SOB_B_A_14-1,3\n")
    with pytest.raises(ValueError, match=r"bad\.csv: columns"):
        protocol.read_folder_counts(bad)
    path = write_counts(tmp_path / "neg.csv", [("a", "benign", "SOB_B_A_14-1", -1, 0, 0, 0)])
    with pytest.raises(ValueError, match=r"neg\.csv: image counts"):
        protocol.read_folder_counts(path)


def test_arm_a_is_the_magnification_split_with_every_patient_on_both_sides(fixture_rows):
    table = fixture_rows.assign(patient_id=protocol.patient_ids(fixture_rows))
    parts = protocol.arm_parts(table, "A")
    assert set(table.iloc[parts["test"]]["magnification"]) == {40}
    assert set(table.iloc[parts["fit"]]["magnification"]) == {100, 200, 400}
    assert len(parts["val"]) == 0 and len(parts["fit"]) + len(parts["test"]) == len(table)
    with pytest.raises(SplitLeakError):  # the library's checks would refuse it: that is why A is built apart
        from mstl_lib.data.splits import Fold
        assert_disjoint([Fold(0, parts["fit"], parts["test"])], table["patient_id"].to_numpy())


@pytest.mark.parametrize("arm", ["B", "C"])
def test_grouped_arms_keep_patients_apart(fixture_rows, arm):
    table = fixture_rows.assign(patient_id=protocol.patient_ids(fixture_rows))
    for fold in range(2):
        parts = protocol.arm_parts(table, arm, fold, n_splits=2, seed=0, val_splits=2)
        sides = [set(table.iloc[parts[k]]["patient_id"]) for k in ("fit", "val", "test")]
        assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
        magnifications = set(table.iloc[parts["test"]]["magnification"])
        assert magnifications == ({40} if arm == "B" else {40, 100, 200, 400})
        if arm == "B":
            assert set(table.iloc[parts["fit"]]["magnification"]) <= {100, 200, 400}
            assert set(table.iloc[parts["val"]]["magnification"]) == {40}


def test_arm_d_splits_images_and_leaks_patients(fixture_rows):
    table = fixture_rows.assign(patient_id=protocol.patient_ids(fixture_rows))
    parts = protocol.arm_parts(table, "D", 0, n_splits=2, seed=0, val_splits=2)
    assert set(table.iloc[parts["fit"]]["patient_id"]) & set(table.iloc[parts["test"]]["patient_id"])
    with pytest.raises(ValueError, match="arm must be one of"):
        protocol.arm_parts(table, "E")


def test_refusal_names_the_arm_and_the_counts(fixture_rows):
    table = fixture_rows.assign(patient_id=protocol.patient_ids(fixture_rows))
    parts = protocol.arm_parts(table, "A")
    with pytest.raises(protocol.TooSmallTrainingSet, match=r"arm A: refusing to train on 12 benign \+ 12 malignant images of 2 \+ 3 patients"):
        protocol.check_trainable(table, parts, "A")
    protocol.check_trainable(table, parts, "A", {"images_per_class": 4, "patients_per_class": 2})
    one_class = {"fit": np.flatnonzero(table["target"] == 0), "test": parts["test"]}
    with pytest.raises(protocol.TooSmallTrainingSet, match="one class only"):
        protocol.check_trainable(table, one_class, "B", {"images_per_class": 1, "patients_per_class": 1})


@pytest.mark.realdata
def test_refusal_on_the_real_sample(shared_data):
    sample = load_breakhis(shared_data / "breakhis")
    assert not protocol.full_release(sample)
    table = sample.assign(patient_id=protocol.patient_ids(sample))
    with pytest.raises(protocol.TooSmallTrainingSet, match=r"arm A: .*one class only"):
        protocol.check_trainable(table, protocol.magnification_split(table), "A")


@pytest.mark.realdata
def test_leakage_of_the_real_release_counts(shared_data):
    long = protocol.counts_long(protocol.read_folder_counts(shared_data / "breakhis" / "folder_counts.csv"))
    assert protocol.table1_counts(long).loc["total", "total"] == 7909
    for definition, patients in (("folder", 82), ("loader", 81), ("number", 70)):
        report = protocol.leakage_report(long, f"patient_{definition}")
        assert report["patients"] == report["patients_both"] == patients
        assert report["share_test_seen"] == 1.0 and report["test_images"] == 1995


def test_task_table_on_the_phantom(phantom_breakhis):
    source = DataSource("breakhis", "train", PHANTOM, str(phantom_breakhis))
    table = protocol.task_table(source, "number", per_patient_magnification=1, seed=0)
    assert table.groupby(["patient_id", "magnification"]).size().eq(1).all()
    assert protocol.full_release(load_breakhis(phantom_breakhis)) is False


def test_majority_baseline():
    assert protocol.majority_baseline([1, 1, 0], [1, 0, 0, 0]) == {"majority_class": 1, "majority_accuracy": 0.25}
