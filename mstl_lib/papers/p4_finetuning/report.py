"""Everything P4's chapter shows, built from stored records: tables beside P4's, figures, sentences.

Every sentence that states a result or a direction is written here from the
numbers, and says so when the conclusion does not follow from them: with one
fold there is no spread, so no difference between two cells can be told from
fold-to-fold noise. A difference "follows" when the two-sided 95 % t interval
of its mean over folds excludes zero (paired by fold where both sides share
the folds, Welch's interval where the folds differ), with at least two folds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mstl_lib import engine, paper_values
from mstl_lib.data.sources import DataSource, load_source
from mstl_lib.evaluation import metrics, stats
from mstl_lib.paths import bench_dir
from mstl_lib.papers.p4_finetuning import protocol
from mstl_lib.report import tables as tables_report
from mstl_lib.report.operating_point import operating_point_sentence
from mstl_lib.report.tables import aggregate, beside_paper
from mstl_lib.nn.weights import random_requested, weights_descriptions, weights_entries, weights_kinds

__all__ = [
    "BENCHMARK_FILE", "METRICS_READ", "TABLE4_METRICS", "TIRADS_ORDER", "Results", "auc_ci", "head_ci", "auc_vs_depth", "groups_by_path", "benchmark_path", "benchmark_summary",
    "closing_note", "collect", "confusion_and_roc", "confusion_figure", "ddti_note", "degenerate_note",
    "failures_table",
    "grouping_comparison", "grouping_differences", "grouping_paragraph", "keras_layer_counts", "load_benchmark",
    "reading_table3", "rounding_misses", "table1", "table2", "table2_wide", "table3", "table4", "timing_frame",
    "timing_summary", "tirads_table", "verdict", "weights_caption",
]

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


@dataclass
class Results:
    """The chapter's stored records, read back once.

    Attributes
    ----------
    records : DataFrame
        One row per task (done and failed) of every grid: config, metrics, and
        ``dataset``, ``protocol`` (the fold grouping), ``epochs_run`` and
        ``still_improving`` (the best epoch was the last of several).
    raw : list of dict
        The records themselves (histories, timings, weights).
    predictions : DataFrame
        Per-test-image scores of the finished tasks, with ``dataset`` and ``protocol``.
    failures : DataFrame
        One row per failed task.
    """

    records: pd.DataFrame
    raw: list[dict] = field(default_factory=list)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def weights(self) -> list[dict]:
        """Every task's weights entries (:func:`mstl_lib.report.weights.weights_entries`)."""
        return weights_entries(self.raw)

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
    found = engine.gather(store, grids, lambda grid: {"dataset": grid.context.get("dataset"),
                                                      "protocol": grid.context.get("grouping", "none")})
    records = found["records"]
    if len(records):  # the history columns of each record, in the records' order
        history = pd.DataFrame([_history_columns(r) for r in found["raw"]], index=records.index)
        records = pd.concat([records, history], axis=1)
    return Results(records, found["raw"], found["predictions"], found["failures"])


def failures_table(results: Results):
    """The failed tasks (kind, type, message), or a sentence saying none failed."""
    if results.failures.empty:
        return _markdown("No task failed.")
    columns = ["dataset", "protocol", "backbone", "trainable_pct", "fold", "error_kind", "error_type",
               "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]


def _markdown(text: str):
    from mstl_lib.report import markdown  # noqa: PLC0415

    return markdown(text)


def _done(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty:
        return records
    return records[records["status"] == "done"] if "status" in records.columns else records


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


# ----------------------------------------------------------------- verdicts


def verdict(differences) -> tuple[float, str]:
    """Mean of per-fold differences, and whether its sign follows from them.

    Returns
    -------
    mean : float
    status : {"follows", "within noise", "one fold", "no data"}
        ``follows``: at least two folds and the two-sided 95 % t interval of the
        mean excludes zero; ``one fold``: a single value, no spread to judge it by.
    """
    values = np.asarray(list(differences), dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, "no data"
    mean = float(values.mean())
    if values.size < 2:
        return mean, "one fold"
    se = float(values.std(ddof=1)) / math.sqrt(values.size)
    if se == 0:
        return mean, "follows" if mean != 0 else "within noise"
    test = stats.t_test(np.zeros_like(values), values, "paired")  # the 95 % interval excludes 0 iff p < 0.05
    return mean, "follows" if test["p_value"] < 0.05 else "within noise"


def _unpaired_verdict(a, b) -> tuple[float, str]:
    """``mean(a) - mean(b)`` and whether it follows (Welch's 95 % t interval excludes zero; two folds each)."""
    a = np.asarray(list(a), dtype=float)
    b = np.asarray(list(b), dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return math.nan, "no data"
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, "one fold"
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:  # no spread: the t statistic is undefined
        return diff, "follows" if diff != 0 else "within noise"
    return diff, "follows" if stats.t_test(b, a, "welch")["p_value"] < 0.05 else "within noise"


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _qualifier(status: str) -> str:
    return {
        "follows": "the 95 % t interval over folds excludes zero, so the direction follows",
        "within noise": "the 95 % t interval over folds includes zero: the direction does not follow",
        "one fold": "one fold, no spread: whether this is more than noise does not follow from this run",
        "no data": "no finished task to judge it by",
        "degenerate": ("some folds are degenerate (one class for at least 95 % of the test images), so no verdict "
                       "is given"),
    }[status]


def _any_degenerate(frame: pd.DataFrame, heads=("ft", "svm")) -> bool:
    return any(f"{head}_degenerate" in frame.columns and bool((frame[f"{head}_degenerate"] > 0).any())
               for head in heads)


# ----------------------------------------------------------------- Table 1 and the DDTI labels


def table1(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Benign and malignant counts of the rows the tasks draw from, beside P4's Table 1.

    ``tables``: ``{dataset: task table}`` (e.g. :func:`grids.train_tables`).
    """
    paper = paper_values.load("p4_table1").rename(columns={"benign": "paper_benign",
                                                           "malignant": "paper_malignant",
                                                           "total": "paper_total"})
    rows = []
    for name, table in tables.items():
        benign, malignant = int((table["target"] == 0).sum()), int((table["target"] == 1).sum())
        kind = str(table["data_kind"].iloc[0]) if "data_kind" in table.columns and len(table) else "unknown"
        rows.append({"dataset": protocol.PAPER_DATASET.get(name, name), "data": kind, "ours_benign": benign,
                     "ours_malignant": malignant, "ours_total": benign + malignant,
                     "ours_malignant_share": round(malignant / max(benign + malignant, 1), 3)})
    ours = pd.DataFrame(rows, columns=["dataset", "data", "ours_benign", "ours_malignant", "ours_total",
                                       "ours_malignant_share"])
    merged = ours.merge(paper, on="dataset", how="left")
    merged["paper_malignant_share"] = (merged["paper_malignant"] / merged["paper_total"]).round(3)
    return merged.set_index("dataset")


TIRADS_ORDER = ("2", "3", "4a", "4b", "4c", "5")


def tirads_table(source) -> pd.DataFrame | None:
    """DDTI images and cases per TIRADS score (``none`` = no score, left out), or None for another dataset.

    ``source``: the :class:`~mstl_lib.data.sources.DataSource` that serves DDTI.
    """
    source = None if source is None else DataSource.from_dict(source)
    if source is None or source.dataset != "ddti":
        return None
    table = load_source(source, include_unlabelled=True)
    if "tirads" not in table.columns:
        return None
    table = table.assign(tirads=table["tirads"].fillna("none").astype(str))
    out = table.groupby("tirads").agg(images=("path", "size"), cases=("group", "nunique"),
                                      label=("label", "first"))
    order = [t for t in TIRADS_ORDER if t in out.index] + [t for t in out.index if t not in TIRADS_ORDER]
    return out.loc[order]


def ddti_note(tirads: pd.DataFrame | None) -> str:
    """Whether any TIRADS threshold reproduces P4's DDTI counts, and how skewed each version is."""
    paper = paper_values.load("p4_table1").set_index("dataset")
    if "DDTI" not in paper.index:
        return ""
    p_benign, p_malignant = int(paper.loc["DDTI", "benign"]), int(paper.loc["DDTI", "malignant"])
    p_share = p_malignant / (p_benign + p_malignant)
    if tirads is None or tirads.empty:
        return f"DDTI is not used on this page; P4's DDTI has {p_benign} benign / {p_malignant} malignant images."
    scored = [t for t in TIRADS_ORDER if t in tirads.index]
    counts = tirads.loc[scored, "images"].astype(int)
    cuts = [(int(counts.iloc[:k].sum()), int(counts.iloc[k:].sum())) for k in range(1, len(scored))]
    ours = tirads[tirads["label"].isin(["benign", "malignant"])].groupby("label")["images"].sum()
    o_benign, o_malignant = int(ours.get("benign", 0)), int(ours.get("malignant", 0))
    o_share = o_malignant / max(o_benign + o_malignant, 1)
    if (p_benign, p_malignant) in cuts:
        fit = "One TIRADS threshold of this copy reproduces P4's counts exactly."
    else:
        smallest = counts.iloc[0] if len(counts) else 0
        fit = (f"No TIRADS threshold of this copy reproduces P4's {p_benign} / {p_malignant} (the thresholds give "
               + ", ".join(f"{b} / {m}" for b, m in cuts) + ")"
               + (f"; even TIRADS {scored[0]} alone has {smallest} images, more than {p_benign}" if
                  smallest > p_benign else "")
               + ", so P4 most likely used one of the re-distributed, re-cut versions of DDTI.")
    skew = (f"P4's DDTI is {p_share:.0%} malignant, ours {o_share:.0%}: "
            + ("P4's is the more skewed, so its accuracies have the higher floor (the all-malignant classifier's "
               "accuracy is the malignant share)." if p_share > o_share else
               "ours is at least as skewed as P4's."))
    return f"{fit} {skew}"


# ----------------------------------------------------------------- Table 2


def keras_layer_counts(backbones: Iterable[str] = protocol.BACKBONES, size: int = 75) -> dict[str, int]:
    """Layer counts of the Keras backbones (``include_top=False``, random weights, input layer included)."""
    from mstl_lib.nn import backbones as nn_backbones  # noqa: PLC0415 - imports TensorFlow

    counts = {}
    for name in backbones:
        side = max(size, nn_backbones.backbone_spec(name).min_size)
        model, _ = nn_backbones.build_backbone(name, (side, side, 3), weights=None)
        counts[name] = len(model.layers)
    return counts


def table2(counts: Mapping[str, int]) -> pd.DataFrame:
    """P4's Table 2 (long) with the built totals, the engine's frozen counts and the rounding rule.

    Columns ``keras_total`` (from ``counts``), ``engine_frozen`` (what the tasks
    freeze), ``rounding_rule`` (:func:`protocol.rounded_frozen_layers`) and
    ``matches`` (the built total equals P4's and the engine freezes Table 2's count).
    Only the backbones in ``counts`` are kept.

    Raises
    ------
    protocol.Table2Mismatch
        Some row does not match: the frozen-layer counts would not mean what P4 says.
    """
    t2 = protocol.table2()
    t2 = t2[t2["backbone"].isin(list(counts))].copy()
    t2["keras_total"] = t2["backbone"].map(dict(counts))
    t2["engine_frozen"] = [protocol.frozen_layers(b, p) for b, p in zip(t2["backbone"], t2["trainable_pct"])]
    t2["rounding_rule"] = [protocol.rounded_frozen_layers(n, p)
                           for n, p in zip(t2["total_layers"], t2["trainable_pct"])]
    t2["matches"] = (t2["keras_total"] == t2["total_layers"]) & (t2["engine_frozen"] == t2["frozen_layers"])
    if not t2["matches"].all():
        bad = t2.loc[~t2["matches"], ["backbone", "trainable_pct", "total_layers", "keras_total"]]
        raise protocol.Table2Mismatch(
            "The built networks do not match P4's Table 2, so the strategies would not freeze what P4 "
            f"froze:\n{bad.to_string(index=False)}")
    return t2.reset_index(drop=True)


def table2_wide(t2: pd.DataFrame) -> pd.DataFrame:
    """Frozen layers, one row per strategy and one column per backbone (P4's layout)."""
    order = [b for b in protocol.BACKBONES if b in set(t2["backbone"])]
    return t2.pivot(index="trainable_pct", columns="backbone", values="frozen_layers")[order]


def rounding_misses(t2: pd.DataFrame) -> pd.DataFrame:
    """The rows of Table 2 that ``total x (1 - trainable %)`` rounded half up does not give."""
    return t2.loc[t2["rounding_rule"] != t2["frozen_layers"],
                  ["backbone", "trainable_pct", "total_layers", "frozen_layers", "rounding_rule"]]


# ----------------------------------------------------------------- Table 3 and its figure


def _paper_names(frame: pd.DataFrame) -> pd.DataFrame:
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
    out = _paper_names(heads[0].merge(heads[1], on=[*KEY, "metric"]))
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
    done = _done(records)
    columns = [*KEY, "folds", "ft_auc_ours", "ft_auc_paper", "ft_auc_diff", "ft_auc_sd",
               "svm_auc_ours", "svm_auc_paper", "svm_auc_diff", "svm_auc_sd", "ft_degenerate", "svm_degenerate"]
    if done.empty:
        return pd.DataFrame(columns=columns).set_index(KEY)
    named = _paper_names(done)
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
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report import finish  # noqa: PLC0415

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


def _head_differences(records: pd.DataFrame) -> pd.Series:
    """Per fold: FT-SVM minus FT AUC, averaged over the cells of that fold."""
    done = _done(records)
    return (done["svm_auc"] - done["ft_auc"]).groupby(done["fold"]).mean()


def reading_table3(records: pd.DataFrame, weights: Iterable[dict]) -> str:
    """What separates Table 3's numbers from P4's, and what the SVM-vs-MLP difference says, from the records."""
    done = _done(records)
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
    mean, status = verdict(_head_differences(done))
    if _any_degenerate(done):
        status = "degenerate"
    direction = "higher" if mean > 0 else "lower"
    text += (f"\n\nHere the FT-SVM AUC is {direction} than the FT AUC by {abs(mean):.3f} on average over "
             f"{done.groupby(KEY).ngroups} cell(s): {_qualifier(status)}.")
    return text


def degenerate_note(records: pd.DataFrame) -> str:
    """How many folds' predictions collapsed onto one class, per head, with the share predicted malignant."""
    done = _done(records)
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


# ----------------------------------------------------------------- Table 4 and the figures


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
    done = _done(records)
    on = ["dataset", "backbone", "metric"]
    done = done[done["trainable_pct"] == strategy] if len(done) else done
    rows = []
    for (dataset, backbone), group in (_paper_names(done).groupby(["dataset", "backbone"], sort=False)
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
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report import finish, finish_roc_axes, plot_roc  # noqa: PLC0415

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
        return _markdown(f"No finished task has predictions at {strategy} % trainable for {', '.join(backbones)}.")
    return confusion_and_roc(chosen, f"{strategy} % trainable, test predictions of the folds run",
                             by=("dataset", "backbone"))


# ----------------------------------------------------------------- grouped folds


def grouping_comparison(records: pd.DataFrame, strategies: Iterable[int] | None = None) -> pd.DataFrame:
    """AUC and accuracy per protocol (image-level ``none`` vs grouped folds), mean over the folds run."""
    done = _done(records)
    columns = ["folds", "ft_auc", "svm_auc", "ft_accuracy", "svm_accuracy"]
    if done.empty:
        return pd.DataFrame(columns=columns)
    if strategies is not None:
        done = done[done["trainable_pct"].isin(list(strategies))]
    done = _paper_names(done)
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
    done = _done(records)
    if done.empty or not (done["protocol"] != "none").any():
        return "No grouped protocol has finished tasks."
    lines = []
    for (dataset, backbone, pct, name), part in done[done["protocol"] != "none"].groupby([*KEY, "protocol"]):
        base = done[(done["protocol"] == "none") & (done["dataset"] == dataset) & (done["backbone"] == backbone)
                    & (done["trainable_pct"] == pct)]
        if base.empty:
            continue
        svm, svm_status = _unpaired_verdict(part["svm_auc"], base["svm_auc"])
        ft, _ = _unpaired_verdict(part["ft_auc"], base["ft_auc"])
        if _any_degenerate(pd.concat([part, base]), heads=("svm",)):
            svm_status = "degenerate"
        if svm_status == "follows":
            meaning = ("grouping lowers the FT-SVM AUC: the image-level number was inflated by near-identical "
                       "images on both sides of the split" if svm < 0 else
                       "grouping raises the FT-SVM AUC: no sign that image-level folds inflated it")
        else:
            meaning = _qualifier(svm_status)
        lines.append(f"- {protocol.PAPER_DATASET.get(dataset, dataset)}, {backbone}, {int(pct)} %, `{name}` minus "
                     f"image-level folds: FT-SVM AUC {svm:+.3f}, FT AUC {ft:+.3f} ({meaning}).")
    return "\n".join(lines) if lines else "No cell was run with both image-level and grouped folds."


# ----------------------------------------------------------------- timings and the benchmark


def timing_frame(raw: Iterable[dict]) -> pd.DataFrame:
    """Per finished task: frozen count, cached or not, caching cost, epoch times (the first traces)."""
    rows = []
    for record in raw:
        if record.get("status") != "done":
            continue
        extra, config, context = record.get("extra") or {}, record["config"], record.get("context") or {}
        epochs = extra.get("epoch_seconds") or []
        dataset = context.get("dataset")
        rows.append({"dataset": protocol.PAPER_DATASET.get(dataset, dataset), "protocol": context.get("grouping", "none"),
                     "backbone": config["backbone"], "trainable_pct": config["trainable_pct"],
                     "fold": record["fold"], "n_frozen": extra.get("n_frozen"), "cached": extra.get("cached"),
                     "cache_s": extra.get("cache_seconds"), "cache_MB": (extra.get("cache_bytes") or 0) / 1e6,
                     "first_epoch_s": epochs[0] if epochs else np.nan,
                     "later_epoch_s": float(np.mean(epochs[1:])) if len(epochs) > 1 else np.nan,
                     "svm_s": extra.get("svm_seconds"), "task_s": record.get("wall_time_s")})
    return pd.DataFrame(rows, columns=["dataset", "protocol", "backbone", "trainable_pct", "fold", "n_frozen",
                                       "cached", "cache_s", "cache_MB", "first_epoch_s", "later_epoch_s",
                                       "svm_s", "task_s"])


def timing_summary(timings: pd.DataFrame) -> pd.DataFrame:
    """:func:`timing_frame` averaged per dataset, backbone and strategy (``cached``: share of tasks)."""
    if timings.empty:
        return timings
    numeric = timings.assign(cached=timings["cached"].astype(float))
    columns = ["n_frozen", "cached", "cache_s", "cache_MB", "first_epoch_s", "later_epoch_s", "svm_s", "task_s"]
    return numeric.groupby(KEY)[columns].mean().round(2)


def benchmark_path():
    """Where ``bench/freeze_cache.py`` writes its measurements (``build/bench/``, git-ignored)."""
    return bench_dir() / BENCHMARK_FILE


def load_benchmark() -> pd.DataFrame | None:
    """The last ``bench/freeze_cache.py`` measurements (``attrs["meta"]``), or None when not run here."""
    path = benchmark_path()
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    frame = pd.DataFrame(payload["rows"])
    frame.attrs["meta"] = payload.get("meta", {})
    return frame


def benchmark_summary(bench: pd.DataFrame | None, goal: float = 10.0) -> str:
    """The benchmark's rows as sentences, and whether the cache reaches ``goal`` x at 0-15 % trainable."""
    if bench is None or bench.empty:
        return "`bench/freeze_cache.py` has not been run on this machine."
    lines = [f"Benchmark (`bench/freeze_cache.py`, {bench.attrs.get('meta', {}).get('summary', 'this machine')}): "
             "time per epoch naive vs cached, ratio, one-off caching cost:"]
    cached = bench[bench["n_frozen"] >= 1] if "n_frozen" in bench.columns else bench
    for row in cached.itertuples():
        lines.append(f"- {row.backbone}, {row.trainable_pct} % trainable ({row.n_frozen} frozen): "
                     f"{row.naive_epoch_s:.2f} s vs {row.cached_epoch_s:.2f} s per epoch, {row.speedup:.1f}x; "
                     f"caching {row.cache_s:.1f} s; peak RSS naive {row.naive_peak_MB:.0f} MB, "
                     f"cached {row.cached_peak_MB:.0f} MB.")
    shallow = cached[cached["trainable_pct"] <= 15]
    if len(shallow):
        met = "met" if (shallow["speedup"] >= goal).all() else "not met everywhere"
        lines.append(f"The goal of at least {goal:g}x at 0-15 % trainable is {met}: speedups "
                     + ", ".join(f"{s:.1f}x" for s in shallow["speedup"]) + ".")
    return "\n".join(lines)


# ----------------------------------------------------------------- closing note


def closing_note(records: pd.DataFrame, weights: Iterable[dict], bench: pd.DataFrame | None = None,
                 paper: pd.DataFrame | None = None) -> str:
    """The chapter's closing paragraph: P4's claims checked on this run's records, with what follows."""
    lines = [weights_caption(weights), ""]
    paper = paper_values.load("p4_table3") if paper is None else paper
    done = _done(records)
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
                    f"{_fmt(best['svm_auc_ours'])} at {int(best['trainable_pct'])} %")
            if len(ranked) > 1:
                second = ranked.iloc[1]
                cells = _paper_names(image_level)
                cells = cells[(cells["dataset"] == dataset) & (cells["backbone"] == backbone)]
                by_fold = cells.pivot_table(index="fold", columns="trainable_pct", values="svm_auc")
                _, status = verdict(by_fold[int(best["trainable_pct"])] - by_fold[int(second["trainable_pct"])])
                text += (f", {_fmt(best['svm_auc_ours'] - second['svm_auc_ours'])} above the runner-up "
                         f"({int(second['trainable_pct'])} %): {_qualifier(status)}")
                if int(best["trainable_pct"]) == 15:
                    best15 += 1
                    clear15 += status == "follows"
            at15 = part[part["trainable_pct"] == 15]
            if len(at15) and np.isfinite(at15["svm_auc_paper"].iloc[0]):
                text += (f". At 15 %: ours FT {_fmt(at15['ft_auc_ours'].iloc[0])} / FT-SVM "
                         f"{_fmt(at15['svm_auc_ours'].iloc[0])}, P4 {_fmt(at15['ft_auc_paper'].iloc[0], 2)} / "
                         f"{_fmt(at15['svm_auc_paper'].iloc[0], 2)}")
            lines.append(text + ".")
        lines.append("")
        strategies = sorted(image_level["trainable_pct"].unique())
        if 15 in strategies and len(strategies) > 1:
            lines.append(f"P4's first claim, 15 % trainable is the best strategy: the best FT-SVM strategy here for "
                         f"{best15} of {pairs} (dataset, backbone) pair(s), clearly (beyond fold noise) for "
                         f"{clear15}." + ("" if clear15 else " The claim is not confirmed by this run."))
        mean, status = verdict(_head_differences(image_level))
        paper_mean = float((t3["svm_auc_paper"] - t3["ft_auc_paper"]).mean())
        lines.append(f"P4's second claim, the SVM head beats the MLP head: FT-SVM minus FT AUC over these cells "
                     f"{mean:+.3f} (P4's Table 3, same cells: {_fmt(paper_mean) if np.isfinite(paper_mean) else 'n/a'}"
                     f"); {_qualifier(status)}.")
    if len(done) and (done["protocol"] != "none").any():
        lines += ["", "Grouped folds against P4's image-level folds:", grouping_paragraph(done)]
    if bench is not None and len(bench):
        lines += ["", benchmark_summary(bench)]
    return "\n".join(lines)


# ----------------------------------------------------------------- claims (the scorecard) and audit notes

NOTEBOOK = "04_finetuning_svm"
SECTIONS = {"table1": "Data: P4's Table 1 beside the loaders' counts", "table3": "Table 3: AUC per strategy, FT vs FT-SVM, beside P4's",
            "table4": "Table 4: the 15 % strategy", "grouping": "Image-level vs grouped folds"}
"""The chapter's sections that hold each claim's evidence (their headings)."""
HEADLINE_DATASETS = ("BUSI", "DDTI", "Mendeley", "Salivary glands")
LEAKS = {"BUSI": "P4's image-level folds let BUSI's near-duplicate images straddle train and test",
         "DDTI": "P4's image-level folds put images of one DDTI case on both sides of a split"}
SELECTION = "P4 saves the 'best model of each fold' without saying on which data it was picked"


def audit_note(where: str | None = None, data_dir="auto") -> str:
    """The audit's inconsistent findings about P4's numbers whose location contains ``where`` ("Table 4", "Table 1"...),
    as a markdown note citing each, for the chapter to show beside the paper's number."""
    from mstl_lib.evaluation.audit import paper_note  # noqa: PLC0415
    from mstl_lib.papers.p4_finetuning import audit  # noqa: PLC0415

    return paper_note(audit.findings, where, data_dir)


def paper_claims() -> list:
    """P4's claims with the paper's values and what decides each, before any result of ours."""
    from mstl_lib.papers.p4_finetuning import audit  # noqa: PLC0415
    from mstl_lib.report.scorecard import Claim, evidence_link  # noqa: PLC0415

    t3 = paper_values.load("p4_table3")
    svm_by_pct = audit._table3_means("svm")
    best_other = svm_by_pct.drop(15).max()
    t3_15 = t3[(t3["trainable_pct"] == 15) & t3["backbone"].isin(audit.TWO_BEST)]
    t4 = paper_values.load("p4_table4")
    acc = t4[(t4["metric"] == "accuracy") & t4["backbone"].isin(audit.TWO_BEST)]
    gain = 100 * float((acc["svm"] - acc["ft"]).mean())
    stated_gain = float(paper_values.load("p4_text").set_index("statement").loc["svm_improvement", "value"])
    by_backbone = t3[t3["trainable_pct"] == 15].groupby("backbone")["svm_auc"].mean()
    rank_gap = float(by_backbone[list(audit.TWO_BEST)].min() - by_backbone.drop(list(audit.TWO_BEST)).max())
    link = lambda key: evidence_link(NOTEBOOK, SECTIONS[key])  # noqa: E731
    flaws = (SELECTION,)
    out = [
        Claim("P4", audit.BEST_15, "Fine-tuning 15 % of the layers is the best strategy (by AUC, FT-SVM)",
              f"15 %: mean FT-SVM AUC {svm_by_pct[15]:.3f} vs {best_other:.3f} for the next strategy",
              "FT-SVM AUC at 15 % − the best other strategy, per (dataset, backbone, fold)", kind="greater",
              paper_number=float(svm_by_pct[15] - best_other), protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.SVM_BEATS_MLP, "A linear SVM on the fine-tuned features beats the MLP head (Table 3)",
              f"FT-SVM − FT AUC {float((t3['svm_auc'] - t3['ft_auc']).mean()):+.3f} (mean of Table 3)",
              "FT-SVM − FT AUC per (dataset, backbone, strategy, fold)", kind="greater",
              paper_number=float((t3["svm_auc"] - t3["ft_auc"]).mean()), protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.SVM_SIGNIFICANT, "With the SVM the two best models' performance 'increased significantly'",
              f"no test reported; FT-SVM − FT AUC at 15 % {float((t3_15['svm_auc'] - t3_15['ft_auc']).mean()):+.3f}",
              "FT-SVM − FT AUC at 15 %, ResNet50 and InceptionV3, per (dataset, backbone, fold); its 95 % CI excludes "
              "0 iff a paired t-test gives p < 0.05", kind="greater",
              paper_number=float((t3_15["svm_auc"] - t3_15["ft_auc"]).mean()), protocol_flaws=flaws,
              evidence=link("table4")),
        Claim("P4", audit.SVM_GAIN, "The SVM improves overall performance by 6 % for the two best models",
              f"{stated_gain:g} % (Table 4's accuracies give {gain:+.1f} points)", "FT-SVM − FT accuracy (points) at "
              "15 %, ResNet50 and InceptionV3, mean over (dataset, backbone, fold)", paper_number=stated_gain,
              protocol_flaws=flaws, evidence=link("table4")),
        Claim("P4", audit.TWO_BEST_MODELS, "ResNet50 and InceptionV3 are the two best models at 15 %",
              f"weaker of the two − best other: FT-SVM AUC {rank_gap:+.3f}", "FT-SVM AUC at 15 %: the weaker of "
              "ResNet50 / InceptionV3 − the best other backbone, per (dataset, fold)", kind="greater",
              paper_number=rank_gap, protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.INCEPTION_CONSISTENT, "InceptionV3 is the most consistent model across strategies and datasets",
              "stated in words", "none: the paper defines no measure of consistency", kind="greater",
              unavailable="the paper defines no measure of consistency to test", evidence=link("table3")),
    ]
    for dataset in HEADLINE_DATASETS:
        for backbone in audit.TWO_BEST:
            value = audit.svm_auc_at(dataset, backbone)
            if not np.isfinite(value):
                continue
            out.append(Claim("P4", audit.headline_id(dataset, backbone),
                             f"{backbone} fine-tuned at 15 % with the SVM head reaches AUC {value:.2f} on {dataset}",
                             f"{value:.2f}", f"pooled out-of-fold FT-SVM AUC, {backbone}, 15 %, {dataset}",
                             paper_number=value, protocol_flaws=tuple(p for p in (LEAKS.get(dataset), SELECTION) if p),
                             evidence=link("table3")))
    return out


def _paired_ci(frame: pd.DataFrame, index: list[str], columns: str, a, b) -> tuple[float, float, float]:
    """Mean and t-interval of ``a`` − ``b`` (columns of a pivot on ``columns``), paired on ``index``."""
    if frame.empty:
        return (float("nan"),) * 3
    wide = frame.pivot_table(index=index, columns=columns, values="value").dropna()
    if wide.empty:
        return (float("nan"),) * 3
    left = wide[a] if not callable(a) else a(wide)
    right = wide[b] if not callable(b) else b(wide)
    return stats.mean_difference_ci(left - right)


def _ci_or_none(low: float, high: float):
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P4's claims (:func:`paper_claims`) filled in from the records chapter 04 stored under these parameters.

    Builds the chapter's grids without running them and reads their records (:func:`collect`);
    a claim whose records are missing says so. Never trains.
    """
    from mstl_lib import data as data_layer  # noqa: PLC0415
    from mstl_lib.context import start_run  # noqa: PLC0415
    from mstl_lib.papers.p4_finetuning import audit  # noqa: PLC0415
    from mstl_lib.papers.p4_finetuning import grids as p4_grids  # noqa: PLC0415
    from mstl_lib.papers.p4_finetuning.settings import CHAPTER  # noqa: PLC0415
    from mstl_lib.report import scorecard as sc  # noqa: PLC0415

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chapter_grids = p4_grids.build(run)
    except (data_layer.DatasetNotFoundError, FileNotFoundError) as error:
        return [c if c.unavailable else c.with_result(None, None, profile=profile, evidence_flags=(sc.NOT_RUN,),
                                                      note=f"the chapter cannot run here: {error}".splitlines()[0])
                for c in base]
    results = collect(engine.ResultsStore(store) if not isinstance(store, engine.ResultsStore) else store,
                      chapter_grids)
    records = _paper_names(_done(results.image_level)) if len(results.records) else pd.DataFrame()
    kinds = weights_kinds(results.weights)
    sources = {protocol.PAPER_DATASET.get(k[0], k[0]): s for k, s in run.sources.items() if k[1] == "train"}
    data_text = "; ".join(f"{name} ({s.kind})" for name, s in sources.items())
    behind = {"weights": ", ".join(kinds) or "none yet", "profile": profile}

    def flags(part: pd.DataFrame, heads=("ft", "svm"), datasets=None) -> tuple[str, ...]:
        if part is None or part.empty:
            return (sc.NOT_RUN,)
        out = []
        used = [sources[d] for d in (datasets or set(part["dataset"])) if d in sources]
        if any(s.kind == "phantom" for s in used):
            out.append(sc.SYNTHETIC)
        if any(s.kind == "stand-in" for s in used):
            out.append(sc.STAND_IN)
        if "random" in kinds or not kinds:
            out.append(sc.RANDOM_WEIGHTS)
        if any(part.get(f"{h}_degenerate", pd.Series(dtype=float)).astype(float).sum() > 0 for h in heads):
            out.append(sc.DEGENERATE)
        return tuple(out)

    def long(metric_columns: dict[str, str], part: pd.DataFrame) -> pd.DataFrame:
        frames = [part[["dataset", "backbone", "trainable_pct", "fold", column]].rename(columns={column: "value"})
                  .assign(head=head) for head, column in metric_columns.items() if column in part.columns]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    out = []
    for claim in base:
        if claim.unavailable:
            out.append(claim.with_result(None, None, **behind))
            continue
        part = records
        note = ""
        mean = low = high = float("nan")
        if claim.id == audit.BEST_15 and len(part):
            svm = part[["dataset", "backbone", "trainable_pct", "fold", "svm_auc"]].rename(columns={"svm_auc": "value"})
            strategies = sorted(set(svm["trainable_pct"]))
            if 15 in strategies and len(strategies) > 1:
                others = [p for p in strategies if p != 15]
                runner_up = svm[svm["trainable_pct"].isin(others)].groupby("trainable_pct")["value"].mean().idxmax()
                mean, low, high = _paired_ci(svm, ["dataset", "backbone", "fold"], "trainable_pct", 15, runner_up)
                note = f"the next strategy in our run is {runner_up} %"
            else:
                note = "this run has no other strategy beside 15 %"
        elif claim.id == audit.SVM_BEATS_MLP and len(part):
            mean, low, high = stats.mean_difference_ci(part["svm_auc"] - part["ft_auc"])
        elif claim.id in (audit.SVM_SIGNIFICANT, audit.SVM_GAIN) and len(part):
            part = part[(part["trainable_pct"] == 15) & part["backbone"].isin(audit.TWO_BEST)]
            scale, metric = (1, "auc") if claim.id == audit.SVM_SIGNIFICANT else (100, "accuracy")
            if len(part):
                mean, low, high = (scale * v for v in stats.mean_difference_ci(part[f"svm_{metric}"]
                                                                                - part[f"ft_{metric}"]))
        elif claim.id == audit.TWO_BEST_MODELS and len(part):
            part = part[part["trainable_pct"] == 15]
            others = sorted(set(part["backbone"]) - set(audit.TWO_BEST))
            if others and set(audit.TWO_BEST) <= set(part["backbone"]):
                wide = part.pivot_table(index=["dataset", "fold"], columns="backbone", values="svm_auc").dropna()
                weaker = wide[list(audit.TWO_BEST)].mean().idxmin()
                best_other = wide[others].mean().idxmax()
                mean, low, high = stats.mean_difference_ci(wide[weaker] - wide[best_other])
            else:
                note = "this profile runs " + ", ".join(sorted(set(part["backbone"]))) + ": nothing to rank them against"
        elif claim.id.startswith("auc-"):
            dataset = next(d for d in HEADLINE_DATASETS if audit.headline_id(d, "x").rsplit("-", 1)[0]
                           == claim.id.rsplit("-", 1)[0])
            backbone = next(b for b in audit.TWO_BEST if claim.id.endswith(b.lower()))
            if dataset not in sources:
                why = ("no loader for the salivary-gland set (a website of cases)" if dataset == "Salivary glands"
                       else f"no copy of {dataset} here")
                out.append(claim.with_result(None, None, unavailable=why, **behind))
                continue
            part = part[(part["dataset"] == dataset) & (part["backbone"] == backbone)
                        & (part["trainable_pct"] == 15)] if len(part) else part
            predictions = results.predictions
            if len(predictions):
                predictions = _paper_names(predictions[predictions["protocol"] == "none"])
                predictions = predictions[(predictions["dataset"] == dataset) & (predictions["backbone"] == backbone)
                                          & (predictions["trainable_pct"] == 15)]
            if len(predictions):
                ci = tables_report.pooled_ci(predictions, ["dataset"], score="svm_score", metrics=("auc",)).iloc[0]
                mean, low, high = float(ci["auc"]), float(ci["auc_low"]), float(ci["auc_high"])
            out.append(claim.with_result(mean if np.isfinite(mean) else None, _ci_or_none(low, high),
                                         data=f"{dataset} ({sources[dataset].kind})",
                                         evidence_flags=flags(part, heads=("svm",), datasets=[dataset]), **behind))
            continue
        out.append(claim.with_result(mean if np.isfinite(mean) else None, _ci_or_none(low, high), data=data_text,
                                     evidence_flags=flags(part), note=note, **behind))
    return out
