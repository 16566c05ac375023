"""Pooled predictions and patient-level CIs, shared by the tables beside the paper and the controls."""

from __future__ import annotations

import pandas as pd

from mstl_lib.evaluation import patients
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci, mean_ci
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.papers.p3_elastography.report.records import MODEL_ORDER


def long_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (test image, model): ``model`` and ``y_score`` from the ``score_<model>`` columns."""
    if predictions.empty:
        return pd.DataFrame(columns=["model", "y_score"])
    keep = [c for c in predictions.columns if not c.startswith("score_")]
    parts = []
    for model in MODEL_ORDER:
        column = f"score_{model}"
        if column in predictions:
            part = predictions[keep].assign(model=model, y_score=predictions[column])
            parts.append(part[part["y_score"].notna()])
    return pd.concat(parts, ignore_index=True)


def patient_mean_ci(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-patient ``values`` with a percentile bootstrap CI that resamples patients."""
    return mean_ci(values, n_boot=n_boot, level=level, seed=seed)


def patient_table_ci(predictions: pd.DataFrame, by, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Patient-wise eq. 1 (vote accuracy, tie -> malignant) and eq. 2 (recognition rate) per group of ``by``,
    each with a patient-cluster bootstrap 95 % CI, and the image AUC with one.

    ``predictions`` is :func:`long_predictions` output (pooled over folds: in the
    nested CV every patient is tested once).
    """
    rows = []
    for keys, part in predictions.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        ids, labels = patients.patient_labels(part["y_true"], part["patient"])
        _, votes = patients.majority_vote(part["y_score"], part["patient"], tie=protocol.TIE_RULE)
        _, shares = patients.patient_scores(part["y_true"], part["y_score"], part["patient"])
        vote = patient_mean_ci(votes == labels, n_boot, seed)
        rate = patient_mean_ci(shares, n_boot, seed)
        auc = bootstrap_ci(part["y_true"], part["y_score"], "auc", groups=part["patient"].to_numpy(),
                           n_boot=n_boot, seed=seed)
        rows.append({**dict(zip(by, keys, strict=True)), "n_images": len(part), "n_patients": len(ids),
                     "auc": auc[0], "auc_low": auc[1], "auc_high": auc[2],
                     "vote_accuracy": vote[0], "vote_accuracy_low": vote[1], "vote_accuracy_high": vote[2],
                     "recognition_rate": rate[0], "recognition_rate_low": rate[1],
                     "recognition_rate_high": rate[2]})
    return pd.DataFrame(rows)


def with_ci_strings(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for name in ("auc", "vote_accuracy", "recognition_rate"):
        out[f"{name} [95% CI]"] = [format_ci(e, lo, hi) for e, lo, hi in
                                   zip(out[name], out[f"{name}_low"], out[f"{name}_high"], strict=True)]
    return out


def percent_ci(row: pd.Series, name: str) -> str:
    return format_ci(100 * row[name], 100 * row[f"{name}_low"], 100 * row[f"{name}_high"], 1)
