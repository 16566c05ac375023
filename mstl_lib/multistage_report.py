"""Figures of the multistage chapter (P1's Figs. 2a, 4, 5 and 6), from tidy tables and arrays."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from mstl_lib.data.images import read_image
from mstl_lib.report import finish, finish_roc_axes, markdown, plot_roc


def _draw_boxes(ax, boxes, colour, width=1.0):
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=width))


def _outlined(image: np.ndarray, boxes, colour=(255, 0, 0)) -> np.ndarray:
    """RGB copy of ``image`` with ``boxes`` outlined one pixel wide (fast for thousands of boxes)."""
    import cv2  # noqa: PLC0415

    rgb = np.asarray(image)
    rgb = np.repeat(rgb[..., None], 3, axis=-1) if rgb.ndim == 2 else rgb[..., :3].copy()
    rgb = np.ascontiguousarray(rgb.astype(np.uint8))
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        cv2.rectangle(rgb, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), colour, 1)
    return rgb


def segmentation_panels(segmentation, title: str = "", n_patches: int = 4):
    """Fig. 2a: (i) frame, (ii) binary image, (iii) boxes (kept green, dropped red), (iv) patches."""
    from mstl_lib.papers.p1_mstl.cell_patches import crop_patches  # noqa: PLC0415

    kept = {tuple(b) for b in segmentation.boxes}
    dropped = [b for b in segmentation.all_boxes if tuple(b) not in kept]
    patches = crop_patches(segmentation.image, segmentation.boxes)
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
    _draw_boxes(panels[2], segmentation.boxes, "lime", 1.2)
    panels[2].set_title(f"(iii) {len(segmentation.boxes)} kept (green), {segmentation.n_discarded} dropped "
                        "(w + h < 100)", fontsize=8)
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


def roc_by_arm(predictions: pd.DataFrame, arms=("MSTL", "CTL")):
    """Fig. 4: ROC curves per (CNN, optimizer), test predictions of all folds pooled, one panel per TL arm."""
    if predictions.empty:
        return markdown("No finished task has predictions yet.")
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.8), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        for (backbone, optimizer), part in predictions[predictions["tl"] == arm].groupby(["backbone", "optimizer"]):
            plot_roc(ax, part["y_true"], part["y_score"], f"{backbone}-{optimizer}", digits=3)
        finish_roc_axes(ax, {"MSTL": "(a) multistage TL", "CTL": "(b) conventional TL"}.get(arm, arm), fontsize=7)
    return finish(fig)


def factor_effects(records: pd.DataFrame, paper: pd.DataFrame, arm: str = "MSTL"):
    """Fig. 5: mean test accuracy (%) per optimizer and per CNN for ``arm``, ours beside the paper's.

    ``records``: stage-2 records (one row per fold); ``paper``: ``p1_factors``
    (factor, level, accuracy, accuracy_sd). Error bars: SD over the
    configuration means, as in the paper's text.
    """
    done = records[(records["status"] == "done") & (records["tl"] == arm)]
    config_means = done.groupby(["backbone", "optimizer"])["accuracy"].mean().mul(100).reset_index()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (factor, column) in zip(axes, [("optimizer", "optimizer"), ("cnn", "backbone")], strict=True):
        ours = config_means.groupby(column)["accuracy"].agg(["mean", "std"])
        theirs = paper[paper["factor"] == factor].set_index("level")
        levels = list(theirs.index)
        x = np.arange(len(levels))
        ax.bar(x - 0.2, theirs["accuracy"], 0.4, yerr=theirs["accuracy_sd"], label="paper (Mendeley)",
               color="lightgrey", capsize=3)
        ax.bar(x + 0.2, [ours["mean"].get(level, np.nan) for level in levels], 0.4,
               yerr=[ours["std"].get(level, np.nan) for level in levels], label="reproduced", color="tab:blue",
               capsize=3)
        ax.set_xticks(x, levels)
        ax.set_ylim(0, 105)
        ax.set_title(f"effect of the {'optimizer' if factor == 'optimizer' else 'CNN'} ({arm})", fontsize=10)
        ax.set_ylabel("test accuracy (%)")
    axes[1].legend(fontsize=7, loc="lower right")
    return finish(fig)


def feature_map_figure(image: np.ndarray, maps: dict[str, list[np.ndarray]], layer_names):
    """Fig. 6: channel-mean activation of each layer, one row per arm, on the same image."""
    fig, axes = plt.subplots(len(maps), len(layer_names) + 1, figsize=(2.0 * (len(layer_names) + 1), 2.2 * len(maps)),
                             squeeze=False)
    for row, (arm, layers) in enumerate(maps.items()):
        axes[row, 0].imshow(image)
        axes[row, 0].set_ylabel(arm)
        axes[row, 0].set_title("input" if row == 0 else "", fontsize=8)
        for col, (name, activation) in enumerate(zip(layer_names, layers, strict=True), start=1):
            mean = activation.mean(axis=-1)
            span = mean.max() - mean.min()
            axes[row, col].imshow((mean - mean.min()) / span if span > 0 else mean, cmap="inferno")
            if row == 0:
                axes[row, col].set_title(f"conv{col}: {name}\n{activation.shape[0]}×{activation.shape[1]}×"
                                         f"{activation.shape[2]}", fontsize=7)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    return finish(fig)
