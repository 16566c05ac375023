"""Table 3 and its figure: AUC per fine-tuning depth, FT against FT-SVM, beside P4's, and what it shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import metrics
from mstl_lib.nn.weights import weights_kinds
from mstl_lib.papers.p4_finetuning import protocol
from mstl_lib.papers.p4_finetuning.report.records import KEY
from mstl_lib.papers.p4_finetuning.report.verdicts import any_degenerate, qualifier, verdict
from mstl_lib.report import finish, tables as tables_report
from mstl_lib.report.operating_point import operating_point_sentence
from mstl_lib.report.tables import aggregate, beside_paper
from mstl_lib.report.text import finished_only


def paper_names(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(dataset=frame["dataset"].map(lambda d: protocol.PAPER_DATASET.get(d, d)))


def groups_by_path(task_tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Image path -> group (DDTI case, ...) over the chapter's task tables, for group-bootstrap CIs."""
    return {path: group for table in task_tables.values() for path, group in zip(table["path"], table["group"],
                                                                                 strict=True)}


def head_ci(predictions: pd.DataFrame, groups: Mapping | None = None, protocol_name: str = "none",
            metrics: Iterable[str] = ("auc",), strategy: int | None = None, n_boot: int = 1000,
            seed: int = 0) -> pd.DataFrame:
    """Pooled out-of-fold ``metrics`` of both heads per table cell, each with a 95 % CI.

    The bootstrap resamples ``groups`` (image path -> case or cluster) where given
    (:func:`mstl_lib.report.tables.pooled_ci`); ``strategy`` keeps one share of
    trainable layers. Returns ``dataset, backbone, trainable_pct, metric`` (P4's
    dataset names) and the strings ``ft_95ci`` and ``svm_95ci``.
    """
    metrics = list(metrics)
    columns = [*KEY, "metric", "ft_95ci", "svm_95ci"]
    part = predictions[predictions["protocol"] == protocol_name] if len(predictions) else predictions
    if strategy is not None and len(part):
        part = part[part["trainable_pct"] == strategy]
    if part.empty:
        return pd.DataFrame(columns=columns)
    heads = []
    for head in ("ft", "svm"):
        ci = tables_report.pooled_ci(part, KEY, score=f"{head}_score", groups=groups, n_boot=n_boot, seed=seed,
                                     metrics=metrics)
        shown = tables_report.ci_strings(ci, metrics=metrics, suffix="")
        long = pd.concat([ci[KEY], shown], axis=1).melt(id_vars=KEY, var_name="metric", value_name=f"{head}_95ci")
        heads.append(long)
    out = paper_names(heads[0].merge(heads[1], on=[*KEY, "metric"]))
    out["trainable_pct"] = out["trainable_pct"].astype(int)
    return out[columns]


def auc_ci(predictions: pd.DataFrame, groups: Mapping | None = None, protocol_name: str = "none",
           n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pooled out-of-fold AUC of both heads per table cell, with 95 % CIs (groups resampled where given).

    Returns ``dataset, backbone, trainable_pct`` (P4's dataset names) and the strings
    ``ft_auc_95ci`` and ``svm_auc_95ci`` (:func:`head_ci` for the AUC, one row per cell).
    """
    out = head_ci(predictions, groups, protocol_name, ("auc",), n_boot=n_boot, seed=seed)
    return out.drop(columns="metric").rename(columns={"ft_95ci": "ft_auc_95ci", "svm_95ci": "svm_auc_95ci"})


TABLE4_METRICS = ("accuracy", "balanced_accuracy", "precision", "sensitivity")
"""Table 4's scores (balanced accuracy is ours, not P4's)."""


def table3(records: pd.DataFrame, paper: pd.DataFrame | None = None, ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """AUC per dataset, backbone and strategy: ours (FT, FT-SVM; mean and SD over folds) beside P4's.

    ``records``: the image-level records (:attr:`Results.image_level`). Only our
    cells are kept; ``*_diff`` is ours minus P4's; ``*_degenerate`` counts the folds
    whose predictions put nearly every test image in one class. With ``ci``
    (:func:`auc_ci`), our pooled out-of-fold AUCs with 95 % CIs stand beside them.
    """
    paper = paper_values.load("p4_table3") if paper is None else paper
    done = finished_only(records)
    columns = [*KEY, "folds", "ft_auc_ours", "ft_auc_paper", "ft_auc_diff", "ft_auc_sd",
               "svm_auc_ours", "svm_auc_paper", "svm_auc_diff", "svm_auc_sd", "ft_degenerate", "svm_degenerate"]
    if done.empty:
        return pd.DataFrame(columns=columns).set_index(KEY)
    named = paper_names(done)
    summary = aggregate(named, by=KEY, metrics=["ft_auc", "svm_auc"])
    ours = summary.rename(columns={"ft_auc_mean": "ft_auc", "svm_auc_mean": "svm_auc", "n": "folds"})
    degenerate = named.groupby(KEY, sort=False)[["ft_degenerate", "svm_degenerate"]].sum().astype(int).reset_index()
    ours = ours.merge(degenerate, on=KEY, how="left")
    merged = beside_paper(ours, paper, on=KEY, metrics=["ft_auc", "svm_auc"])
    merged = merged.merge(ours[[*KEY, "folds", "ft_auc_sd", "svm_auc_sd", "ft_degenerate", "svm_degenerate"]],
                          on=KEY, how="inner")
    merged["trainable_pct"] = merged["trainable_pct"].astype(int)
    if ci is not None and len(ci):
        merged = merged.merge(ci, on=KEY, how="left")
        columns = [*columns, "ft_auc_95ci", "svm_auc_95ci"]
    return merged[columns].sort_values(KEY).set_index(KEY).round(3)


def auc_vs_depth(t3: pd.DataFrame):
    """AUC against the share of trainable layers: ours (FT, FT-SVM) and P4's FT-SVM, one panel per dataset."""


    long = t3.reset_index()
    datasets = list(dict.fromkeys(long["dataset"]))
    fig, axes = plt.subplots(1, max(len(datasets), 1), figsize=(5 * max(len(datasets), 1), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = long[long["dataset"] == dataset]
        for backbone, rows in part.groupby("backbone", sort=False):
            line = ax.plot(rows["trainable_pct"], rows["ft_auc_ours"], "o-", label=f"{backbone} FT")[0]
            ax.plot(rows["trainable_pct"], rows["svm_auc_ours"], "s--", color=line.get_color(),
                    label=f"{backbone} FT-SVM")
            ax.plot(rows["trainable_pct"], rows["svm_auc_paper"], "x:", color=line.get_color(), alpha=0.6,
                    label=f"{backbone} FT-SVM (P4)")
        ax.set_title(dataset)
        ax.set_xlabel("trainable layers (%)")
        ax.set_ylabel("AUC")
        ax.set_ylim(0.3, 1.02)
    if datasets:
        axes[0][-1].legend(fontsize=8, loc="lower right")
    return finish(fig)


def head_differences(records: pd.DataFrame) -> pd.Series:
    """Per fold: FT-SVM minus FT AUC, averaged over the cells of that fold."""
    done = finished_only(records)
    return (done["svm_auc"] - done["ft_auc"]).groupby(done["fold"]).mean()


def reading_table3(records: pd.DataFrame, weights: Iterable[dict]) -> str:
    """What separates Table 3's numbers from P4's, and what the SVM-vs-MLP difference says, from the records."""
    done = finished_only(records)
    if done.empty:
        return "No finished task: Table 3 is empty."
    reasons = []
    kinds = weights_kinds(weights)
    if kinds != ["imagenet"]:
        reasons.append("the weights (" + ("random initialisation" if kinds == ["random"] else ", ".join(kinds))
                       + " here, ImageNet in P4: without pretrained features the frozen prefix is a random "
                       "projection, so \"fine-tuning depth\" becomes \"how much of the network is trained at all\")")
    epochs = int(done["epochs"].max())
    if epochs < protocol.PAPER_EPOCHS:
        improving = int(done["still_improving"].sum()) if "still_improving" in done.columns else 0
        if epochs > 1:
            state = (f"the validation loss was still falling at the last epoch in {improving} of {len(done)} "
                     "tasks")
        else:
            state = "with a single epoch, whether the head converged cannot be told"
        reasons.append(f"the budget ({epochs} epoch(s), P4: {protocol.PAPER_EPOCHS}): the MLP head gets "
                       f"{epochs} epoch(s) while the SVM is fitted to convergence on the same features, so an "
                       f"FT-SVM advantage partly measures convergence ({state})")
    folds = int(done.groupby(KEY)["fold"].nunique().min())
    if folds < 2:
        reasons.append("one fold per cell (no spread: a few AUC points between neighbouring strategies are "
                       "within fold-to-fold noise, and no ranking of strategies follows)")
    text = ("**Reading Table 3.** " + (
        f"{len(reasons)} thing(s) separate these numbers from P4's before any comparison: "
        + "; ".join(reasons) + ". The `full` profile with ImageNet weights removes them."
        if reasons else "This run follows P4's protocol (ImageNet weights, 30 epochs, every fold)."))
    mean, status = verdict(head_differences(done))
    if any_degenerate(done):
        status = "degenerate"
    direction = "higher" if mean > 0 else "lower"
    text += (f"\n\nHere the FT-SVM AUC is {direction} than the FT AUC by {abs(mean):.3f} on average over "
             f"{done.groupby(KEY).ngroups} cell(s): {qualifier(status)}.")
    return text


def degenerate_note(records: pd.DataFrame) -> str:
    """How many folds' predictions collapsed onto one class, per head, with the share predicted malignant."""
    done = finished_only(records)
    if done.empty:
        return "No finished task."
    n = len(done)
    parts = []
    for phase, label in (("ft", "FT"), ("svm", "FT-SVM")):
        degenerate = int(done[f"{phase}_degenerate"].sum())
        predicted = done[f"{phase}_pred_malignant"].sum()
        total = predicted + done[f"{phase}_pred_benign"].sum()
        span = float((done[f"{phase}_score_max"] - done[f"{phase}_score_min"]).median())
        parts.append(f"{label}: {degenerate} of {n} task(s) degenerate, {predicted / max(total, 1):.0%} of test "
                     f"images predicted malignant, median score span {span:.2f}")
    text = ("**Collapsed predictions.** A fold is degenerate when at least "
            f"{metrics.DEGENERATE_SHARE:.0%} of its test predictions fall in one class; its accuracy is then "
            "about the class share, whatever the features. " + "; ".join(parts) + ".")
    worst = max(int(done["ft_degenerate"].sum()), int(done["svm_degenerate"].sum()))
    if worst == 0:
        text += " No task collapsed, so no accuracy above is a class share in disguise."
    elif worst * 2 >= n:
        text += (" At least half the tasks of one head collapsed: its accuracy, precision and sensitivity say "
                 "little here, and balanced accuracy or AUC is the number to read.")
    else:
        text += " Some tasks collapsed: read their accuracies with balanced accuracy beside them."
    if "ft_pred_malignant_own_threshold" in done.columns:  # the FT head's operating point (cpu)
        n_test = done["ft_pred_malignant"].astype(float) + done["ft_pred_benign"].astype(float)
        sentence = operating_point_sentence(n_test, done["ft_pred_malignant"], done["ft_pred_malignant_own_threshold"],
                                            unit="task")
        text += (" FT head: " + sentence) if sentence else ""
    return text
