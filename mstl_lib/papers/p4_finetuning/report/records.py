"""What P4's chapter reads back: the metrics it needs, the records, histories and predictions of its grids,
failures and the weights each task used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from mstl_lib import engine
from mstl_lib.nn.weights import random_requested, weights_descriptions, weights_kinds
from mstl_lib.report.banner import markdown


METRICS_READ = (
    "ft_auc", "svm_auc", "ft_accuracy", "svm_accuracy", "ft_precision", "svm_precision",
    "ft_sensitivity", "svm_sensitivity", "svm_c",
    "ft_balanced_accuracy", "svm_balanced_accuracy", "ft_degenerate", "svm_degenerate",
    "ft_pred_benign", "svm_pred_benign", "ft_pred_malignant", "svm_pred_malignant",
    "ft_score_min", "svm_score_min", "ft_score_max", "svm_score_max", "ft_pred_malignant_own_threshold",
)
"""The task metrics this module reads (Tables 3 and 4, the grouping comparison, the prose)."""

METRICS_BY_TASK = {"mstl_lib.papers.p4_finetuning.tasks:finetune_svm": METRICS_READ}
"""The metrics this module reads from each task's records (the contract every paper declares)."""

BENCHMARK_FILE = "freeze_cache_benchmark.json"
"""Written by ``bench/freeze_cache.py`` into :func:`mstl_lib.paths.bench_dir`."""

KEY = ["dataset", "backbone", "trainable_pct"]
"""One cell of P4's Table 3."""


# ----------------------------------------------------------------- records


class Results(engine.ChapterResults):
    """The chapter's stored records, read back once (:class:`mstl_lib.engine.ChapterResults`); ``records`` also
    hold ``dataset``, ``protocol`` (the fold grouping), ``epochs_run`` and ``still_improving`` (the best epoch was
    the last of several)."""

    @property
    def image_level(self) -> pd.DataFrame:
        """The records of P4's own (image-level) folds."""
        return self.records[self.records["protocol"] == "none"] if len(self.records) else self.records


def _history_columns(record: dict) -> dict:
    history = record.get("history") or {}
    losses = [v for v in history.get("val_loss") or [] if v is not None]
    best_is_last = bool(len(losses) > 1 and int(np.argmin(losses)) == len(losses) - 1)
    return {"epochs_run": len(history.get("loss") or []), "still_improving": best_is_last}


def collect(store, grids: Mapping[str, engine.Grid]) -> Results:
    """Read every grid's records from ``store`` (a store or its folder) into one :class:`Results`."""
    found = engine.collect(store, grids, lambda grid: {"dataset": grid.context.get("dataset"),
                                                       "protocol": grid.context.get("grouping", "none")})
    records = found.records
    if len(records):  # the history columns of each record, in the records' order
        history = pd.DataFrame([_history_columns(r) for r in found.raw], index=records.index)
        records = pd.concat([records, history], axis=1)
    return Results(records, found.raw, found.predictions, found.failures)


def failures_table(results: Results):
    """The failed tasks (kind, type, message), or a sentence saying none failed."""
    if results.failures.empty:
        return markdown("No task failed.")
    columns = ["dataset", "protocol", "backbone", "trainable_pct", "fold", "error_kind", "error_type",
               "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]


# ----------------------------------------------------------------- weights


def weights_caption(weights: Iterable[dict]) -> str:
    """One line for the top of a table: which weights produced it, and what that means.

    ``weights``: the tasks' weights entries (:attr:`Results.weights`).
    """
    weights = list(weights)
    kinds, shown = weights_kinds(weights), "; ".join(weights_descriptions(weights))
    if not kinds:
        return "Weights: no finished task yet."
    if kinds == ["random"]:
        why = "requested explicitly" if random_requested(weights) else "no ImageNet weights on this machine"
        return (f"**Weights: random initialisation ({why}).** These numbers "
                "measure fine-tuning depth *from random initialisation*, i.e. mostly the capacity of the "
                "trainable part, not transfer; P4's numbers come from ImageNet weights.")
    if "random" in kinds:
        return f"**Weights: mixed ({', '.join(kinds)}).** Rows differ in initialisation; compare with care."
    if kinds == ["imagenet"]:
        return f"Weights: {shown}, as in P4."
    return (f"**Weights: {shown}.** Not P4's ImageNet weights: the numbers "
            "measure fine-tuning from these.")
