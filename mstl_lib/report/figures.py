"""Figures built from tidy tables (dataset tables, run records), never from notebook variables.

Importing this module sets matplotlib's default cycle to the Okabe–Ito colours, each paired
with its own line style (:func:`use_readable_cycle`), so lines that differ by default colour
(folds, configurations) also differ in a form that survives colour-blindness and grey print.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler

from mstl_lib.data.images import image_shape, read_image, read_mask
from mstl_lib.report.banner import markdown

OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "bluish green": "#009E73", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "sky blue": "#56B4E9", "black": "#000000"}
"""Okabe & Ito's colour-blind-safe palette (its yellow left out: too faint on white)."""

LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)))
"""One line style per palette colour, in the same order."""

OUTLINE_RGB = tuple(int(OKABE_ITO["vermillion"][i:i + 2], 16) / 255 for i in (1, 3, 5))
"""The colour (RGB in 0..1) that lesion outlines and masked regions are painted in: Okabe–Ito vermillion."""

MARKERS = ("o", "s", "^", "D", "v", "P", "X")
"""Markers for lines whose style already carries another meaning (metric, ours against the paper's)."""


def use_readable_cycle() -> None:
    """Make the Okabe–Ito colours, each with its own line style, matplotlib's default cycle."""
    plt.rcParams["axes.prop_cycle"] = cycler(color=list(OKABE_ITO.values())) + cycler(linestyle=list(LINE_STYLES))


use_readable_cycle()


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Boolean outline (one pixel wide) of a boolean mask."""
    from skimage.segmentation import find_boundaries  # noqa: PLC0415

    return find_boundaries(mask, mode="inner")


def sample_grid(table: pd.DataFrame, per_class: int = 4, seed: int = 0, size: int = 160,
                label_column: str = "label", title: str | None = None):
    """A grid of sample images per class with their lesion masks outlined in vermillion."""
    rng = np.random.default_rng(seed)
    classes = sorted(table[label_column].unique())
    fig, axes = plt.subplots(len(classes), per_class, figsize=(2.0 * per_class, 2.1 * len(classes)),
                             squeeze=False)
    for row, cls in enumerate(classes):
        subset = table[table[label_column] == cls]
        picks = subset.iloc[rng.permutation(len(subset))[:per_class]]
        for col in range(per_class):
            ax = axes[row, col]
            ax.axis("off")
            if col >= len(picks):
                continue
            item = picks.iloc[col]
            image = read_image(item["path"], channels=3, size=(size, size))
            masks = item.get("mask_paths", None)
            if isinstance(masks, (list, tuple)) and len(masks):
                outline = mask_outline(read_mask(masks, size=(size, size)))
                image = image.copy()
                image[outline] = OUTLINE_RGB
            ax.imshow(image)
            ax.set_title(f"{cls}\n{short_name(item['path'])}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return finish(fig)


def finish(fig):
    """Lay out and close ``fig`` so a notebook shows it once, as the cell's result."""
    fig.tight_layout()
    plt.close(fig)
    return fig


def short_name(path: str, width: int = 24) -> str:
    name = str(path).rsplit("/", 1)[-1]
    return name if len(name) <= width else name[: width - 1] + "…"


def image_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """Height and width of every image in ``table`` (read from the file headers)."""
    shapes = [image_shape(p) for p in table["path"]]
    return pd.DataFrame(shapes, columns=["height", "width"], index=table.index)


def size_histogram(tables: dict[str, pd.DataFrame]):
    """Histograms of image height and width, one row of panels per dataset."""
    fig, axes = plt.subplots(len(tables), 2, figsize=(8, 2.2 * len(tables)), squeeze=False)
    for row, (name, table) in enumerate(tables.items()):
        sizes = image_sizes(table)
        for col, dim in enumerate(("height", "width")):
            ax = axes[row, col]
            ax.hist(sizes[dim], bins=30, color="steelblue")
            ax.set_title(f"{name}: {dim} (px)", fontsize=9)
            ax.set_ylabel("images")
    return finish(fig)


def duplicate_examples(clusters: pd.DataFrame, n_clusters: int = 6, size: int = 128,
                       label_column: str = "label"):
    """Show the members of the largest near-duplicate clusters side by side."""
    multi = clusters[clusters["cluster_size"] > 1]
    order = (multi.groupby("cluster")["cluster_size"].first()
             .sort_values(ascending=False, kind="stable").index[:n_clusters])
    if len(order) == 0:
        return None
    width = int(min(multi["cluster_size"].max(), 5))
    fig, axes = plt.subplots(len(order), width, figsize=(1.9 * width, 2.0 * len(order)), squeeze=False)
    for row, cluster in enumerate(order):
        members = multi[multi["cluster"] == cluster]
        for col in range(width):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(members):
                item = members.iloc[col]
                ax.imshow(read_image(item["path"], channels=1, size=(size, size))[..., 0], cmap="gray")
                label = f"{item[label_column]} · " if label_column in members else ""
                ax.set_title(f"{label}{short_name(item['path'], 18)}", fontsize=8)
    fig.suptitle("Largest near-duplicate clusters (one row per cluster)", fontsize=9)
    return finish(fig)


def show_frames(paths, titles=None, size: int = 256):
    """Show a row of images (e.g. microscopy frames)."""
    paths = list(paths)
    fig, axes = plt.subplots(1, len(paths), figsize=(3 * len(paths), 3), squeeze=False)
    for i, path in enumerate(paths):
        ax = axes[0, i]
        ax.imshow(read_image(path, channels=3, size=(size, size)))
        ax.axis("off")
        ax.set_title(titles[i] if titles else short_name(path), fontsize=8)
    return finish(fig)


def learning_curves(history: pd.DataFrame, by, metrics=("loss", "val_loss")):
    """Per-fold learning curves from :func:`mstl_lib.engine.history_frame`, one panel per value of ``by``.

    ``by`` is a column or a list of columns (e.g. ``["backbone", "optimizer"]``): every
    panel holds one line per (fold, metric) of one configuration, never curves of
    different configurations joined end to end.
    """
    if history.empty:
        return markdown("No finished task has a training history yet.")
    by = [by] if isinstance(by, str) else list(by)
    values = list(dict.fromkeys(history[by].itertuples(index=False, name=None)))
    fig, axes = plt.subplots(1, len(values), figsize=(3.6 * len(values), 2.8), squeeze=False, sharey=True)
    for ax, value in zip(axes[0], values, strict=True):
        chosen = (history[by] == pd.Series(value, index=by)).all(axis=1)
        part = history[chosen & history["metric"].isin(metrics)]
        folds = list(dict.fromkeys(part["fold"]))
        for (fold, metric), curve in part.groupby(["fold", "metric"]):
            k = folds.index(fold) % len(MARKERS)
            # history_frame numbers epochs from 1 already; the fold is a colour and a marker, the metric a style
            ax.plot(curve["epoch"], curve["value"], "-" if metric == metrics[0] else "--", marker=MARKERS[k],
                    markersize=4, color=list(OKABE_ITO.values())[k], label=f"fold {fold} {metric}")
        ax.set_title(", ".join(f"{column} = {v}" for column, v in zip(by, value, strict=True)), fontsize=9)
        ax.set_xlabel("epoch")
    axes[0, 0].set_ylabel(" / ".join(metrics))
    axes[0, -1].legend(fontsize=8)
    return finish(fig)


def plot_roc(ax, y_true, y_score, label: str, digits: int = 2) -> bool:
    """Draw one ROC curve on ``ax``, its AUC in the legend label; skip (False) a single-class part."""
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    from mstl_lib.evaluation.metrics import roc_points  # noqa: PLC0415

    if pd.Series(y_true).nunique() < 2:
        return False
    points = roc_points(y_true, y_score)
    ax.plot(points["fpr"], points["tpr"], label=f"{label}: AUC {roc_auc_score(y_true, y_score):.{digits}f}")
    return True


def finish_roc_axes(ax, title: str, fontsize: int = 6) -> None:
    """Chance diagonal, title, axis labels and legend of an ROC panel."""
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(fontsize=fontsize, loc="lower right")


def roc_curves(predictions: pd.DataFrame, by: str, score="y_score", truth="y_true"):
    """ROC curves per ``by`` value with the per-fold AUC, from per-sample predictions."""
    if predictions.empty:
        return markdown("No finished task has predictions yet.")
    values = list(dict.fromkeys(predictions[by]))
    fig, axes = plt.subplots(1, len(values), figsize=(3.2 * len(values), 3.0), squeeze=False)
    for ax, value in zip(axes[0], values, strict=True):
        for fold, part in predictions[predictions[by] == value].groupby("fold"):
            plot_roc(ax, part[truth], part[score], f"fold {fold}")
        finish_roc_axes(ax, f"{by} = {value}")
    return finish(fig)
