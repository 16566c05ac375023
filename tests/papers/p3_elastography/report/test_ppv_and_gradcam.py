"""P3's report, ``ppv_and_gradcam``: Fig. 5's PPV tests with Holm's correction, the misdiagnosis counts and Grad-CAM."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.papers.p3_elastography import report


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
