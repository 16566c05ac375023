"""P3's report, ``patient_cis``: Pooled predictions and patient-level CIs, shared by the tables beside the paper and the controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p3_elastography import report


def test_patient_mean_ci_resamples_patients():
    estimate, low, high = report.patient_mean_ci([1, 1, 0, 1], n_boot=500)
    assert estimate == 0.75 and low <= 0.75 <= high and high <= 1.0
    assert np.isnan(report.patient_mean_ci([])[0])


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
