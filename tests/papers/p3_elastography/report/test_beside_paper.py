"""P3's report, ``beside_paper``: P3's protocol, ours beside the paper: Table 1 with CIs, and degenerate folds."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p3_elastography import report


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
