"""The MT-Small experiment and the leakage rerun: image-level against near-duplicate-grouped splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.data.sources import REAL
from mstl_lib.evaluation import stats
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.common import ALPHA
from mstl_lib.papers.p1_mstl.report.table_one import table1, with_ci, with_degenerate_folds
from mstl_lib.report.tables import beside_paper
from mstl_lib.report.text import finished_only


def mt_small_table(records: pd.DataFrame, ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our MT-Small rows (both arms) beside P1's (MSTL only; its CTL cells are NaN); with ``ci``
    (:func:`pooled_ci` of the same tasks' predictions), our pooled values with their 95 % CIs."""
    ours = table1(records)
    table = beside_paper(ours, protocol.paper_mt_small(), on=list(protocol.TABLE1_KEYS),
                         metrics=["auc", "f1", "specificity", "sensitivity", "accuracy", "accuracy_sd"]).round(3)
    return with_ci(with_degenerate_folds(table, ours), ci)


def mt_small_note(source) -> str:
    """What served MT-Small, and what that means for the comparison."""
    if source.kind == REAL:
        return "MT-Small is the real dataset (200 + 200 images), as in P1; P1 reports MSTL only, we run both arms."
    return (f"MT-Small is a **{source.kind}**: {source.note}. It is not an independent dataset, so agreement with "
            "the BUSI numbers above is expected and says nothing about generalisation. P1 reports MSTL only; we run "
            "both arms.")


def duplicate_sentence(grouped: pd.DataFrame) -> str:
    """How many of the images in use fall in near-duplicate groups (only those can leak across splits)."""
    sizes = grouped["group"].value_counts()
    in_groups, n_groups = int(sizes[sizes > 1].sum()), int((sizes > 1).sum())
    return (f"Of the {len(grouped)} images this profile uses, {in_groups} fall in {n_groups} groups of more than one "
            "image once near-duplicates are merged; only those can leak across splits.")


def leakage_table(image_records: pd.DataFrame, grouped_records: pd.DataFrame, best: dict | None = None) -> pd.DataFrame:
    """The best configuration with image-level and duplicate-grouped splits, both arms."""
    best = best or protocol.BEST
    parts = [table1(image_records).assign(split="image groups"),
             table1(grouped_records).assign(split="duplicate clusters grouped")]
    table = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    table = table[(table["cnn"] == best["cnn"]) & (table["optimizer"] == best["optimizer"])]
    shown = ["split", "tl", "cnn", "optimizer", "n_folds", "auc", "f1", "specificity", "sensitivity", "accuracy",
             "accuracy_sd"] + (["degenerate_folds"] if "degenerate_folds" in table.columns else [])
    return table[shown].round(3).reset_index(drop=True)


def leakage_sentence(image_records: pd.DataFrame, grouped_records: pd.DataFrame, best: dict | None = None,
                     alpha: float = ALPHA) -> str:
    """What grouping near-duplicates changed, per arm, and whether the change can be told from fold noise."""
    best = best or protocol.BEST

    def accuracies(records, arm):
        done = finished_only(records)
        if done.empty:
            return np.array([])
        done = done[(done["tl"] == arm) & (done["backbone"] == best["cnn"]) & (done["optimizer"] == best["optimizer"])]
        return 100 * done["accuracy"].to_numpy(dtype=float)

    parts, beyond_noise = [], []
    for arm in protocol.ARMS:
        image, grouped = accuracies(image_records, arm), accuracies(grouped_records, arm)
        if not len(image) or not len(grouped):
            parts.append(f"{arm}: no finished tasks on both splits")
            beyond_noise.append(False)
            continue
        change = f"{arm} accuracy moved {grouped.mean() - image.mean():+.1f} points"
        if min(len(image), len(grouped)) < 2:
            parts.append(change + " (one fold per split: not separable from fold-to-fold noise)")
            beyond_noise.append(False)
            continue
        p_value = stats.t_test(image, grouped, "welch")["p_value"]
        beyond_noise.append(bool(p_value < alpha))
        parts.append(change + f" (Welch p = {p_value:.3f}: {'significant' if p_value < alpha else 'not significant'})")
    tail = (" Grouping near-duplicates changed the result beyond fold noise in both arms." if all(beyond_noise) else
            " So this rerun neither shows nor rules out that near-duplicate leakage inflates the image-level numbers.")
    return "With near-duplicate clusters grouped: " + "; ".join(parts) + "." + tail
