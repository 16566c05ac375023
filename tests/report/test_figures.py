"""Figures and the banner build from tidy tables."""

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data import phantoms

from mstl_lib import report
from mstl_lib.data import load_busi


@pytest.fixture(scope="module")
def busi(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "busi"
    phantoms.write_ultrasound_phantoms(root, 3, 3, n_normal=1, size=48, seed=0)
    return load_busi(root, include_normal=True)


def test_mask_outline_is_the_inner_boundary():
    mask = np.zeros((7, 7), bool)
    mask[2:5, 2:5] = True
    outline = report.mask_outline(mask)
    assert outline.sum() == 8 and not outline[3, 3] and not outline[0, 0]


@pytest.mark.parametrize("figure", ["sample_grid", "size_histogram", "duplicate_examples"])
def test_dataset_figures_render(busi, figure):
    if figure == "sample_grid":
        fig = report.sample_grid(busi, per_class=2, size=32)
        assert len(fig.axes) == 3 * 2
    elif figure == "size_histogram":
        fig = report.size_histogram({"busi": busi})
        assert len(fig.axes) == 2
    else:
        clusters = pd.DataFrame({"path": busi["path"][:2], "cluster": [0, 0], "cluster_size": [2, 2],
                                 "label": busi["label"][:2]})
        fig = report.duplicate_examples(clusters, n_clusters=1, size=32)
        assert len(fig.axes) == 2


def test_learning_and_roc_curves_from_records():
    history = pd.DataFrame({"optimizer": ["adam"] * 4, "fold": [0, 0, 0, 0], "epoch": [0, 1, 0, 1],
                            "metric": ["loss", "loss", "val_loss", "val_loss"], "value": [1, .5, 1.2, .9]})
    assert len(report.learning_curves(history, by="optimizer").axes) == 1
    predictions = pd.DataFrame({"optimizer": ["sgd"] * 4, "fold": [0] * 4, "y_true": [0, 0, 1, 1],
                                "y_score": [.1, .6, .4, .9]})
    fig = report.roc_curves(predictions, by="optimizer")
    assert "AUC 0.75" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_learning_curves_start_at_epoch_one():
    history = pd.DataFrame({"optimizer": ["sgd"] * 2, "fold": [0, 0], "epoch": [1, 2], "metric": ["loss"] * 2,
                            "value": [0.9, 0.5]})
    fig = report.learning_curves(history, by="optimizer", metrics=("loss",))
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [1, 2]
