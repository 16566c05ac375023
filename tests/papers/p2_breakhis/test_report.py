"""P2's report: Table I and its arithmetic, the leakage sentences, arms and A - B from records, the cheap leak check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data.phantoms.histology import histology_patient_images
from mstl_lib.papers.p2_breakhis import protocol, report


def release_long(benign_40x: int = 625) -> pd.DataFrame:
    """A release whose per-class, per-magnification totals are BreakHis's (one folder per class)."""
    counts = pd.DataFrame([
        ("adenosis", "benign", "SOB_B_A_14-1", benign_40x, 644, 623, 588),
        ("ductal_carcinoma", "malignant", "SOB_M_DC_14-2", 1370, 1437, 1390, 1232),
    ], columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"])
    return protocol.counts_long(counts)


def test_table1_arithmetic_finds_p2s_two_broken_sums():
    arithmetic = report.table1_arithmetic().set_index("line")
    assert not arithmetic["adds_up"]["row benign"] and not arithmetic["adds_up"]["column 40X"]
    assert arithmetic.loc["row benign", "sum_of_parts"] == 2507
    assert arithmetic["adds_up"].sum() == len(arithmetic) - 2


def test_table1_beside_the_release_and_its_note():
    table = report.table1(release_long())
    assert table.loc["benign", ("P2 - release", "40X")] == 27
    assert (table["P2 - release"].drop(columns="40X") == 0).all().all()
    note = report.table1_note(release_long())
    assert "benign 40X: printed 652, release 625" in note and "typing slip" in note
    assert "row benign sums to 2,507" in report.table1_note(None)
    assert list(report.table1(None).columns.get_level_values(0).unique()) == ["P2 (printed)"]
    assert "typing slip" not in report.table1_note(release_long(600))


def test_split_and_leakage_tables():
    long = release_long()
    sizes = report.split_table(long)
    assert sizes.loc["test (40X)", "total"] == 1995 and sizes.loc["test (40X)", "P2 states (images)"] == 2000
    leakage = report.leakage_table(long)
    assert list(leakage.index) == list(protocol.PATIENT_DEFINITIONS)
    assert (leakage["share_test_seen"] == 1.0).all()
    text = report.leakage_paragraph(leakage)
    assert "2 of 2 patients (folder ids)" in text and "1995 of 1995 test images (100.0%)" in text


def test_patient_definitions_table_lists_merged_folders():
    counts = pd.DataFrame([("a", "benign", "SOB_B_A_14-1AB", 1, 1, 1, 1), ("a", "benign", "SOB_B_A_14-1CD", 1, 1, 1, 1),
                           ("d", "malignant", "SOB_M_DC_14-2", 1, 1, 1, 1)],
                          columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"])
    table = report.patient_definitions_table(protocol.counts_long(counts))
    assert table["definition"].tolist() == ["number"] and table["patient"].tolist() == ["14-1"]


def test_counts_from_a_loader_table_equal_the_counts(fixture_rows):
    long = report.counts_from_table(fixture_rows)
    assert long["n"].sum() == len(fixture_rows)
    assert set(long["folder"]) == {"SOB_B_F_14-1A", "SOB_B_F_14-1B", "SOB_B_A_14-2", "SOB_M_DC_14-3",
                                   "SOB_M_LC_14-4", "SOB_M_DC_14-5"}


def test_sample_split_and_refusal(fixture_rows):
    split = report.sample_split(fixture_rows)
    assert set(split.loc[split["magnification"] == 40, "side"]) == {"test"}
    assert set(split.loc[split["magnification"] != 40, "side"]) == {"train"}
    assert "TooSmallTrainingSet" in report.sample_refusal(fixture_rows)
    assert "No BreakHis images" in report.sample_refusal(None)


def test_comparison_table_marks_what_is_known():
    table = report.comparison_table()
    assert len(table) == 11 and table["accuracy_pct"].iloc[-1] == pytest.approx(99.10)
    known = table.set_index("reference")["patient-disjoint"]
    assert known[55] == "yes" and known[56] == "no" and known[46] == "not known here"


def test_counts_file(tmp_path):
    assert report.counts_file(None) is None and report.counts_file(tmp_path) is None
    (tmp_path / "folder_counts.csv").write_text("x")
    assert report.counts_file(tmp_path).endswith("folder_counts.csv")


# ----------------------------------------------------------------- records


def fake_results(a_right: float, b_right: float, degenerate: bool = False, patients: int = 20) -> report.Results:
    """Arm A and B predictions on the same 40X images (4 per patient) with the given shares right."""
    rows, records = [], []
    paths = [f"p{p}-{k}.png" for p in range(patients) for k in range(4)]
    truth = np.array([p % 2 for p in range(patients) for _ in range(4)])
    for arm, share in (("A", a_right), ("B", b_right)):
        right = np.random.default_rng(int(share * 1000)).random(len(paths)) < share  # equal shares: equal draws
        scores = np.where(right, truth, 1 - truth) * 0.8 + 0.1
        rows.append(pd.DataFrame({"arm": arm, "fold": 0, "path": paths, "patient": [p.split("-")[0] for p in paths],
                                  "y_true": truth, "y_score": scores, "data": "phantom1", "sensitivity_arm": ""}))
        records.append({"arm": arm, "fold": 0, "status": "done", "data": "phantom1", "sensitivity_arm": "",
                        "accuracy": float(right.mean()), "majority_accuracy": 0.5, "balanced_accuracy": 0.5,
                        "sensitivity": 0.5, "specificity": 0.5, "auc": 0.5, "patient_recognition_rate": 0.5,
                        "patient_vote_accuracy": 0.5, "degenerate": float(degenerate), "share_test_seen": 1.0,
                        "test_acc_final": 0.5, "test_acc_mean_second_half": 0.5, "test_acc_max": 0.6,
                        "kept_epoch": 2.0, "wall_time_s": 10.0, **{f"accuracy_{m}x": 0.5 for m in protocol.MAGNIFICATIONS}})
    weights = [{"used": "random", "requested": None, "description": "random initialisation"}]
    raw = [{"weights": {"backbone": entry}} for entry in weights]
    return report.Results(pd.DataFrame(records), raw, pd.concat(rows, ignore_index=True))


def test_a_minus_b_follows_when_a_is_clearly_better():
    diff = report.a_minus_b(fake_results(0.95, 0.55), n_boot=200).iloc[0]
    assert diff["images"] == 80 and diff["patients"] == 20
    assert diff["A - B"] > 0.2 and diff["low"] > 0 and diff["follows"]
    same = report.a_minus_b(fake_results(0.7, 0.7), n_boot=200).iloc[0]
    assert same["A - B"] == 0 and not same["follows"]


def test_no_verdict_with_degenerate_folds():
    results = fake_results(0.95, 0.55, degenerate=True)
    diff = report.a_minus_b(results, n_boot=100)
    assert diff["degenerate"].iloc[0] and not diff["follows"].iloc[0]
    arms = report.arms_table(results, n_boot=50)
    assert (arms["degenerate folds"] == 1).all()
    assert "no verdict on the difference" in report.arms_paragraph(arms, diff)


def test_arms_table_and_paragraph_state_the_baseline():
    results = fake_results(0.95, 0.55)
    arms = report.arms_table(results, n_boot=50)
    assert list(arms["arm"]) == ["A", "B"] and (arms["majority baseline"] == 0.5).all()
    for metric in ("accuracy", "balanced accuracy", "auc"):  # pooled, each with a CI over patients
        assert arms[f"pooled {metric} [95 % CI, patients]"].str.match(r"^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]$").all()
    text = report.arms_paragraph(arms, report.a_minus_b(results, n_boot=100))
    assert "phantom (synthetic; patient effect 1)" in text and "(majority 0.500" in text and "inflates" in text
    note = report.closing_note(results, None, arms, report.a_minus_b(results, n_boot=100), "smoke")
    assert "synthetic" in note and "P2's 99 %" in note
    assert "2 tasks behind this page took 20 s" in note
    assert report.arms_paragraph(pd.DataFrame(), pd.DataFrame()) == "No arm has finished yet."


def test_curve_and_magnification_tables():
    results = fake_results(0.9, 0.6)
    curves = report.curve_table(results)
    assert curves.loc[("phantom1", "A"), "test_acc_max"] == 0.6 and "majority baseline" in curves.columns
    assert report.magnification_table(results).empty  # no arm C or D


# ----------------------------------------------------------------- the cheap classifier


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


def test_colour_statistics_shape():
    assert report.colour_statistics(np.zeros((2, 4, 5, 3))).shape == (2, 21)


def test_patient_effect_makes_image_level_splits_leak_and_its_absence_does_not():
    """Patient-disjoint < leaky with a strong patient effect; equal within noise without one."""
    on = report.leak_check(*phantom_features(1.0), n_splits=4)
    off = report.leak_check(*phantom_features(0.0), n_splits=4)
    assert on["leaky"] - on["patient_disjoint"] > 0.1
    assert abs(off["leaky"] - off["patient_disjoint"]) < 0.08
    assert off["patient_disjoint"] > 0.6  # the tissue itself carries the class


def test_sensitivity_table_needs_real_sensitivity_arms():
    results = fake_results(0.9, 0.6)
    assert report.sensitivity_table(results).empty  # phantom, main arms only
    records = results.records.assign(data="real")
    extra = records.assign(sensitivity_arm="loss=bce", accuracy=0.7)
    results = report.Results(pd.concat([records, extra], ignore_index=True), results.raw, results.predictions)
    table = report.sensitivity_table(results)
    assert set(table.index.get_level_values("setting")) == {"main", "loss=bce"}
    assert table.loc[("loss=bce", "A"), "accuracy"] == 0.7 and "majority baseline" in table.columns
