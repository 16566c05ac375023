"""P3's report: P3's counts checked, CI sentences from fixtures, the closing note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p3_elastography import report


def test_p3s_supplementary_tables_list_one_benign_patient_more_than_its_text():
    checks = report.paper_counts_check().set_index("check")
    row = checks.loc["benign patients: text vs Supplementary Table 1"]
    assert (row["stated"], row["implied"], row["consistent"]) == (42, 43, False)
    assert checks.loc["patients = train + test (text)", "consistent"]


def test_paper_tables_are_as_printed():
    table1 = report.paper_table("p3_table1")
    best = table1[(table1["level"] == "patient") & (table1["input"] == "BSE") & (table1["view"] == "crop")
                  & (table1["model"] == "ensemble")].iloc[0]
    assert (best["sensitivity_mean"], best["specificity_mean"]) == (88.89, 91.10)
    assert len(report.paper_table("p3_strain_ratios")) == 86


def test_patient_mean_ci_resamples_patients():
    estimate, low, high = report.patient_mean_ci([1, 1, 0, 1], n_boot=500)
    assert estimate == 0.75 and low <= 0.75 <= high and high <= 1.0
    assert np.isnan(report.patient_mean_ci([])[0])


def _controls(low, high, separation=0.0):
    return pd.DataFrame([{"input": "SE", "separation": separation, "model": "ensemble", "auc": (low + high) / 2,
                          "auc_low": low, "auc_high": high, "vote_accuracy": 0.5, "vote_accuracy_low": 0.4,
                          "vote_accuracy_high": 0.6, "n_patients": 10}])


def test_negative_control_sentence_says_whether_its_ci_includes_chance():
    assert "includes 0.5, as it must" in report.negative_control_sentence(_controls(0.4, 0.6))
    assert "excludes 0.5" in report.negative_control_sentence(_controls(0.55, 0.7))
    assert "did not run" in report.negative_control_sentence(pd.DataFrame())


@pytest.mark.parametrize(("low", "high", "side"), [(0.27, 0.46, "below"), (0.55, 0.7, "above"), (0.4, 0.6, None)])
def test_negative_control_sentence_names_other_models_off_chance(low, high, side):
    others = pd.DataFrame([{"input": "SE", "separation": 0.0, "model": "ResNet18", "auc": (low + high) / 2,
                            "auc_low": low, "auc_high": high},
                           {"input": "SE", "separation": 0.0, "model": "AlexNet", "auc": 0.5, "auc_low": 0.4,
                            "auc_high": 0.6},
                           {"input": "SE", "separation": 1.0, "model": "ResNet18", "auc": 0.8, "auc_low": 0.7,
                            "auc_high": 0.9}])
    text = report.negative_control_sentence(pd.concat([_controls(0.4, 0.6), others], ignore_index=True))
    if side is None:
        assert "other models" not in text
    else:
        assert f"Of the 2 other models on this control, ResNet18 " in text and f"lies {side} chance" in text
        assert "AlexNet" not in text and ("leak" in text)


def test_leak_probe_sentence_quotes_the_chapter_and_names_the_leaky_settings():
    probe = pd.DataFrame({"generator": ["strain-2 (chapter)", "strain-1 (old)", "other"], "n_images": 10,
                          "n_patients": 8, "auc [95% CI]": ["0.52 [0.45, 0.60]", "0.77 [0.73, 0.81]", "0.5 [0.4, 0.6]"],
                          "includes_chance": [True, False, True]})
    text = report.leak_probe_sentence(probe)
    assert "AUC 0.52 [0.45, 0.60]; its 95 % CI includes 0.5" in text
    assert "strain-1 (old) 0.77" in text and "other" not in text
    assert "still carry" in report.leak_probe_sentence(probe.assign(includes_chance=False))
    assert "did not run" in report.leak_probe_sentence(pd.DataFrame())


def test_table2_beside_paper_scores_each_comparison_patient_wise():
    predictions = pd.DataFrame({"dataset": "busi", "protocol": "nested", "comparison": ["VGG"] * 4 + [None] * 2,
                                "y_true": [0, 0, 1, 1, 0, 1], "patient": ["a", "a", "b", "c", "d", "e"],
                                "score_VGG": [0.1, 0.6, 0.9, 0.2, None, None]})
    results = report.Results(records=pd.DataFrame(), predictions=predictions)
    table = report.table2_beside_paper(results)
    row = table.set_index("model").loc["VGG"]
    assert row["n_patients"] == 3 and len(table) == 1
    assert row["accuracy (ours)"] == pytest.approx(100 * 1 / 3, abs=0.01)  # a tied -> malignant (wrong), b right, c wrong
    assert row["accuracy (P3)"] == "75.55 ± 4.44"
    assert row["image auc (ours)"] == pytest.approx(0.75) and "degenerate (ours)" in table
    assert row["accuracy [95% CI] (ours)"].startswith("33.3 [")  # the same eq. 1 accuracy, with its CI
    assert row["image auc [95% CI] (ours)"].startswith("0.750 [")


@pytest.mark.parametrize("level", ["patient", "image"])
def test_table1_beside_paper_gives_our_numbers_a_ci_that_agrees_with_them(level):
    records = pd.DataFrame({"status": "done", "input": "B", "view": "crop",
                            **{f"{m}_{level}_{k}": [0.5] for m in ("AlexNet", "ResNet18", "ensemble", "voting")
                               for k in report.P3_METRICS}})
    predictions = pd.DataFrame({"input": "B", "view": "crop", "y_true": [0, 0, 1, 1, 0, 1],
                                "patient": ["a", "a", "b", "c", "d", "e"],
                                "score_AlexNet": [0.1, 0.6, 0.9, 0.2, 0.3, 0.8]})
    table = report.table1_beside_paper(records, level, predictions, n_boot=50).set_index("model")
    assert table.loc["ResNet18", "image auc [95% CI]"] != table.loc["ResNet18", "image auc [95% CI]"]  # no scores
    shown = table.loc["AlexNet", "accuracy [95% CI]"]
    expected = 60.0 if level == "patient" else 100 * 4 / 6  # votes: a tie -> malignant (wrong), b right, c wrong
    assert shown.startswith(f"{expected:.1f} [")
    assert ("balanced accuracy [95% CI]" in table) is (level == "image")
    assert "accuracy [95% CI]" not in report.table1_beside_paper(records, level)


def test_masking_sentence_compares_the_two_arms():
    table = pd.DataFrame({"masked": [False, True], "model": "ensemble", "auc": [0.8, 0.6],
                          "auc_low": [0.75, 0.55], "auc_high": [0.85, 0.65]})
    text = report.masking_sentence(table)
    assert "0.800 [0.750, 0.850] unmasked" in text and "lean on the annotations" in text
    assert "overlap, so" in report.masking_sentence(table.assign(auc_low=[0.5, 0.5], auc_high=[0.9, 0.9]))
    assert "did not both run" in report.masking_sentence(table.iloc[:1])
    assert "did not run" in report.masking_sentence(pd.DataFrame())


def test_patient_table_ci_votes_with_ties_to_malignant():
    predictions = pd.DataFrame({"model": "m", "y_true": [0, 0, 1, 1], "y_score": [0.2, 0.7, 0.6, 0.4],
                                "patient": ["a", "a", "b", "b"], "path": list("wxyz")})
    row = report.patient_table_ci(predictions, ["model"], n_boot=100).iloc[0]
    assert row["n_patients"] == 2
    assert row["vote_accuracy"] == pytest.approx(0.5)   # both tied -> malignant: b right, a wrong
    assert row["recognition_rate"] == pytest.approx(0.5)


def test_long_predictions_has_one_row_per_image_and_model():
    wide = pd.DataFrame({"path": ["x", "y"], "score_AlexNet": [0.1, 0.2], "score_ensemble": [0.3, 0.4]})
    long = report.long_predictions(wide)
    assert list(long["model"]) == ["AlexNet", "AlexNet", "ensemble", "ensemble"]


def test_closing_note_quotes_the_controls_and_ddti():
    controls = pd.concat([_controls(0.4, 0.6), _controls(0.8, 0.95, 1.0)], ignore_index=True)
    ddti = pd.DataFrame([{"model": "ensemble", "n_patients": 12, "vote_accuracy": 0.7, "vote_accuracy_low": 0.5,
                          "vote_accuracy_high": 0.9, "recognition_rate": 0.65, "recognition_rate_low": 0.5,
                          "recognition_rate_high": 0.8}])
    records = pd.DataFrame({"status": ["done"], "AlexNet_image_degenerate": [1.0], "ensemble_image_degenerate": [0.0]})
    note = report.closing_note(controls, ddti, "cpu", 600.0, records)
    assert "0.875 [0.800, 0.950]" in note and "12 cases" in note and "600 s" in note and "`cpu`" in note
    assert "AlexNet 1 of 1" in note


def test_ratio_fit_table_shows_p3s_classes_and_the_drawn_ones():
    table = report.ratio_fit_table((0.0, 1.0))
    assert {"P3 benign patients", "P3 malignant patients"} <= set(table["what"])
    assert len(table) == 6


def test_holm_adjusts_in_order_and_caps_at_one():
    np.testing.assert_allclose(report.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    assert report.holm([0.6, 0.9]).max() == 1.0


def test_ppv_is_the_probability_of_the_actual_class_and_tests_pair_patients():
    rng = np.random.default_rng(0)
    rows = []
    for patient in range(12):
        label = patient % 2
        for image in range(3):
            good = 0.9 if label else 0.1
            rows.append({"model": "ensemble", "patient": f"p{patient}", "y_true": label,
                         "y_score": good + rng.normal(0, 0.02), "path": f"{patient}-{image}"})
            rows.append({"model": "AlexNet", "patient": f"p{patient}", "y_true": label,
                         "y_score": 0.5 + rng.normal(0, 0.02), "path": f"{patient}-{image}"})
    predictions = pd.DataFrame(rows)
    assert report.ppv(predictions[predictions["model"] == "ensemble"]).min() > 0.8
    tests = report.ppv_tests(predictions, pairs=(("ensemble", "AlexNet"),))
    row = tests.iloc[0]
    assert row["n_patients"] == 12 and row["n_images"] == 36
    assert row["patient paired t-test p"] < 0.001 and row["patient p (Holm)"] == row["patient paired t-test p"]


def test_test_size_sentence_reads_the_search():
    search = pd.DataFrame({"test_size": [18, 20], "cells": [18, 18], "mean attainable": [13, 1],
                           "SD (n-1)": [0, 0], "SD (n)": [7, 0], "SE (n-1)": [2, 0], "SE (n)": [2, 0]})
    sentence = report.test_size_sentence(search)
    assert "stated 20 test patients, 1 of P3's 18" in sentence and "With 18 test patients, 13" in sentence
    assert "fits SD (n) best (7 cells)" in sentence


def test_misdiagnosis_counts_count_folds_per_patient():
    rows = []
    for fold in range(5):
        for patient, label, score in (("a", 0, 0.9 if fold < 3 else 0.1), ("b", 1, 0.9), ("c", 1, 0.2 if fold < 2 else 0.9)):
            rows.append({"fold": fold, "patient": patient, "y_true": label, "score_ensemble": score, "ratio": 2.0,
                         "input": "BSE", "view": "crop", "dataset": "busi", "protocol": "p3"})
    results = report.Results(pd.DataFrame(), [], pd.DataFrame(rows))
    table = report.misdiagnosis_counts(results)
    assert list(table["patient"]) == ["a"] and table["times misdiagnosed"].iloc[0] == 3  # c: 2 of 5 < 3
    assert table["predicted class"].iloc[0] == "malignant"


def test_gradcam_record_prefers_p3s_protocol_and_the_figure_draws():
    maps = {"rows": [0, 1], "label": [0, 1], "class_index": [0, 0], "image": np.zeros((2, 8, 8)).tolist(),
            "combined": np.ones((2, 8, 8)).tolist(), "AlexNet": np.ones((2, 8, 8)).tolist(),
            "ResNet18": np.ones((2, 8, 8)).tolist()}
    raw = [{"status": "done", "context": {"protocol": "nested"}, "extra": {"gradcam": {**maps, "rows": [9]}}},
           {"status": "done", "context": {"protocol": "p3"}, "extra": {"gradcam": maps}, "config": {"input": "BSE"}}]
    found = report.gradcam_record(report.Results(pd.DataFrame(), raw))
    assert found["maps"]["rows"] == [0, 1] and found["config"] == {"input": "BSE"}
    assert report.gradcam_record(report.Results(pd.DataFrame(), [])) is None
    report.gradcam_figure(found)


def test_metrics_read_follow_the_arm():
    assert report.metrics_read({"input": "BSE"}) == report.METRICS_READ
    comparison = report.metrics_read({"input": "BSE", "comparison": "DenseNet"})
    assert "DenseNet_image_degenerate" in comparison and "DenseNet_patient_accuracy" in comparison
    assert not any(name.startswith(("AlexNet", "ResNet18")) for name in comparison)


def test_degenerate_note_names_the_models_that_rank_at_chance():
    records = pd.DataFrame({
        "experiment": ["p3-ddti-nested-cpu", "p3-busi-nested-cpu"], "status": "done", "input": ["B", "SE"],
        "view": ["full", "crop"], "masked": [False, float("nan")], "epochs": [15, 15],
        "AlexNet_image_degenerate": [0.0, 0.0], "AlexNet_image_auc": [0.76, 0.6],
        "ResNet18_image_degenerate": [1.0, 1.0], "ResNet18_image_auc": [0.40, 0.7]})
    note = report.degenerate_note(records)
    assert note.startswith("Degenerate predictions (nearly every test image one class): ResNet18 2 of 2.")
    assert "1 degenerate model ranks the test images no better than chance: ResNet18 in p3-ddti-nested-cpu " \
           "(B full; AUC 0.40)." in note
    assert "the budget of 15 epochs" in note
    clean = records.assign(ResNet18_image_degenerate=0.0)
    assert report.degenerate_note(clean) == "No model of the 2 finished tasks collapsed onto one class."
