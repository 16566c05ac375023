"""Everything P1's pages show, built from stored records: tables beside the paper, figures, and every result sentence.

Each sentence that states a result or a direction (stage 1 learned or not,
the significance verdict, the leakage rerun, the closing note, chapter 02's
note) is produced here from the numbers, and says so when a conclusion does
not follow from them. The notebooks only call these functions.

Record frames are :func:`mstl_lib.engine.records_frame` tables; raw records
are the dicts of :func:`mstl_lib.engine.load_records`. Functions taking a
``chapter`` take the :class:`~mstl_lib.papers.p1_mstl.grids.ChapterRun` of
``grids.run_all``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from mstl_lib.data import tables
from mstl_lib.data.images import read_image
from mstl_lib.data.sources import REAL, load_source
from mstl_lib.evaluation import metrics, stats
from mstl_lib.papers.p1_mstl import cell_patches, protocol
from mstl_lib.report import finish, finish_roc_axes, learning_curves, markdown, plot_roc
from mstl_lib.report.figures import OKABE_ITO
from mstl_lib.report import tables as tables_report
from mstl_lib.report.degenerate import chance_ranking_sentence, epochs_phrase
from mstl_lib.report.operating_point import operating_point_sentence
from mstl_lib.report.tables import aggregate, beside_paper
from mstl_lib.nn.weights import weights_descriptions, weights_entries

STAGE1_METRICS = protocol.STAGE1_METRICS
"""The stage-1 metrics this module reads."""
STAGE2_METRICS = protocol.TABLE1_METRICS
"""The stage-2 metrics of Table 1."""
STAGE2_READ = protocol.STAGE2_RECORDED
"""Every stage-2 metric this module reads: Table 1's and the fold checks (:func:`degenerate_note`)."""
METRICS_BY_TASK = {"mstl_lib.papers.p1_mstl.tasks:stage1_task": STAGE1_METRICS,
                   "mstl_lib.papers.p1_mstl.tasks:stage2_task": STAGE2_READ}
"""The metrics this module reads from each task's records (the contract every paper declares)."""
ALPHA = 0.05

# =========================================================================== small helpers


def _done(records: pd.DataFrame) -> pd.DataFrame:
    return records[records["status"] == "done"] if "status" in records.columns else records


def _pct(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f} %"


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def per_fold_table(records: pd.DataFrame) -> pd.DataFrame:
    """Every stage-2 fold (the form of P1's Table S1): accuracy (%), AUC, balanced accuracy, predicted classes.

    ``degenerate`` marks a fold that gave at least 95 % of its test images one class.
    """
    columns = ["tl", "cnn", "optimizer", "fold", "accuracy", "auc", "balanced_accuracy", "sensitivity",
               "specificity", "pred_malignant", "n_test", "degenerate"]
    done = _done(records)
    if done.empty:
        return pd.DataFrame(columns=columns)
    out = done.rename(columns={"backbone": "cnn"}).copy()
    out["accuracy"] = 100 * out["accuracy"].astype(float)
    out["n_test"] = (out["pred_malignant"] + out["pred_benign"]).astype(int)
    out["pred_malignant"] = out["pred_malignant"].astype(int)
    out["degenerate"] = out["degenerate"].astype(float) > 0
    if "pred_malignant_own_threshold" in out.columns:  # what the network's own 0.5 called, before the operating point
        out["malignant_at_0.5"] = out["pred_malignant_own_threshold"]
        columns.insert(columns.index("n_test"), "malignant_at_0.5")
    return out[columns].sort_values(["tl", "cnn", "optimizer", "fold"]).reset_index(drop=True).round(3)


def degenerate_note(records: pd.DataFrame) -> str:
    """How many stage-2 folds put at least 95 % of their test images in one class, per arm.

    A degenerate fold's accuracy is the share of one class, not evidence of learning.
    """
    done = _done(records)
    if done.empty or "degenerate" not in done.columns:
        return "No finished stage-2 task records its predicted classes."
    parts = []
    for arm, rows in done.groupby("tl", sort=True):
        n_bad = int(rows["degenerate"].sum())
        malignant = rows["pred_malignant"].sum() / max(rows["pred_malignant"].sum() + rows["pred_benign"].sum(), 1)
        parts.append(f"{arm}: {n_bad} of {_plural(len(rows), 'fold')} degenerate, {malignant:.0%} of test images "
                     "predicted malignant")
    total = int(done["degenerate"].sum())
    verdict = ("**Some folds are degenerate**: their accuracy is a class share, not evidence that the network "
               "learned; read AUC and balanced accuracy instead." if total else
               "No fold is degenerate (every fold predicts both classes).")
    return ("; ".join(parts) + ". " + verdict + shifted_threshold_note(done) + chance_ranking_note(done)
            + operating_point_note(done))


def chance_ranking_note(done: pd.DataFrame) -> str:
    """Among the degenerate folds, those that rank their test images no better than chance (AUC at most 0.5):
    no threshold can make their calls mean anything. ``""`` when there is none."""
    needed = {"degenerate", "auc", "tl", "optimizer", "fold"}
    if done.empty or not needed <= set(done.columns):
        return ""
    bad = done[(done["degenerate"] == 1) & (done["auc"].astype(float) <= 0.5)]
    named = [f"{row.tl} {row.optimizer} fold {int(row.fold)} (AUC {float(row.auc):.2f})" for row in bad.itertuples()]
    return chance_ranking_sentence(named, "degenerate fold", _epochs_of(bad))


def operating_point_note(done: pd.DataFrame) -> str:
    """How many folds the operating point rescued: degenerate at the network's own 0.5, not at the chosen threshold.

    ``""`` when no record says what its own threshold called (records older than the operating point).
    """
    if done.empty or "pred_malignant_own_threshold" not in done.columns:
        return ""
    n_test = done["pred_malignant"].astype(float) + done["pred_benign"].astype(float)
    sentence = operating_point_sentence(n_test, done["pred_malignant"], done["pred_malignant_own_threshold"])
    return " " + sentence if sentence else ""


def shifted_threshold_note(done: pd.DataFrame) -> str:
    """Among the degenerate folds, those that still rank the images (AUC above 0.6) with every score on one side
    of 0.5: their decision threshold moved, their ranking did not collapse. ``""`` when there is none."""
    needed = {"degenerate", "auc", "score_min", "score_max"}
    if done.empty or not needed <= set(done.columns):
        return ""
    bad = done[done["degenerate"] == 1]
    one_side = (bad["score_max"] < 0.5) | (bad["score_min"] >= 0.5)
    shifted = bad[one_side & (bad["auc"] > 0.6)]
    if shifted.empty:
        return ""
    aucs = ", ".join(f"{a:.2f}" for a in shifted["auc"])
    return (f" {_plural(len(shifted), 'degenerate fold')} still rank{'s' if len(shifted) == 1 else ''} the test "
            f"images (AUC {aucs}) with every score on one side of 0.5: the threshold moved, the ranking did not "
            "collapse. The network was trained on BatchNorm statistics of batches of 16 and predicts with those of "
            f"the whole training part; after {_epochs_of(shifted)} from random weights its output is not calibrated "
            "across that switch.")


def _epochs_of(done: pd.DataFrame) -> str:
    """The stage-2 epochs these records trained for, in words."""
    return epochs_phrase(done["epochs"].tolist() if "epochs" in done.columns else [])


def failures(frame: pd.DataFrame):
    """The failed tasks (with their errors), or a line saying that none failed."""
    if frame.empty:
        return markdown("No task failed.")
    columns = [c for c in ("grid", "key", "fold", "tl", "backbone", "optimizer", "error_kind", "error_type",
                           "error_message") if c in frame.columns]
    return frame[columns]


# =========================================================================== Fig. 2a: segmentation


def _draw_boxes(ax, boxes, colour, width=1.0):
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=width))


def _outlined(image: np.ndarray, boxes, colour=(213, 94, 0)) -> np.ndarray:
    """RGB copy of ``image`` with ``boxes`` outlined one pixel wide (fast for thousands of boxes)."""
    import cv2  # noqa: PLC0415

    rgb = np.asarray(image)
    rgb = np.repeat(rgb[..., None], 3, axis=-1) if rgb.ndim == 2 else rgb[..., :3].copy()
    rgb = np.ascontiguousarray(rgb.astype(np.uint8))
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        cv2.rectangle(rgb, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), colour, 1)
    return rgb


def segmentation_panels(segmentation: cell_patches.CellSegmentation, title: str = "", n_patches: int = 4):
    """Fig. 2a: (i) frame, (ii) binary image, (iii) boxes (kept: thick blue; dropped: thin vermillion), (iv) patches."""
    kept = {tuple(b) for b in segmentation.boxes}
    dropped = [b for b in segmentation.all_boxes if tuple(b) not in kept]
    patches = cell_patches.crop_patches(segmentation.image, segmentation.boxes)
    order = np.argsort([-(p.shape[0] * p.shape[1]) for p in patches])[:n_patches]
    fig = plt.figure(figsize=(12, 3.4))
    patch_columns = max(1, (n_patches + 1) // 2)
    grid = fig.add_gridspec(2, 3 + patch_columns, width_ratios=[2, 2, 2] + [1] * patch_columns)
    panels = [fig.add_subplot(grid[:, i]) for i in range(3)]
    panels[0].imshow(segmentation.image, cmap="gray")
    panels[0].set_title("(i) frame", fontsize=9)
    panels[1].imshow(segmentation.dilated, cmap="gray")
    panels[1].set_title("(ii) adaptive threshold + 2×2 dilation", fontsize=9)
    panels[2].imshow(_outlined(segmentation.image, dropped))
    _draw_boxes(panels[2], segmentation.boxes, OKABE_ITO["sky blue"], 2.0)
    panels[2].set_title(f"(iii) {len(segmentation.boxes)} kept (thick, blue), {segmentation.n_discarded} dropped "
                        "(thin, vermillion; w + h < 100)", fontsize=8)
    for ax in panels:
        ax.axis("off")
    for k, index in enumerate(order):
        ax = fig.add_subplot(grid[k % 2, 3 + k // 2])
        ax.imshow(patches[index], cmap="gray")
        ax.axis("off")
        ax.set_title("(iv) patch" if k == 0 else "", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return finish(fig)


def demo_frames(frames: pd.DataFrame) -> pd.DataFrame:
    """The frames the segmentation figure shows: the bright-field frames of a flat set, else one frame per line."""
    if "modality" in frames.columns and (frames["modality"] == "bright-field").any():
        return frames[frames["modality"] == "bright-field"]
    return frames.groupby("label", sort=True).head(1)


def segmentation_demo(source, params: cell_patches.SegmentationParams | None = None) -> list:
    """Fig. 2a on each frame of :func:`demo_frames` of ``source`` (``cells``, use ``"show"``)."""
    if source is None:
        return [markdown("No cell frames in this run: the segmentation cannot be shown.")]
    params = params or cell_patches.SegmentationParams()
    figures = []
    for frame in demo_frames(load_source(source)).itertuples():
        image = read_image(frame.path, channels=3, dtype="uint8")
        title = f"{frame.label}: {str(frame.path).rsplit('/', 1)[-1]} ({source.kind})"
        figures.append(segmentation_panels(cell_patches.segment_cells(image, params), title=title))
    return figures


def annotation_sentence(check: dict, n_discarded: int) -> str:
    """What the check of the kept boxes against a manual segmentation found."""
    return (f"**HeLa DIC check:** {check['cells_in_a_box']} of {check['annotated_cells']} annotated cells lie inside "
            f"a kept box; {check['boxes_without_cell']} of {check['boxes']} kept boxes hold no annotated cell; a box "
            f"with cells holds {check['cells_per_box']:.1f} of them on average ({n_discarded} boxes dropped by the "
            "w + h < 100 rule).")


def annotation_check(source, params: cell_patches.SegmentationParams | None = None) -> list:
    """The first annotated frame of ``source``: its panels, the check's sentence, and the threshold sweep."""
    frames = None if source is None else load_source(source)
    if frames is None or "seg_path" not in frames.columns or not frames["seg_path"].notna().any():
        return [markdown("No annotated cell frame in this data folder: the check is skipped.")]
    from PIL import Image  # noqa: PLC0415

    params = params or cell_patches.SegmentationParams()
    item = frames[frames["seg_path"].notna()].iloc[0]
    image = read_image(item["path"], channels=3, dtype="uint8")
    labels = np.array(Image.open(item["seg_path"]))
    segmentation = cell_patches.segment_cells(image, params)
    check = cell_patches.annotation_check(segmentation.boxes, labels)
    return [segmentation_panels(segmentation, title=f"{item['label']}: annotated frame ({source.kind})"),
            markdown(annotation_sentence(check, segmentation.n_discarded)),
            markdown("P1 gives neither the threshold's neighbourhood nor its offset. How the check moves with them:"),
            cell_patches.parameter_sweep(image, labels, base=params)]


def patch_summary(patches: pd.DataFrame) -> pd.DataFrame:
    """Per cell line: source frames, patches, median patch width and height."""
    return patches.groupby("label").agg(frames=("frame", "nunique"), patches=("path", "size"),
                                        median_w=("w", "median"), median_h=("h", "median"))


def patch_examples(patches: pd.DataFrame, per_line: int = 6, size: int = 75, seed: int = 0):
    """A row of random patches per cell line (the stage-1 inputs, at the training size)."""
    lines = sorted(patches["label"].unique())
    fig, axes = plt.subplots(len(lines), per_line, figsize=(1.4 * per_line, 1.5 * len(lines)), squeeze=False)
    for row, line in enumerate(lines):
        part = patches[patches["label"] == line].sample(frac=1, random_state=seed).head(per_line)
        for col in range(per_line):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(part):
                ax.imshow(read_image(part["path"].iloc[col], channels=3, size=(size, size)))
        axes[row, 0].set_title(line, fontsize=8, loc="left")
    return finish(fig)


# =========================================================================== stage 1


def stage1_table(raw_records: list[dict]) -> pd.DataFrame:
    """One row per stage-1 task: test accuracy and loss, chance level, and an exact binomial test against chance."""
    rows = []
    for record in raw_records:
        row = {"backbone": record["config"]["backbone"], "optimizer": record["config"]["optimizer"],
               "labels": record["config"].get("labels", "true"), "status": record["status"],
               "wall_time_s": record.get("wall_time_s")}
        if record["status"] == "done":
            extra = record["extra"]
            test = stats.above_chance(round(record["metrics"]["accuracy"] * extra["n_test"]), extra["n_test"],
                                      1 / len(extra["classes"]))
            row.update({name: record["metrics"][name] for name in STAGE1_METRICS})
            grouped = bool(extra.get("grouped_by_frame", False))
            row.update(n_test=test["n"], chance=test["chance"], p_value=test["p_value"], grouped_by_frame=grouped,
                       learned=test["above_chance"] and grouped)
        rows.append(row)
    columns = ["backbone", "optimizer", "labels", "status", *STAGE1_METRICS, "n_test", "chance", "p_value",
               "grouped_by_frame", "learned", "wall_time_s"]
    return pd.DataFrame(rows, columns=columns)


def stage1_sentence(table: pd.DataFrame) -> str:
    """Whether stage 1 learned to tell the cell lines apart, from :func:`stage1_table`.

    The shuffled-label control is declared to sit at chance: it is reported, never judged.
    """
    finished = table[table["status"] == "done"]
    control = finished[finished["labels"] == "shuffled"] if "labels" in finished.columns else finished.iloc[0:0]
    done = finished.drop(control.index)
    note = ""
    if len(control):
        note = (f" The control's stage 1 (shuffled labels, a declared control meant to sit at chance) reached "
                f"{control['accuracy'].min():.2f} to {control['accuracy'].max():.2f}.")
    if done.empty:
        return "**No stage-1 task finished**, so no MSTL network could be trained." + note
    learned = done[done["learned"].astype(bool)]
    span = (f"Stage-1 test accuracy on the held-out patches: {done['accuracy'].min():.2f} to "
            f"{done['accuracy'].max():.2f}, against {done['chance'].iloc[0]:.2f} by chance "
            f"({int(done['n_test'].iloc[0])} test patches per task; exact binomial test, one-sided, at {ALPHA}).")
    if not done["grouped_by_frame"].astype(bool).all():
        return (span + f" **A diagnostic only**: with fewer than {protocol.STAGE1_MIN_FRAMES} frames per cell line the "
                "patches could not be split by source frame, so neighbouring cells of one frame sit on both sides "
                "of the split; this accuracy is no evidence that stage 1 learned the lines." + note)
    if len(learned) == len(done):
        return span + " Stage 1 learned to tell the lines apart in every configuration." + note
    failed = _join([f"{r.backbone}-{r.optimizer}" for r in done[~done["learned"].astype(bool)].itertuples()])
    return (span + f" **Stage 1 did not beat chance for {failed}**, so the MSTL networks built on it start from "
            "nearly untrained weights as well; for those, this run cannot test what cell pre-training adds." + note)


def weights_table(raw_records: list[dict]) -> pd.DataFrame:
    """Which weights the tasks actually started from, as their records state, one row per (arm, backbone, source)."""
    rows = [{"tl": r["config"].get("tl", "stage 1"), "backbone": r["config"]["backbone"],
             "weights_used": "; ".join(weights_descriptions(weights_entries([r]))), "started_from": (r.get("extra") or {}).get("started_from")}
            for r in raw_records if r["status"] == "done"]
    table = pd.DataFrame(rows, columns=["tl", "backbone", "weights_used", "started_from"])
    if table.empty:
        return table.assign(tasks=pd.Series(dtype=int))
    return table.groupby(["tl", "backbone", "weights_used", "started_from"], dropna=False, sort=False).size() \
        .rename("tasks").reset_index()


# =========================================================================== Table 1


def table1(records: pd.DataFrame) -> pd.DataFrame:
    """P1's Table 1 from stage-2 records: fold means per (TL, CNN, optimizer), accuracy in %.

    Columns ``tl, cnn, optimizer, n_folds``, the fold means of
    :data:`STAGE2_METRICS`, ``accuracy_sd`` (sample SD, %),
    ``avg_accuracy_cnn`` (mean over the CNN's optimizers, %) and, where the
    records hold them, ``balanced_accuracy`` (not in P1: unlike accuracy, it does
    not reward answering the majority class) and ``degenerate_folds`` (folds that
    called at least 95 % of their test images one class).
    """
    columns = ["tl", "cnn", "optimizer", "n_folds", *STAGE2_METRICS, "accuracy_sd", "avg_accuracy_cnn"]
    done = _done(records)
    if done.empty:
        return pd.DataFrame(columns=columns)
    extra = ["balanced_accuracy"] if "balanced_accuracy" in done.columns else []
    summary = aggregate(done, by=["tl", "backbone", "optimizer"], metrics=[*STAGE2_METRICS, *extra])
    out = pd.DataFrame({"tl": summary["tl"], "cnn": summary["backbone"], "optimizer": summary["optimizer"],
                        "n_folds": summary["n"]})
    for name in STAGE2_METRICS:
        out[name] = summary[f"{name}_mean"]
    out["accuracy"] = 100 * out["accuracy"]
    out["accuracy_sd"] = 100 * summary["accuracy_sd"]
    out["avg_accuracy_cnn"] = out.groupby(["tl", "cnn"])["accuracy"].transform("mean")
    for name in extra:
        out[name] = summary[f"{name}_mean"]
    if "degenerate" in done.columns:
        flagged = done.groupby(["tl", "backbone", "optimizer"], sort=False)["degenerate"].sum()
        out["degenerate_folds"] = [int(flagged.get((t, c, o), 0)) for t, c, o in
                                   zip(out["tl"], out["cnn"], out["optimizer"], strict=True)]
        extra.append("degenerate_folds")
    return out[columns + extra]


def _with_degenerate_folds(table: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``ours``' ``degenerate_folds`` joined on Table 1's keys (unchanged when ours has none)."""
    if "degenerate_folds" not in ours.columns:
        return table
    keys = list(protocol.TABLE1_KEYS)
    return table.merge(ours[keys + ["degenerate_folds"]], on=keys, how="left")


def format_table1(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Table 1 as P1 prints it: metrics rounded, test accuracy ``mean ± SD`` (%), average per CNN."""
    shown = table[["tl", "cnn", "optimizer"]].copy()
    for name in ("auc", "f1", "specificity", "sensitivity", "loss"):
        shown[name] = table[name].astype(float).round(digits)
    shown["test accuracy (%)"] = [metrics.format_mean_sd(m, s, 2)
                                  for m, s in zip(table["accuracy"], table["accuracy_sd"], strict=True)]
    if "balanced_accuracy" in table.columns:  # ours only: P1 does not report it
        shown["balanced accuracy"] = table["balanced_accuracy"].astype(float).round(digits)
    shown["avg. per CNN (%)"] = table["avg_accuracy_cnn"].astype(float).round(1)
    return shown


def pooled_ci(predictions: pd.DataFrame, groups: Mapping | None = None, n_boot: int = 1000,
              seed: int = 0) -> pd.DataFrame:
    """Pooled out-of-fold AUC, balanced accuracy and accuracy (%) per (TL, CNN, optimizer), each with a 95 % CI.

    :func:`mstl_lib.report.tables.pooled_ci` on the stage-2 test predictions; ``groups``
    (image path -> group) makes the bootstrap resample whole groups.
    """
    ci = tables_report.pooled_ci(predictions, ["tl", "backbone", "optimizer"], groups=groups, n_boot=n_boot,
                                 seed=seed).rename(columns={"backbone": "cnn"})
    for column in ("accuracy", "accuracy_low", "accuracy_high"):
        ci[column] = 100 * ci[column].astype(float)
    return ci


def table1_beside_paper(ours: pd.DataFrame, paper: pd.DataFrame | None = None,
                        ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ours, the paper's and ours − paper per cell (accuracy in percentage points); NaN where a side has no row.

    With ``ci`` (:func:`pooled_ci`), our pooled AUC, balanced accuracy and
    accuracy with their 95 % CIs stand beside the fold means, as strings
    ``"0.712 [0.650, 0.770]"``; the paper gives neither balanced accuracy nor CIs.
    """
    paper = protocol.paper_table1() if paper is None else paper
    table = beside_paper(ours, paper, on=list(protocol.TABLE1_KEYS), metrics=[*STAGE2_METRICS, "accuracy_sd"]).round(3)
    return _with_ci(_with_degenerate_folds(table, ours), ci)


def _with_ci(table: pd.DataFrame, ci: pd.DataFrame | None) -> pd.DataFrame:
    """``table`` with :func:`pooled_ci`'s AUC, balanced accuracy and accuracy CI strings joined on Table 1's keys."""
    if ci is None or ci.empty:
        return table
    shown = pd.concat([ci[list(protocol.TABLE1_KEYS)], tables_report.ci_strings(ci.assign(
        accuracy=ci["accuracy"] / 100, accuracy_low=ci["accuracy_low"] / 100, accuracy_high=ci["accuracy_high"] / 100),
        suffix="_ours_95ci", scale={"accuracy": 100})], axis=1)
    return table.merge(shown, on=list(protocol.TABLE1_KEYS), how="left")


def table1_caption(chapter) -> str:
    """Where our Table 1 departs from the paper's: data, sample, folds, epochs and starting weights."""
    settings, source = chapter.settings, chapter.plan.ultrasound
    context = chapter.grids["main"].context
    task_table = chapter.task_table("main")
    n_images = len(task_table)
    available = len(tables.binary_table(context["data_source"], "image", None, int(context["seed"])))
    counts = task_table["target"].value_counts()
    drawn = f"{int(counts.get(0, 0))} benign + {int(counts.get(1, 0))} malignant"
    sample = (f"a class-balanced draw ({drawn}, at most {context['per_class']} of each) of {available}"
              if context["per_class"] else
              f"a stratified sample of {n_images} of {available}" if n_images < available else f"all {n_images}")
    weights = _join(sorted({info["used"] for info in context["weights_info"].values()}))
    paper = "Mendeley 100 + 100, 5 folds of 50 epochs, ImageNet weights"
    return (f"**Ours:** {source.dataset} ({source.kind}), {sample} images, {len(chapter.grids['main'].fold_list)} of "
            f"{settings['n_splits']} outer folds, {_plural(settings['epochs'], 'epoch')}, CTL from {weights} weights, "
            f"MSTL from stage 1 on {chapter.plan.cells_train.kind} cell lines "
            f"({_plural(settings['stage1_epochs'], 'epoch')}). "
            f"**Paper:** {paper}.")


# =========================================================================== significance


def paper_ttest(paper: pd.DataFrame | None = None, reported_p: float | None = None) -> pd.DataFrame:
    """Every candidate t-test on the paper's own Table 1, with ``matches`` (rounds to the reported p)."""
    ctl, mstl = protocol.ttest_candidates(paper)
    reported_p = protocol.paper_p_value() if reported_p is None else reported_p
    variants = stats.t_test_variants(ctl, mstl)
    variants["matches"] = np.round(variants["p_value"], 4) == np.round(reported_p, 4)
    return variants


def paper_ttest_sentence(variants: pd.DataFrame, reported_p: float | None = None) -> str:
    """Which test reproduces P1's p-value, and what the others give (from :func:`paper_ttest`)."""
    reported_p = protocol.paper_p_value() if reported_p is None else reported_p
    matches = variants[variants["matches"]]
    if matches.empty:
        return f"No candidate t-test on {protocol.TTEST_SAMPLE} reproduces the paper's p = {reported_p}."
    names = _join([f"{m.test} {m.alternative}" for m in matches.itertuples()])
    others = variants[~variants["matches"] & (variants["alternative"] == "two-sided")]
    sentence = (f"Only the **{names} t-test** on {protocol.TTEST_SAMPLE} gives the paper's p = {reported_p} "
                f"(here p = {matches['p_value'].iloc[0]:.5f}).")
    unpaired = others[others["test"] != "paired"]
    if len(unpaired) and (unpaired["p_value"] >= ALPHA).all():
        sentence += (f" The two-sided unpaired tests give p = {unpaired['p_value'].min():.3f} or more, so the "
                     "paper's significance rests on pairing the configurations.")
    return sentence


def paired_accuracies(table: pd.DataFrame, by=("cnn", "optimizer"), value: str = "accuracy") -> pd.DataFrame:
    """CTL and MSTL ``value`` side by side for each (CNN, optimizer) present in both arms."""
    if table.empty:
        return pd.DataFrame(columns=[*by, "CTL", "MSTL"])
    wide = table.pivot_table(index=list(by), columns="tl", values=value, aggfunc="mean")
    for arm in protocol.ARMS:
        if arm not in wide.columns:
            wide[arm] = np.nan
    return wide.dropna(subset=list(protocol.ARMS)).reset_index()


def our_tests(records: pd.DataFrame) -> pd.DataFrame:
    """P1's test (paired, on configuration means) and a fold-level paired test on our records; rows need ≥ 2 pairs."""
    tests = []
    pairs = paired_accuracies(table1(records))
    if len(pairs) >= 2:
        tests.append({"level": "configuration means (as P1)", **stats.t_test(pairs["CTL"], pairs["MSTL"], "paired")})
    done = _done(records)
    done = done[done["tl"].isin(protocol.ARMS)] if "tl" in done.columns else done  # P1's two arms, not our control
    folds = stats.fold_pairs(done) if {"CTL", "MSTL"} <= set(done.get("tl", [])) else pd.DataFrame()
    if len(folds) >= 2:
        tests.append({"level": "folds", **stats.t_test(100 * folds["CTL"], 100 * folds["MSTL"], "paired")})
    return pd.DataFrame(tests, columns=["level", "test", "alternative", "n", "mean_difference", "statistic", "df",
                                        "p_value"])


def control_pairs(records: pd.DataFrame, metric: str = "auc") -> pd.DataFrame:
    """MSTL and the shuffled-label control per (backbone, optimizer, fold) where both ran."""
    done = _done(records)
    if done.empty or "tl" not in done.columns or not {"MSTL", protocol.CONTROL} <= set(done["tl"]):
        return pd.DataFrame(columns=["backbone", "optimizer", "fold", "MSTL", protocol.CONTROL])
    return stats.fold_pairs(done[done["tl"].isin(["MSTL", protocol.CONTROL])], metric)


def control_sentence(records: pd.DataFrame, alpha: float = ALPHA) -> str:
    """What the shuffled-label control says: does MSTL beat a stage 1 that saw the same patches without their labels?

    Fold-level AUC pairs (same test images); a paired t-test needs at least
    two pairs, and degenerate folds are reported, not tested.
    """
    pairs = control_pairs(records)
    if pairs.empty:
        return ("The shuffled-label control did not run in this profile, so MSTL's gain (if any) cannot be told apart "
                "from the effect of any extra training of the network.")
    difference = float((pairs["MSTL"] - pairs[protocol.CONTROL]).mean())
    lead = (f"MSTL against the shuffled-label control, {_plural(len(pairs), 'fold pair')} (same test images): mean AUC "
            f"difference {difference:+.3f}.")
    degenerate = degenerate_arms(records)
    if degenerate.get("MSTL") or degenerate.get(protocol.CONTROL):
        return lead + " Degenerate folds in these arms: no test is run."
    if len(pairs) < 2:
        return lead + " One pair: a direction, not a test; cells cannot be credited with MSTL's result."
    test = stats.t_test(pairs[protocol.CONTROL], pairs["MSTL"], "paired")
    verdict = (f"MSTL beats the control (p = {test['p_value']:.3f}): the cell labels, not only the extra training, "
               "carry what stage 1 adds." if test["p_value"] < alpha and difference > 0 else
               f"MSTL does not beat the control (p = {test['p_value']:.3f}): what stage 1 adds here cannot be credited "
               "to the cell labels rather than to extra training of the network.")
    return lead + " " + verdict


def conclusion_limits(chapter) -> list[str]:
    """Why this run cannot test P1's claim as stated (empty when it follows the protocol in these respects)."""
    settings, plan = chapter.settings, chapter.plan
    limits = []
    if plan.ultrasound.kind != REAL:
        limits.append(f"the ultrasound images are {plan.ultrasound.kind}, not real")
    context = chapter.grids["main"].context
    random = sorted(name for name, info in context["weights_info"].items() if info["used"] != "imagenet")
    if random:
        limits.append(f"CTL starts {_join(random)} from {context['weights_info'][random[0]]['used']} weights, "
                      "not ImageNet, so MSTL is random → cells → ultrasound and the comparison asks whether cell "
                      "pre-training helps an untrained network, not whether it adds to ImageNet features")
    if plan.cells_train.kind != REAL:
        limits.append("stage 1 trained on phantom cell lines, not on cancer-cell microscopy")
    stage1 = stage1_table(chapter.raw_records("stage1"))
    stage1 = stage1[stage1["labels"] == "true"]  # the shuffled-label control is meant to sit at chance
    if not stage1.empty and not stage1["learned"].fillna(False).astype(bool).all():
        limits.append("stage 1 did not beat chance in every configuration")
    if settings["epochs"] < protocol.EPOCHS:
        limits.append(f"stage 2 trained for {_plural(settings['epochs'], 'epoch')} and stage 1 for "
                      f"{_plural(settings['stage1_epochs'], 'epoch')}, where P1 trains {protocol.EPOCHS} each")
    return limits


def _verdict(tests: pd.DataFrame, alpha: float) -> str:
    significant = tests["p_value"] < alpha
    if significant.all() and (tests["mean_difference"] > 0).all():
        return "**survives** in this run: MSTL is significantly better at every level tested"
    if (significant & (tests["mean_difference"] < 0)).any():
        return "**does not survive** in this run: MSTL is significantly *worse* at some level"
    return "**does not survive** in this run: the difference is not significant at every level tested"


def degenerate_arms(records: pd.DataFrame) -> dict[str, int]:
    """Degenerate folds per arm (folds that put at least 95 % of their test images in one class)."""
    done = _done(records)
    if done.empty or "degenerate" not in done.columns:
        return {}
    counts = done.groupby("tl")["degenerate"].sum()
    return {arm: int(n) for arm, n in counts.items() if n > 0}


def significance_sentence(tests: pd.DataFrame, limits: list[str], alpha: float = ALPHA,
                          degenerate: Mapping[str, int] | None = None) -> str:
    """The verdict on P1's conclusion from :func:`our_tests`, and whether it bears on the claim.

    With degenerate folds in either arm (:func:`degenerate_arms`) no verdict is
    given: such a fold's accuracy is a class share, and a t-test on it compares
    class shares, not networks.
    """
    if degenerate:
        listed = _join([f"{_plural(n, 'degenerate fold')} in {arm}" for arm, n in sorted(degenerate.items())])
        return (f"**No verdict**: this run has {listed} (at least 95 % of the test images given one class), whose "
                "accuracy measures the class balance, not the network, so a t-test on them would compare class "
                "shares. The tests are not run; read the per-fold table, the AUCs and their confidence intervals.")
    if tests.empty:
        head = ("Too few CTL/MSTL pairs in this run for a t-test (a paired test needs at least two), so the paper's "
                "conclusion can be neither confirmed nor refuted here.")
    else:
        lines = [f"*{row['level']}*: {stats.summarize_test(row.to_dict(), alpha)}" for _, row in tests.iterrows()]
        undefined = tests["p_value"].isna().any()
        head = ("\n\n".join(lines) + "\n\nThe paper's conclusion (MSTL significantly better, p < 0.05) "
                + _verdict(tests, alpha) + "." + (" (A p-value is undefined where every pair differs by the "
                                                  "same amount.)" if undefined else ""))
    if limits:
        return head + " **This does not bear on P1's claim as stated**, because " + "; ".join(limits) + "."
    return head + (" The run has real data, ImageNet weights, a stage 1 that learned and P1's epochs, so the verdict "
                   "bears on the claim (for this run's ultrasound data).")


# =========================================================================== figures


def roc_by_arm(predictions: pd.DataFrame, arms=("MSTL", "CTL", protocol.CONTROL)):
    """Fig. 4: ROC curves per (CNN, optimizer), test predictions of all folds pooled, one panel per arm run."""
    if predictions.empty:
        return markdown("No finished task has predictions yet.")
    arms = [arm for arm in arms if arm in set(predictions["tl"])]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.8), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        for (backbone, optimizer), part in predictions[predictions["tl"] == arm].groupby(["backbone", "optimizer"]):
            plot_roc(ax, part["y_true"], part["y_score"], f"{backbone}-{optimizer}", digits=3)
        finish_roc_axes(ax, protocol.ARM_TITLES.get(arm, arm), fontsize=8)
    return finish(fig)


def factor_means(records: pd.DataFrame, arm: str = "MSTL") -> pd.DataFrame:
    """Fig. 5's numbers: ``arm`` test accuracy (%) per optimizer and per CNN, mean and SD over configuration means."""
    done = _done(records)
    done = done[done["tl"] == arm] if "tl" in done.columns else done.iloc[0:0]
    rows = []
    if not done.empty:
        config_means = done.groupby(["backbone", "optimizer"])["accuracy"].mean().mul(100).reset_index()
        for factor, column in (("optimizer", "optimizer"), ("cnn", "backbone")):
            for level, values in config_means.groupby(column)["accuracy"]:
                rows.append({"factor": factor, "level": level, "accuracy": values.mean(),
                             "accuracy_sd": values.std(ddof=1), "configurations": len(values)})
    return pd.DataFrame(rows, columns=["factor", "level", "accuracy", "accuracy_sd", "configurations"])


def factor_effects(records: pd.DataFrame, paper: pd.DataFrame | None = None, arm: str = "MSTL"):
    """Fig. 5: mean test accuracy (%) per optimizer and per CNN for ``arm``, ours beside the paper's text values."""
    paper = protocol.paper_factors() if paper is None else paper
    ours = factor_means(records, arm).set_index(["factor", "level"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, factor in zip(axes, ("optimizer", "cnn"), strict=True):
        theirs = paper[paper["factor"] == factor].set_index("level")
        levels = list(theirs.index)
        x = np.arange(len(levels))
        mine = [ours.loc[(factor, level)] if (factor, level) in ours.index else None for level in levels]
        ax.bar(x - 0.2, theirs["accuracy"], 0.4, yerr=theirs["accuracy_sd"], label="paper (Mendeley)",
               color="lightgrey", edgecolor="black", hatch="//", capsize=3)
        ax.bar(x + 0.2, [np.nan if m is None else m["accuracy"] for m in mine], 0.4,
               yerr=[np.nan if m is None else m["accuracy_sd"] for m in mine], label="reproduced", color=OKABE_ITO["blue"],
               capsize=3)
        ax.set_xticks(x, levels)
        ax.set_ylim(0, 105)
        ax.set_title(f"effect of the {'optimizer' if factor == 'optimizer' else 'CNN'} ({arm})", fontsize=10)
        ax.set_ylabel("test accuracy (%)")
    axes[1].legend(fontsize=8, loc="lower right")
    return finish(fig)


def factor_note(records: pd.DataFrame, arm: str = "MSTL") -> str:
    """Which of P1's factor levels this run covers (a missing level has no blue bar; one level has no SD)."""
    means = factor_means(records, arm)
    parts = []
    for factor, levels, name in (("optimizer", protocol.OPTIMIZERS, "optimizers"), ("cnn", protocol.BACKBONES, "CNNs")):
        present = means[means["factor"] == factor]
        parts.append(f"{len(present)} of P1's {len(levels)} {name}")
    note = f"This run's {arm} configurations cover {_join(parts)}; a level it did not run has no blue bar"
    single = means[means["configurations"] < 2]
    if len(single):
        note += ", and a level averaged over one configuration has no error bar"
    return note + "."


def feature_map_figure(image: np.ndarray, maps: dict[str, list[np.ndarray]], layer_names):
    """Fig. 6: channel-mean activation of each layer, one row per arm, on the same image.

    Each layer (column) has one colour scale shared by the arms, so that CTL and
    MSTL can be compared; the colour bar under each column gives it.
    """
    fig, axes = plt.subplots(len(maps), len(layer_names) + 1, figsize=(2.0 * (len(layer_names) + 1), 2.4 * len(maps)),
                             squeeze=False)
    means = {arm: [activation.mean(axis=-1) for activation in layers] for arm, layers in maps.items()}
    limits = [(min(float(means[arm][col].min()) for arm in maps), max(float(means[arm][col].max()) for arm in maps))
              for col in range(len(layer_names))]
    for row, (arm, layers) in enumerate(maps.items()):
        axes[row, 0].imshow(image)
        axes[row, 0].set_ylabel(arm)
        axes[row, 0].set_title("input" if row == 0 else "", fontsize=8)
        for col, (name, activation) in enumerate(zip(layer_names, layers, strict=True), start=1):
            low, high = limits[col - 1]
            shown = axes[row, col].imshow(means[arm][col - 1], cmap="inferno", vmin=low, vmax=high)
            if row == len(maps) - 1:
                fig.colorbar(shown, ax=axes[:, col].tolist(), orientation="horizontal", fraction=0.05, pad=0.04)
            if row == 0:
                axes[row, col].set_title(f"conv{col}: {name}\n{activation.shape[0]}×{activation.shape[1]}×"
                                         f"{activation.shape[2]}", fontsize=8)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    return finish(fig)


def kept_networks(raw_records: list[dict]) -> dict[str, dict]:
    """The finished records, by arm, whose trained network was saved and is still on disk."""
    from mstl_lib.paths import model_weights_dir  # noqa: PLC0415

    return {r["config"]["tl"]: r for r in raw_records
            if r["status"] == "done" and (r.get("extra") or {}).get("model_file")
            and (model_weights_dir() / r["extra"]["model_file"]).is_file()}


def feature_maps(chapter):
    """Fig. 6 from the kept ResNet50 CTL and MSTL networks of fold 0, on the same (malignant) test image."""
    kept = kept_networks(chapter.raw_records("main"))
    if not set(protocol.ARMS) <= set(kept) or kept["CTL"]["config"]["backbone"] != "ResNet50":
        return markdown("The feature-map figure needs the saved ResNet50 CTL and MSTL networks of fold 0 "
                        "(`build/weights`; delete their records to retrain them).")
    from mstl_lib.papers.p1_mstl import tasks  # noqa: PLC0415 - TensorFlow

    predictions = kept["MSTL"]["predictions"]
    malignant = [p for p, y in zip(predictions["path"], predictions["y_true"], strict=True) if y == 1]
    size = int(kept["MSTL"]["config"]["image_size"])
    example = read_image((malignant or predictions["path"])[0], channels=3, size=(size, size))
    maps = {arm: tasks.feature_maps(tasks.load_stage2_model(kept[arm]), example) for arm in protocol.ARMS}
    return feature_map_figure(example, maps, protocol.RESNET50_STAGES)


def learning_curves_by_arm(history: pd.DataFrame) -> list:
    """Figs. S1 and S2: per arm, training and validation accuracy, then loss, per optimizer and fold."""
    out = []
    present = set(history["tl"]) if "tl" in history.columns else set()
    for arm in [a for a in ("MSTL", "CTL", protocol.CONTROL) if a in present or a in protocol.ARMS]:
        part = history[history["tl"] == arm] if "tl" in history.columns else history.iloc[0:0]
        out.append(markdown(f"**{arm}**: training and validation accuracy, then loss, one panel per (CNN, "
                            "optimizer), one line per fold"))
        out.append(learning_curves(part, by=["backbone", "optimizer"], metrics=("accuracy", "val_accuracy")))
        out.append(learning_curves(part, by=["backbone", "optimizer"], metrics=("loss", "val_loss")))
    return out


# =========================================================================== MT-Small and leakage


def mt_small_table(records: pd.DataFrame, ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our MT-Small rows (both arms) beside P1's (MSTL only; its CTL cells are NaN); with ``ci``
    (:func:`pooled_ci` of the same tasks' predictions), our pooled values with their 95 % CIs."""
    ours = table1(records)
    table = beside_paper(ours, protocol.paper_mt_small(), on=list(protocol.TABLE1_KEYS),
                         metrics=["auc", "f1", "specificity", "sensitivity", "accuracy", "accuracy_sd"]).round(3)
    return _with_ci(_with_degenerate_folds(table, ours), ci)


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
        done = _done(records)
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


# =========================================================================== closing note and runtime


def stored_runtime(store, prefix: str = "multistage_") -> pd.DataFrame:
    """Training time of every stored record of P1's experiments, per profile (from the experiment names).

    One row per profile: ``experiments``, ``tasks`` and ``training_min`` (sum of
    the records' ``wall_time_s``). Counts every record in the store, including
    those of earlier settings and chapter 02's (which share the main grid's
    experiment), so it is an upper bound on one run's training time.
    """
    rows = []
    for experiment in store.experiments():
        if not experiment.startswith(prefix):
            continue
        records = store.records(experiment)
        rows.append({"profile": experiment.rsplit("-", 1)[-1], "experiment": experiment, "tasks": len(records),
                     "training_min": sum(float(r.get("wall_time_s") or 0) for r in records) / 60})
    table = pd.DataFrame(rows, columns=["profile", "experiment", "tasks", "training_min"])
    return (table.groupby("profile", sort=False)
            .agg(experiments=("experiment", "size"), tasks=("tasks", "sum"), training_min=("training_min", "sum"))
            .reset_index())


def best_comparison(ours: pd.DataFrame, best: dict | None = None, paper: pd.DataFrame | None = None) -> str:
    """The best configuration, MSTL and CTL, ours beside the paper's, and the direction of MSTL − CTL."""
    best = best or protocol.BEST
    paper = protocol.paper_table1() if paper is None else paper
    name = f"{best['cnn']}-{best['optimizer']}"

    def row(table, arm):
        found = table[(table["tl"] == arm) & (table["cnn"] == best["cnn"]) & (table["optimizer"] == best["optimizer"])]
        return None if found.empty else found.iloc[0]

    theirs = row(paper, "MSTL")
    text = (f"**Best configuration, {name}.** Paper (Mendeley): MSTL {theirs['accuracy']:.2f} ± "
            f"{theirs['accuracy_sd']:.3f} %, AUC {theirs['auc']:.3f}.")
    mstl, ctl = row(ours, "MSTL"), row(ours, "CTL")
    if mstl is None or ctl is None:
        return text + " This run has no finished MSTL and CTL tasks for it to compare."
    folds = int(min(mstl["n_folds"], ctl["n_folds"]))
    difference = mstl["accuracy"] - ctl["accuracy"]
    direction = "above" if difference > 0 else "below" if difference < 0 else "level with"
    return (text + f" Ours ({folds} fold{'s' if folds != 1 else ''}): MSTL {_pct(mstl['accuracy'], 2)}, AUC "
            f"{mstl['auc']:.3f}; CTL {_pct(ctl['accuracy'], 2)}, AUC {ctl['auc']:.3f}. MSTL is "
            f"{abs(difference):.1f} points {direction} CTL here; one configuration over {folds} fold"
            f"{'s' if folds != 1 else ''} is a direction, not a test (see the significance section).")


def closing_note(chapter) -> str:
    """The best configuration beside the paper, and how long the chapter's training took."""
    seen, seconds = set(), 0.0
    for name in chapter.grids:
        for record in chapter.raw_records(name):
            if record["key"] not in seen:
                seen.add(record["key"])
                seconds += float(record.get("wall_time_s") or 0)
    best = {"cnn": chapter.settings["best_backbone"], "optimizer": chapter.settings["best_optimizer"]}
    elapsed = (time.perf_counter() - chapter.started) / 60
    return (best_comparison(table1(chapter.records("main")), best) + "\n\n"
            f"Runtime: the {len(seen)} tasks of this chapter's grids trained for {seconds / 60:.1f} min in all "
            f"(stored in their records); running the grids took {elapsed:.1f} min in this execution of the page "
            "(finished tasks are read from the store, not retrained).")


# =========================================================================== chapter 02


def tour_table(records: pd.DataFrame) -> pd.DataFrame:
    """Chapter 02's per-task table: configuration, fold, status, the metrics and the wall time."""
    columns = ["backbone", "optimizer", "fold", "status", *STAGE2_METRICS, "wall_time_s"]
    return records[[c for c in columns if c in records.columns]]


def tour_note(raw_records: list[dict], paper: pd.DataFrame | None = None) -> str:
    """Chapter 02's result sentence: what the CTL tasks started from, how they did against the majority class, and why.

    A network that gives one class to every test image, or an accuracy within
    5 points of always answering the majority class, makes the numbers a test
    of the pipeline, and the sentence says so.
    """
    paper = protocol.paper_table1() if paper is None else paper
    done = [r for r in raw_records if r["status"] == "done"]
    if not done:
        return "No task of this grid finished, so there is no result to describe."
    weights = _join(weights_descriptions(weights_entries(done)))
    epochs = sorted({int(r["config"]["epochs"]) for r in done})
    accuracy = np.mean([r["metrics"]["accuracy"] for r in done])
    majority, collapsed = [], 0
    for record in done:
        truth = np.asarray(record["predictions"]["y_true"])
        predicted = np.asarray(record["predictions"]["y_score"]) >= 0.5
        majority.append(max(truth.mean(), 1 - truth.mean()))
        collapsed += int(predicted.all() or not predicted.any())
    baseline = float(np.mean(majority))
    optimizers = sorted({r["config"]["optimizer"] for r in done})
    backbones = sorted({r["config"]["backbone"] for r in done})
    theirs = paper[(paper["tl"] == "CTL") & paper["cnn"].isin(backbones) & paper["optimizer"].isin(optimizers)]
    text = (f"The {_plural(len(done), 'finished task')} started from {weights} and trained for "
            f"{_join([str(e) for e in epochs])} epoch{'s' if epochs != [1] else ''} (P1: {protocol.EPOCHS}, from "
            f"ImageNet). Mean test accuracy {accuracy:.2f}, against {baseline:.2f} for always answering the majority "
            f"class of each test fold; {collapsed} of {len(done)} networks gave the same class to every test image.")
    if collapsed or accuracy < baseline + 0.05:
        text += " These numbers are at the level of chance: they show that the pipeline runs, not how well CTL works."
    else:
        text += f" The networks beat the majority class by {100 * (accuracy - baseline):.0f} points."
    if len(theirs):
        low, high = theirs["accuracy"].min(), theirs["accuracy"].max()
        reached = f"{low:.1f} %" if low == high else f"{low:.1f}–{high:.1f} %"
        text += (f" For comparison, P1's CTL {_join(backbones)} reached {reached} with "
                 f"{'this optimizer' if len(theirs) == 1 else 'these optimizers'} (Table 1, Mendeley).")
    return text



# =========================================================================== claims (the scorecard) and audit notes

NOTEBOOK = "03_multistage"
SECTIONS = {"table1": "Table 1, reproduced and beside the paper's", "significance": "The significance test",
            "factors": "Effect of the optimizer and of the CNN (Fig. 5)",
            "mt_small": "The MT-Small experiment (section 3.5)"}
"""The chapter's sections that hold each claim's evidence (their headings)."""


def audit_note(where: str | None = None, data_dir="auto") -> str:
    """The audit's inconsistent findings about P1's numbers whose location contains ``where`` ("Table 1", "Section 3.3"...),
    as a markdown note citing each, for the chapter to show beside the paper's number."""
    from mstl_lib.evaluation.audit import paper_note  # noqa: PLC0415
    from mstl_lib.papers.p1_mstl import audit  # noqa: PLC0415

    return paper_note(audit.findings, where, data_dir)


def paper_claims() -> list:
    """P1's claims with the paper's values and what decides each, before any result of ours."""
    from mstl_lib.papers.p1_mstl import audit  # noqa: PLC0415
    from mstl_lib.evaluation.replication import se_from_spread  # noqa: PLC0415
    from mstl_lib.report.scorecard import Claim, evidence_link  # noqa: PLC0415

    t1 = protocol.paper_table1()
    best = t1[(t1["tl"] == "MSTL") & (t1["cnn"] == protocol.BEST["cnn"]) & (t1["optimizer"] == protocol.BEST["optimizer"])]
    best = best.iloc[0]
    mt = protocol.paper_mt_small().iloc[0]
    ctl, mstl = protocol.ttest_candidates(t1)
    auc_pairs = paired_accuracies(t1.rename(columns={}), value="auc")
    factors = protocol.paper_factors().set_index(["factor", "level"])["accuracy"]
    cnn_gap = factors[("cnn", "ResNet50")] - max(factors[("cnn", c)] for c in protocol.BACKBONES if c != "ResNet50")
    opt_gap = factors[("optimizer", "adagrad")] - max(factors[("optimizer", o)] for o in protocol.OPTIMIZERS
                                                      if o != "adagrad")
    selection = ("the best of 18 configurations is picked on the same test folds that report it",)
    folds = protocol.N_SPLITS
    link = lambda key: evidence_link(NOTEBOOK, SECTIONS[key])  # noqa: E731
    return [
        Claim("P1", audit.BEST_ACCURACY, "MSTL ResNet50 + Adagrad reaches 99 % test accuracy on Mendeley",
              f"{best['accuracy']:g} ± {best['accuracy_sd']:g} %", "pooled out-of-fold accuracy (%), MSTL ResNet50 "
              "Adagrad", paper_number=float(best["accuracy"]), paper_se=se_from_spread(best["accuracy_sd"], folds),
              protocol_flaws=selection, evidence=link("table1")),
        Claim("P1", audit.BEST_AUC, "MSTL ResNet50 + Adagrad reaches AUC 0.999 on Mendeley", f"{best['auc']:g}",
              "pooled out-of-fold AUC, MSTL ResNet50 Adagrad", paper_number=float(best["auc"]),
              protocol_flaws=selection, evidence=link("table1")),
        Claim("P1", audit.MT_SMALL, "MSTL ResNet50 + Adagrad reaches 98.7 % test accuracy on MT-Small",
              f"{mt['accuracy']:g} ± {mt['accuracy_sd']:g} %", "pooled out-of-fold accuracy (%), MSTL ResNet50 "
              "Adagrad, MT-Small", paper_number=float(mt["accuracy"]), paper_se=se_from_spread(mt["accuracy_sd"], folds),
              evidence=link("mt_small")),
        Claim("P1", audit.MSTL_BEATS_CTL, "MSTL classifies better than CTL (Table 1, Fig. 4)",
              f"MSTL − CTL AUC {float((auc_pairs['MSTL'] - auc_pairs['CTL']).mean()):+.3f} (mean of 9 pairs)",
              "MSTL − CTL AUC per (CNN, optimizer, fold), mean and 95 % t-interval", kind="greater",
              paper_number=float((auc_pairs["MSTL"] - auc_pairs["CTL"]).mean()), evidence=link("table1")),
        Claim("P1", audit.MSTL_SIGNIFICANT, "MSTL is significantly better than CTL (t-test, p = 0.01191)",
              f"p = {protocol.paper_p_value():g} (MSTL − CTL {float((mstl - ctl).mean()):+.2f} points)",
              "MSTL − CTL accuracy (points) over configuration means, as P1; its 95 % CI excludes 0 iff the paired "
              "t-test gives p < 0.05", kind="greater", paper_number=float((mstl - ctl).mean()),
              evidence=link("significance")),
        Claim("P1", audit.RESNET50_BEST, "ResNet50 is the best CNN for MSTL (98 ± 1 % vs 92 and 90.3 %)",
              f"ResNet50 − next CNN {cnn_gap:+.1f} points", "ResNet50 − best other CNN, MSTL accuracy (points) per "
              "(optimizer, fold)", kind="greater", paper_number=float(cnn_gap), evidence=link("factors")),
        Claim("P1", audit.ADAGRAD_BEST, "Adagrad is the best optimizer for MSTL (96.67 ± 1.8 % vs 95.83 and 87.83 %)",
              f"Adagrad − next optimizer {opt_gap:+.2f} points", "Adagrad − best other optimizer, MSTL accuracy "
              "(points) per (CNN, fold)", kind="greater", paper_number=float(opt_gap), evidence=link("factors")),
    ]


def _level_gap(records: pd.DataFrame, column: str, level: str, pair_on: list[str]) -> tuple[float, float, float]:
    """``level`` minus the best other level of ``column`` (MSTL accuracy in points), paired on ``pair_on``."""
    done = _done(records)
    done = done[done["tl"] == "MSTL"] if "tl" in done.columns else done.iloc[0:0]
    if done.empty or done[column].nunique() < 2 or level not in set(done[column]):
        return float("nan"), float("nan"), float("nan")
    wide = done.pivot_table(index=pair_on, columns=column, values="accuracy").dropna() * 100
    others = [c for c in wide.columns if c != level]
    if wide.empty or not others:
        return float("nan"), float("nan"), float("nan")
    runner_up = wide[others].mean().idxmax()
    return stats.mean_difference_ci(wide[level] - wide[runner_up])


def _pooled(predictions: pd.DataFrame, metric: str, scale: float = 1.0) -> tuple[float, tuple | None]:
    if predictions.empty:
        return float("nan"), None
    part = predictions[(predictions["tl"] == "MSTL") & (predictions["backbone"] == protocol.BEST["cnn"])
                       & (predictions["optimizer"] == protocol.BEST["optimizer"])]
    if part.empty:
        return float("nan"), None
    ci = tables_report.pooled_ci(part, ["tl"], metrics=(metric,)).iloc[0]
    return scale * float(ci[metric]), (scale * float(ci[f"{metric}_low"]), scale * float(ci[f"{metric}_high"]))


def evidence_flags(chapter, records: pd.DataFrame, source, arms=("CTL", "MSTL")) -> tuple[str, ...]:
    """What stands behind our numbers: synthetic data, a stand-in, random weights, a degenerate fold, nothing stored."""
    from mstl_lib.data.sources import PHANTOM, STANDIN  # noqa: PLC0415
    from mstl_lib.report import scorecard as sc  # noqa: PLC0415

    flags = []
    if _done(records).empty:
        return (sc.NOT_RUN,)
    if source.kind == PHANTOM or ("MSTL" in arms and chapter.plan.cells_train.kind != REAL):
        flags.append(sc.SYNTHETIC)
    if source.kind == STANDIN or (source.dataset == "busi" and chapter.plan.mendeley is None):
        flags.append(sc.STAND_IN)
    weights = chapter.grids["main"].context["weights_info"]
    if any(info["used"] != "imagenet" for info in weights.values()):
        flags.append(sc.RANDOM_WEIGHTS)
    done = _done(records)
    if "degenerate" in done.columns and done[done["tl"].isin(arms)]["degenerate"].astype(float).sum() > 0:
        flags.append(sc.DEGENERATE)
    return tuple(flags)


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P1's claims (:func:`paper_claims`) filled in from the records chapter 03 stored under these parameters.

    Builds the chapter's grids without running them (``grids.stored``); a claim whose
    records are missing says so. Never trains.
    """
    from mstl_lib import data as data_layer  # noqa: PLC0415
    from mstl_lib.context import start_run  # noqa: PLC0415
    from mstl_lib.papers.p1_mstl import audit  # noqa: PLC0415
    from mstl_lib.papers.p1_mstl import grids as p1_grids  # noqa: PLC0415
    from mstl_lib.papers.p1_mstl.settings import CHAPTER  # noqa: PLC0415
    from mstl_lib.report import scorecard as sc  # noqa: PLC0415

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chapter = p1_grids.stored(run, store)
    except (data_layer.DatasetNotFoundError, FileNotFoundError) as error:
        return [c.with_result(None, None, profile=profile, evidence_flags=(sc.NOT_RUN,),
                              note=f"the chapter cannot run here: {error}".splitlines()[0]) for c in base]
    main, mt = chapter.records("main"), chapter.records("mt_small")
    main_pred, mt_pred = chapter.predictions("main"), chapter.predictions("mt_small")
    weights_used = ", ".join(sorted({info["used"] for info in chapter.grids["main"].context["weights_info"].values()}))
    cells = f"stage 1 on {chapter.plan.cells_train.kind} cell lines"
    behind = {"weights": weights_used, "profile": profile}
    private = ("" if chapter.plan.cells_train.kind == REAL else
               "P1's cancer-cell images are private: stage 1 ran on phantom cell lines")
    main_data = f"{chapter.plan.ultrasound.dataset} ({chapter.plan.ultrasound.kind}); {cells}"
    flags_main = evidence_flags(chapter, main, chapter.plan.ultrasound)
    flags_mt = evidence_flags(chapter, mt, chapter.plan.mt_small)
    out = []
    for claim in base:
        if claim.id == audit.BEST_ACCURACY:
            ours, ci = _pooled(main_pred, "accuracy", 100)
            out.append(claim.with_result(ours, ci, data=main_data, evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.BEST_AUC:
            ours, ci = _pooled(main_pred, "auc")
            out.append(claim.with_result(ours, ci, data=main_data, evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.MT_SMALL:
            ours, ci = _pooled(mt_pred, "accuracy", 100)
            mt_data = f"{chapter.plan.mt_small.dataset} ({chapter.plan.mt_small.kind}); {cells}"
            out.append(claim.with_result(ours, ci, data=mt_data, evidence_flags=flags_mt, note=private, **behind))
        elif claim.id == audit.MSTL_BEATS_CTL:
            done = _done(main)
            pairs = stats.fold_pairs(done[done["tl"].isin(protocol.ARMS)], "auc") if {"CTL", "MSTL"} <= set(
                done.get("tl", [])) else pd.DataFrame()
            mean, low, high = stats.mean_difference_ci(pairs["MSTL"] - pairs["CTL"]) if len(pairs) else (
                float("nan"),) * 3
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.MSTL_SIGNIFICANT:
            pairs = paired_accuracies(table1(main))
            mean, low, high = stats.mean_difference_ci(pairs["MSTL"] - pairs["CTL"]) if len(pairs) else (
                float("nan"),) * 3
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, **behind,
                                         note=private if len(pairs) >= 2 else "fewer than two configurations in both arms"))
        else:
            column, level, pair_on = (("backbone", "ResNet50", ["optimizer", "fold"]) if claim.id == audit.RESNET50_BEST
                                      else ("optimizer", "adagrad", ["backbone", "fold"]))
            mean, low, high = _level_gap(main, column, level, pair_on)
            levels = _done(main)[column].nunique() if len(_done(main)) else 0
            note = "" if np.isfinite(mean) else f"this profile runs {levels} {column} level(s): nothing to rank"
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, note=note, **behind))
    return out
