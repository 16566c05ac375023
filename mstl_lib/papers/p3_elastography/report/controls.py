"""Controls: the oracle and negative controls, masking, DDTI, the leak probe and their figures."""

from __future__ import annotations

import math

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data.annotations import annotation_mask
from mstl_lib.data.images import read_image
from mstl_lib.evaluation.bootstrap import format_ci
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.papers.p3_elastography.report.patient_cis import (
    long_predictions, patient_table_ci, percent_ci, with_ci_strings,
)
from mstl_lib.papers.p3_elastography.report.records import MODEL_ORDER, Results
from mstl_lib.report.banner import markdown
from mstl_lib.report.figures import finish, LINE_STYLES, MARKERS, OUTLINE_RGB


def busi_patient_table(run, seed: int = 0) -> pd.DataFrame | None:
    """P3's patient table of BUSI under ``run`` (its ``max_images``), built once for the chapter's figures and
    probe; None when BUSI is not available."""
    source = run.source("busi", "train")
    return None if source is None else protocol.patient_table(source, run.settings["max_images"], seed)


def controls_table(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The nested-CV BUSI arms: every (input, separation, model) with patient-cluster bootstrap CIs.

    Separation 0 is the negative control; the oracle rows are the ceiling the simulation injected.
    """
    predictions = results.part("predictions", dataset="busi", protocol="nested")
    if not predictions.empty and "view" in predictions:
        predictions = predictions[predictions["view"] == "crop"]
    if not predictions.empty and "comparison" in predictions:
        predictions = predictions[predictions["comparison"].isna()]
    if predictions.empty:
        return pd.DataFrame()
    table = patient_table_ci(long_predictions(predictions), ["input", "separation", "model"], n_boot, seed)
    return with_ci_strings(table)


def table2_beside_paper(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Table 2's comparison models (B-SE crops, nested CV, pooled over the folds run), patient-wise eq. 1
    metrics in %, beside P3's printed crop row (mean ± SD over its folds); with our image AUC and whether
    the model is degenerate (nearly every test image one class: its accuracy is a class share). Our accuracy
    and AUC carry 95 % CIs from a bootstrap that resamples patients."""
    predictions = results.part("predictions", dataset="busi", protocol="nested")
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
               "accuracy [95% CI] (ours)": percent_ci(ci, "vote_accuracy"),
               "degenerate (ours)": bool(image["degenerate"])}
        for metric in ("accuracy", "precision", "specificity", "sensitivity", "f1"):
            row[f"{metric} (ours)"] = round(100 * ours[metric], 2)
            if name in paper.index:
                row[f"{metric} (P3)"] = f"{paper.loc[name, metric + '_mean']:.2f} ± {paper.loc[name, metric + '_sd']:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def masking_table(results: Results, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The nested-CV B-mode full-image arms without and with the burned-in annotations masked, with CIs."""
    predictions = results.part("predictions", dataset="busi", protocol="nested")
    if predictions.empty or "masked" not in predictions:
        return pd.DataFrame()
    predictions = predictions[(predictions["view"] == "full") & (predictions["input"] == "B")
                              & predictions["masked"].notna()]
    if predictions.empty:
        return pd.DataFrame()
    predictions = predictions.assign(masked=predictions["masked"].astype(bool))
    return with_ci_strings(patient_table_ci(long_predictions(predictions), ["masked", "model"], n_boot, seed))


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
    predictions = results.part("predictions", dataset="ddti", protocol="nested")
    if predictions.empty:
        return pd.DataFrame()
    return with_ci_strings(patient_table_ci(long_predictions(predictions), ["model"], n_boot, seed))


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


    if table is None:
        return markdown("BUSI is not available: no example.")
    rows = table.head(n)
    fig, axes = plt.subplots(1, max(1, len(rows)), figsize=(3.0 * max(1, len(rows)), 3.1), squeeze=False)
    for ax, row in zip(axes[0], rows.itertuples(index=False)):

        native = read_image(row.path, channels=3)
        image = cv2.resize(native, (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(annotation_mask(native).astype("float32"), (size, size), interpolation=cv2.INTER_AREA) > 0
        shown = image.copy()
        shown[mask] = 0.5 * shown[mask] + 0.5 * np.array(OUTLINE_RGB)
        ax.imshow(shown)
        ax.set_title(f"masked: {mask.mean():.0%} of pixels (shown at {size} px)", fontsize=8)
        ax.axis("off")
    return finish(fig)


def strain_examples(table: pd.DataFrame, seed: int = 0, per_class: int = 2, size: int = 160):
    """B-mode, simulated strain (full) and the B-mode / strain crops of a few benign and malignant images (a note
    when ``table`` is None: BUSI is not available)."""


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
