"""Fig. 2a and the patches: the cell segmentation, its check against a manual annotation, and the patches stage
1 trains on.
"""

from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image
from matplotlib.patches import Rectangle

from mstl_lib.data.images import read_image
from mstl_lib.data.sources import load_source
from mstl_lib.papers.p1_mstl import cell_patches
from mstl_lib.report import finish, markdown
from mstl_lib.report.figures import OKABE_ITO


def _draw_boxes(ax, boxes, colour, width=1.0):
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=width))


def _outlined(image: np.ndarray, boxes, colour=(213, 94, 0)) -> np.ndarray:
    """RGB copy of ``image`` with ``boxes`` outlined one pixel wide (fast for thousands of boxes)."""

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
