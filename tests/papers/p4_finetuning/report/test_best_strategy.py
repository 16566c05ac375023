"""P4's report, ``best_strategy``: Table 4 and its figures: the 15 % strategy per backbone, confusion matrices and ROC curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.papers.p4_finetuning import report

from p4_report_helpers import make_records


def _predictions(datasets=("busi",), backbones=("ResNet50", "InceptionV3"), pct=15):
    rng = np.random.default_rng(0)
    parts = []
    for dataset in datasets:
        for backbone in backbones:
            y = np.tile([0, 1], 10)
            parts.append(pd.DataFrame({"dataset": dataset, "protocol": "none", "backbone": backbone,
                                       "trainable_pct": pct, "fold": 0, "y_true": y,
                                       "ft_score": np.clip(y * 0.3 + rng.random(20) * 0.7, 0, 1),
                                       "svm_score": np.clip(y * 0.5 + rng.random(20) * 0.5, 0, 1)}))
    return pd.concat(parts, ignore_index=True)


def test_table4_at_15_percent_beside_p4():
    records = pd.concat([make_records({("ResNet50", 15): [(0.6, 0.7), (0.8, 0.9)]}, svm_c=10.0),
                         make_records({("ResNet50", 0): [(0.1, 0.1)]})])
    records.loc[records.index[0], "svm_c"] = 1.0
    records.loc[records.index[1], "svm_c"] = 10.0
    t4 = report.table4(pd.concat([records, make_records({("ResNet50", 15): [(0.5, 0.5)]}, svm_c=10.0)
                                  .assign(fold=2)], ignore_index=True))
    assert list(t4.index.get_level_values("metric")) == ["accuracy", "balanced_accuracy", "precision",
                                                         "sensitivity", "svm_c"]
    assert np.isnan(t4.loc[("BUSI", "ResNet50", "balanced_accuracy"), "ft_paper"])  # not in P4
    accuracy = t4.loc[("BUSI", "ResNet50", "accuracy")]
    assert accuracy["ft_ours"] == pytest.approx((0.6 + 0.8 + 0.5) / 3, abs=1e-4)
    assert accuracy["ft_paper"] == pytest.approx(0.8887)
    c = t4.loc[("BUSI", "ResNet50", "svm_c")]
    assert c["svm_ours"] == 10.0 and np.isnan(c["svm_diff"]) and np.isnan(c["ft_ours"])  # the C chosen most often


def test_confusion_and_roc_one_row_per_key():
    fig = report.confusion_and_roc(_predictions(), "title")
    assert len(fig.axes) == 2 * 3 and fig.axes[0].get_title() == "ResNet50 FT"
    image = fig.axes[0].images[0].get_array()
    assert image.sum() == 20  # every test image once in the confusion matrix


def test_confusion_figure_picks_the_strategy_and_backbones():
    predictions = pd.concat([_predictions(("busi", "ddti")), _predictions(pct=0),
                             _predictions(backbones=("VGG16",))], ignore_index=True)
    fig = report.confusion_figure(predictions)
    assert len(fig.axes) == 4 * 3 and fig.axes[0].get_title() == "BUSI ResNet50 FT"
    assert "No finished task" in report.confusion_figure(predictions, strategy=85).data
    assert "No finished task" in report.confusion_figure(pd.DataFrame()).data
