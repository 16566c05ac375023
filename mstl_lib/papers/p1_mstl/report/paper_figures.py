"""Figs. 4-6 and S1-S2: ROC curves per arm, the optimizer and CNN effects, feature maps and learning curves.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mstl_lib.data.images import read_image
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.paths import model_weights_dir
from mstl_lib.report import finish, finish_roc_axes, learning_curves, markdown, plot_roc
from mstl_lib.report.figures import OKABE_ITO
from mstl_lib.report.text import finished_only, join_words


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
    done = finished_only(records)
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
    note = f"This run's {arm} configurations cover {join_words(parts)}; a level it did not run has no blue bar"
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
