"""P1's report, ``paper_figures``: Figs. 4-6 and S1-S2: ROC curves per arm, the optimizer and CNN effects, feature maps and learning curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown
from matplotlib.figure import Figure

from mstl_lib.papers.p1_mstl import protocol, report

from p1_report_helpers import axes_images


def test_roc_by_arm_one_curve_per_configuration(records_factory):
    records = records_factory()
    predictions = records.loc[records.index.repeat(6)].assign(
        y_true=[0, 1, 0, 1, 1, 0] * len(records), y_score=np.linspace(0, 1, 6 * len(records)))
    fig = report.roc_by_arm(predictions)
    assert len(fig.axes) == 2
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]  # sgd, adam and the chance diagonal
    assert isinstance(report.roc_by_arm(predictions.iloc[0:0]), Markdown)


def test_factor_means_and_effects(records_factory):
    records = records_factory(optimizers=("sgd", "adagrad"))
    means = report.factor_means(records).set_index(["factor", "level"])
    assert means.loc[("optimizer", "sgd"), "accuracy"] == pytest.approx(85.0)
    assert means.loc[("cnn", "ResNet50"), "configurations"] == 2
    fig = report.factor_effects(records)
    assert len(fig.axes) == 2
    blue = [patch for patch in fig.axes[0].patches if patch.get_facecolor()[:3] != pytest.approx((0.827, 0.827, 0.827),
                                                                                                abs=0.01)]
    assert len(fig.axes[0].patches) == 6 and len(blue) == 3


def test_factor_note_counts_levels(records_factory):
    note = report.factor_note(records_factory(optimizers=("sgd", "adam")))
    assert "2 of P1's 3 optimizers and 1 of P1's 3 CNNs" in note and "no error bar" in note


def test_feature_map_figure_one_row_per_arm():
    maps = {arm: [np.random.default_rng(0).random((s, s, 4)) for s in (8, 4, 2)] for arm in ("CTL", "MSTL")}
    maps["MSTL"] = [10 * layer for layer in maps["MSTL"]]
    fig = report.feature_map_figure(np.zeros((16, 16, 3)), maps, ["a", "b", "c"])
    assert len(fig.axes) == 2 * 4 + 3 and axes_images(fig) == 8  # three colour bars, one per layer
    assert "8×8×4" in fig.axes[1].get_title()
    ctl, mstl = fig.axes[1].get_images()[0], fig.axes[5].get_images()[0]
    assert ctl.get_clim() == mstl.get_clim()  # one colour scale per layer for both arms
    assert mstl.get_clim()[1] == pytest.approx(float(maps["MSTL"][0].mean(axis=-1).max()))


def test_kept_networks_and_feature_maps(chapter):
    kept = report.kept_networks(chapter.raw_records("main"))
    assert set(kept) == set(protocol.ARMS) and all(r["fold"] == 0 for r in kept.values())
    fig = report.feature_maps(chapter)
    n_stages = len(protocol.RESNET50_STAGES)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * (n_stages + 1) + n_stages  # + a colour bar per stage
    assert report.kept_networks([{**r, "status": "failed"} for r in chapter.raw_records("main")]) == {}


def test_learning_curves_by_arm():
    history = pd.DataFrame([{"tl": tl, "backbone": b, "optimizer": "sgd", "fold": 0, "epoch": e, "metric": m,
                             "value": 0.5} for tl in protocol.ARMS for b in ("ResNet50", "VGG16") for e in (1, 2)
                            for m in ("accuracy", "val_accuracy", "loss", "val_loss")])
    items = report.learning_curves_by_arm(history)
    assert len(items) == 6 and isinstance(items[0], Markdown) and "MSTL" in items[0].data
    assert all(isinstance(item, Figure) for item in items[1:3] + items[4:6])
    panels = [ax.get_title() for ax in items[1].axes]  # one panel per (CNN, optimizer): never joined across CNNs
    assert panels == ["backbone = ResNet50, optimizer = sgd", "backbone = VGG16, optimizer = sgd"]
    assert all(len(line.get_xdata()) == 2 for ax in items[1].axes for line in ax.get_lines())
