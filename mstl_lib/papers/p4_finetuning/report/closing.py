"""The closing note of the chapter."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.papers.p4_finetuning.report.auc_by_depth import head_differences, paper_names, table3
from mstl_lib.papers.p4_finetuning.report.grouped_folds import grouping_paragraph
from mstl_lib.papers.p4_finetuning.report.records import weights_caption
from mstl_lib.papers.p4_finetuning.report.timings import benchmark_summary
from mstl_lib.papers.p4_finetuning.report.verdicts import qualifier, verdict
from mstl_lib.report.text import finished_only, number_text


def closing_note(records: pd.DataFrame, weights: Iterable[dict], bench: pd.DataFrame | None = None,
                 paper: pd.DataFrame | None = None) -> str:
    """The chapter's closing paragraph: P4's claims checked on this run's records, with what follows."""
    lines = [weights_caption(weights), ""]
    paper = paper_values.load("p4_table3") if paper is None else paper
    done = finished_only(records)
    image_level = done[done["protocol"] == "none"] if len(done) else done
    if image_level.empty:
        lines.append("No finished image-level task: P4's claims are not checked on this page.")
    else:
        t3 = table3(image_level, paper).reset_index()
        best15, clear15, pairs = 0, 0, 0
        for (dataset, backbone), part in t3.groupby(["dataset", "backbone"], sort=False):
            pairs += 1
            ranked = part.sort_values("svm_auc_ours", ascending=False)
            best = ranked.iloc[0]
            text = (f"- **{dataset}, {backbone}** ({int(part['folds'].max())} fold(s)): best FT-SVM AUC "
                    f"{number_text(best['svm_auc_ours'])} at {int(best['trainable_pct'])} %")
            if len(ranked) > 1:
                second = ranked.iloc[1]
                cells = paper_names(image_level)
                cells = cells[(cells["dataset"] == dataset) & (cells["backbone"] == backbone)]
                by_fold = cells.pivot_table(index="fold", columns="trainable_pct", values="svm_auc")
                _, status = verdict(by_fold[int(best["trainable_pct"])] - by_fold[int(second["trainable_pct"])])
                text += (f", {number_text(best['svm_auc_ours'] - second['svm_auc_ours'])} above the runner-up "
                         f"({int(second['trainable_pct'])} %): {qualifier(status)}")
                if int(best["trainable_pct"]) == 15:
                    best15 += 1
                    clear15 += status == "follows"
            at15 = part[part["trainable_pct"] == 15]
            if len(at15) and np.isfinite(at15["svm_auc_paper"].iloc[0]):
                text += (f". At 15 %: ours FT {number_text(at15['ft_auc_ours'].iloc[0])} / FT-SVM "
                         f"{number_text(at15['svm_auc_ours'].iloc[0])}, P4 {number_text(at15['ft_auc_paper'].iloc[0], 2)} / "
                         f"{number_text(at15['svm_auc_paper'].iloc[0], 2)}")
            lines.append(text + ".")
        lines.append("")
        strategies = sorted(image_level["trainable_pct"].unique())
        if 15 in strategies and len(strategies) > 1:
            lines.append(f"P4's first claim, 15 % trainable is the best strategy: the best FT-SVM strategy here for "
                         f"{best15} of {pairs} (dataset, backbone) pair(s), clearly (beyond fold noise) for "
                         f"{clear15}." + ("" if clear15 else " The claim is not confirmed by this run."))
        mean, status = verdict(head_differences(image_level))
        paper_mean = float((t3["svm_auc_paper"] - t3["ft_auc_paper"]).mean())
        lines.append(f"P4's second claim, the SVM head beats the MLP head: FT-SVM minus FT AUC over these cells "
                     f"{mean:+.3f} (P4's Table 3, same cells: {number_text(paper_mean) if np.isfinite(paper_mean) else 'n/a'}"
                     f"); {qualifier(status)}.")
    if len(done) and (done["protocol"] != "none").any():
        lines += ["", "Grouped folds against P4's image-level folds:", grouping_paragraph(done)]
    if bench is not None and len(bench):
        lines += ["", benchmark_summary(bench)]
    return "\n".join(lines)
