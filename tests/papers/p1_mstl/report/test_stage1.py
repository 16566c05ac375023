"""P1's report, ``stage1``: Stage 1: what the cell-line classifier learned, and which weights each stage started from."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p1_mstl import report


def _stage1_record(accuracy, n_test=30, n_classes=3, status="done", optimizer="adam", labels="true", grouped=True):
    return {"config": {"backbone": "ResNet50", "optimizer": optimizer, "labels": labels}, "status": status,
            "wall_time_s": 1.0,
            "metrics": {"accuracy": accuracy, "loss": 1.0},
            "extra": {"n_test": n_test, "classes": list("abc")[:n_classes], "grouped_by_frame": grouped}}


def test_stage1_table_tests_against_chance():
    table = report.stage1_table([_stage1_record(0.9), _stage1_record(0.3, optimizer="sgd"),
                                 _stage1_record(0, status="failed")])
    assert table["learned"].tolist()[:2] == [True, False] and pd.isna(table["learned"].iloc[2])
    assert table["chance"].iloc[0] == pytest.approx(1 / 3) and table["n_test"].iloc[0] == 30
    assert table["p_value"].iloc[0] < 0.001 < table["p_value"].iloc[1]


@pytest.mark.parametrize(("accuracies", "learned"), [((0.9, 0.8), True), ((0.9, 0.3), False), ((0.3, 0.35), False)])
def test_stage1_sentence_follows_the_test(accuracies, learned):
    records = [_stage1_record(a, optimizer=o) for a, o in zip(accuracies, ("adam", "sgd"), strict=True)]
    sentence = report.stage1_sentence(report.stage1_table(records))
    assert ("learned to tell the lines apart in every configuration" in sentence) == learned
    assert ("did not beat chance" in sentence) == (not learned)
    assert f"{min(accuracies):.2f} to {max(accuracies):.2f}" in sentence


def test_an_ungrouped_stage1_split_is_a_diagnostic_only():
    table = report.stage1_table([_stage1_record(0.9, grouped=False)])
    assert not table["learned"].iloc[0]
    sentence = report.stage1_sentence(table)
    assert "A diagnostic only" in sentence and "learned to tell" not in sentence


def test_the_shuffled_label_stage1_is_reported_not_judged():
    records = [_stage1_record(0.9), _stage1_record(0.33, labels="shuffled")]
    sentence = report.stage1_sentence(report.stage1_table(records))
    assert "learned to tell the lines apart in every configuration" in sentence
    assert "declared control meant to sit at chance) reached 0.33 to 0.33" in sentence


def test_stage1_sentence_without_finished_tasks():
    table = report.stage1_table([_stage1_record(0, status="failed")])
    assert "No stage-1 task finished" in report.stage1_sentence(table)


def test_weights_table_counts_tasks_per_starting_point():
    records = [{"status": "done", "config": {"tl": tl, "backbone": "ResNet50"},
                "weights": {"ResNet50": {"used": used, "description": shown}}, "extra": {"started_from": s}}
               for tl, used, shown, s in [("CTL", "random", "random", "random"), ("CTL", "random", "random", "random"),
                                          ("MSTL", "file", "file f", "stage 1"), ("MSTL", "file", "file f", "stage 1")]]
    records.append({"status": "failed", "config": {"tl": "CTL", "backbone": "ResNet50"}})
    table = report.weights_table(records)
    assert table[["tl", "weights_used", "tasks"]].values.tolist() == [["CTL", "random", 2], ["MSTL", "file f", 2]]
    assert report.weights_table([]).empty
