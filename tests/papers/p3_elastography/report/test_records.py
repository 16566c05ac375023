"""P3's report, ``records``: What P3's chapter reads back: the metrics of each arm, the records, histories and predictions of its grids,"""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p3_elastography import report


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


def test_metrics_read_follow_the_arm():
    assert report.metrics_read({"input": "BSE"}) == report.METRICS_READ
    comparison = report.metrics_read({"input": "BSE", "comparison": "DenseNet"})
    assert "DenseNet_image_degenerate" in comparison and "DenseNet_patient_accuracy" in comparison
    assert not any(name.startswith(("AlexNet", "ResNet18")) for name in comparison)
