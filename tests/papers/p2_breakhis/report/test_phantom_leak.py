"""P2's report, ``phantom_leak``: The cheap classifier that finds patients, where the counts come from, and the histology phantom."""

from __future__ import annotations

import numpy as np

from mstl_lib.data.phantoms.histology import histology_patient_images
from mstl_lib.papers.p2_breakhis import report

from p2_report_helpers import release_long


def phantom_features(patient_effect: float, patients: int = 24, per_magnification: int = 3):
    features, targets, ids = [], [], []
    for index in range(patients):
        malignant = index >= patients // 2
        _, images = histology_patient_images(100 + index, malignant, patient_effect, per_magnification, (24, 36))
        stack = np.stack([a for arrays in images.values() for a in arrays]) / 255.0
        features.append(report.colour_statistics(stack))
        targets += [int(malignant)] * len(stack)
        ids += [index] * len(stack)
    return np.concatenate(features), np.array(targets), np.array(ids)


def test_table1_beside_the_release_and_its_note():
    table = report.table1(release_long())
    assert table.loc["benign", ("P2 - release", "40X")] == 27
    assert (table["P2 - release"].drop(columns="40X") == 0).all().all()
    note = report.table1_note(release_long())
    assert "benign 40X: printed 652, release 625" in note and "typing slip" in note
    assert "row benign sums to 2,507" in report.table1_note(None)
    assert list(report.table1(None).columns.get_level_values(0).unique()) == ["P2 (printed)"]
    assert "typing slip" not in report.table1_note(release_long(600))


def test_counts_from_a_loader_table_equal_the_counts(fixture_rows):
    long = report.counts_from_table(fixture_rows)
    assert long["n"].sum() == len(fixture_rows)
    assert set(long["folder"]) == {"SOB_B_F_14-1A", "SOB_B_F_14-1B", "SOB_B_A_14-2", "SOB_M_DC_14-3",
                                   "SOB_M_LC_14-4", "SOB_M_DC_14-5"}


def test_counts_file(tmp_path):
    assert report.counts_file(None) is None and report.counts_file(tmp_path) is None
    (tmp_path / "folder_counts.csv").write_text("x")
    assert report.counts_file(tmp_path).endswith("folder_counts.csv")


def test_colour_statistics_shape():
    assert report.colour_statistics(np.zeros((2, 4, 5, 3))).shape == (2, 21)


def test_patient_effect_makes_image_level_splits_leak_and_its_absence_does_not():
    """Patient-disjoint < leaky with a strong patient effect; equal within noise without one."""
    on = report.leak_check(*phantom_features(1.0), n_splits=4)
    off = report.leak_check(*phantom_features(0.0), n_splits=4)
    assert on["leaky"] - on["patient_disjoint"] > 0.1
    assert abs(off["leaky"] - off["patient_disjoint"]) < 0.08
    assert off["patient_disjoint"] > 0.6  # the tissue itself carries the class
