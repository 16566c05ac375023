"""A cheap probe of what the simulated strain crop carries besides the drawn stiffness.

The chapter's negative control (ratios drawn class-independently) trains the
real models; this probe asks the same question in seconds, so that the page can
show it for each generator setting (an ablation): draw class-independent ratios
(separation 0), make the SE-only lesion crops, describe each by its 8 x 8
block-mean colours plus its per-channel mean and SD, and score a logistic
regression under patient-grouped stratified 5-fold CV. Its AUC, with a
patient-cluster bootstrap CI, must include 0.5; where it does not, the crop
carries class information the simulation did not inject (lesion size or shape).

This module imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mstl_lib.data.phantoms import strain
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci
from mstl_lib.papers.p3_elastography import protocol

__all__ = ["PROBE_SETTINGS", "crop_features", "leak_probe", "probe_auc"]

PROBE_SETTINGS = {
    "strain-2 (chapter)": strain.StrainSettings(),
    "strain-2, mask ellipse": dataclasses.replace(strain.StrainSettings(), inclusion="lesion"),
    "strain-2, ROI-mean colours": dataclasses.replace(strain.StrainSettings(), reference="roi"),
    "strain-1, background colours": dataclasses.replace(strain.LEGACY, reference="background"),
    "strain-1 (old)": strain.LEGACY,
}
"""The generator settings the chapter's probe compares: the chapter's, one change at a time, and the old one."""


def crop_features(images: np.ndarray, blocks: int = 8) -> np.ndarray:
    """``(n, blocks*blocks*c + 2c)``: block-mean colours, then each channel's mean and SD, of square images."""
    images = np.asarray(images, dtype=float)
    n, h, w, c = images.shape
    if h % blocks or w % blocks:
        raise ValueError(f"image sides {h}x{w} are not multiples of {blocks}")
    small = images.reshape(n, blocks, h // blocks, blocks, w // blocks, c).mean(axis=(2, 4)).reshape(n, -1)
    return np.concatenate([small, images.mean(axis=(1, 2)), images.std(axis=(1, 2))], axis=1)


def probe_auc(features: np.ndarray, y, groups, seed: int = 0, n_splits: int = 5) -> np.ndarray:
    """Out-of-fold P(class 1) of a standardised, L2-regularised logistic regression, patient-grouped CV."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedGroupKFold  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    y, groups = np.asarray(y, dtype=int), np.asarray(groups)
    n_splits = int(min(n_splits, len(np.unique(groups[y == 0])), len(np.unique(groups[y == 1]))))
    if n_splits < 2:
        raise ValueError("each class needs at least two patients")
    scores = np.zeros(len(y))
    for train, test in StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(features, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        scores[test] = model.fit(features[train], y[train]).predict_proba(features[test])[:, 1]
    return scores


def leak_probe(table: pd.DataFrame, settings: dict | None = None, size: int = 64, work_size: int = 128,
               seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
    """The probe's SE-crop AUC at separation 0 for each of ``settings`` (name -> StrainSettings).

    Columns: ``generator``, ``n_images``, ``n_patients``, ``auc``, ``auc_low``, ``auc_high``,
    ``auc [95% CI]``, ``includes_chance``. Empty when ``table`` is None (BUSI is not available).
    """
    if table is None:
        return pd.DataFrame()
    settings = PROBE_SETTINGS if settings is None else settings
    ratios = protocol.patient_ratios(table, 0.0, seed)
    y, groups = table["target"].to_numpy(dtype=int), table["patient"].to_numpy()
    rows = []
    for name, setting in settings.items():
        images = protocol.model_inputs(table, "SE", "crop", size, ratios, seed, work_size, setting)
        scores = probe_auc(crop_features(images), y, groups, seed)
        auc, low, high = bootstrap_ci(y, scores, "auc", groups=groups, n_boot=n_boot, seed=seed)
        rows.append({"generator": name, "n_images": len(table), "n_patients": len(np.unique(groups)),
                     "auc": auc, "auc_low": low, "auc_high": high, "auc [95% CI]": format_ci(auc, low, high),
                     "includes_chance": bool(low <= 0.5 <= high)})
    return pd.DataFrame(rows)
