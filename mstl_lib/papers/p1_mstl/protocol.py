"""P1's rules and constants, as the paper states them (no TensorFlow here).

Ayana et al. 2022 train EfficientNetB2, InceptionV3 and ResNet50 with SGD, Adam
and Adagrad, in two arms:

``CTL``   conventional transfer learning: ImageNet -> ultrasound;
``MSTL``  multistage transfer learning: ImageNet -> cancer-cell patches -> ultrasound.

Stage 1 (MSTL only) trains the backbone without its top, global average pooling
and one dense softmax over the cell lines, every weight trainable, on patches
split 7:2:1. Stage 2 puts three dense layers (one with dropout) and a sigmoid
on the backbone and fine-tunes everything on ultrasound inside a nested 5-fold
cross-validation (6:2:2). Both stages: 50 epochs, batch 16, learning rate 10⁻³
decaying exponentially at rate 0.96, 75 x 75 inputs.

What P1 leaves open and this module fixes (each a documented choice):
the head's widths and dropout rate (:data:`STAGE2_HEAD`), the decay step
(one epoch), the rotation angle of the augmentation (:data:`STAGE1_AUGMENTATION`,
:data:`STAGE2_AUGMENTATION`), and that stage-1 patches are split at random
(patches of one frame may fall in different parts; P1 says "randomly").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data import splits

ARMS = ("CTL", "MSTL")
"""The two transfer-learning arms, in Table 1's order."""

CONTROL = "SHUF"
"""Our control arm (not in P1): stage 1 on the same patches with shuffled cell-line labels, for the same
number of steps, then the same stage 2. MSTL beating CTL could mean "cells help" or only "any extra
training of a network helps"; MSTL beating this arm is what speaks for the cells."""

ALL_ARMS = (*ARMS, CONTROL)
"""Every stage-2 arm this book runs."""

STAGE1_LABELS = {"MSTL": "true", CONTROL: "shuffled"}
"""Which stage-1 labels each arm's stage 1 trained on."""

ARM_TITLES = {"MSTL": "(a) multistage TL", "CTL": "(b) conventional TL", CONTROL: "control: stage 1 on shuffled labels"}
"""Panel titles of Fig. 4 (and of our control)."""

BACKBONES = ("EfficientNetB2", "InceptionV3", "ResNet50")
OPTIMIZERS = ("sgd", "adam", "adagrad")
BEST = {"cnn": "ResNet50", "optimizer": "adagrad"}
"""P1's best configuration (Table 1), rerun on MT-Small (section 3.5) and shown in Fig. 6."""

EPOCHS = 50
BATCH_SIZE = 16
LEARNING_RATE = 1e-3
DECAY_RATE = 0.96
"""Exponential decay per epoch (P1 gives the rate, not the step)."""
IMAGE_SIZE = 75

STAGE1_SPLIT = (0.7, 0.2, 0.1)
"""Train, validation and test shares of the cell patches (P1: 7:2:1)."""
STAGE1_MIN_FRAMES = 10
"""Frames per cell line needed to split the patches grouped by their source frame: 7:2:1 takes 10
group folds. With fewer, patches of one frame straddle the split, so stage-1 accuracy is only a
diagnostic (neighbouring cells of one frame look alike), not evidence that stage 1 learned."""
STAGE1_AUGMENT_COPIES = 2
"""P1 doubles the training patches (rotation, width / height shifts, flips)."""
STAGE1_AUGMENTATION = {"flips": ("horizontal", "vertical"), "rotation": 0.05, "shift": 0.1}
"""Arguments of :func:`mstl_lib.nn.training.augmentation` for stage 1 (angles and shifts are ours)."""
STAGE1_HEAD = "global average pooling -> one dense softmax over the cell lines"

N_SPLITS = 5
VAL_SIZE = 0.25
"""Share of the outer-training rows that validate: 0.8 x 0.25 = 0.2, P1's 6:2:2."""
STAGE2_AUGMENT_COPIES = 3
"""P1 augments the ultrasound training images threefold (vertical flip, rotation)."""
STAGE2_AUGMENTATION = {"flips": ("vertical",), "rotation": 0.05, "shift": 0.0}
"""Arguments of :func:`mstl_lib.nn.training.augmentation` for stage 2 (±18°: P1 gives no angle)."""
STAGE2_HEAD = {"units": (256, 128), "dropout": 0.5}
"""Arguments of :func:`mstl_lib.nn.heads.mlp_head`: GAP -> 256 ReLU -> dropout -> 128 ReLU -> 1 sigmoid.
P1 gives three dense layers, one with dropout, and a sigmoid; the widths and the rate are ours."""

MENDELEY_PER_CLASS = 100
"""P1 used 100 benign and 100 of Mendeley's 150 malignant images."""
MT_SMALL_PER_CLASS = 200
MT_SMALL_STANDIN_SIZE = 128

RESNET50_STAGES = ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out")
"""Output of each of ResNet50's five convolution stages (P1's Fig. 6)."""

TABLE1_KEYS = ("tl", "cnn", "optimizer")
TABLE1_METRICS = ("auc", "f1", "specificity", "sensitivity", "loss", "accuracy")
"""Table 1's columns; also exactly the metrics a stage-2 task records."""
FOLD_CHECKS = ("balanced_accuracy", "pred_benign", "pred_malignant", "score_min", "score_max", "degenerate",
               "pred_malignant_own_threshold")
"""What every evaluated stage-2 fold records beside Table 1's metrics, to tell a degenerate model
(``pred_malignant_own_threshold``: test images the network called malignant at its own 0.5, before any
operating point moved it)."""

STAGE2_RECORDED = (*TABLE1_METRICS, *FOLD_CHECKS)
"""The metrics of a stage-2 record."""

STAGE1_METRICS = ("accuracy", "loss")
"""The metrics a stage-1 task records (on its held-out test patches)."""

TTEST_FRAMING = ("P1 reports p = 0.01191 for MSTL vs CTL over \"all the average 5-fold cross-validation "
                 "accuracy results from all CNN and optimizer combinations\", without naming the test.")
"""What the paper says about its significance test, word for word where quoted."""
TTEST_SAMPLE = "the nine (CNN, optimizer) pairs of mean test accuracies (%) of Table 1, CTL against MSTL"
"""What the candidate tests compare."""


def link_key(backbone: str, optimizer: str, labels: str = "true") -> str:
    """Key of a stage-1 link in a stage-2 context: ``"<backbone>/<optimizer>"``, plus ``"/shuffled"`` for the control."""
    return f"{backbone}/{optimizer}" + ("" if labels == "true" else f"/{labels}")


def nested_fold(table: pd.DataFrame, fold: int, context: dict) -> splits.Fold:
    """Fold ``fold`` of P1's nested cross-validation of ``table`` (train / val / test, groups disjoint).

    ``context``: ``n_splits``, ``seed`` and optionally ``val_size`` (default :data:`VAL_SIZE`).
    """
    folds = splits.nested_kfold(table["target"].to_numpy(), groups=table["group"].to_numpy(),
                                n_splits=int(context["n_splits"]), val_size=float(context.get("val_size", VAL_SIZE)),
                                seed=int(context["seed"]))
    return folds[int(fold)]


# --------------------------------------------------------------------------- the paper's numbers


def paper_table1() -> pd.DataFrame:
    """Table 1 as printed (Mendeley, 5 folds): keys, metrics, ``accuracy_sd`` and ``avg_accuracy_cnn``."""
    return paper_values.load("p1_table1")


def paper_p_value() -> float:
    """The p-value P1 reports for MSTL vs CTL (0.01191)."""
    return float(paper_values.load("p1_significance")["p_value"].iloc[0])


def paper_factors() -> pd.DataFrame:
    """Fig. 5's values in P1's text: MSTL accuracy (%) per optimizer and per CNN (``factor, level, ...``)."""
    return paper_values.load("p1_factors")


def paper_mt_small() -> pd.DataFrame:
    """P1's MT-Small result (section 3.5; MSTL only)."""
    return paper_values.load("p1_mt_small")


def ttest_candidates(table1: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two samples P1's t-test compares: CTL and MSTL mean accuracy (%) per (CNN, optimizer), matched.

    ``table1`` defaults to the paper's own (:func:`paper_table1`).
    """
    table1 = paper_table1() if table1 is None else table1
    wide = table1.pivot_table(index=["cnn", "optimizer"], columns="tl", values="accuracy").dropna()
    return wide["CTL"].to_numpy(), wide["MSTL"].to_numpy()
