"""What every section of P1's pages reads: the metrics it needs, done records, the per-fold table and the notes
on degenerate folds, chance ranking, the operating point and failures.
"""

from __future__ import annotations

import pandas as pd

from mstl_lib import engine
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.report import markdown
from mstl_lib.report.degenerate import chance_ranking_sentence, epochs_phrase
from mstl_lib.report.operating_point import operating_point_sentence
from mstl_lib.report.text import finished_only, plural


STAGE1_METRICS = protocol.STAGE1_METRICS
"""The stage-1 metrics this module reads."""
STAGE2_METRICS = protocol.TABLE1_METRICS
"""The stage-2 metrics of Table 1."""
STAGE2_READ = protocol.STAGE2_RECORDED
"""Every stage-2 metric this module reads: Table 1's and the fold checks (:func:`degenerate_note`)."""
METRICS_BY_TASK = {"mstl_lib.papers.p1_mstl.tasks:stage1_task": STAGE1_METRICS,
                   "mstl_lib.papers.p1_mstl.tasks:stage2_task": STAGE2_READ}
"""The metrics this module reads from each task's records (the contract every paper declares)."""
ALPHA = 0.05



def collect(store, grids) -> engine.ChapterResults:
    """Read every grid's records from ``store`` into one :class:`~mstl_lib.engine.ChapterResults` (``grid``: the
    name of the grid a row came from); :class:`~mstl_lib.papers.p1_mstl.grids.ChapterRun` offers it as ``results``."""
    names = {id(grid): name for name, grid in grids.items()}
    return engine.collect(store, grids, lambda grid: {"grid": names[id(grid)]},
                          frames=("records", "predictions", "history", "failures"))


# =========================================================================== small helpers


def per_fold_table(records: pd.DataFrame) -> pd.DataFrame:
    """Every stage-2 fold (the form of P1's Table S1): accuracy (%), AUC, balanced accuracy, predicted classes.

    ``degenerate`` marks a fold that gave at least 95 % of its test images one class.
    """
    columns = ["tl", "cnn", "optimizer", "fold", "accuracy", "auc", "balanced_accuracy", "sensitivity",
               "specificity", "pred_malignant", "n_test", "degenerate"]
    done = finished_only(records)
    if done.empty:
        return pd.DataFrame(columns=columns)
    out = done.rename(columns={"backbone": "cnn"}).copy()
    out["accuracy"] = 100 * out["accuracy"].astype(float)
    out["n_test"] = (out["pred_malignant"] + out["pred_benign"]).astype(int)
    out["pred_malignant"] = out["pred_malignant"].astype(int)
    out["degenerate"] = out["degenerate"].astype(float) > 0
    if "pred_malignant_own_threshold" in out.columns:  # what the network's own 0.5 called, before the operating point
        out["malignant_at_0.5"] = out["pred_malignant_own_threshold"]
        columns.insert(columns.index("n_test"), "malignant_at_0.5")
    return out[columns].sort_values(["tl", "cnn", "optimizer", "fold"]).reset_index(drop=True).round(3)


def degenerate_note(records: pd.DataFrame) -> str:
    """How many stage-2 folds put at least 95 % of their test images in one class, per arm.

    A degenerate fold's accuracy is the share of one class, not evidence of learning.
    """
    done = finished_only(records)
    if done.empty or "degenerate" not in done.columns:
        return "No finished stage-2 task records its predicted classes."
    parts = []
    for arm, rows in done.groupby("tl", sort=True):
        n_bad = int(rows["degenerate"].sum())
        malignant = rows["pred_malignant"].sum() / max(rows["pred_malignant"].sum() + rows["pred_benign"].sum(), 1)
        parts.append(f"{arm}: {n_bad} of {plural(len(rows), 'fold')} degenerate, {malignant:.0%} of test images "
                     "predicted malignant")
    total = int(done["degenerate"].sum())
    verdict = ("**Some folds are degenerate**: their accuracy is a class share, not evidence that the network "
               "learned; read AUC and balanced accuracy instead." if total else
               "No fold is degenerate (every fold predicts both classes).")
    return ("; ".join(parts) + ". " + verdict + shifted_threshold_note(done) + chance_ranking_note(done)
            + operating_point_note(done))


def chance_ranking_note(done: pd.DataFrame) -> str:
    """Among the degenerate folds, those that rank their test images no better than chance (AUC at most 0.5):
    no threshold can make their calls mean anything. ``""`` when there is none."""
    needed = {"degenerate", "auc", "tl", "optimizer", "fold"}
    if done.empty or not needed <= set(done.columns):
        return ""
    bad = done[(done["degenerate"] == 1) & (done["auc"].astype(float) <= 0.5)]
    named = [f"{row.tl} {row.optimizer} fold {int(row.fold)} (AUC {float(row.auc):.2f})" for row in bad.itertuples()]
    return chance_ranking_sentence(named, "degenerate fold", _epochs_of(bad))


def operating_point_note(done: pd.DataFrame) -> str:
    """How many folds the operating point rescued: degenerate at the network's own 0.5, not at the chosen threshold.

    ``""`` when no record says what its own threshold called (records older than the operating point).
    """
    if done.empty or "pred_malignant_own_threshold" not in done.columns:
        return ""
    n_test = done["pred_malignant"].astype(float) + done["pred_benign"].astype(float)
    sentence = operating_point_sentence(n_test, done["pred_malignant"], done["pred_malignant_own_threshold"])
    return " " + sentence if sentence else ""


def shifted_threshold_note(done: pd.DataFrame) -> str:
    """Among the degenerate folds, those that still rank the images (AUC above 0.6) with every score on one side
    of 0.5: their decision threshold moved, their ranking did not collapse. ``""`` when there is none."""
    needed = {"degenerate", "auc", "score_min", "score_max"}
    if done.empty or not needed <= set(done.columns):
        return ""
    bad = done[done["degenerate"] == 1]
    one_side = (bad["score_max"] < 0.5) | (bad["score_min"] >= 0.5)
    shifted = bad[one_side & (bad["auc"] > 0.6)]
    if shifted.empty:
        return ""
    aucs = ", ".join(f"{a:.2f}" for a in shifted["auc"])
    return (f" {plural(len(shifted), 'degenerate fold')} still rank{'s' if len(shifted) == 1 else ''} the test "
            f"images (AUC {aucs}) with every score on one side of 0.5: the threshold moved, the ranking did not "
            "collapse. The network was trained on BatchNorm statistics of batches of 16 and predicts with those of "
            f"the whole training part; after {_epochs_of(shifted)} from random weights its output is not calibrated "
            "across that switch.")


def _epochs_of(done: pd.DataFrame) -> str:
    """The stage-2 epochs these records trained for, in words."""
    return epochs_phrase(done["epochs"].tolist() if "epochs" in done.columns else [])


def failures(frame: pd.DataFrame):
    """The failed tasks (with their errors), or a line saying that none failed."""
    if frame.empty:
        return markdown("No task failed.")
    columns = [c for c in ("grid", "key", "fold", "tl", "backbone", "optimizer", "error_kind", "error_type",
                           "error_message") if c in frame.columns]
    return frame[columns]
