"""Grouped folds: P4's image-level folds against folds that keep near-duplicate clusters together."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mstl_lib.papers.p4_finetuning import protocol
from mstl_lib.papers.p4_finetuning.report.auc_by_depth import paper_names
from mstl_lib.papers.p4_finetuning.report.records import KEY
from mstl_lib.papers.p4_finetuning.report.verdicts import any_degenerate, qualifier, unpaired_verdict
from mstl_lib.report.text import finished_only


def grouping_comparison(records: pd.DataFrame, strategies: Iterable[int] | None = None) -> pd.DataFrame:
    """AUC and accuracy per protocol (image-level ``none`` vs grouped folds), mean over the folds run."""
    done = finished_only(records)
    columns = ["folds", "ft_auc", "svm_auc", "ft_accuracy", "svm_accuracy"]
    if done.empty:
        return pd.DataFrame(columns=columns)
    if strategies is not None:
        done = done[done["trainable_pct"].isin(list(strategies))]
    done = paper_names(done)
    grouped = done[done["protocol"] != "none"]
    cells = grouped[KEY].drop_duplicates()
    done = done.merge(cells, on=KEY, how="inner")
    return (done.groupby([*KEY, "protocol"])
            .agg(folds=("fold", "nunique"), ft_auc=("ft_auc", "mean"), svm_auc=("svm_auc", "mean"),
                 ft_accuracy=("ft_accuracy", "mean"), svm_accuracy=("svm_accuracy", "mean"))
            .round(3))


def grouping_differences(comparison: pd.DataFrame, metric: str = "svm_auc") -> pd.DataFrame:
    """``metric`` per protocol side by side, with grouped minus image-level columns."""
    if comparison.empty:
        return comparison
    wide = comparison[metric].unstack("protocol")
    for name in [c for c in wide.columns if c != "none"]:
        if "none" in wide.columns:
            wide[f"{name}_minus_none"] = (wide[name] - wide["none"]).round(3)
    return wide


def grouping_paragraph(records: pd.DataFrame) -> str:
    """Grouped minus image-level AUC for each cell run both ways, with whether the direction follows."""
    done = finished_only(records)
    if done.empty or not (done["protocol"] != "none").any():
        return "No grouped protocol has finished tasks."
    lines = []
    for (dataset, backbone, pct, name), part in done[done["protocol"] != "none"].groupby([*KEY, "protocol"]):
        base = done[(done["protocol"] == "none") & (done["dataset"] == dataset) & (done["backbone"] == backbone)
                    & (done["trainable_pct"] == pct)]
        if base.empty:
            continue
        svm, svm_status = unpaired_verdict(part["svm_auc"], base["svm_auc"])
        ft, _ = unpaired_verdict(part["ft_auc"], base["ft_auc"])
        if any_degenerate(pd.concat([part, base]), heads=("svm",)):
            svm_status = "degenerate"
        if svm_status == "follows":
            meaning = ("grouping lowers the FT-SVM AUC: the image-level number was inflated by near-identical "
                       "images on both sides of the split" if svm < 0 else
                       "grouping raises the FT-SVM AUC: no sign that image-level folds inflated it")
        else:
            meaning = qualifier(svm_status)
        lines.append(f"- {protocol.PAPER_DATASET.get(dataset, dataset)}, {backbone}, {int(pct)} %, `{name}` minus "
                     f"image-level folds: FT-SVM AUC {svm:+.3f}, FT AUC {ft:+.3f} ({meaning}).")
    return "\n".join(lines) if lines else "No cell was run with both image-level and grouped folds."
