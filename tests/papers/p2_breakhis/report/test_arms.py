"""P2's report, ``arms``: Arms A-D: their records, accuracies beside the majority-class baseline, A minus B, curves and the closing"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.papers.p2_breakhis import protocol, report


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


def test_sensitivity_table_needs_real_sensitivity_arms():
    results = fake_results(0.9, 0.6)
    assert report.sensitivity_table(results).empty  # phantom, main arms only
    records = results.records.assign(data="real")
    extra = records.assign(sensitivity_arm="loss=bce", accuracy=0.7)
    results = report.Results(pd.concat([records, extra], ignore_index=True), results.raw, results.predictions)
    table = report.sensitivity_table(results)
    assert set(table.index.get_level_values("setting")) == {"main", "loss=bce"}
    assert table.loc[("loss=bce", "A"), "accuracy"] == 0.7 and "majority baseline" in table.columns
