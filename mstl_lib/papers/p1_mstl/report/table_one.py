"""Table 1, reproduced and beside the paper's: fold means, pooled CIs and the caption."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mstl_lib.data import tables
from mstl_lib.evaluation import metrics
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.common import STAGE2_METRICS
from mstl_lib.report import tables as tables_report
from mstl_lib.report.tables import aggregate, beside_paper
from mstl_lib.report.text import finished_only, join_words, plural


def table1(records: pd.DataFrame) -> pd.DataFrame:
    """P1's Table 1 from stage-2 records: fold means per (TL, CNN, optimizer), accuracy in %.

    Columns ``tl, cnn, optimizer, n_folds``, the fold means of
    :data:`STAGE2_METRICS`, ``accuracy_sd`` (sample SD, %),
    ``avg_accuracy_cnn`` (mean over the CNN's optimizers, %) and, where the
    records hold them, ``balanced_accuracy`` (not in P1: unlike accuracy, it does
    not reward answering the majority class) and ``degenerate_folds`` (folds that
    called at least 95 % of their test images one class).
    """
    columns = ["tl", "cnn", "optimizer", "n_folds", *STAGE2_METRICS, "accuracy_sd", "avg_accuracy_cnn"]
    done = finished_only(records)
    if done.empty:
        return pd.DataFrame(columns=columns)
    extra = ["balanced_accuracy"] if "balanced_accuracy" in done.columns else []
    summary = aggregate(done, by=["tl", "backbone", "optimizer"], metrics=[*STAGE2_METRICS, *extra])
    out = pd.DataFrame({"tl": summary["tl"], "cnn": summary["backbone"], "optimizer": summary["optimizer"],
                        "n_folds": summary["n"]})
    for name in STAGE2_METRICS:
        out[name] = summary[f"{name}_mean"]
    out["accuracy"] = 100 * out["accuracy"]
    out["accuracy_sd"] = 100 * summary["accuracy_sd"]
    out["avg_accuracy_cnn"] = out.groupby(["tl", "cnn"])["accuracy"].transform("mean")
    for name in extra:
        out[name] = summary[f"{name}_mean"]
    if "degenerate" in done.columns:
        flagged = done.groupby(["tl", "backbone", "optimizer"], sort=False)["degenerate"].sum()
        out["degenerate_folds"] = [int(flagged.get((t, c, o), 0)) for t, c, o in
                                   zip(out["tl"], out["cnn"], out["optimizer"], strict=True)]
        extra.append("degenerate_folds")
    return out[columns + extra]


def with_degenerate_folds(table: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``ours``' ``degenerate_folds`` joined on Table 1's keys (unchanged when ours has none)."""
    if "degenerate_folds" not in ours.columns:
        return table
    keys = list(protocol.TABLE1_KEYS)
    return table.merge(ours[keys + ["degenerate_folds"]], on=keys, how="left")


def format_table1(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Table 1 as P1 prints it: metrics rounded, test accuracy ``mean ± SD`` (%), average per CNN."""
    shown = table[["tl", "cnn", "optimizer"]].copy()
    for name in ("auc", "f1", "specificity", "sensitivity", "loss"):
        shown[name] = table[name].astype(float).round(digits)
    shown["test accuracy (%)"] = [metrics.format_mean_sd(m, s, 2)
                                  for m, s in zip(table["accuracy"], table["accuracy_sd"], strict=True)]
    if "balanced_accuracy" in table.columns:  # ours only: P1 does not report it
        shown["balanced accuracy"] = table["balanced_accuracy"].astype(float).round(digits)
    shown["avg. per CNN (%)"] = table["avg_accuracy_cnn"].astype(float).round(1)
    return shown


def pooled_ci(predictions: pd.DataFrame, groups: Mapping | None = None, n_boot: int = 1000,
              seed: int = 0) -> pd.DataFrame:
    """Pooled out-of-fold AUC, balanced accuracy and accuracy (%) per (TL, CNN, optimizer), each with a 95 % CI.

    :func:`mstl_lib.report.tables.pooled_ci` on the stage-2 test predictions; ``groups``
    (image path -> group) makes the bootstrap resample whole groups.
    """
    ci = tables_report.pooled_ci(predictions, ["tl", "backbone", "optimizer"], groups=groups, n_boot=n_boot,
                                 seed=seed).rename(columns={"backbone": "cnn"})
    for column in ("accuracy", "accuracy_low", "accuracy_high"):
        ci[column] = 100 * ci[column].astype(float)
    return ci


def table1_beside_paper(ours: pd.DataFrame, paper: pd.DataFrame | None = None,
                        ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ours, the paper's and ours − paper per cell (accuracy in percentage points); NaN where a side has no row.

    With ``ci`` (:func:`pooled_ci`), our pooled AUC, balanced accuracy and
    accuracy with their 95 % CIs stand beside the fold means, as strings
    ``"0.712 [0.650, 0.770]"``; the paper gives neither balanced accuracy nor CIs.
    """
    paper = protocol.paper_table1() if paper is None else paper
    table = beside_paper(ours, paper, on=list(protocol.TABLE1_KEYS), metrics=[*STAGE2_METRICS, "accuracy_sd"]).round(3)
    return with_ci(with_degenerate_folds(table, ours), ci)


def with_ci(table: pd.DataFrame, ci: pd.DataFrame | None) -> pd.DataFrame:
    """``table`` with :func:`pooled_ci`'s AUC, balanced accuracy and accuracy CI strings joined on Table 1's keys."""
    if ci is None or ci.empty:
        return table
    shown = pd.concat([ci[list(protocol.TABLE1_KEYS)], tables_report.ci_strings(ci.assign(
        accuracy=ci["accuracy"] / 100, accuracy_low=ci["accuracy_low"] / 100, accuracy_high=ci["accuracy_high"] / 100),
        suffix="_ours_95ci", scale={"accuracy": 100})], axis=1)
    return table.merge(shown, on=list(protocol.TABLE1_KEYS), how="left")


def table1_caption(chapter) -> str:
    """Where our Table 1 departs from the paper's: data, sample, folds, epochs and starting weights."""
    settings, source = chapter.settings, chapter.plan.ultrasound
    context = chapter.grids["main"].context
    task_table = chapter.task_table("main")
    n_images = len(task_table)
    available = len(tables.binary_table(context["data_source"], "image", None, int(context["seed"])))
    counts = task_table["target"].value_counts()
    drawn = f"{int(counts.get(0, 0))} benign + {int(counts.get(1, 0))} malignant"
    sample = (f"a class-balanced draw ({drawn}, at most {context['per_class']} of each) of {available}"
              if context["per_class"] else
              f"a stratified sample of {n_images} of {available}" if n_images < available else f"all {n_images}")
    weights = join_words(sorted({info["used"] for info in context["weights_info"].values()}))
    paper = "Mendeley 100 + 100, 5 folds of 50 epochs, ImageNet weights"
    return (f"**Ours:** {source.dataset} ({source.kind}), {sample} images, {len(chapter.grids['main'].fold_list)} of "
            f"{settings['n_splits']} outer folds, {plural(settings['epochs'], 'epoch')}, CTL from {weights} weights, "
            f"MSTL from stage 1 on {chapter.plan.cells_train.kind} cell lines "
            f"({plural(settings['stage1_epochs'], 'epoch')}). "
            f"**Paper:** {paper}.")
