"""The multistage chapter's figures build from small tidy inputs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mstl_lib.papers.p1_mstl import cell_patches

from mstl_lib import paper_values
from mstl_lib import multistage_report as figures


def _frame():
    image = np.full((200, 200, 3), 200, np.uint8)
    image[20:80, 30:100] = 60
    image[150:155, 150:156] = 60
    return image


def test_segmentation_panels():
    assert isinstance(figures.segmentation_panels(cell_patches.segment_cells(_frame()), title="t"), Figure)


def _records():
    rng = np.random.default_rng(0)
    rows = []
    for tl in ("CTL", "MSTL"):
        for optimizer in ("sgd", "adagrad"):
            for fold in range(2):
                rows.append({"tl": tl, "backbone": "ResNet50", "optimizer": optimizer, "fold": fold,
                             "status": "done", "accuracy": rng.uniform(0.5, 1)})
    return pd.DataFrame(rows)


def test_roc_and_factor_figures():
    records = _records()
    predictions = records.loc[records.index.repeat(6)].assign(
        y_true=[0, 1, 0, 1, 1, 0] * len(records), y_score=np.linspace(0, 1, 6 * len(records)))
    assert isinstance(figures.roc_by_arm(predictions), Figure)
    assert isinstance(figures.factor_effects(records, paper_values.load("p1_factors")), Figure)


def test_feature_map_figure():
    maps = {arm: [np.random.default_rng(0).random((s, s, 4)) for s in (8, 4, 2)] for arm in ("CTL", "MSTL")}
    assert isinstance(figures.feature_map_figure(np.zeros((16, 16, 3)), maps, ["a", "b", "c"]), Figure)
