"""The real sample: why it cannot be split by patient."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.papers.p2_breakhis import protocol


def sample_split(sample: pd.DataFrame | None, definition: str = "number") -> pd.DataFrame:
    """Arm A's split on a loader table (the 12-image sample): each image, its patient and its side."""
    columns = ["file", "label", "magnification", "patient", "side"]
    if sample is None or sample.empty:
        return pd.DataFrame(columns=columns)
    table = sample.assign(patient_id=protocol.patient_ids(sample, definition)).reset_index(drop=True)
    parts = protocol.magnification_split(table)
    side = np.full(len(table), "unused", dtype=object)
    side[parts["fit"]], side[parts["test"]] = "train", "test"
    return pd.DataFrame({"file": table["path"].map(lambda p: str(p).rsplit("/", 1)[-1]), "label": table["label"],
                         "magnification": table["magnification"], "patient": table["patient_id"], "side": side})


def sample_refusal(sample: pd.DataFrame | None, arm: str = "A", definition: str = "number") -> str:
    """The message the training step gives on ``sample`` (it refuses the 12-image sample)."""
    if sample is None or sample.empty:
        return "No BreakHis images are on this machine, so the refusal is not shown."
    table = sample.assign(patient_id=protocol.patient_ids(sample, definition)).reset_index(drop=True)
    parts = protocol.magnification_split(table)
    try:
        protocol.check_trainable(table, parts, arm)
    except protocol.TooSmallTrainingSet as error:
        return f"`TooSmallTrainingSet`: {error}"
    return f"arm {arm}: this BreakHis table is large enough to train on ({len(table)} images)."
