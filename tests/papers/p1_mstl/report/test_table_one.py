"""P1's report, ``table_one``: Table 1, reproduced and beside the paper's: fold means, pooled CIs and the caption."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p1_mstl import protocol, report
from mstl_lib.report.tables import CI_METRICS

from p1_report_helpers import arm_predictions


def test_table1_from_records(records_factory):
    table = report.table1(records_factory())
    assert len(table) == 4 and list(table.columns[:4]) == ["tl", "cnn", "optimizer", "n_folds"]
    row = table.query("tl == 'MSTL' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy"] == pytest.approx(85.0) and row["auc"] == pytest.approx(0.85)
    assert row["accuracy_sd"] == pytest.approx(100 * np.std([0.8, 0.9], ddof=1))
    assert row["avg_accuracy_cnn"] == pytest.approx(85.0) and row["n_folds"] == 2


def test_every_table1_view_counts_degenerate_folds(records_factory):
    records = records_factory()
    records = records.assign(degenerate=[1.0] + [0.0] * (len(records) - 1))
    flagged = records.iloc[0]
    key = (flagged["tl"], flagged["backbone"], flagged["optimizer"])
    for table in (report.table1(records), report.table1_beside_paper(report.table1(records)),
                  report.mt_small_table(records)):
        counts = {(r.tl, r.cnn, r.optimizer): r.degenerate_folds for r in table.dropna(subset=["auc_ours"]
                  if "auc_ours" in table else ["auc"]).itertuples()}
        assert counts.pop(key) == 1 and set(counts.values()) == {0}
    assert "degenerate_folds" not in report.table1(records_factory()).columns


def test_table1_of_failed_records_is_empty(records_factory):
    assert report.table1(records_factory().assign(status="failed")).empty


def test_format_table1_prints_like_the_paper():
    shown = report.format_table1(protocol.paper_table1())
    assert len(shown) == 18
    best = shown.query("tl == 'MSTL' and cnn == 'ResNet50' and optimizer == 'adagrad'").iloc[0]
    assert best["test accuracy (%)"] == "99.00 ± 0.61" and best["avg. per CNN (%)"] == 98.0


def test_table1_beside_paper_differences(records_factory):
    comparison = report.table1_beside_paper(report.table1(records_factory()))
    assert len(comparison) == 18  # the paper's rows; ours are a subset of them
    row = comparison.query("tl == 'MSTL' and cnn == 'ResNet50' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy_diff"] == pytest.approx(85.0 - 98.5)
    assert comparison.query("cnn == 'InceptionV3'")["accuracy_ours"].isna().all()


def test_table1_caption_names_each_departure(chapter):
    caption = report.table1_caption(chapter)
    assert "busi (real)" in caption  # P1 balanced its classes: 20 + 20 asked, the phantom set has 12 malignant
    assert "a class-balanced draw (20 benign + 12 malignant, at most 20 of each) of 36 images" in caption
    assert "2 of 2 outer folds" in caption and "1 epoch," in caption and "random weights" in caption
    assert "Mendeley 100 + 100" in caption


def test_pooled_ci_brackets_the_estimate_and_tells_signal_from_chance():
    ci = report.pooled_ci(arm_predictions(signal=2.0), n_boot=200)
    assert list(ci["tl"]) == ["CTL", "MSTL"] and (ci["n_images"] == 80).all()
    for name in CI_METRICS:
        assert (ci[f"{name}_low"] <= ci[name]).all() and (ci[name] <= ci[f"{name}_high"]).all()
    ctl, mstl = ci.set_index("tl").loc["CTL"], ci.set_index("tl").loc["MSTL"]
    assert mstl["auc_low"] > 0.5 and ctl["auc_low"] < 0.5 < ctl["auc_high"]
    assert 0 <= mstl["accuracy_low"] <= 100 and mstl["accuracy"] > 50  # accuracy in %


def test_pooled_ci_resamples_groups_when_given():
    predictions = arm_predictions(signal=1.0, n=40)
    copies = pd.concat([predictions] * 4, ignore_index=True)
    groups = {path: path for path in predictions["path"]}  # each image and its 3 copies form one group
    by_image = report.pooled_ci(copies, n_boot=200).set_index("tl")
    by_group = report.pooled_ci(copies, groups=groups, n_boot=200).set_index("tl")
    width = lambda t: t["auc_high"] - t["auc_low"]  # noqa: E731
    assert (width(by_group) > 1.5 * width(by_image)).all()


def test_table1_beside_paper_carries_our_cis():
    ours = pd.DataFrame({"tl": ["MSTL"], "cnn": ["ResNet50"], "optimizer": ["adagrad"], "n_folds": [2],
                         **{m: [0.6] for m in report.STAGE2_METRICS}, "accuracy_sd": [3.0],
                         "avg_accuracy_cnn": [60.0]})
    ci = report.pooled_ci(arm_predictions(signal=2.0), n_boot=100)
    table = report.table1_beside_paper(ours, ci=ci)
    row = table[(table["tl"] == "MSTL") & (table["cnn"] == "ResNet50") & (table["optimizer"] == "adagrad")].iloc[0]
    assert row["auc_ours_95ci"].startswith(f"{ci.set_index('tl').loc['MSTL', 'auc']:.3f} [")
    assert "accuracy_ours_95ci" in table.columns and "balanced_accuracy_ours_95ci" in table.columns


def test_table1_shows_balanced_accuracy_where_recorded(records_factory):
    records = records_factory(optimizers=("adagrad",))
    plain = report.table1(records)
    assert "balanced_accuracy" not in plain.columns or plain["balanced_accuracy"].notna().all()
    with_ba = report.table1(records.assign(balanced_accuracy=0.5))
    assert (with_ba["balanced_accuracy"] == 0.5).all()
    assert (report.format_table1(with_ba)["balanced accuracy"] == 0.5).all()
    assert "balanced accuracy" not in report.format_table1(protocol.paper_table1()).columns
