"""Arms A-D: their records, accuracies beside the majority-class baseline, A minus B, curves and the closing
note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mstl_lib import engine
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci, mean_ci
from mstl_lib.nn.weights import weights_descriptions
from mstl_lib.papers.p2_breakhis import protocol
from mstl_lib.papers.p2_breakhis.report.release_counts import leakage_paragraph
from mstl_lib.report.banner import markdown
from mstl_lib.report.figures import finish


Results = engine.ChapterResults
"""The chapter's stored records, read back once: ``records`` with ``data`` (``real`` / ``phantom<s>``),
``patient_effect`` and ``sensitivity_arm`` (the changed setting of a sensitivity arm, empty for the main arms);
``predictions`` per test image; ``history`` long (epoch, metric, value); ``failures``; ``weights``."""


def collect(store, grids: Mapping[str, engine.Grid]) -> Results:
    """Read every grid's records from ``store`` into one :class:`Results`."""
    return engine.collect(store, grids, lambda grid: {
        "data": grid.context.get("data"), "patient_effect": grid.context.get("patient_effect", math.nan),
        "sensitivity_arm": grid.context.get("sensitivity", "")}, frames=("records", "predictions", "history", "failures"))


def failures_table(results: Results):
    """The failed tasks, or a sentence saying none failed."""
    if results.failures.empty:
        return markdown("No task failed.")
    columns = ["data", "arm", "fold", "error_kind", "error_type", "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]


def main_arm(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty:
        return records
    done = records[records["status"] == "done"]
    return done[done["sensitivity_arm"].fillna("") == ""]


POOLED_METRICS = ("accuracy", "balanced_accuracy", "auc")
"""The metrics :func:`arms_table` pools over an arm's folds, each with a patient-bootstrap CI."""


def arm_ci(predictions: pd.DataFrame, n_boot: int, metric: str = "accuracy") -> tuple[float, float, float]:
    if predictions.empty:
        return math.nan, math.nan, math.nan
    return bootstrap_ci(predictions["y_true"], predictions["y_score"], metric, groups=predictions["patient"],
                        n_boot=n_boot, seed=0)


def arms_table(results: Results, n_boot: int = 300) -> pd.DataFrame:
    """Every arm on every data source: means over folds beside the majority-class baseline, and pooled CIs.

    Columns: ``data``, ``arm``, ``folds``, ``accuracy`` (mean over folds),
    ``majority baseline``, ``balanced_accuracy``, ``sensitivity``,
    ``specificity``, ``auc``, ``patient score`` (the BreakHis authors'
    recognition rate), ``patient vote accuracy``, ``pooled accuracy [95 % CI,
    patients]`` (and likewise pooled balanced accuracy and AUC), ``degenerate
    folds`` and ``share_test_seen`` (test images whose patient was trained on).
    """
    records = main_arm(results.records)
    if records.empty:
        return pd.DataFrame()
    rows = []
    for (data, arm), group in records.groupby(["data", "arm"], sort=True):
        chosen = results.predictions
        if not chosen.empty:
            chosen = chosen[(chosen["data"] == data) & (chosen["arm"] == arm) & (chosen["sensitivity_arm"].fillna("") == "")]
        pooled = {metric: format_ci(*arm_ci(chosen, n_boot, metric)) for metric in POOLED_METRICS}
        rows.append({
            "data": data, "arm": arm, "folds": len(group), "accuracy": group["accuracy"].mean(),
            "majority baseline": group["majority_accuracy"].mean(),
            "balanced_accuracy": group["balanced_accuracy"].mean(), "sensitivity": group["sensitivity"].mean(),
            "specificity": group["specificity"].mean(), "auc": group["auc"].mean(),
            "patient score": group["patient_recognition_rate"].mean(),
            "patient vote accuracy": group["patient_vote_accuracy"].mean(),
            **{f"pooled {metric.replace('_', ' ')} [95 % CI, patients]": text for metric, text in pooled.items()},
            "degenerate folds": int((group["degenerate"] > 0).sum()),
            "share_test_seen": group["share_test_seen"].mean(),
        })
    return pd.DataFrame(rows).round(3)


def a_minus_b(results: Results, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """A - B on the same 40X test images, paired, with a 95 % bootstrap CI over patients, per data source.

    Arm A tests every 40X image once; arm B's folds together test every 40X
    image of the folds run once. Both are matched on the image's path; patients
    are resampled with all their images. ``follows``: the CI excludes zero and
    no fold of A or B is degenerate.
    """
    columns = ["data", "images", "patients", "A accuracy", "B accuracy", "A - B", "low", "high", "degenerate",
               "follows"]
    records, predictions = main_arm(results.records), results.predictions
    if records.empty or predictions.empty:
        return pd.DataFrame(columns=columns)
    predictions = predictions[predictions["sensitivity_arm"].fillna("") == ""]
    rows = []
    for data, group in predictions.groupby("data", sort=True):
        a = group[group["arm"] == "A"].set_index("path")
        b = group[group["arm"] == "B"].set_index("path")
        common = a.index.intersection(b.index)
        if not len(common):
            continue
        right_a = ((a.loc[common, "y_score"] >= 0.5).astype(int) == a.loc[common, "y_true"]).to_numpy(float)
        right_b = ((b.loc[common, "y_score"] >= 0.5).astype(int) == b.loc[common, "y_true"]).to_numpy(float)
        patients = a.loc[common, "patient"].to_numpy()
        difference = right_a - right_b
        _, low, high = mean_ci(difference, groups=patients, n_boot=n_boot, seed=seed)
        arms = records[(records["data"] == data) & records["arm"].isin(["A", "B"])]
        degenerate = bool((arms["degenerate"] > 0).any())
        rows.append({"data": data, "images": len(common), "patients": len(np.unique(patients)),
                     "A accuracy": right_a.mean(),
                     "B accuracy": right_b.mean(), "A - B": difference.mean(), "low": float(low), "high": float(high),
                     "degenerate": degenerate, "follows": bool((low > 0 or high < 0) and not degenerate)})
    return pd.DataFrame(rows, columns=columns)


def magnification_table(results: Results) -> pd.DataFrame:
    """Accuracy per test magnification of the arms that test every magnification (C and D), mean over folds."""
    records = main_arm(results.records)
    if records.empty:
        return pd.DataFrame()
    columns = [f"accuracy_{m}x" for m in protocol.MAGNIFICATIONS]
    chosen = records[records["arm"].isin(["C", "D"])]
    return chosen.groupby(["data", "arm"])[columns].mean().round(3)


def curve_table(results: Results) -> pd.DataFrame:
    """Test accuracy read off the per-epoch curve three ways (final, mean over the second half, best), and the kept epoch."""
    records = main_arm(results.records)
    if records.empty:
        return pd.DataFrame()
    columns = ["test_acc_final", "test_acc_mean_second_half", "test_acc_max", "accuracy", "majority_accuracy",
               "kept_epoch"]
    table = records.groupby(["data", "arm"])[columns].mean().round(3)
    return table.rename(columns={"majority_accuracy": "majority baseline"})


def sensitivity_table(results: Results) -> pd.DataFrame:
    """The sensitivity arms (one setting of P2's unstated or contradictory points changed; ``full`` only) beside the main arms.

    Rows: (changed setting, arm); ``main`` is the chapter's reading. Columns: accuracy
    and the majority baseline (means over folds), the test curve's final and best
    values, and degenerate folds.
    """
    records = results.records
    if records.empty or "sensitivity_arm" not in records.columns:
        return pd.DataFrame()
    done = records[(records["status"] == "done") & (records["data"] == "real") & records["arm"].isin(["A", "B"])]
    if done.empty or not (done["sensitivity_arm"].fillna("") != "").any():
        return pd.DataFrame()
    done = done.assign(setting=done["sensitivity_arm"].fillna("").replace("", "main"))
    grouped = done.groupby(["setting", "arm"])
    table = grouped[["accuracy", "majority_accuracy", "test_acc_final", "test_acc_max"]].mean()
    table["degenerate folds"] = grouped["degenerate"].apply(lambda d: int((d > 0).sum()))
    return table.rename(columns={"majority_accuracy": "majority baseline"}).round(3)


def curves_figure(results: Results, arm: str = "A"):
    """P2's Figs. 7-8 for ``arm``: training and test loss, training and test accuracy per epoch, one row per data source."""


    history = results.history
    if history.empty:
        return markdown("No finished task has a training history yet.")
    history = history[(history["arm"] == arm) & (history["sensitivity_arm"].fillna("") == "")]
    datas = sorted(history["data"].unique())
    if not datas:
        return markdown(f"No finished task of arm {arm}.")
    fig, axes = plt.subplots(len(datas), 2, figsize=(7.5, 2.6 * len(datas)), squeeze=False)
    for row, data in zip(axes, datas, strict=True):
        part = history[history["data"] == data]
        for ax, (train_metric, test_metric, title) in zip(row, (("loss", "test_loss", "loss"),
                                                                ("accuracy", "test_accuracy", "accuracy"))):
            for metric, style in ((train_metric, "-"), (test_metric, "--")):
                curve = part[part["metric"] == metric].groupby("epoch")["value"].mean()
                ax.plot(curve.index, curve.values, style, label=f"{'test' if metric.startswith('test') else 'train'}")
            ax.set_title(f"{data}, arm {arm}: {title}", fontsize=9)
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
    return finish(fig)


def _label(data: str) -> str:
    return "the real release" if data == "real" else f"the phantom (synthetic; patient effect {data[7:]})"


def arms_paragraph(arms: pd.DataFrame, differences: pd.DataFrame) -> str:
    """What the arms show, per data source, in words (every number from the tables above)."""
    if arms.empty:
        return "No arm has finished yet."
    sentences = []
    for data, group in arms.groupby("data", sort=True):
        parts = [f"{row['arm']} {row['accuracy']:.3f} (majority {row['majority baseline']:.3f}"
                 + (f", {int(row['degenerate folds'])} degenerate fold(s)" if row["degenerate folds"] else "") + ")"
                 for _, row in group.iterrows()]
        sentence = f"On {_label(data)}, image accuracy by arm: " + "; ".join(parts) + "."
        diff = differences[differences["data"] == data] if not differences.empty else differences
        if len(diff):
            d = diff.iloc[0]
            if d["degenerate"]:
                verdict = "some folds of A or B are degenerate, so no verdict on the difference is given"
            elif d["follows"]:
                verdict = ("the CI excludes zero: on these data the magnification split "
                           + ("inflates" if d["A - B"] > 0 else "deflates") + " accuracy")
            else:
                verdict = "the CI includes zero: no difference follows from this run"
            sentence += (f" On the same {int(d['images'])} 40X images, A - B = {d['A - B']:+.3f} "
                         f"[{d['low']:+.3f}, {d['high']:+.3f}] (95 % bootstrap over {int(d['patients'])} patients); "
                         f"{verdict}.")
        sentences.append(sentence)
    return " ".join(sentences)


def closing_note(results: Results, leakage: pd.DataFrame | None, arms: pd.DataFrame, differences: pd.DataFrame,
                 profile: str) -> str:
    """The chapter's closing note: the leakage report, arms A vs B vs C, and what follows for P2's claim."""
    lines = []
    if leakage is not None and len(leakage):
        lines.append("- **Leakage of P2's split (real release counts):** " + leakage_paragraph(leakage))
    if arms.empty:
        lines.append("- No arm has finished, so nothing is said about accuracies.")
    else:
        for data, group in arms.groupby("data", sort=True):
            by_arm = group.set_index("arm")["accuracy"]
            text = ", ".join(f"{arm} {by_arm[arm]:.3f}" for arm in ("A", "B", "C") if arm in by_arm.index)
            lines.append(f"- **Arms on {_label(data)}** (`{profile}` profile): {text}.")
        lines.append("- " + arms_paragraph(arms, differences))
    if not results.records.empty and "wall_time_s" in results.records.columns:
        seconds = float(results.records["wall_time_s"].fillna(0).sum())
        lines.append(f"- **Runtime**: the {len(results.records)} tasks behind this page took {seconds:.0f} s when they "
                     f"ran (`{profile}` profile; a rebuild reads them from the store); the whole chapter's time is "
                     "what the notebook runner reports.")
    real = not arms.empty and (arms["data"] == "real").any()
    weights = "; ".join(weights_descriptions(results.weights)) or "none"
    lines.append(f"- **Weights**: {weights}. P2's 99 % comes from ImageNet weights "
                 + ("and the full release." if real else "and the full release, neither of which is used here: "
                    "every trained number on this page is synthetic and tests the pipeline and the leak, not P2's "
                    "number."))
    return "\n".join(lines)
