"""P1's report, ``common``: What every section of P1's pages reads: the metrics it needs, done records, the per-fold table and the notes"""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.display import Markdown

from mstl_lib.papers.p1_mstl import report


def test_failures():
    assert isinstance(report.failures(pd.DataFrame()), Markdown)
    frame = pd.DataFrame({"grid": ["main"], "key": ["k"], "fold": [0], "error_kind": ["nan_loss"], "traceback": ["x"]})
    shown = report.failures(frame)
    assert list(shown.columns) == ["grid", "key", "fold", "error_kind"] and len(shown) == 1


def test_tour_table_columns(records_factory):
    records = records_factory().assign(wall_time_s=1.0, key="k")
    assert list(report.tour_table(records).columns) == ["backbone", "optimizer", "fold", "status",
                                                        *report.STAGE2_METRICS, "wall_time_s"]


@pytest.mark.parametrize(("pred_malignant", "expected"), [
    ([5, 8, 3, 2], "No fold is degenerate"),
    ([20, 0, 3, 2], "**Some folds are degenerate**"),
])
def test_degenerate_note_counts_collapsed_folds(pred_malignant, expected):
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL", "MSTL"], "status": "done",
                            "pred_malignant": pred_malignant, "pred_benign": [20 - p for p in pred_malignant],
                            "degenerate": [float(p in (0, 20)) for p in pred_malignant]})
    note = report.degenerate_note(records)
    assert expected in note
    n_ctl = sum(p in (0, 20) for p in pred_malignant[:2])
    assert note.startswith(f"CTL: {n_ctl} of 2 folds degenerate")
    assert "MSTL: 0 of 2 folds degenerate" in note


def test_a_degenerate_fold_that_still_ranks_is_called_a_shifted_threshold():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "CTL"], "status": "done", "pred_malignant": [0, 40, 20],
                            "pred_benign": [40, 0, 20], "degenerate": [1.0, 1.0, 0.0], "auc": [0.82, 0.55, 0.7],
                            "score_min": [0.0, 0.6, 0.1], "score_max": [0.49, 0.9, 0.9]})
    note = report.degenerate_note(records)
    assert "1 degenerate fold still ranks the test images (AUC 0.82)" in note
    assert report.shifted_threshold_note(records[records["auc"] < 0.6]) == ""


def test_a_degenerate_fold_that_ranks_at_chance_is_named():
    records = pd.DataFrame({"tl": ["MSTL", "MSTL", "CTL"], "optimizer": ["adam", "sgd", "adam"], "fold": [1, 0, 0],
                            "status": "done", "pred_malignant": [40, 38, 20], "pred_benign": [0, 2, 20],
                            "degenerate": [1.0, 1.0, 0.0], "auc": [0.33, 0.7, 0.4],
                            "score_min": [0.6, 0.2, 0.1], "score_max": [0.9, 0.9, 0.9]})
    note = report.degenerate_note(records)
    assert "1 degenerate fold ranks the test images no better than chance: MSTL adam fold 1 (AUC 0.33)." in note
    assert report.chance_ranking_note(records[records["auc"] > 0.5]) == ""
    assert "the budget of a few epochs" in note  # the records do not say how long they trained
    assert "the budget of 3 epochs" in report.chance_ranking_note(records.assign(epochs=3))


def test_operating_point_note_counts_the_folds_it_rescued():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL"], "status": "done", "pred_malignant": [20, 25, 18],
                            "pred_benign": [20, 15, 22], "degenerate": 0.0,
                            "pred_malignant_own_threshold": [0.0, 25.0, 40.0]})
    note = report.degenerate_note(records)
    assert ("changed the calls of 2 of 3 folds; at the networks' own threshold, 2 of 3 folds would have "
            "been degenerate.") in note
    assert report.operating_point_note(records.drop(columns="pred_malignant_own_threshold")) == ""


def test_degenerate_note_without_records():
    assert report.degenerate_note(pd.DataFrame({"status": []})) == ("No finished stage-2 task records its "
                                                                    "predicted classes.")


def test_per_fold_table_marks_degenerate_folds():
    records = pd.DataFrame({"tl": ["MSTL", "CTL"], "backbone": "ResNet50", "optimizer": "adagrad", "fold": [1, 0],
                            "status": "done", "accuracy": [0.5, 0.7], "auc": [0.5, 0.8],
                            "balanced_accuracy": [0.5, 0.7], "sensitivity": [1.0, 0.6], "specificity": [0.0, 0.8],
                            "pred_malignant": [40.0, 18.0], "pred_benign": [0.0, 22.0], "degenerate": [1.0, 0.0]})
    table = report.per_fold_table(records)
    assert list(table["tl"]) == ["CTL", "MSTL"] and list(table["degenerate"]) == [False, True]
    assert list(table["accuracy"]) == [70.0, 50.0] and list(table["n_test"]) == [40, 40]
    assert report.per_fold_table(records.iloc[0:0]).empty
