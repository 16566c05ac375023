"""Cell-line phantoms: bright-field-like frames of three synthetic lines, with label masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from mstl_lib.data.images import write_image
from mstl_lib.data.phantoms.ultrasound import CELL_LINES, _smooth_noise

# =========================================================================== cells
@dataclass(frozen=True)
class _CellMorphology:
    radius: float  # equivalent radius, as a fraction of the frame side
    n_cells: tuple[int, int]  # [low, high) number of cells (MCF-7: clusters)
    kind: str  # "polygon", "round", "spindle"


_MORPHOLOGY = {
    "phantom-HeLa": _CellMorphology(radius=0.055, n_cells=(9, 15), kind="polygon"),
    "phantom-MCF-7": _CellMorphology(radius=0.026, n_cells=(4, 7), kind="round"),
    "phantom-NCI-H1299": _CellMorphology(radius=0.04, n_cells=(10, 16), kind="spindle"),
}


def _cell_outline(rng, kind: str, radius: float) -> np.ndarray:
    """Vertices (x, y) of one cell centred on the origin, in pixels."""
    if kind == "polygon":  # spread epithelial cell: 5-8 corners, uneven radii
        n = rng.integers(5, 9)
        angles = (np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 2 * np.pi / n + rng.uniform(0, 2 * np.pi)
        radii = radius * rng.uniform(0.75, 1.3, n)
    elif kind == "round":
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        stretch = rng.uniform(1.0, 1.2)
        radii = radius / np.sqrt((np.cos(angles) / stretch) ** 2 + (np.sin(angles) * stretch) ** 2)
    else:  # spindle: pointed ends, slightly bent
        t = np.linspace(-1, 1, 24)
        half_length, half_width = radius * rng.uniform(2.0, 2.8), radius * rng.uniform(0.38, 0.5)
        profile = half_width * (1 - np.abs(t) ** 1.4)
        bend = rng.uniform(-0.1, 0.1) * half_length * t**2
        top = np.stack([half_length * t, bend + profile], axis=1)
        bottom = np.stack([half_length * t[::-1], bend[::-1] - profile[::-1]], axis=1)
        points = np.concatenate([top, bottom])
        angle = rng.uniform(0, np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return points @ rotation.T
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _cell_centres(rng, morphology: _CellMorphology, size: int) -> list[np.ndarray]:
    """Centres of the cells: scattered, or (round cells) packed in clusters."""
    radius = morphology.radius * size
    margin = 1.5 * radius
    n_groups = rng.integers(*morphology.n_cells)
    centres: list[np.ndarray] = []
    spacing = 7 * radius if morphology.kind == "round" else 4.5 * radius  # between seeds
    for _ in range(n_groups):
        for _attempt in range(50):  # scattered seeds, kept apart
            seed = rng.uniform(margin, size - margin, 2)
            if all(np.hypot(*(seed - c)) > spacing for c in centres):
                break
        cluster = [seed]
        if morphology.kind == "round":  # grow a tight cluster of touching cells
            for _ in range(rng.integers(2, 9)):
                anchor = cluster[rng.integers(len(cluster))]
                angle = rng.uniform(0, 2 * np.pi)
                candidate = anchor + 1.85 * radius * np.array([np.cos(angle), np.sin(angle)])
                inside = (candidate > radius).all() and (candidate < size - radius).all()
                if inside and all(np.hypot(*(candidate - c)) > 1.7 * radius for c in cluster):
                    cluster.append(candidate)
        centres.extend(cluster)
    return centres


def cell_phantom(rng: np.random.Generator, line: str, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A bright-field microscopy frame of one phantom cell line.

    Parameters
    ----------
    rng : numpy.random.Generator
    line : {"phantom-HeLa", "phantom-MCF-7", "phantom-NCI-H1299"}
    size : int, default=256
        Side of the square frame; cell size scales with it.

    Returns
    -------
    image : ndarray of uint8, shape (size, size, 3)
    labels : ndarray of int32, shape (size, size)
        Cell id of each pixel (0 = background), ids 1..n_cells.
    """
    if line not in _MORPHOLOGY:
        raise ValueError(f"line must be one of {CELL_LINES}, got {line!r}")
    morphology = _MORPHOLOGY[line]
    radius = morphology.radius * size
    labels = np.zeros((size, size), dtype=np.int32)
    nuclei = np.zeros((size, size), dtype=np.uint8)
    for cell_id, centre in enumerate(_cell_centres(rng, morphology, size), 1):
        outline = _cell_outline(rng, morphology.kind, radius) + centre
        cv2.fillPoly(labels, [np.rint(outline).astype(np.int32)], cell_id)
        nucleus_axes = tuple(int(max(1, a)) for a in radius * rng.uniform(0.28, 0.4, 2))
        cv2.ellipse(nuclei, tuple(int(c) for c in np.rint(centre)), nucleus_axes,
                    rng.uniform(0, 180), 0, 360, 1, -1)

    body = labels > 0
    nuclei = nuclei.astype(bool) & body
    scale = size / 512
    # rims: a dark line just inside each cell, a bright halo just outside
    edges = cv2.morphologyEx(labels.astype(np.float32), cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
    halo_width = max(1, round(4 * scale))
    grown = cv2.dilate(body.astype(np.uint8), np.ones((2 * halo_width + 1,) * 2, np.uint8)) > 0
    halo = ndimage.gaussian_filter((grown & ~body).astype(float), 1.5 * scale)
    rim = ndimage.gaussian_filter((edges & body).astype(float), 0.8 * scale)

    # dark granules (vesicles) scattered inside the cytoplasm
    granules = (rng.random((size, size)) < 0.004 / max(scale, 0.25) ** 2) & body & ~nuclei
    granules = ndimage.gaussian_filter(granules.astype(float), 1.2 * scale) * (4 * scale) ** 2

    y, x = np.mgrid[0:size, 0:size] / size
    tilt = rng.normal(0, 0.03, 2)
    illumination = 0.45 + tilt[0] * (x - 0.5) + tilt[1] * (y - 0.5) - 0.06 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    grey = illumination + 0.008 * _smooth_noise(rng, (size, size), 0.1 * size)
    texture = _smooth_noise(rng, (size, size), 1.5 * scale)
    grey = grey - body * (0.03 + 0.015 * texture) - 0.04 * nuclei - 0.15 * rim + 0.12 * halo
    grey = grey - 0.25 * np.clip(granules, 0, 1)
    grey = ndimage.gaussian_filter(grey, 0.7 * scale) + 0.005 * rng.standard_normal((size, size))
    tint = np.array([1.0, 1.0, 0.97])  # faint colour cast of a bright-field lamp
    image = np.clip(grey[..., None] * tint * 255, 0, 255)
    return np.rint(image).astype(np.uint8), labels


def write_cell_phantoms(
    out_dir, n_frames_per_line: int = 4, size: int = 512, seed: int = 0, labels_dir=None
) -> Path:
    """Write cell phantoms in a folder-per-line layout.

    Writes ``out_dir/<line>/frame_<iii>.png`` (RGB), ``iii`` from ``001``, and
    each frame's label image (16-bit PNG, cell ids) as
    ``labels_dir/<line>/frame_<iii>.png``. The label images live *outside*
    ``out_dir`` by default, so that a folder-per-class loader reading
    ``out_dir/<line>/*`` only ever sees frames.

    Parameters
    ----------
    out_dir : path-like
    n_frames_per_line : int, default=4
    size : int, default=512
    seed : int, default=0
    labels_dir : path-like, optional
        Where the label images go; default ``<out_dir>_labels`` beside ``out_dir``.

    Returns
    -------
    out_dir : Path
    """
    out_dir = Path(out_dir)
    labels_dir = Path(labels_dir) if labels_dir is not None else out_dir.with_name(f"{out_dir.name}_labels")
    rng = np.random.default_rng(seed)
    for line in CELL_LINES:
        frames, label_frames = out_dir / line, labels_dir / line
        frames.mkdir(parents=True, exist_ok=True)
        label_frames.mkdir(parents=True, exist_ok=True)
        for index in range(1, n_frames_per_line + 1):
            image, labels = cell_phantom(rng, line, size)
            write_image(image, frames / f"frame_{index:03d}.png")
            write_image(labels.astype(np.uint16), label_frames / f"frame_{index:03d}.png")
    return out_dir
