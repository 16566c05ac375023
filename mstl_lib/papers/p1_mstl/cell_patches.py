"""P1's cell-line pre-processing (section 2.1, Fig. 2a): frames -> cell patches.

The pipeline, as the paper states it:

1. colour -> grayscale (:func:`to_grayscale`);
2. OpenCV adaptive thresholding -> binary image (:func:`binarize`);
3. noise removal with a 2 x 2 dilation, with scikit-image (:func:`dilate`);
4. contours -> bounding boxes (:func:`bounding_boxes`);
5. boxes whose width + height is below 100 px are discarded (:func:`keep_boxes`);
6. each kept box becomes an image patch (:func:`crop_patches`).

:func:`segment_cells` runs steps 1-5 and keeps every intermediate image (the
panels i-iv of Fig. 2a); :func:`annotation_check` compares the kept boxes with
a manual segmentation; :func:`write_patch_dataset` turns a folder-per-line
table of frames into a folder-per-line table of patches.

Boxes are ``(x, y, width, height)`` rows of an ``int`` array, in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from skimage.morphology import dilation

from mstl_lib.data.images import read_image, write_image

MIN_SIZE_SUM = 100
"""P1's rule: a box with width + height below this (px) is debris and is dropped."""


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters of :func:`segment_cells` (P1 gives only the dilation and the 100 px rule).

    Attributes
    ----------
    block_size : int
        Neighbourhood (odd, px) of ``cv2.adaptiveThreshold``; P1 does not give it.
    offset : float
        The constant ``C`` subtracted from the local mean; P1 does not give it.
    method : {"gaussian", "mean"}
        Local mean of ``cv2.adaptiveThreshold``.
    dark_cells : bool
        Cells darker than the background become foreground (``THRESH_BINARY_INV``).
    dilation_size : int
        Side of the square dilation footprint (P1: 2).
    min_size_sum : int
        Drop boxes with ``width + height < min_size_sum`` (P1: 100).
    """

    block_size: int = 51
    offset: float = 4.0
    method: str = "gaussian"
    dark_cells: bool = True
    dilation_size: int = 2
    min_size_sum: int = MIN_SIZE_SUM


@dataclass
class CellSegmentation:
    """Every step of :func:`segment_cells` on one frame."""

    image: np.ndarray
    gray: np.ndarray
    binary: np.ndarray
    dilated: np.ndarray
    all_boxes: np.ndarray
    boxes: np.ndarray
    params: SegmentationParams = field(default_factory=SegmentationParams)

    @property
    def n_discarded(self) -> int:
        """Boxes dropped by the width + height rule."""
        return len(self.all_boxes) - len(self.boxes)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """``uint8`` grey image from a grey or RGB array (``uint8`` or float in [0, 1])."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3:
        array = cv2.cvtColor(array[..., :3], cv2.COLOR_RGB2GRAY)
    return array


def binarize(gray: np.ndarray, block_size: int = 51, offset: float = 4.0, method: str = "gaussian",
             dark_cells: bool = True) -> np.ndarray:
    """Boolean foreground of ``cv2.adaptiveThreshold`` on a ``uint8`` grey image."""
    if block_size < 3 or block_size % 2 == 0:
        raise ValueError(f"block_size must be odd and >= 3, got {block_size}")
    methods = {"gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C, "mean": cv2.ADAPTIVE_THRESH_MEAN_C}
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    kind = cv2.THRESH_BINARY_INV if dark_cells else cv2.THRESH_BINARY
    return cv2.adaptiveThreshold(gray, 255, methods[method], kind, block_size, offset) > 0


def dilate(binary: np.ndarray, size: int = 2) -> np.ndarray:
    """Dilation with a ``size`` x ``size`` square footprint (scikit-image); 0 or 1 = unchanged."""
    if size <= 1:
        return binary.copy()
    return dilation(binary, np.ones((size, size), dtype=bool))


def bounding_boxes(mask: np.ndarray) -> np.ndarray:
    """``(x, y, w, h)`` of the bounding box of each outer contour of ``mask``."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = [cv2.boundingRect(contour) for contour in contours]
    boxes.sort(key=lambda box: (box[1], box[0]))
    return np.array(boxes, dtype=int).reshape(-1, 4)


def keep_boxes(boxes: np.ndarray, min_size_sum: int = MIN_SIZE_SUM) -> np.ndarray:
    """Boxes with ``width + height >= min_size_sum`` (P1 drops the others as debris)."""
    boxes = np.asarray(boxes, dtype=int).reshape(-1, 4)
    return boxes[boxes[:, 2] + boxes[:, 3] >= min_size_sum]


def segment_cells(image: np.ndarray, params: SegmentationParams | None = None) -> CellSegmentation:
    """Steps 1-5 of P1's pipeline on one frame, keeping each intermediate image."""
    params = params or SegmentationParams()
    gray = to_grayscale(image)
    binary = binarize(gray, params.block_size, params.offset, params.method, params.dark_cells)
    dilated = dilate(binary, params.dilation_size)
    all_boxes = bounding_boxes(dilated)
    return CellSegmentation(np.asarray(image), gray, binary, dilated, all_boxes,
                            keep_boxes(all_boxes, params.min_size_sum), params)


def crop_patches(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """The image region inside each box (step 6)."""
    return [np.asarray(image)[y : y + h, x : x + w] for x, y, w, h in np.asarray(boxes).reshape(-1, 4)]


def annotated_centroids(labels: np.ndarray) -> pd.DataFrame:
    """Centroid ``(x, y)`` of every labelled cell of an instance-label image (0 = background)."""
    labels = np.asarray(labels)
    ids = np.unique(labels[labels > 0])
    rows = []
    for cell in ids:
        ys, xs = np.nonzero(labels == cell)
        rows.append({"cell": int(cell), "x": float(xs.mean()), "y": float(ys.mean())})
    return pd.DataFrame(rows, columns=["cell", "x", "y"])


def _inside(points: pd.DataFrame, box) -> np.ndarray:
    x, y, w, h = box
    return ((points["x"] >= x) & (points["x"] < x + w) & (points["y"] >= y) & (points["y"] < y + h)).to_numpy()


def annotation_check(boxes: np.ndarray, labels: np.ndarray) -> dict:
    """Compare kept boxes with a manual instance segmentation.

    A cell counts as found when its centroid lies inside a kept box; a box is
    empty when no annotated centroid lies inside it.

    Returns
    -------
    dict
        ``annotated_cells``, ``cells_in_a_box``, ``boxes``, ``boxes_without_cell``
        and ``cells_per_box`` (mean over the boxes that hold at least one).
    """
    points = annotated_centroids(labels)
    boxes = np.asarray(boxes).reshape(-1, 4)
    inside = np.array([_inside(points, box) for box in boxes]).reshape(len(boxes), len(points))
    per_box = inside.sum(axis=1)
    return {
        "annotated_cells": len(points),
        "cells_in_a_box": int(inside.any(axis=0).sum()) if len(boxes) else 0,
        "boxes": len(boxes),
        "boxes_without_cell": int((per_box == 0).sum()),
        "cells_per_box": float(per_box[per_box > 0].mean()) if (per_box > 0).any() else 0.0,
    }


def write_patch_dataset(frames: pd.DataFrame, out_dir, params: SegmentationParams | None = None,
                        max_patches_per_line: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Segment every frame of ``frames`` and save its patches, one folder per cell line.

    Parameters
    ----------
    frames : DataFrame
        ``path`` and ``label`` (the cell line), e.g. from ``data.load_cells``
        in the folder-per-line layout.
    out_dir : path-like
        Receives ``<label>/<frame stem>_<k>.png``; reused when its
        ``patches.csv`` was written with the same frames and parameters.
    params : SegmentationParams, optional
    max_patches_per_line : int, optional
        Random sample of this many patches per line (P1 drew 6,800 per line).
    seed : int

    Returns
    -------
    DataFrame
        ``path``, ``label``, ``group`` (the source frame: patches of one frame
        stay in one split), ``frame``, ``x``, ``y``, ``w``, ``h``.
    """
    params = params or SegmentationParams()
    out_dir = Path(out_dir)
    signature = repr((sorted(map(str, frames["path"])), params, max_patches_per_line, seed))
    index_file, signature_file = out_dir / "patches.csv", out_dir / "signature.txt"
    if index_file.is_file() and signature_file.is_file() and signature_file.read_text() == signature:
        return pd.read_csv(index_file)
    rows = []
    for frame in frames.itertuples():
        image = read_image(frame.path, channels=3, dtype="uint8")
        segmentation = segment_cells(image, params)
        folder = out_dir / str(frame.label)
        folder.mkdir(parents=True, exist_ok=True)
        for k, (patch, box) in enumerate(zip(crop_patches(image, segmentation.boxes), segmentation.boxes, strict=True)):
            path = folder / f"{Path(frame.path).stem}_{k:04d}.png"
            write_image(patch, path)
            rows.append({"path": str(path), "label": str(frame.label), "group": str(frame.path),
                         "frame": str(frame.path), **dict(zip("xywh", map(int, box), strict=True))})
    table = pd.DataFrame(rows, columns=["path", "label", "group", "frame", "x", "y", "w", "h"])
    if max_patches_per_line is not None:
        rng = np.random.default_rng(seed)
        keep = [rng.permutation(rows)[:max_patches_per_line] for rows in table.groupby("label").indices.values()]
        table = table.loc[np.sort(np.concatenate(keep))].reset_index(drop=True) if keep else table
    table.to_csv(index_file, index=False)
    signature_file.write_text(signature)
    return table


def parameter_sweep(image: np.ndarray, labels: np.ndarray, block_sizes=(31, 51, 101), offsets=(2, 4, 8),
                    base: SegmentationParams | None = None) -> pd.DataFrame:
    """:func:`annotation_check` for each (block size, offset) of the adaptive threshold.

    P1 does not give these two parameters; the sweep shows how much the check
    depends on them. One row per pair, with the :func:`annotation_check` fields.
    """
    from dataclasses import replace  # noqa: PLC0415

    base = base or SegmentationParams()
    rows = []
    for block_size in block_sizes:
        for offset in offsets:
            params = replace(base, block_size=int(block_size), offset=float(offset))
            rows.append({"block_size": block_size, "offset": offset,
                         **annotation_check(segment_cells(image, params).boxes, labels)})
    return pd.DataFrame(rows)
