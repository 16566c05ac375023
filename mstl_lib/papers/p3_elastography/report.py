"""Everything P3's chapter shows, built from stored records: tables beside P3's, controls, sentences.

Every sentence that states a result is written here from the numbers. The BUSI
numbers come from **simulated** strain images: they test the pipeline and how
much of the injected stiffness signal each model recovers, never P3's
performance (:data:`SIMULATION_BANNER`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mstl_lib import engine, paper_values
from mstl_lib.data.phantoms import strain
from mstl_lib.evaluation import patients
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci, mean_ci
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.report.banner import markdown
from mstl_lib.report.degenerate import chance_ranking_sentence, epochs_phrase

__all__ = [
    "METRICS_BY_TASK", "METRICS_READ", "P3_METRICS", "metrics_read", "SIMULATION_BANNER", "Results", "audit_note", "claims", "closing_note",
    "collect", "fig5_tests", "gradcam_figure", "gradcam_record", "holm", "misdiagnosis_counts", "test_size_sentence", "paper_claims", "ppv", "ppv_tests",
    "controls_table", "ddti_table", "table2_beside_paper", "masking_sentence", "masking_table", "degenerate_note", "dose_response_figure", "failures_table", "long_predictions",
    "leak_probe_sentence", "negative_control_sentence", "paper_counts_check", "paper_table", "patient_mean_ci", "patient_table_ci",
    "ratio_fit_table", "strain_examples", "table1_beside_paper",
]

P3_METRICS = ("accuracy", "precision", "specificity", "sensitivity", "f1")
"""The five metrics of P3's Tables 1 and 2."""

METRICS_READ = tuple(f"{model}_{level}_{metric}" for model in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES)
                     for level in ("image", "patient") for metric in P3_METRICS) + tuple(
    f"{model}_image_degenerate" for model in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES))
"""The task metrics this module reads (every task returns them; ``oracle_*`` only with a strain channel)."""

def metrics_read(config: dict) -> tuple[str, ...]:
    """The metrics this module reads from one ``p3_arm`` record: :data:`METRICS_READ`, or for a Table 2
    comparison arm (``config["comparison"]``) that model's own."""
    name = config.get("comparison")
    if not name:
        return METRICS_READ
    return tuple(f"{name}_{level}_{metric}" for level in ("image", "patient") for metric in P3_METRICS) + (
        f"{name}_image_degenerate",)


METRICS_BY_TASK = {"mstl_lib.papers.p3_elastography.tasks:p3_arm": metrics_read}
"""The metrics this module reads from each task's records (the contract every paper declares); a callable
gives them per record, from its configuration."""

SIMULATION_BANNER = (
    "**Simulated strain.** P3's B-mode + strain images are private. The strain images on this page are "
    "simulated from real BUSI B-mode images and lesion masks, with a stiffness ratio drawn per pseudo-patient "
    "from distributions fitted to P3's supplementary strain ratios. These numbers test the pipeline and "
    "how much of an injected signal each model recovers. They are **not** estimates of P3's performance.")
"""Shown at the top of the chapter and beside every simulated-strain table."""

MODEL_ORDER = (*protocol.CONSTITUENTS, "ensemble", "voting", "oracle", *protocol.COMPARISONS)


# ----------------------------------------------------------------- records


@dataclass
class Results:
    """The chapter's stored records, read back once.

    Attributes
    ----------
    records : DataFrame
        One row per task (config, metrics, ``dataset``, ``protocol``).
    raw : list of dict
    predictions : DataFrame
        Per-test-image scores (``score_<model>``), ``patient``, ``ratio``, with ``dataset`` and ``protocol``.
    failures : DataFrame
    """

    records: pd.DataFrame
    raw: list[dict] = field(default_factory=list)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)

    def part(self, dataset: str, split: str, frame: str = "records") -> pd.DataFrame:
        """The rows of ``frame`` of one dataset and split protocol."""
        table = getattr(self, frame)
        if table.empty:
            return table
        return table[(table["dataset"] == dataset) & (table["protocol"] == split)]


def collect(store, grids) -> Results:
    """Read every grid's records from ``store`` into one :class:`Results`."""
    found = engine.gather(store, grids, lambda grid: {"dataset": grid.context.get("dataset"),
                                                      "protocol": grid.context.get("protocol")})
    return Results(found["records"], found["raw"], found["predictions"], found["failures"])


def failures_table(results: Results):
    """The failed tasks, or a sentence saying none failed."""
    if results.failures.empty:
        return _markdown("No task failed.")
    columns = ["dataset", "protocol", "input", "view", "separation", "fold", "error_type", "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]


def _markdown(text: str):
    from mstl_lib.report import markdown  # noqa: PLC0415

    return markdown(text)


# ----------------------------------------------------------------- P3's numbers and arithmetic


def paper_table(name: str = "p3_table1") -> pd.DataFrame:
    """One of P3's stored tables (``paper_values``), as printed."""
    return paper_values.load(name)


def ratio_fit_table(separations=(0.0, 0.5, 1.0, 2.0)) -> pd.DataFrame:
    """P3's supplementary strain ratios per class (count, median) and the drawn distributions per separation."""
    ratios = paper_values.load("p3_strain_ratios")
    rows = []
    for label, part in ratios.groupby("label"):
        fit = strain.fit_lognormal(part["strain_ratio"])
        rows.append({"what": f"P3 {label} patients", "n": len(part), "median": float(part["strain_ratio"].median()),
                     "log_mean": fit.mu, "log_sd": fit.sigma})
    for separation in separations:
        for label, dist in protocol.strain_distributions(separation).items():
            rows.append({"what": f"drawn, separation {separation:g}, {'malignant' if label else 'benign'}",
                         "n": np.nan, "median": dist.median, "log_mean": dist.mu, "log_sd": dist.sigma})
    return pd.DataFrame(rows)


def paper_counts_check() -> pd.DataFrame:
    """P3's stated counts beside what its own tables imply (patients by class, train + test)."""
    counts = paper_values.load("p3_counts").set_index("quantity")["value"]
    ratios = paper_values.load("p3_strain_ratios")
    listed = ratios["label"].value_counts()
    rows = [
        ("patients = benign + malignant (text)", counts["patients"],
         counts["benign_patients"] + counts["malignant_patients"]),
        ("patients = train + test (text)", counts["patients"], counts["train_patients"] + counts["test_patients"]),
        ("benign patients: text vs Supplementary Table 1", counts["benign_patients"], int(listed.get("benign", 0))),
        ("malignant patients: text vs Supplementary Table 2", counts["malignant_patients"],
         int(listed.get("malignant", 0))),
        ("images = benign + malignant images (text)", counts["images_bmode"],
         counts["benign_images"] + counts["malignant_images"]),
    ]
    frame = pd.DataFrame(rows, columns=["check", "stated", "implied"])
    frame["consistent"] = frame["stated"] == frame["implied"]
    return frame


# ----------------------------------------------------------------- P3's protocol, ours beside the paper


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
        return ci[keys].assign(**{"accuracy [95% CI]": [_percent_ci(row, "vote_accuracy") for _, row in ci.iterrows()],
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


def _percent_ci(row: pd.Series, name: str) -> str:
    return format_ci(100 * row[name], 100 * row[f"{name}_low"], 100 * row[f"{name}_high"], 1)


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


# ----------------------------------------------------------------- pooled predictions and CIs


def long_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (test image, model): ``model`` and ``y_score`` from the ``score_<model>`` columns."""
    if predictions.empty:
        return pd.DataFrame(columns=["model", "y_score"])
    keep = [c for c in predictions.columns if not c.startswith("score_")]
    parts = []
    for model in MODEL_ORDER:
        column = f"score_{model}"
        if column in predictions:
            part = predictions[keep].assign(model=model, y_score=predictions[column])
            parts.append(part[part["y_score"].notna()])
    return pd.concat(parts, ignore_index=True)


def patient_mean_ci(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-patient ``values`` with a percentile bootstrap CI that resamples patients."""
    return mean_ci(values, n_boot=n_boot, level=level, seed=seed)


def patient_table_ci(predictions: pd.DataFrame, by, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Patient-wise eq. 1 (vote accuracy, tie -> malignant) and eq. 2 (recognition rate) per group of ``by``,
    each with a patient-cluster bootstrap 95 % CI, and the image AUC with one.

    ``predictions`` is :func:`long_predictions` output (pooled over folds: in the
    nested CV every patient is tested once).
    """
    rows = []
    for keys, part in predictions.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        ids, labels = patients.patient_labels(part["y_true"], part["patient"])
        _, votes = patients.majority_vote(part["y_score"], part["patient"], tie=protocol.TIE_RULE)
        _, shares = patients.patient_scores(part["y_true"], part["y_score"], part["patient"])
        vote = patient_mean_ci(votes == labels, n_boot, seed)
        rate = patient_mean_ci(shares, n_boot, seed)
        auc = bootstrap_ci(part["y_true"], part["y_score"], "auc", groups=part["patient"].to_numpy(),
                           n_boot=n_boot, seed=seed)
        rows.append({**dict(zip(by, keys, strict=True)), "n_images": len(part), "n_patients": len(ids),
                     "auc": auc[0], "auc_low": auc[1], "auc_high": auc[2],
                     "vote_accuracy": vote[0], "vote_accuracy_low": vote[1], "vote_accuracy_high": vote[2],
                     "recognition_rate": rate[0], "recognition_rate_low": rate[1],
                     "recognition_rate_high": rate[2]})
    return pd.DataFrame(rows)


def _with_ci_strings(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for name in ("auc", "vote_accuracy", "recognition_rate"):
        out[f"{name} [95% CI]"] = [format_ci(e, lo, hi) for e, lo, hi in
                                   zip(out[name], out[f"{name}_low"], out[f"{name}_high"], strict=True)]
    return out


def busi_patient_table(run, seed: int = 0) -> pd.DataFrame | None:
    """P3's patient table of BUSI under ``run`` (its ``max_images``), built once for the chapter's figures and
    probe; None when BUSI is not available."""
    source = run.source("busi", "train")
    return None if source is None else protocol.patient_table(source, run.settings["max_images"], seed)


def controls_table(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The nested-CV BUSI arms: every (input, separation, model) with patient-cluster bootstrap CIs.

    Separation 0 is the negative control; the oracle rows are the ceiling the simulation injected.
    """
    predictions = results.part("busi", "nested", "predictions")
    if not predictions.empty and "view" in predictions:
        predictions = predictions[predictions["view"] == "crop"]
    if not predictions.empty and "comparison" in predictions:
        predictions = predictions[predictions["comparison"].isna()]
    if predictions.empty:
        return pd.DataFrame()
    table = patient_table_ci(long_predictions(predictions), ["input", "separation", "model"], n_boot, seed)
    return _with_ci_strings(table)


def table2_beside_paper(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Table 2's comparison models (B-SE crops, nested CV, pooled over the folds run), patient-wise eq. 1
    metrics in %, beside P3's printed crop row (mean ± SD over its folds); with our image AUC and whether
    the model is degenerate (nearly every test image one class: its accuracy is a class share). Our accuracy
    and AUC carry 95 % CIs from a bootstrap that resamples patients."""
    predictions = results.part("busi", "nested", "predictions")
    if predictions.empty or "comparison" not in predictions:
        return pd.DataFrame()
    paper = paper_values.load("p3_table2")
    paper = paper[paper["view"] == "crop"].set_index("model")
    rows = []
    for name in protocol.COMPARISONS:
        part = predictions[predictions["comparison"] == name]
        if part.empty or f"score_{name}" not in part:
            continue
        ours = protocol.patient_level(part["y_true"], part[f"score_{name}"], part["patient"])
        image = protocol.image_level(part["y_true"], part[f"score_{name}"])
        ci = patient_table_ci(part.assign(model=name, y_score=part[f"score_{name}"]), ["model"], n_boot, seed).iloc[0]
        row = {"model": name, "n_patients": int(ours["n_patients"]), "image auc (ours)": round(image["auc"], 3),
               "image auc [95% CI] (ours)": format_ci(ci["auc"], ci["auc_low"], ci["auc_high"]),
               "accuracy [95% CI] (ours)": _percent_ci(ci, "vote_accuracy"),
               "degenerate (ours)": bool(image["degenerate"])}
        for metric in ("accuracy", "precision", "specificity", "sensitivity", "f1"):
            row[f"{metric} (ours)"] = round(100 * ours[metric], 2)
            if name in paper.index:
                row[f"{metric} (P3)"] = f"{paper.loc[name, metric + '_mean']:.2f} ± {paper.loc[name, metric + '_sd']:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def masking_table(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The nested-CV B-mode full-image arms without and with the burned-in annotations masked, with CIs."""
    predictions = results.part("busi", "nested", "predictions")
    if predictions.empty or "masked" not in predictions:
        return pd.DataFrame()
    predictions = predictions[(predictions["view"] == "full") & (predictions["input"] == "B")
                              & predictions["masked"].notna()]
    if predictions.empty:
        return pd.DataFrame()
    predictions = predictions.assign(masked=predictions["masked"].astype(bool))
    return _with_ci_strings(patient_table_ci(long_predictions(predictions), ["masked", "model"], n_boot, seed))


def masking_sentence(table: pd.DataFrame, model: str = "ensemble") -> str:
    """The ``model``'s image AUC on full B-mode images without and with the annotations masked."""
    if table is None or table.empty:
        return "The masking arms did not run."
    rows = {bool(m): r for m, r in table[table["model"] == model].set_index("masked").iterrows()}
    if set(rows) != {False, True}:
        return f"The masking arms of the {model} did not both run."
    off, on = rows[False], rows[True]
    overlap = not (off["auc_low"] > on["auc_high"] or on["auc_low"] > off["auc_high"])
    return (f"Full B-mode images, {model}, nested patient-grouped CV: image AUC "
            f"{format_ci(off['auc'], off['auc_low'], off['auc_high'])} unmasked and "
            f"{format_ci(on['auc'], on['auc_low'], on['auc_high'])} with the burned-in annotations masked; "
            + ("the two CIs overlap, so this run shows no measurable reliance on the annotations."
               if overlap else "the CIs do not overlap: the unmasked models lean on the annotations."
               if off["auc"] > on["auc"] else "the CIs do not overlap, and masking helps."))


def ddti_table(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """B-mode on real DDTI (case = patient), nested CV: eq. 1 and eq. 2 with patient-cluster bootstrap CIs."""
    predictions = results.part("ddti", "nested", "predictions")
    if predictions.empty:
        return pd.DataFrame()
    return _with_ci_strings(patient_table_ci(long_predictions(predictions), ["model"], n_boot, seed))


def negative_control_sentence(controls: pd.DataFrame, input_name: str = "SE", model: str = "ensemble") -> str:
    """Whether the ``input_name``-only AUC CI at separation 0 includes 0.5 (it must), from ``controls``."""
    if controls.empty:
        return "The negative control did not run."
    row = controls[(controls["input"] == input_name) & (controls["separation"] == 0.0) & (controls["model"] == model)]
    if row.empty:
        return f"The negative control ({input_name} only, separation 0) did not run."
    row = row.iloc[0]
    ci = format_ci(row["auc"], row["auc_low"], row["auc_high"])
    if math.isnan(row["auc_low"]):
        return f"Negative control ({input_name} only, class-independent ratios, {model}): AUC {ci}; no CI."
    holds = row["auc_low"] <= 0.5 <= row["auc_high"]
    verdict = ("its 95 % CI includes 0.5, as it must: the strain channel carries no class signal when the "
               "ratios are drawn class-independently" if holds else
               "its 95 % CI excludes 0.5: the strain channel leaks something other than the drawn stiffness, "
               "and the simulated-strain results below are not to be trusted")
    return (f"Negative control ({input_name} only, class-independent ratios, {model}): AUC {ci}; {verdict}."
            + _off_chance_models(controls, input_name, model))


def _off_chance_models(controls: pd.DataFrame, input_name: str, criterion: str) -> str:
    """The other models on the same negative control whose AUC CI excludes 0.5 (``""``: none), with the side."""
    same = controls[(controls["input"] == input_name) & (controls["separation"] == 0.0)
                    & ~controls["model"].isin([criterion, "oracle"])].dropna(subset=["auc_low", "auc_high"])
    below = same[same["auc_high"] < 0.5]
    above = same[same["auc_low"] > 0.5]
    if below.empty and above.empty:
        return ""
    out = []
    for side, rows in (("below", below), ("above", above)):
        if rows.empty:
            continue
        named = ", ".join(f"{r.model} {format_ci(r.auc, r.auc_low, r.auc_high)}" for r in rows.itertuples())
        out.append(f"{named} {'lies' if len(rows) == 1 else 'lie'} {side} chance")
    n = len(same)
    text = f" Of the {n} other models on this control, " + "; ".join(out) + "."
    if not above.empty:
        return text + " A model above chance on class-independent strain points to a leak; read its results with care."
    return (text + f" Below chance means ranking the test images against their labels: with {n} models each tested "
            "at the 95 % level, one such miss is expected in about one run in " f"{round(1 / (1 - 0.95 ** n))}, and "
            "a leak of class information would push the AUC above 0.5, not below.")


def leak_probe_sentence(probe: pd.DataFrame, chapter: str = "strain-2 (chapter)") -> str:
    """What :func:`leakage.leak_probe` found: the chapter generator's probe AUC and which settings leak."""
    if probe is None or probe.empty:
        return "The strain-leak probe did not run."
    row = probe[probe["generator"] == chapter]
    if row.empty:
        return f"The strain-leak probe did not run the chapter's generator ({chapter})."
    row = row.iloc[0]
    verdict = ("its 95 % CI includes 0.5: the crop's colours carry no class signal a linear probe finds"
               if row["includes_chance"] else
               "its 95 % CI excludes 0.5: the chapter's strain crops still carry class information the simulation "
               "did not inject")
    leaky = probe[(probe["generator"] != chapter) & ~probe["includes_chance"]]
    tail = ("" if leaky.empty else " Settings whose probe CI excludes 0.5 (they leak): "
            + "; ".join(f"{r['generator']} {r['auc [95% CI]']}" for _, r in leaky.iterrows()) + ".")
    return (f"Strain-leak probe (SE crops, class-independent ratios, {int(row['n_images'])} images of "
            f"{int(row['n_patients'])} patients, linear probe on block colours, patient-grouped CV): the chapter's "
            f"generator gives AUC {row['auc [95% CI]']}; {verdict}.{tail}")


def dose_response_figure(controls: pd.DataFrame):
    """Image AUC (95 % CI) against the class separation of the drawn ratios, one panel per input (a note when no
    control ran)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report.figures import LINE_STYLES, MARKERS, finish  # noqa: PLC0415

    if controls.empty:
        return markdown("No control ran.")
    data = controls[controls["separation"].notna()] if not controls.empty else controls
    inputs = [i for i in protocol.INPUTS if not data.empty and i in set(data["input"]) and i != "B"]
    fig, axes = plt.subplots(1, max(1, len(inputs)), figsize=(4.2 * max(1, len(inputs)), 3.2), squeeze=False)
    for ax, input_name in zip(axes[0], inputs):
        part = data[data["input"] == input_name]
        for k, model in enumerate(MODEL_ORDER):
            rows = part[part["model"] == model].sort_values("separation")
            if rows.empty:
                continue
            ax.errorbar(rows["separation"], rows["auc"], yerr=[rows["auc"] - rows["auc_low"],
                                                               rows["auc_high"] - rows["auc"]],
                        marker=MARKERS[k % len(MARKERS)], ls=LINE_STYLES[k % len(LINE_STYLES)], capsize=3,
                        label=model)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(title=f"{input_name} (simulated strain)", xlabel="class separation of drawn ratios",
               ylabel="image AUC", ylim=(0, 1.05))
        ax.legend(fontsize=8)
    return finish(fig)


def masking_example(table: pd.DataFrame, n: int = 3, size: int = 192):
    """A few full images with the :func:`~mstl_lib.data.annotations.annotation_mask` drawn over them in vermillion (a note
    when ``table`` is None: BUSI is not available)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.data.annotations import annotation_mask  # noqa: PLC0415
    from mstl_lib.data.images import read_image  # noqa: PLC0415
    from mstl_lib.report.figures import finish  # noqa: PLC0415

    if table is None:
        return markdown("BUSI is not available: no example.")
    rows = table.head(n)
    fig, axes = plt.subplots(1, max(1, len(rows)), figsize=(3.0 * max(1, len(rows)), 3.1), squeeze=False)
    for ax, row in zip(axes[0], rows.itertuples(index=False)):
        import cv2  # noqa: PLC0415

        native = read_image(row.path, channels=3)
        image = cv2.resize(native, (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(annotation_mask(native).astype("float32"), (size, size), interpolation=cv2.INTER_AREA) > 0
        shown = image.copy()
        shown[mask] = 0.5 * shown[mask] + 0.5 * np.array([0.84, 0.37, 0.0])  # Okabe–Ito vermillion
        ax.imshow(shown)
        ax.set_title(f"masked: {mask.mean():.0%} of pixels (shown at {size} px)", fontsize=8)
        ax.axis("off")
    return finish(fig)


def strain_examples(table: pd.DataFrame, seed: int = 0, per_class: int = 2, size: int = 160):
    """B-mode, simulated strain (full) and the B-mode / strain crops of a few benign and malignant images (a note
    when ``table`` is None: BUSI is not available)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report.figures import finish  # noqa: PLC0415

    if table is None:
        return markdown("BUSI is not available: no strain images to show.")
    rows = pd.concat([part.head(per_class) for _, part in table.groupby("target")], ignore_index=True)
    ratios = protocol.patient_ratios(rows, 1.0, seed)
    full = protocol.model_inputs(rows, "BSE", "full", size, ratios, seed, work_size=size)
    crop = protocol.model_inputs(rows, "BSE", "crop", size, ratios, seed, work_size=size)
    fig, axes = plt.subplots(len(rows), 4, figsize=(8, 2.1 * len(rows)), squeeze=False)
    for i, row in rows.iterrows():
        label = "malignant" if row["target"] else "benign"
        panels = [(full[i, ..., 0], "gray", f"{label}: B-mode"), (full[i, ..., 1:], None, f"strain, ratio {ratios[i]:.2f}"),
                  (crop[i, ..., 0], "gray", "B-mode crop"), (crop[i, ..., 1:], None, "strain crop")]
        for ax, (image, cmap, title) in zip(axes[i], panels):
            ax.imshow(image, cmap=cmap, vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    return finish(fig)


# ----------------------------------------------------------------- closing note


def _row(table: pd.DataFrame, **where) -> pd.Series | None:
    if table.empty:
        return None
    mask = np.ones(len(table), dtype=bool)
    for key, value in where.items():
        mask &= table[key].to_numpy() == value
    return table[mask].iloc[0] if mask.any() else None


def closing_note(controls: pd.DataFrame, ddti: pd.DataFrame, profile: str, runtime_seconds: float | None,
                 records: pd.DataFrame | None = None) -> str:
    """The chapter's closing paragraph: oracle, negative control, ensemble, DDTI, degenerate models, runtime,
    all from the results."""
    lines = [f"Profile `{profile}`. BUSI numbers come from simulated strain (see the banner)."]
    oracle = _row(controls, input="BSE", separation=1.0, model="oracle") if not controls.empty else None
    if oracle is None and not controls.empty:
        oracle = _row(controls, input="SE", separation=1.0, model="oracle")
    if oracle is not None:
        lines.append(f"The oracle, classifying from the drawn ratio alone (fitted separation), reaches image AUC "
                     f"{format_ci(oracle['auc'], oracle['auc_low'], oracle['auc_high'])} and patient vote accuracy "
                     f"{format_ci(oracle['vote_accuracy'], oracle['vote_accuracy_low'], oracle['vote_accuracy_high'])}"
                     ": the ceiling of what the simulation injected.")
    lines.append(negative_control_sentence(controls))
    for input_name in ("BSE", "SE", "B"):
        ensemble = _row(controls, input=input_name, separation=1.0, model="ensemble") if not controls.empty else None
        if ensemble is not None:
            lines.append(f"The feature ensemble on {input_name} (fitted separation, nested patient-grouped CV) reaches "
                         f"image AUC {format_ci(ensemble['auc'], ensemble['auc_low'], ensemble['auc_high'])} and "
                         f"patient vote accuracy {format_ci(ensemble['vote_accuracy'], ensemble['vote_accuracy_low'], ensemble['vote_accuracy_high'])}.")
    if not ddti.empty:
        parts = [f"{r['model']} vote accuracy {format_ci(r['vote_accuracy'], r['vote_accuracy_low'], r['vote_accuracy_high'])}"
                 f", recognition rate {format_ci(r['recognition_rate'], r['recognition_rate_low'], r['recognition_rate_high'])}"
                 for _, r in ddti.iterrows() if r["model"] in (*protocol.CONSTITUENTS, "ensemble")]
        lines.append(f"On real DDTI B-mode ({int(ddti['n_patients'].iloc[0])} cases as patients): " + "; ".join(parts) + ".")
    if records is not None:
        lines.append(degenerate_note(records))
    if runtime_seconds is not None:
        lines.append(f"This page's grids ran in {runtime_seconds:.0f} s (cached tasks count as their reading time).")
    return " ".join(lines)


# ----------------------------------------------------------------- audit and scorecard

NOTEBOOK = "06_elastography"
SECTIONS = {"numbers": "P3's own numbers and arithmetic", "controls": "Controls: oracle, negative control and "
            "dose-response (nested patient-grouped CV)", "table1": "Table 1 under P3's protocol, beside P3's"}
"""The chapter's sections that hold each claim's evidence (their headings)."""
PRIVATE = ("P3's B-mode + strain images are private; this book's strain images are simulated, so no number here "
           "can reproduce or refute P3's")
LEAK = "P3 picks its freezing depth by trial and error without saying on which patients"


def audit_note(where: str | None = None, data_dir="auto") -> str:
    """The audit's inconsistent findings about P3's numbers at ``where`` (``"Table 1"``, ...)."""
    from mstl_lib.evaluation.audit import paper_note  # noqa: PLC0415
    from mstl_lib.papers.p3_elastography import audit  # noqa: PLC0415

    return paper_note(audit.findings, where, data_dir)


def paper_claims() -> list:
    """P3's claims with the paper's values; every one needs P3's private data."""
    from mstl_lib.papers.p3_elastography import audit  # noqa: PLC0415
    from mstl_lib.report.scorecard import Claim, evidence_link  # noqa: PLC0415

    t1 = paper_values.load("p3_table1")
    patient = t1[t1["level"] == "patient"].set_index(["input", "view", "model"])
    best = patient.loc[("BSE", "crop", "ensemble")]
    image = t1[(t1["level"] == "image") & (t1["input"] == "BSE") & (t1["view"] == "crop")
               & (t1["model"] == "ensemble")].iloc[0]
    link = evidence_link(NOTEBOOK, SECTIONS["table1"])
    flaws = (LEAK,)
    return [
        Claim("P3", audit.SENSITIVITY, "The B-SE ensemble (cropped) reaches 88.89 % sensitivity patient-wise",
              f"{best['sensitivity_mean']:.2f} ± {best['sensitivity_sd']:.2f} %", "patient-wise sensitivity (eq. 1)",
              paper_number=float(best["sensitivity_mean"]) / 100, unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.SPECIFICITY, "The B-SE ensemble (cropped) reaches 91.10 % specificity patient-wise",
              f"{best['specificity_mean']:.2f} ± {best['specificity_sd']:.2f} %", "patient-wise specificity (eq. 1)",
              paper_number=float(best["specificity_mean"]) / 100, unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.ENSEMBLE_BEST, "The feature ensemble beats AlexNet and ResNet-18 alone",
              f"accuracy {best['accuracy_mean']:.2f} vs {patient.loc[('BSE', 'crop', 'AlexNet'), 'accuracy_mean']:.2f}"
              f" / {patient.loc[('BSE', 'crop', 'ResNet18'), 'accuracy_mean']:.2f} %",
              "ensemble − best constituent, patient-wise accuracy", kind="greater", unavailable=PRIVATE,
              protocol_flaws=flaws, evidence=link),
        Claim("P3", audit.BSE_BEATS_B, "Stacking strain with B-mode beats B-mode alone",
              f"accuracy {best['accuracy_mean']:.2f} vs {patient.loc[('B', 'crop', 'ensemble'), 'accuracy_mean']:.2f} %",
              "B-SE − B ensemble, patient-wise accuracy", kind="greater", unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.PATIENT_BEATS_IMAGE, "Patient-wise accuracy is ~3 % above image-wise",
              f"{best['accuracy_mean']:.2f} vs {image['accuracy_mean']:.2f} %", "patient − image accuracy",
              kind="greater", unavailable=PRIVATE, protocol_flaws=flaws, evidence=link),
        Claim("P3", audit.PPV_TESTS, "The ensemble's PPVs are significantly higher (Fig. 5 t-tests)",
              "p < 0.05 in every comparison", "paired patient-level test of the PPVs", kind="greater",
              unavailable=PRIVATE, evidence=evidence_link(NOTEBOOK, SECTIONS["numbers"])),
    ]


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P3's claims (:func:`paper_claims`). Each needs P3's private data, so none is filled in from our
    simulated-strain records; the chapter shows those as pipeline tests. Never trains."""
    return [claim.with_result(None, None, profile=profile, data="BUSI with simulated strain; DDTI B-mode")
            for claim in paper_claims()]


# ----------------------------------------------------------------- Fig. 5: PPV tests


def ppv(predictions: pd.DataFrame) -> pd.Series:
    """P3's predictive probability value of each row: the softmax probability of the image's actual class."""
    return predictions["y_score"].where(predictions["y_true"] == 1, 1 - predictions["y_score"])


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def ppv_tests(predictions: pd.DataFrame, pairs=(("ensemble", "AlexNet"), ("ensemble", "ResNet18"))) -> pd.DataFrame:
    """Fig. 5's comparison of PPVs between models, as P3 did it and at the patient level.

    ``predictions`` is :func:`long_predictions` output of one arm (one input and separation),
    pooled over folds. ``image t-test`` is Welch's t-test on the images' PPVs of the two
    models (P3 says "t-statistics" on the PPV distributions; the images of one patient are
    not independent, and both models score the same images). ``patient paired t-test``
    averages each patient's PPVs per model and pairs the models by patient; its p-values are
    Holm-adjusted over the pairs compared.
    """
    from scipy import stats as st  # noqa: PLC0415

    rows = []
    for first, second in pairs:
        a = predictions[predictions["model"] == first]
        b = predictions[predictions["model"] == second]
        if a.empty or b.empty:
            continue
        image = st.ttest_ind(ppv(a), ppv(b), equal_var=False)
        per_patient = pd.DataFrame({first: ppv(a).groupby(a["patient"]).mean(),
                                    second: ppv(b).groupby(b["patient"]).mean()}).dropna()
        paired = st.ttest_rel(per_patient[first], per_patient[second])
        rows.append({"comparison": f"{first} vs {second}", "mean PPV": f"{ppv(a).mean():.3f} vs {ppv(b).mean():.3f}",
                     "n_images": len(a), "n_patients": len(per_patient), "image t-test p": float(image.pvalue),
                     "patient paired t-test p": float(paired.pvalue)})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["patient p (Holm)"] = holm(frame["patient paired t-test p"])
    return frame


def fig5_tests(results: Results) -> pd.DataFrame:
    """:func:`ppv_tests` on the nested-CV BUSI arm with a strain channel at the fitted separation (B-SE when
    it ran, else SE), every patient tested once; an ``input`` column says which."""
    predictions = results.part("busi", "nested", "predictions")
    if predictions.empty:
        return pd.DataFrame()
    for input_name in ("BSE", "SE"):
        arm = predictions[(predictions["input"] == input_name) & (predictions["separation"] == 1.0)]
        if len(arm):
            return ppv_tests(long_predictions(arm)).assign(input=input_name)
    return pd.DataFrame()


def test_size_sentence(search: pd.DataFrame, stated: int = 20) -> str:
    """What :func:`audit.test_size_search` output says: the stated size's fit, the best size and its conventions."""
    if search.empty:
        return "No cell to check."
    cells = int(search["cells"].iloc[0])
    best = search.loc[search["mean attainable"].idxmax()]
    stated_row = search[search["test_size"] == stated]
    stated_n = int(stated_row["mean attainable"].iloc[0]) if len(stated_row) else 0
    conventions = [c for c in ("SD (n-1)", "SD (n)", "SE (n-1)", "SE (n)") if c in best]
    top = max(int(best[c]) for c in conventions)
    fits = " and ".join(c for c in conventions if int(best[c]) == top and top > 0) or "no convention"
    return (f"With the stated {stated} test patients, {stated_n} of P3's {cells} patient-wise accuracy means can "
            f"be a mean of 5 fold models at all. With {int(best['test_size'])} test patients, "
            f"{int(best['mean attainable'])} can, and their ± fits {fits} best ({top} cells). P3's patient-wise "
            "means are therefore not what 5 models tested on the same 20 patients give; our tables print SD (n − 1) "
            "over the folds run.")


def misdiagnosis_counts(results: Results, input_name: str = "BSE", view: str = "crop", model: str = "ensemble",
                        share: float = 0.6) -> pd.DataFrame:
    """Table 4's count: test patients the ``model`` misdiagnosed (eq. 1 vote) in at least ``share`` of the folds
    run under P3's protocol (P3: 3 of 5), with the drawn strain ratio beside each (simulated strain)."""
    predictions = results.part("busi", "p3", "predictions")
    columns = ["patient", "true class", "predicted class", "times misdiagnosed", "folds", "drawn ratio"]
    if predictions.empty:
        return pd.DataFrame(columns=columns)
    arm = predictions[(predictions["input"] == input_name) & (predictions["view"] == view)]
    score = f"score_{model}"
    if arm.empty or score not in arm:
        return pd.DataFrame(columns=columns)
    folds = arm["fold"].nunique()
    rows = {}
    for _, part in arm.groupby("fold"):
        ids, labels = patients.patient_labels(part["y_true"], part["patient"])
        _, votes = patients.majority_vote(part[score], part["patient"], tie=protocol.TIE_RULE)
        ratio = part.groupby("patient")["ratio"].first()
        for pid, label, vote in zip(ids, labels, votes, strict=True):
            entry = rows.setdefault(pid, {"patient": pid, "true class": "malignant" if label else "benign",
                                          "predicted class": "malignant" if not label else "benign",
                                          "times misdiagnosed": 0, "folds": folds,
                                          "drawn ratio": float(ratio.get(pid, np.nan))})
            entry["times misdiagnosed"] += int(vote != label)
    table = pd.DataFrame(list(rows.values()), columns=columns)
    needed = max(1, int(np.ceil(share * folds)))
    return table[table["times misdiagnosed"] >= needed].sort_values("times misdiagnosed", ascending=False,
                                                                     ignore_index=True)


def gradcam_record(results: Results) -> dict | None:
    """The Grad-CAM maps of the first finished B-SE task (P3's protocol first), with its config, or None."""
    for split in ("p3", "nested"):
        for record in results.raw:
            maps = (record.get("extra") or {}).get("gradcam")
            if maps and record.get("status") == "done" and record.get("context", {}).get("protocol", split) == split:
                return {"maps": maps, "config": record.get("config", {})}
    return None


def gradcam_figure(found: dict | None):
    """B-mode channel, each extractor's Grad-CAM and P3's combined map, for a benign and a malignant test image."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report.figures import finish  # noqa: PLC0415

    if not found:
        return _markdown("No B-SE task stored Grad-CAM maps.")
    maps = found["maps"]
    columns = [("image", "B-mode channel"), *[(c, f"{c} Grad-CAM") for c in protocol.CONSTITUENTS if c in maps],
               ("combined", "combined (P3)")]
    fig, axes = plt.subplots(len(maps["rows"]), len(columns), figsize=(2.2 * len(columns), 2.3 * len(maps["rows"])),
                             squeeze=False)
    for i, label in enumerate(maps["label"]):
        for ax, (key, title) in zip(axes[i], columns):
            ax.imshow(np.asarray(maps["image"][i]), cmap="gray")
            if key != "image":
                ax.imshow(np.asarray(maps[key][i]), cmap="inferno", alpha=0.45, vmin=0, vmax=1)
            called = "malignant" if maps["class_index"][i] else "benign"
            ax.set_title(f"{'malignant' if label else 'benign'}, called {called}\n{title}" if key == "image" else title,
                         fontsize=8)
            ax.axis("off")
    return finish(fig)
