"""Table 4 and its figures: the 15 % strategy per backbone, confusion matrices and ROC curves."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import metrics
from mstl_lib.papers.p4_finetuning import protocol
from mstl_lib.papers.p4_finetuning.report.auc_by_depth import paper_names, TABLE4_METRICS
from mstl_lib.report import finish, finish_roc_axes, plot_roc
from mstl_lib.report.banner import markdown
from mstl_lib.report.tables import beside_paper
from mstl_lib.report.text import finished_only


def table4(records: pd.DataFrame, paper: pd.DataFrame | None = None, strategy: int = 15,
           ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """At ``strategy`` % trainable: accuracy, precision, sensitivity (FT, FT-SVM) and C, ours beside P4's.

    Ours are means over folds; ``svm_c`` is the C the grid search chose most often;
    ``balanced_accuracy`` (not in P4) is ours only: unlike accuracy, it does not
    reward predicting the majority class. With ``ci`` (:func:`head_ci` at the same
    strategy), the pooled out-of-fold value of each score with its 95 % CI stands
    beside the means.
    """
    paper = paper_values.load("p4_table4") if paper is None else paper
    done = finished_only(records)
    on = ["dataset", "backbone", "metric"]
    done = done[done["trainable_pct"] == strategy] if len(done) else done
    rows = []
    for (dataset, backbone), group in (paper_names(done).groupby(["dataset", "backbone"], sort=False)
                                       if len(done) else []):
        for metric in TABLE4_METRICS:
            rows.append({"dataset": dataset, "backbone": backbone, "metric": metric,
                         "ft": group[f"ft_{metric}"].mean(), "svm": group[f"svm_{metric}"].mean()})
        rows.append({"dataset": dataset, "backbone": backbone, "metric": "svm_c", "ft": np.nan,
                     "svm": float(group["svm_c"].value_counts().index[0])})
    ours = pd.DataFrame(rows, columns=[*on, "ft", "svm"])
    merged = beside_paper(ours, paper, on=on, metrics=["ft", "svm"])
    merged = merged.merge(ours[on], on=on, how="inner")
    merged.loc[merged["metric"] == "svm_c", ["ft_diff", "svm_diff"]] = np.nan  # C is a choice, not a score
    merged = merged.set_index(on).round(4)
    if ci is not None and len(ci):
        cells = ci[ci["trainable_pct"] == strategy].drop(columns="trainable_pct").set_index(on)
        merged = merged.join(cells, how="left").fillna({"ft_95ci": "", "svm_95ci": ""})
    return merged


def confusion_and_roc(predictions: pd.DataFrame, title: str, by: Iterable[str] = ("backbone",)):
    """Confusion matrices (summed over folds) and ROC curves of FT and FT-SVM, one row per ``by`` value."""


    by = list(by)
    keys = list(dict.fromkeys(predictions[by].itertuples(index=False, name=None)))
    fig, axes = plt.subplots(len(keys), 3, figsize=(10, 3.2 * len(keys)), squeeze=False)
    for row, key in zip(axes, keys):
        part = predictions[(predictions[by] == pd.Series(key, index=by)).all(axis=1)]
        name = " ".join(str(protocol.PAPER_DATASET.get(k, k)) for k in key)
        y = part["y_true"].to_numpy().astype(int)
        for ax, column, label in ((row[0], "ft_score", "FT"), (row[1], "svm_score", "FT-SVM")):
            matrix = metrics.confusion(y, (part[column].to_numpy() >= 0.5).astype(int))
            ax.imshow(matrix, cmap="Blues")
            for (i, j), value in np.ndenumerate(matrix):
                ax.text(j, i, str(value), ha="center", va="center",
                        color="white" if value > matrix.max() / 2 else "black")
            ax.set_xticks([0, 1], ["benign", "malignant"])
            ax.set_yticks([0, 1], ["benign", "malignant"])
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{name} {label}", fontsize=9)
            plot_roc(row[2], y, part[column], label, digits=3)
        finish_roc_axes(row[2], f"{name} ROC", fontsize=8)
    fig.suptitle(title)
    return finish(fig)


def confusion_figure(predictions: pd.DataFrame, strategy: int = 15,
                     backbones: Iterable[str] = ("ResNet50", "InceptionV3")):
    """:func:`confusion_and_roc` at ``strategy`` % (image-level folds), one row per dataset and backbone.

    A sentence instead when no finished task matches.
    """
    backbones = list(backbones)
    chosen = predictions
    if len(predictions):
        chosen = predictions[(predictions["protocol"] == "none") & (predictions["trainable_pct"] == strategy)
                             & predictions["backbone"].isin(backbones)]
    if chosen.empty:
        return markdown(f"No finished task has predictions at {strategy} % trainable for {', '.join(backbones)}.")
    return confusion_and_roc(chosen, f"{strategy} % trainable, test predictions of the folds run",
                             by=("dataset", "backbone"))
