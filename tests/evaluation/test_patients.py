"""Patient-level metrics against values worked out by hand on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.evaluation.patients import (
    majority_vote,
    majority_vote_accuracy,
    patient_labels,
    patient_metrics,
    patient_recognition_rate,
    patient_scores,
)

# patient "a" (malignant): 3 of 4 images right; "b" (benign): 1 of 2 right (a tie); "c" (malignant): 0 of 1
Y_TRUE = [1, 1, 1, 1, 0, 0, 1]
Y_SCORE = [0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.3]
PATIENTS = ["a", "a", "a", "a", "b", "b", "c"]


def test_patient_scores_and_recognition_rate_hand_computed():
    ids, scores = patient_scores(Y_TRUE, Y_SCORE, PATIENTS)
    assert ids.tolist() == ["a", "b", "c"]
    assert scores.tolist() == pytest.approx([0.75, 0.5, 0.0])
    assert patient_recognition_rate(Y_TRUE, Y_SCORE, PATIENTS) == pytest.approx((0.75 + 0.5 + 0.0) / 3)


def test_recognition_rate_differs_from_image_accuracy_and_equals_it_with_equal_counts():
    image_accuracy = np.mean((np.asarray(Y_SCORE) >= 0.5) == np.asarray(Y_TRUE))
    assert image_accuracy == pytest.approx(4 / 7)
    assert patient_recognition_rate(Y_TRUE, Y_SCORE, PATIENTS) != pytest.approx(image_accuracy)
    y, s, p = [1, 1, 0, 0], [0.9, 0.1, 0.2, 0.3], [1, 1, 2, 2]
    assert patient_recognition_rate(y, s, p) == pytest.approx(0.75) == np.mean((np.asarray(s) >= 0.5) == y)


@pytest.mark.parametrize("tie, expected_b", [("malignant", 1), ("benign", 0)])
def test_majority_vote_tie_rule(tie, expected_b):
    ids, votes = majority_vote(Y_SCORE, PATIENTS, tie=tie)
    assert ids.tolist() == ["a", "b", "c"]
    assert votes.tolist() == [1, expected_b, 0]


def test_majority_vote_tie_can_raise_and_rejects_unknown_rules():
    with pytest.raises(ValueError, match=r"Tied votes for patients \['b'\]"):
        majority_vote(Y_SCORE, PATIENTS, tie="raise")
    with pytest.raises(ValueError, match="tie must be one of"):
        majority_vote(Y_SCORE, PATIENTS, tie="coin")
    # no tie, so "raise" passes
    assert majority_vote([0.9, 0.8, 0.1], [1, 1, 1], tie="raise")[1].tolist() == [1]


def test_majority_vote_threshold():
    assert majority_vote([0.6, 0.7, 0.2], [1, 1, 1], threshold=0.65)[1].tolist() == [0]  # 1 vs 2


@pytest.mark.parametrize("tie, expected", [("malignant", 1 / 3), ("benign", 2 / 3)])
def test_majority_vote_accuracy(tie, expected):
    # a voted 1 (right); b tied -> tie rule (benign is right); c voted 0 (wrong)
    assert majority_vote_accuracy(Y_TRUE, Y_SCORE, PATIENTS, tie=tie) == pytest.approx(expected)


def test_patient_labels_refuse_a_patient_with_both_labels():
    ids, labels = patient_labels(Y_TRUE, PATIENTS)
    assert ids.tolist() == ["a", "b", "c"] and labels.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"both labels: \['x'\]"):
        patient_labels([0, 1, 1], ["x", "x", "y"])


def test_patient_metrics_summary():
    m = patient_metrics(Y_TRUE, Y_SCORE, PATIENTS, tie="malignant")
    assert m["n_patients"] == 3 and m["n_patients_malignant"] == 2 and m["n_ties"] == 1
    assert m["patient_vote_accuracy"] == pytest.approx(1 / 3)
    assert m["patient_vote_sensitivity"] == pytest.approx(0.5)  # a right, c wrong
    assert m["patient_vote_specificity"] == pytest.approx(0.0)  # b tied -> malignant
    assert m["patient_recognition_rate"] == pytest.approx(1.25 / 3)
    assert all(isinstance(v, (int, float)) for v in m.values())


def test_perfect_predictions_score_one_everywhere():
    m = patient_metrics(Y_TRUE, Y_TRUE, PATIENTS)
    assert m["patient_recognition_rate"] == m["patient_vote_accuracy"] == 1.0


def test_bad_input_raises():
    with pytest.raises(ValueError, match="must be equal"):
        patient_scores([0, 1], [0.1], [1, 2])
    with pytest.raises(ValueError, match="0 or 1"):
        patient_scores([0, 2], [0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="No images"):
        patient_recognition_rate([], [], [])
