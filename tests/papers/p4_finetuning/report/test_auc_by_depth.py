"""P4's report, ``auc_by_depth``: Table 3 and its figure: AUC per fine-tuning depth, FT against FT-SVM, beside P4's, and what it shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p4_finetuning import report

from p4_report_helpers import IMAGENET, RANDOM, cells_frame, make_records


def test_table3_means_sds_and_p4s_values():
    records = make_records({("ResNet50", 15): [(0.6, 0.7), (0.8, 0.9)], ("ResNet50", 0): [(0.5, 0.5), (0.5, 0.7)]})
    failed = make_records({("ResNet50", 15): [(0.0, 0.0)]}).assign(status="failed")
    t3 = report.table3(pd.concat([records, failed], ignore_index=True))
    assert list(t3.index) == [("BUSI", "ResNet50", 0), ("BUSI", "ResNet50", 15)]
    row = t3.loc[("BUSI", "ResNet50", 15)]
    assert row["folds"] == 2 and row["ft_auc_ours"] == pytest.approx(0.7) and row["svm_auc_ours"] == pytest.approx(0.8)
    assert row["ft_auc_sd"] == pytest.approx(0.141, abs=1e-3)
    assert (row["ft_auc_paper"], row["svm_auc_paper"]) == (0.87, 0.98)  # P4, Table 3, BUSI ResNet50 15 %
    assert row["svm_auc_diff"] == pytest.approx(0.8 - 0.98, abs=1e-3)
    assert (row["ft_degenerate"], row["svm_degenerate"]) == (0, 0)
    collapsed = report.table3(make_records({("ResNet50", 15): [(0.5, 0.6)] * 3}, degenerate=True))
    assert collapsed[["ft_degenerate", "svm_degenerate"]].iloc[0].tolist() == [3, 0]
    assert report.table3(records.iloc[:0]).empty


def test_auc_vs_depth_one_panel_per_dataset():
    records = pd.concat([make_records({("ResNet50", p): [(0.6, 0.7)] for p in (0, 15)}),
                         make_records({("ResNet50", p): [(0.6, 0.7)] for p in (0, 15)}, dataset="ddti")])
    fig = report.auc_vs_depth(report.table3(records))
    assert [ax.get_title() for ax in fig.axes] == ["BUSI", "DDTI"]
    assert len(fig.axes[0].lines) == 3  # FT, FT-SVM, P4's FT-SVM


def test_reading_table3_one_fold_random_short_budget():
    records = make_records(cells_frame(lambda p: [(0.6, 0.7)]), epochs=2, still_improving=True)
    text = report.reading_table3(records, [RANDOM])
    assert "random initialisation here" in text and "3 thing(s)" in text
    assert "still falling at the last epoch in 3 of 3" in text and "one fold per cell" in text
    assert "higher than the FT AUC by 0.100" in text and "does not follow" in text


def test_reading_table3_p4s_protocol_and_a_clear_svm_advantage():
    rng = np.random.default_rng(0)
    records = make_records(cells_frame(lambda p: [(0.6 + 0.01 * f, 0.8 + 0.01 * f + 0.001 * rng.random())
                                             for f in range(5)]), epochs=30)
    text = report.reading_table3(records, [IMAGENET])
    assert "follows P4's protocol" in text and "higher" in text
    assert "so the direction follows" in text and "does not follow" not in text


def test_reading_table3_noisy_or_reversed_difference():
    noisy = make_records(cells_frame(lambda p: [(0.6, 0.7), (0.7, 0.6), (0.6, 0.62)]), epochs=1)
    text = report.reading_table3(noisy, [RANDOM])
    assert "the direction does not follow" in text and "cannot be told" in text
    lower = make_records(cells_frame(lambda p: [(0.8, 0.6), (0.81, 0.6), (0.8, 0.61)]), epochs=30)
    assert "lower than the FT AUC" in report.reading_table3(lower, [IMAGENET])
    assert "No finished task" in report.reading_table3(lower.iloc[:0], [])


def test_reading_table3_gives_no_verdict_with_degenerate_folds():
    clear = cells_frame(lambda p: [(0.6 + 0.01 * f, 0.8 + 0.01 * f) for f in range(5)])
    text = report.reading_table3(make_records(clear, epochs=30, degenerate=True), [IMAGENET])
    assert "no verdict is given" in text and "so the direction follows" not in text


def test_degenerate_note_counts_collapsed_tasks_per_head():
    clean = report.degenerate_note(make_records({("ResNet50", 15): [(0.6, 0.7)] * 2}))
    assert "FT: 0 of 2 task(s) degenerate, 50% of test images predicted malignant" in clean
    assert "No task collapsed" in clean
    collapsed = report.degenerate_note(make_records({("ResNet50", 15): [(0.5, 0.7)] * 2}, degenerate=True))
    assert "FT: 2 of 2 task(s) degenerate, 100% of test images predicted malignant, median score span 0.05" in collapsed
    assert "FT-SVM: 0 of 2" in collapsed and "balanced accuracy or AUC is the number to read" in collapsed
    some = pd.concat([make_records({("ResNet50", 15): [(0.5, 0.7)]}, degenerate=True),
                      make_records({("ResNet50", 0): [(0.5, 0.7)] * 3})])
    assert "Some tasks collapsed" in report.degenerate_note(some)
    assert "No finished task" in report.degenerate_note(some.iloc[:0])


def test_auc_ci_per_cell_with_groups():
    rng = np.random.default_rng(0)
    rows = []
    for pct in (0, 15):
        y = rng.integers(0, 2, 60)
        for i in range(60):
            rows.append({"dataset": "ddti", "protocol": "none", "backbone": "ResNet50", "trainable_pct": pct,
                         "path": f"{pct}-{i}.png", "y_true": y[i], "ft_score": 0.5 + 0.4 * (2 * y[i] - 1) * rng.random(),
                         "svm_score": rng.random()})
    predictions = pd.DataFrame(rows)
    groups = report.groups_by_path({"ddti": pd.DataFrame({"path": predictions["path"],
                                                          "group": predictions["path"].str[:4]})})
    ci = report.auc_ci(predictions, groups=groups, n_boot=100)
    assert list(ci["dataset"]) == ["DDTI", "DDTI"] and list(ci["trainable_pct"]) == [0, 15]
    assert all(s.startswith("1.000 [") for s in ci["ft_auc_95ci"])  # a perfect ranking
    assert report.auc_ci(predictions.iloc[0:0]).empty
    assert report.auc_ci(predictions, protocol_name="case").empty


def test_table4_shows_each_score_pooled_with_its_ci():
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 30)
    predictions = pd.DataFrame({"dataset": "busi", "protocol": "none", "backbone": "ResNet50", "trainable_pct": 15,
                                "path": [f"{i}.png" for i in range(60)], "y_true": y,
                                "ft_score": np.where(y == 1, 0.9, 0.1), "svm_score": rng.random(60)})
    ci = report.head_ci(predictions, metrics=report.TABLE4_METRICS, strategy=15, n_boot=100)
    assert set(ci["metric"]) == set(report.TABLE4_METRICS) and len(ci) == 4
    assert report.head_ci(predictions, strategy=0).empty
    t4 = report.table4(make_records({("ResNet50", 15): [(0.6, 0.7)]}, svm_c=1.0), ci=ci)
    assert t4.loc[("BUSI", "ResNet50", "sensitivity"), "ft_95ci"] == "1.000 [1.000, 1.000]"  # every malignant found
    assert t4.loc[("BUSI", "ResNet50", "svm_c"), "ft_95ci"] == ""  # C is a choice: no CI
