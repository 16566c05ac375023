"""P3's protocol, ours beside the paper: Table 1 with CIs, and degenerate folds."""

from __future__ import annotations

import math

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.papers.p3_elastography.report.patient_cis import long_predictions, patient_table_ci, percent_ci
from mstl_lib.papers.p3_elastography.report.records import P3_METRICS
from mstl_lib.report.degenerate import chance_ranking_sentence, epochs_phrase


def table1_beside_paper(records: pd.DataFrame, level: str, predictions: pd.DataFrame | None = None,
                        n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Our mean ± SD over folds (in %) beside P3's Table 1 for one ``level`` (``patient`` or ``image``).

    Rows: (input, view, model) of our P3-protocol arms; P3's cell where it has one.
    With ``predictions`` (the same tasks' pooled test predictions), our accuracy
    and image AUC also carry a 95 % CI from a bootstrap that resamples patients
    (patient level: eq. 1's vote accuracy), and the image level adds balanced
    accuracy with its CI.
    """
    paper = paper_values.load("p3_table1")
    paper = paper[paper["level"] == level]
    rows = []
    if records.empty:
        return pd.DataFrame()
    done = records[records["status"] == "done"]
    for (input_name, view), part in done.groupby(["input", "view"], sort=False):
        for model in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES):
            row = {"input": input_name, "view": view, "model": model, "folds": len(part)}
            match = paper[(paper["input"] == input_name) & (paper["view"] == view) & (paper["model"] == model)]
            for metric in P3_METRICS:
                values = 100 * part[f"{model}_{level}_{metric}"].to_numpy(float)
                sd = values.std(ddof=1) if len(values) > 1 else math.nan
                row[metric] = f"{values.mean():.2f}" + ("" if math.isnan(sd) else f"±{sd:.2f}")
                row[f"P3 {metric}"] = (f"{match[f'{metric}_mean'].iloc[0]:.2f}±{match[f'{metric}_sd'].iloc[0]:.2f}"
                                       if len(match) else "")
            rows.append(row)
    table = pd.DataFrame(rows)
    if predictions is None or predictions.empty:
        return table
    return table.merge(_table1_cis(predictions, level, n_boot, seed), on=["input", "view", "model"], how="left")


def _table1_cis(predictions: pd.DataFrame, level: str, n_boot: int, seed: int) -> pd.DataFrame:
    """Per (input, view, model): accuracy (and at image level balanced accuracy) and image AUC as CI strings."""
    long, keys = long_predictions(predictions), ["input", "view", "model"]
    if level == "patient":  # eq. 1's vote accuracy and the image AUC, both from patient_table_ci
        ci = patient_table_ci(long, keys, n_boot, seed)
        return ci[keys].assign(**{"accuracy [95% CI]": [percent_ci(row, "vote_accuracy") for _, row in ci.iterrows()],
                                  "image auc [95% CI]": [format_ci(row["auc"], row["auc_low"], row["auc_high"])
                                                         for _, row in ci.iterrows()]})
    rows = []
    for (input_name, view, model), part in long.groupby(keys, sort=False):
        groups = part["patient"].to_numpy()
        row = {"input": input_name, "view": view, "model": model}
        for metric in ("accuracy", "balanced_accuracy"):
            estimate, low, high = bootstrap_ci(part["y_true"], part["y_score"], metric, groups=groups,
                                               n_boot=n_boot, seed=seed)
            row[f"{metric.replace('_', ' ')} [95% CI]"] = format_ci(100 * estimate, 100 * low, 100 * high, 1)
        auc = bootstrap_ci(part["y_true"], part["y_score"], "auc", groups=groups, n_boot=n_boot, seed=seed)
        row["image auc [95% CI]"] = format_ci(*auc)
        rows.append(row)
    return pd.DataFrame(rows)


def degenerate_note(records: pd.DataFrame) -> str:
    """How many (task, model) pairs predicted one class for at least the degenerate share of test images."""
    if records.empty:
        return "No finished task."
    done = records[records["status"] == "done"]
    models = [m for m in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES) if f"{m}_image_degenerate" in done]
    flags = {m: int(done[f"{m}_image_degenerate"].fillna(0).astype(float).sum()) for m in models}
    total = len(done)
    if not any(flags.values()):
        return f"No model of the {total} finished tasks collapsed onto one class."
    parts = ", ".join(f"{m} {n} of {total}" for m, n in flags.items() if n)
    at_chance, epochs = [], []
    for row in done.to_dict("records"):
        for m in models:
            auc = float(row.get(f"{m}_image_auc", float("nan")))
            if float(row.get(f"{m}_image_degenerate") or 0) and auc <= 0.5:
                at_chance.append(f"{m} in {row['experiment']} ({_task_label(row)}; AUC {auc:.2f})")
                epochs.append(row.get("epochs"))
    return (f"Degenerate predictions (nearly every test image one class): {parts}. Their accuracies equal a "
            "class share and say nothing about the model."
            + chance_ranking_sentence(at_chance, "degenerate model", epochs_phrase(epochs)))


def _task_label(row: dict) -> str:
    """A task's input and view, e.g. ``"B full"``, with ``masked`` where it was."""
    masked = " masked" if str(row.get("masked")) == "True" else ""
    return f"{row.get('input', '')} {row.get('view', '')}{masked}".strip()
