"""P1's report, ``tour``: Chapter 02, the engine tour: its table and its note."""

from __future__ import annotations

import numpy as np

from mstl_lib.papers.p1_mstl import report


def _tour_record(scores, truth, optimizer="adam", epochs=2):
    accuracy = float(np.mean((np.asarray(scores) >= 0.5) == np.asarray(truth)))
    return {"status": "done", "config": {"backbone": "ResNet50", "optimizer": optimizer, "epochs": epochs},
            "metrics": {"accuracy": accuracy},
            "weights": {"ResNet50": {"used": "random", "description": "random initialisation (test)"}},
            "predictions": {"y_true": truth, "y_score": scores}}


def test_tour_note_says_chance_when_networks_collapse():
    truth = [0, 0, 0, 1]
    note = report.tour_note([_tour_record([0.1] * 4, truth), _tour_record([0.2, 0.1, 0.3, 0.9], truth, "sgd")])
    assert "2 finished tasks" in note and "random initialisation (test)" in note
    assert "1 of 2 networks gave the same class" in note and "level of chance" in note
    assert "81.5–90.5 % with these optimizers" in note  # P1's CTL ResNet50 with Adam and SGD


def test_tour_note_says_when_networks_beat_the_majority_class():
    truth = [0, 0, 1, 1, 0, 1]
    note = report.tour_note([_tour_record([0.1, 0.2, 0.8, 0.9, 0.3, 0.7], truth, "adagrad", epochs=1)])
    assert "1 finished task started" in note and "1 epoch (P1" in note
    assert "beat the majority class by 50 points" in note and "level of chance" not in note
    assert "97.5 % with this optimizer" in note


def test_tour_note_without_finished_tasks():
    assert "No task" in report.tour_note([{**_tour_record([0.1], [0]), "status": "failed"}])
