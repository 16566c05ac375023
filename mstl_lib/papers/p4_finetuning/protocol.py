"""P4's rules and constants: strategies, Table 2's frozen layers, the datasets and the folds.

Phase 1 (FT)
    A backbone whose first layers are frozen (P4's Table 2 strategies: 0, 15,
    25, 50, 75, 85 or 100 % of the layers trainable), GlobalMaxPooling, Dense 512
    ReLU, Dropout 0.5, Dense 2 softmax; Adam 1e-4, cross-entropy. The best epoch
    of each fold (lowest validation loss on a validation part carved out of the
    training part) is kept.
Phase 2 (FT-SVM)
    The kept model's 512-d penultimate features of the training part feed a
    linear SVM whose C is chosen by a grid search over {0.1, 1, 10, 100} with a
    stratified 5-fold CV **inside the training part**; the test part is scored once.

This module imports no TensorFlow.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data import splits
from mstl_lib.data.sources import DataSource
from mstl_lib.data.tables import binary_table
from mstl_lib.nn.features import SVM_C_GRID

__all__ = [
    "BACKBONES", "DIAGNOSTICS", "GROUPINGS", "PAPER_DATASET", "PAPER_EPOCHS", "PHASES", "PHASE_METRICS",
    "STRATEGIES", "SVM_C_GRID", "Table2Mismatch", "check_layer_count", "fold_parts", "frozen_layers",
    "parse_protocol", "rounded_frozen_layers", "table2", "task_table", "total_layers",
]

STRATEGIES = (0, 15, 25, 50, 75, 85, 100)
"""P4's fine-tuning strategies: percent of the backbone's layers that train."""

BACKBONES = ("VGG16", "VGG19", "ResNet50", "ResNet101", "InceptionV3")
"""P4's five ImageNet backbones (Keras, ``include_top=False``)."""

GROUPINGS = ("none", "case", "duplicates")
"""How folds group images: ``none`` = image-level folds (P4's protocol), ``case`` =
the dataset's own groups (DDTI cases), ``duplicates`` = those merged with
near-duplicate clusters (:func:`mstl_lib.data.near_duplicates.group_by_duplicates`)."""

PAPER_DATASET = {"busi": "BUSI", "ddti": "DDTI", "mendeley": "Mendeley", "salivary": "Salivary glands"}
"""Our dataset names -> the names in P4's tables."""

PAPER_EPOCHS = 30
"""P4's training epochs per fold."""

PHASES = ("ft", "svm")
"""``ft``: the network's own MLP head (phase 1); ``svm``: the linear SVM on its features (phase 2)."""

PHASE_METRICS = ("accuracy", "auc", "precision", "sensitivity")
"""The metrics P4 reports for each phase (Tables 3 and 4)."""

DIAGNOSTICS = ("balanced_accuracy", "pred_benign", "pred_malignant", "score_min", "score_max", "degenerate")
"""Recorded for each phase besides P4's metrics: whether a fold's predictions collapsed onto one class."""


class Table2Mismatch(AssertionError):
    """A built network's layer count differs from P4's Table 2: frozen counts would not mean what P4 says."""


# ----------------------------------------------------------------- Table 2


@functools.lru_cache(maxsize=1)
def table2() -> pd.DataFrame:
    """P4's Table 2 (frozen layers per backbone and strategy), long, from the paper-values CSV."""
    return paper_values.load("p4_table2")


def frozen_layers(backbone: str, trainable_pct: int) -> int:
    """Number of leading layers P4 freezes for ``backbone`` at ``trainable_pct`` % trainable.

    Read from P4's Table 2, which is the protocol's definition; see
    :func:`rounded_frozen_layers` for the rule it nearly follows.

    Raises
    ------
    ValueError
        A backbone or strategy Table 2 does not have.
    """
    table = table2()
    row = table[(table["backbone"] == backbone) & (table["trainable_pct"] == int(trainable_pct))]
    if len(row) != 1:
        raise ValueError(f"P4's Table 2 has no strategy {trainable_pct}% for {backbone!r}; "
                         f"strategies: {STRATEGIES}, backbones: {sorted(table['backbone'].unique())}")
    return int(row["frozen_layers"].iloc[0])


def total_layers(backbone: str) -> int:
    """The layer count P4's Table 2 gives ``backbone`` (input layer included)."""
    table = table2()
    rows = table.loc[table["backbone"] == backbone, "total_layers"]
    if rows.empty:
        raise ValueError(f"P4's Table 2 has no backbone {backbone!r}; backbones: {BACKBONES}")
    return int(rows.iloc[0])


def rounded_frozen_layers(total: int, trainable_pct: int) -> int:
    """``total x (1 - trainable_pct / 100)`` rounded half up: Table 2's apparent rule.

    It reproduces 33 of the table's 35 cells; VGG19 at 25 % and 85 % differ by one.
    """
    return int(np.floor(total * (100 - trainable_pct) / 100 + 0.5))


def check_layer_count(backbone_model, backbone: str) -> int:
    """The layer count of ``backbone_model`` (any object with ``.layers``), checked against Table 2.

    Raises
    ------
    Table2Mismatch
        The count differs from P4's total for ``backbone``.
    """
    expected = total_layers(backbone)
    actual = len(backbone_model.layers)
    if actual != expected:
        raise Table2Mismatch(f"{backbone} has {actual} layers; P4's Table 2 counts {expected}. "
                             "The frozen-layer counts would not mean what the paper says.")
    return actual


# ----------------------------------------------------------------- data and folds


def parse_protocol(protocol: str) -> tuple[str, str]:
    """``"ddti:case"`` -> ``("ddti", "case")``: a grouped protocol of the settings.

    Raises
    ------
    ValueError
        Not ``<dataset>:<grouping>`` with a grouping of :data:`GROUPINGS`.
    """
    dataset, sep, grouping = str(protocol).partition(":")
    if not sep or not dataset or grouping not in GROUPINGS:
        raise ValueError(f"a grouped protocol is '<dataset>:<grouping>' with grouping in {GROUPINGS}; "
                         f"got {protocol!r}")
    return dataset, grouping


def task_table(source: DataSource | dict, grouping: str = "none", max_images: int | None = None,
               seed: int = 0) -> pd.DataFrame:
    """Benign-vs-malignant rows of ``source`` with a ``fold_group`` column for ``grouping``.

    ``none``: every image is its own group (P4's image-level folds); ``case``: the
    dataset's own groups; ``duplicates``: those merged with near-duplicate clusters.
    DDTI labels come from the loader (TIRADS 2-3 benign, 4a-5 malignant, no TIRADS
    left out).
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}; got {grouping!r}")
    table = binary_table(source, "duplicates" if grouping == "duplicates" else "image", max_images, seed)
    table["fold_group"] = table["path"].astype(str) if grouping == "none" else table["group"].astype(str)
    return table


def fold_parts(table: pd.DataFrame, fold: int, n_splits: int, seed: int, grouping: str,
               val_splits: int = 5) -> dict[str, np.ndarray]:
    """Row indices ``train`` (= ``fit`` + ``val``) and ``test`` of fold ``fold``.

    The outer split is a stratified k-fold (group-aware on ``fold_group`` unless
    ``grouping == "none"``); ``val`` is one fold of a ``val_splits``-fold split of
    the training part (same grouping), used only to pick the best epoch.
    """
    y = table["target"].to_numpy()
    groups = None if grouping == "none" else table["fold_group"].to_numpy()
    outer = splits.kfold(y, groups, n_splits=n_splits, seed=seed)[fold]
    train = outer.train
    inner_groups = None if groups is None else groups[train]
    inner = splits.kfold(y[train], inner_groups, n_splits=val_splits, seed=seed + 1)[0]
    return {"train": train, "fit": train[inner.train], "val": train[inner.test], "test": outer.test}
