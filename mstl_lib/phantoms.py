"""Synthetic ultrasound and cell-line phantoms, deterministic under a seed.

The book runs end to end without any real data: when no data folder is found
it builds one with :func:`write_phantom_data_dir`, in the same layouts as the
real releases (BUSI, DDTI, a folder per cell line). Every number computed on
these images is a *phantom* number and the book labels it so; the phantoms
test the pipelines, not the medicine.

Ultrasound phantom
------------------
:func:`ultrasound_phantom` draws a B-mode-like breast image: a layered tissue
map (gel, bright skin line, hypoechoic subcutaneous fat, bright streaky
fibroglandular tissue, a deeper muscle layer, wavy boundaries), depth
attenuation, and fully developed speckle (complex Gaussian scatterers blurred
by an anisotropic point-spread function, magnitude = Rayleigh), log-compressed
to 8 bits. A hypoechoic lesion carries three BI-RADS cue groups:

============  ==================================  ===================================
cue           benign                              malignant
============  ==================================  ===================================
shape         oval, parallel (wider than tall)    taller than wide (not parallel)
margin        circumscribed: smooth, sharp        lobulated, spiculated, indistinct,
                                                  echogenic halo
posterior     enhancement                         acoustic shadowing
============  ==================================  ===================================

``overlap`` in [0, 1] makes the classes overlap: each cue group of a lesion is
drawn, independently, from the *other* class's distribution with probability
``overlap / 2``. At 0 every cue points the right way (trivially separable); at
1 both classes draw every cue from the same 50/50 mixture (indistinguishable);
at the default 0.35 each cue misleads 17.5 % of the time, so a reader who sees
all three cues perfectly and takes a majority vote is right about 92 % of the
time, and a simple classifier on pixels does clearly worse. Measured with a
logistic regression on 16x12 downsampled pixels of a window around the lesion
(200 phantoms at 64 px, 5-fold CV, data seeds 0-4): AUC 0.998-1.0 (accuracy
0.97-0.995) at overlap 0, AUC 0.83-0.91 (accuracy 0.77-0.84) at 0.35, AUC
0.48-0.62 (accuracy 0.49-0.61) at 1; on the whole image instead of a window,
AUC 0.69-0.78 at 0.35. Lesion size and position, layer depths, lateral gain
and field of view vary from image to image, so no two phantoms are
near-duplicates in the sense of :mod:`mstl_lib.near_duplicates`.

Cell phantom
------------
:func:`cell_phantom` draws a bright-field frame of one of three made-up cell
lines, named after real ones only for their morphology: ``phantom-HeLa``
(spread, polygonal, medium), ``phantom-MCF-7`` (small, round, in tight
clusters) and ``phantom-NCI-H1299`` (elongated spindles, scattered). Cells are
dark bodies with a darker rim, a nucleus, dark granules and a bright halo, on
a mid-grey background with uneven illumination (the real bright-field frames
are darker and flatter still). Each frame comes with a label image of cell
ids. Cell size scales with the frame, so at
512 px and above a threshold-dilate-contour pipeline keeping boxes with
width + height >= 100 px finds most cells (MCF-7: most clusters).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

GENERATOR_VERSION = "1"
"""Bumped whenever a change alters the pixels drawn for a given seed."""

CELL_LINES = ("phantom-HeLa", "phantom-MCF-7", "phantom-NCI-H1299")

PHANTOM_DATASETS = ("busi", "ddti", "cells")
"""Datasets that :func:`write_phantom_data_dir` provides, by loader name."""

PHANTOM_SCALES = {
    # busi: (benign, malignant, normal) images; ddti: (benign, malignant, no TIRADS)
    "small": {"busi": (24, 12, 6), "busi_size": 64, "ddti": (10, 14, 4), "ddti_size": 64,
              "cell_frames": 2, "cell_size": 512},
    "cpu": {"busi": (220, 105, 65), "busi_size": 160, "ddti": (60, 120, 30), "ddti_size": 160,
            "cell_frames": 5, "cell_size": 640},
}


# =========================================================================== ultrasound
@dataclass(frozen=True)
class LesionCues:
    """Parameters of one lesion's BI-RADS cues.

    Attributes
    ----------
    aspect : float
        Height / width; above 1 the lesion is taller than wide.
    lobulation : float
        Amplitude of low-order margin undulations, in lesion radii.
    spiculation : float
        Length of spicules, in lesion radii (0: none).
    margin_blur : float
        Width of the margin transition, in lesion radii (small: circumscribed).
    halo : float
        Brightness of an echogenic rim around the lesion, in dB (0: none).
    posterior : float
        Posterior acoustic feature, gain in dB: > 0 enhancement, < 0 shadowing.
    """

    aspect: float
    lobulation: float
    spiculation: float
    margin_blur: float
    halo: float
    posterior: float


def _draw_shape_cue(rng, malignant: bool) -> dict:
    if malignant:  # taller than wide
        return {"aspect": float(np.exp(rng.normal(np.log(1.2), 0.15)))}
    return {"aspect": float(np.exp(rng.normal(np.log(0.6), 0.15)))}  # parallel, oval


def _draw_margin_cue(rng, malignant: bool) -> dict:
    if malignant:  # not circumscribed
        return {
            "lobulation": float(rng.uniform(0.08, 0.2)),
            "spiculation": float(rng.uniform(0.25, 0.6)),
            "margin_blur": float(rng.uniform(0.08, 0.18)),
            "halo": float(rng.uniform(3, 8)),
        }
    return {
        "lobulation": float(rng.uniform(0.0, 0.05)),
        "spiculation": 0.0,
        "margin_blur": float(rng.uniform(0.01, 0.04)),
        "halo": 0.0,
    }


def _draw_posterior_cue(rng, malignant: bool) -> dict:
    if malignant:  # shadowing
        return {"posterior": float(rng.uniform(-14, -7))}
    return {"posterior": float(rng.uniform(3, 8))}  # enhancement


def sample_lesion_cues(rng: np.random.Generator, malignant: bool, overlap: float = 0.35) -> LesionCues:
    """Draw a lesion's cues; each cue group comes from the other class w.p. ``overlap / 2``.

    Parameters
    ----------
    rng : numpy.random.Generator
    malignant : bool
    overlap : float, default=0.35
        In [0, 1]; 0 separable, 1 indistinguishable.

    Returns
    -------
    cues : LesionCues
    """
    if not 0.0 <= overlap <= 1.0:
        raise ValueError(f"overlap must be in [0, 1], got {overlap}")
    params: dict = {}
    for draw_cue in (_draw_shape_cue, _draw_margin_cue, _draw_posterior_cue):
        looks_malignant = malignant ^ bool(rng.random() < overlap / 2)
        params.update(draw_cue(rng, looks_malignant))
    return LesionCues(**params)


def _smooth_noise(rng, shape, sigma) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return field / (field.std() + 1e-12)


def _wavy_line(rng, x, base, amplitude) -> np.ndarray:
    """``base + amplitude * sin(...)``: a gently undulating tissue boundary."""
    frequency, phase = rng.uniform(0.5, 1.6), rng.uniform(0, 2 * np.pi)
    return base + amplitude * np.sin(2 * np.pi * frequency * x + phase)


def _tissue_echogenicity(rng, size: int) -> np.ndarray:
    """Mean backscatter of layered breast tissue, shape (size, size), roughly in [0, 1.5]."""
    y, x = np.mgrid[0:size, 0:size] / size
    skin = _wavy_line(rng, x, rng.uniform(0.03, 0.06), 0.005)
    fat_end = _wavy_line(rng, x, rng.uniform(0.12, 0.32), rng.uniform(0.015, 0.05))
    gland_end = _wavy_line(rng, x, rng.uniform(0.55, 0.85), rng.uniform(0.02, 0.06))
    edge = 0.012

    def step(boundary):
        return 1 / (1 + np.exp(-(y - boundary) / edge))

    # backscatter levels in decibels: hypoechoic fat, bright gland, grey muscle
    fat, gland, deep = rng.uniform(-20, -14), rng.uniform(-3, 0), rng.uniform(-14, -8)
    level = fat + (gland - fat) * step(fat_end) + (deep - gland) * step(gland_end)
    level = -40 + (level + 40) * step(skin)  # coupling gel above the skin
    skin_width = rng.uniform(0.008, 0.015)
    level = level + 10 * np.exp(-0.5 * ((y - skin - skin_width) / skin_width) ** 2)

    # horizontal streaks (fibres, Cooper's ligaments): strong in gland and muscle
    streaks = _smooth_noise(rng, (size, size), (0.006 * size, 0.06 * size))
    level = level + (2 + 3 * step(fat_end)) * streaks
    # uneven lateral gain (probe contact) and, sometimes, a shallower field of view
    level = level + 3 * _smooth_noise(rng, (1, size), (0, 0.15 * size))
    if rng.random() < 0.3:
        level = level - 40 * step(rng.uniform(0.8, 0.95))
    return 10 ** (level / 10)


def _lesion_geometry(rng, size: int, cues: LesionCues):
    """Signed distance (pixels, > 0 inside) to a lesion drawn with ``cues``, and its radius."""
    radius = rng.uniform(0.10, 0.18) * size  # equivalent radius
    half_width, half_height = radius / np.sqrt(cues.aspect), radius * np.sqrt(cues.aspect)
    centre_y = np.clip(rng.uniform(0.32, 0.58) * size, half_height + 0.15 * size, 0.9 * size - half_height)
    centre_x = rng.uniform(0.25, 0.75) * size
    tilt = rng.normal(0, 0.12)

    y, x = np.mgrid[0:size, 0:size].astype(float)
    dx, dy = x - centre_x, y - centre_y
    u = (np.cos(tilt) * dx + np.sin(tilt) * dy) / half_width
    v = (-np.sin(tilt) * dx + np.cos(tilt) * dy) / half_height
    rho, phi = np.hypot(u, v), np.arctan2(v, u)

    boundary = np.ones_like(phi)
    weights = rng.dirichlet(np.ones(4))
    for order, weight in zip(range(2, 6), weights, strict=True):
        boundary += cues.lobulation * weight * np.cos(order * phi + rng.uniform(0, 2 * np.pi))
    if cues.spiculation > 0:
        for angle in rng.uniform(-np.pi, np.pi, rng.integers(6, 13)):
            gap = np.angle(np.exp(1j * (phi - angle)))  # wrapped angular distance
            width = rng.uniform(0.1, 0.18)
            boundary += cues.spiculation * rng.uniform(0.5, 1) * np.clip(1 - np.abs(gap) / width, 0, None)
    return (boundary - rho) * radius, radius


def _posterior_region(weight: np.ndarray, size: int) -> np.ndarray:
    """How much of each pixel lies beneath the lesion, fading with depth below it."""
    below = np.clip(np.maximum.accumulate(weight, axis=0) - weight, 0, 1)
    depth_below = np.cumsum(below, axis=0) / size
    below = below * np.exp(-depth_below / 0.6)
    return ndimage.gaussian_filter1d(below, 0.015 * size, axis=1)


def _speckle(rng, size: int) -> np.ndarray:
    """Rayleigh speckle amplitude with unit RMS, correlated by an axial x lateral PSF."""
    scale = size / 128
    sigma = (max(0.4, 0.7 * scale), max(0.6, 1.6 * scale))  # (axial, lateral) in px
    real = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma)
    imaginary = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma)
    amplitude = np.hypot(real, imaginary)
    return amplitude / np.sqrt(np.mean(amplitude**2))


def _log_compress(amplitude: np.ndarray, dynamic_range_db: float, smooth_px: float) -> np.ndarray:
    """Map amplitudes to uint8 over the top ``dynamic_range_db`` decibels.

    A light blur after compression (as scanners do) softens the black
    speckle nulls.
    """
    decibels = ndimage.gaussian_filter(20 * np.log10(amplitude + 1e-6), smooth_px)
    top = np.percentile(decibels, 99.5)
    grey = np.clip((decibels - top + dynamic_range_db) / dynamic_range_db, 0, 1)
    return np.rint(255 * grey).astype(np.uint8)


def render_ultrasound(
    rng: np.random.Generator, cues: LesionCues | None, size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a B-mode-like frame, with a lesion described by ``cues`` (or none).

    Parameters
    ----------
    rng : numpy.random.Generator
    cues : LesionCues or None
        None draws normal tissue and an empty mask.
    size : int, default=128

    Returns
    -------
    image : ndarray of uint8, shape (size, size)
    mask : ndarray of bool, shape (size, size)
    """
    echo = _tissue_echogenicity(rng, size)
    mask = np.zeros((size, size), dtype=bool)
    if cues is not None:
        distance, radius = _lesion_geometry(rng, size, cues)
        mask = distance > 0
        edge_width = max(0.35, cues.margin_blur * radius)
        weight = 1 / (1 + np.exp(-distance / edge_width))
        interior_db = rng.uniform(-30, -22) + 2 * _smooth_noise(rng, (size, size), 0.03 * size)
        rim = np.exp(-0.5 * ((distance + 2 * edge_width) / (1.5 * edge_width + 0.04 * radius)) ** 2)
        # blend in decibels, so the dark core follows the margin and the mask
        echo_db = 10 * np.log10(echo) * (1 - weight) + interior_db * weight
        echo_db += cues.halo * rim * (1 - weight) + cues.posterior * _posterior_region(weight, size)
        echo = 10 ** (echo_db / 10)
    depth = np.arange(size)[:, None] / size
    echo = echo * 10 ** (-rng.uniform(4, 9) * depth / 10)  # attenuation left after TGC
    amplitude = np.sqrt(np.clip(echo, 1e-6, None)) * _speckle(rng, size)
    smooth_px = (max(0.3, 0.5 * size / 128), max(0.4, 0.8 * size / 128))
    return _log_compress(amplitude, rng.uniform(50, 58), smooth_px), mask


def ultrasound_phantom(
    rng: np.random.Generator, malignant: bool, size: int = 128, overlap: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """A breast-ultrasound-like phantom with one benign- or malignant-looking lesion.

    Parameters
    ----------
    rng : numpy.random.Generator
    malignant : bool
        Class of the lesion.
    size : int, default=128
        Side of the square image.
    overlap : float, default=0.35
        How much the class cue distributions overlap, in [0, 1] (0: trivially
        separable, 1: indistinguishable); see the module docstring.

    Returns
    -------
    image : ndarray of uint8, shape (size, size)
    mask : ndarray of bool, shape (size, size)
        The lesion.
    """
    return render_ultrasound(rng, sample_lesion_cues(rng, malignant, overlap), size)


# --------------------------------------------------------------------------- writers
def _save_grey(array: np.ndarray, path: Path, **kwargs) -> None:
    Image.fromarray(array).save(path, **kwargs)


def _mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, 255, 0).astype(np.uint8)


def _write_busi_layout(out_dir: Path, counts: dict, size, overlap, rng) -> None:
    for class_name, count in counts.items():
        folder = out_dir / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(1, count + 1):
            cues = None if class_name == "normal" else sample_lesion_cues(
                rng, class_name == "malignant", overlap
            )
            image, mask = render_ultrasound(rng, cues, size)
            stem = f"{class_name} ({number})"
            _save_grey(image, folder / f"{stem}.png")
            _save_grey(_mask_to_uint8(mask), folder / f"{stem}_mask.png")


_DDTI_TIRADS = {False: (("2", "3"), (0.65, 0.35)), True: (("4a", "4b", "4c", "5"), (0.3, 0.25, 0.25, 0.2))}


def _ddti_case_plan(rng, n_benign: int, n_malignant: int, n_unlabelled: int) -> list[tuple]:
    """``(malignant or None, n_images)`` per case, shuffled; about 1 case in 5 has 2 images."""
    cases = []
    for malignant, n_images in ((False, n_benign), (True, n_malignant)):
        while n_images > 0:
            per_case = 2 if n_images >= 2 and rng.random() < 0.2 else 1
            cases.append((malignant, per_case))
            n_images -= per_case
    cases += [(None, 1)] * n_unlabelled
    return [cases[i] for i in rng.permutation(len(cases))]


def _ddti_label_fields(rng, malignant: bool | None) -> str:
    """The columns of a ``label.txt`` line after the image id."""
    if malignant is None:  # as the real file: cases without a TIRADS score
        return "na," + ",".join(["None"] * 7)
    names, probabilities = _DDTI_TIRADS[malignant]
    tirads = rng.choice(names, p=probabilities)
    composition = rng.choice(["solid", "predominantly-solid", "predominantly-cystic", "spongiform"])
    echogenicity = rng.choice(["marked-hypoechogenicity", "hypoechogenicity", "isoechogenicity"])
    margins = rng.choice(["microlobulated", "ill-defined", "spiculated"] if malignant else ["well-defined"])
    calcifications = rng.choice(["microcalcification", "non"] if malignant else ["non", "macrocalcification"])
    sex, age = rng.choice(["F", "F", "F", "M"]), rng.integers(20, 80)
    folder = "maling" if malignant else "bening"
    return f"{folder},{composition},{echogenicity},{margins},{calcifications},{tirads},{sex},{age}"


def _write_ddti_layout(out_dir: Path, n_benign, n_malignant, n_unlabelled, size, overlap, rng) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    plan = _ddti_case_plan(rng, n_benign, n_malignant, n_unlabelled)
    for case, (malignant, n_images) in enumerate(plan, 1):
        drawn_class = bool(rng.random() < 0.5) if malignant is None else malignant
        cues = sample_lesion_cues(rng, drawn_class, overlap)  # one nodule, seen n_images times
        fields = _ddti_label_fields(rng, malignant)
        for k in range(1, n_images + 1):
            image_id = f"{case}_{k}"
            image, mask = render_ultrasound(rng, cues, size)
            _save_grey(image, out_dir / f"{image_id}.a.jpg", quality=92)
            _save_grey(_mask_to_uint8(mask), out_dir / f"{image_id}.b.jpg", quality=92)
            lines.append(f"{image_id},{fields}")
    (out_dir / "label.txt").write_text("\n".join(lines) + "\n")


def write_ultrasound_phantoms(
    out_dir,
    n_benign: int,
    n_malignant: int,
    n_normal: int = 0,
    size: int = 128,
    overlap: float = 0.35,
    seed: int = 0,
    layout: str = "busi",
) -> Path:
    """Write ultrasound phantoms in the layout of BUSI or DDTI.

    Parameters
    ----------
    out_dir : path-like
        Created if needed.
    n_benign, n_malignant : int
        Number of images of each class.
    n_normal : int, default=0
        ``"busi"``: images without a lesion (empty mask) in ``normal/``.
        ``"ddti"``: images whose ``label.txt`` line carries no TIRADS (``na``
        and ``None`` fields, as in the real file).
    size : int, default=128
    overlap : float, default=0.35
        See :func:`ultrasound_phantom`.
    seed : int, default=0
    layout : {"busi", "ddti"}, default="busi"
        ``"busi"``: ``<class>/<class> (<n>).png`` and ``<class> (<n>)_mask.png``,
        ``n`` from 1. ``"ddti"``: ``<case>_<k>.a.jpg`` image, ``<case>_<k>.b.jpg``
        mask and ``label.txt`` (``id,folder,composition,echogenicity,margins,
        calcifications,tirads,sex,age``, no header); benign cases get TIRADS 2
        or 3, malignant 4a to 5; about one case in five has two images
        (``k`` = 1, 2) of the same nodule.

    Returns
    -------
    out_dir : Path
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    if layout == "busi":
        counts = {"benign": n_benign, "malignant": n_malignant, "normal": n_normal}
        _write_busi_layout(out_dir, counts, size, overlap, rng)
    elif layout == "ddti":
        _write_ddti_layout(out_dir, n_benign, n_malignant, n_normal, size, overlap, rng)
    else:
        raise ValueError(f"layout must be 'busi' or 'ddti', got {layout!r}")
    return out_dir


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
            Image.fromarray(image).save(frames / f"frame_{index:03d}.png")
            Image.fromarray(labels.astype(np.uint16)).save(label_frames / f"frame_{index:03d}.png")
    return out_dir


# =========================================================================== data dir
_PHANTOM_README = """\
# PHANTOM DATA: everything in this folder is synthetic

Nothing here comes from a patient or a microscope. These images were drawn by
`mstl_lib.phantoms` (generator version {version}, seed {seed}, scale "{scale}")
so that the book can run without the real datasets. Any number computed on
them is a phantom number: it checks that the pipeline runs, not how well a
method works on real images.

| folder | mimics | content |
|---|---|---|
| `busi/` | BUSI layout | {busi[0]} benign, {busi[1]} malignant, {busi[2]} normal \
breast-ultrasound phantoms, {busi_size} px |
| `ddti/` | DDTI layout | {ddti[0]} TIRADS 2-3, {ddti[1]} TIRADS 4a-5 and {ddti[2]} \
unscored thyroid-like phantoms, {ddti_size} px |
| `cells/` | a folder per cell line | {cell_frames} bright-field frames per phantom \
line ({lines}), {cell_size} px |
| `cells_labels/` | | the cell label image of each frame (16-bit PNG, 0 = background) |

Parameters: `phantom.json`.
"""


def _phantom_params(seed: int, scale: str) -> dict:
    if scale not in PHANTOM_SCALES:
        raise ValueError(f"scale must be one of {sorted(PHANTOM_SCALES)}, got {scale!r}")
    settings = PHANTOM_SCALES[scale]
    return {"generator": "mstl_lib.phantoms", "generator_version": GENERATOR_VERSION,
            "seed": int(seed), "scale": scale, "overlap": 0.35,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}


def _read_params(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "phantom.json").read_text())
    except (OSError, ValueError):
        return None


def write_phantom_data_dir(out_dir, seed: int = 0, scale: str = "small") -> Path:
    """Build a phantom data folder shaped like the real one; reuse it when present.

    Parameters
    ----------
    out_dir : path-like
        Target folder. If it already holds a complete phantom folder with the
        same parameters (``phantom.json``), it is returned untouched; a phantom
        folder with other parameters is rebuilt; a non-empty folder that is not
        a phantom folder raises :class:`FileExistsError`.
    seed : int, default=0
    scale : {"small", "cpu"}, default="small"
        ``"small"``: a few dozen 64 px images, for tests and smoke runs.
        ``"cpu"``: BUSI-like class imbalance (220 / 105 / 65) at 160 px.

    Returns
    -------
    out_dir : Path
        Holding ``busi/``, ``ddti/``, ``cells/``, ``cells_labels/``,
        ``PHANTOM.md`` and ``phantom.json``.
    """
    out_dir = Path(out_dir)
    params = _phantom_params(seed, scale)
    if _read_params(out_dir) == params:
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and _read_params(out_dir) is None:
        raise FileExistsError(f"{out_dir} is not empty and is not a phantom data folder")

    # build beside the target, then swap in: an interrupted run leaves no half folder
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    rng_seeds = np.random.SeedSequence(seed).generate_state(3)
    busi, ddti = params["busi"], params["ddti"]
    write_ultrasound_phantoms(staging / "busi", *busi, size=params["busi_size"],
                              overlap=params["overlap"], seed=int(rng_seeds[0]), layout="busi")
    write_ultrasound_phantoms(staging / "ddti", *ddti, size=params["ddti_size"],
                              overlap=params["overlap"], seed=int(rng_seeds[1]), layout="ddti")
    write_cell_phantoms(staging / "cells", params["cell_frames"], params["cell_size"], int(rng_seeds[2]))
    readme = _PHANTOM_README.format(version=GENERATOR_VERSION, lines=", ".join(CELL_LINES), **params)
    (staging / "PHANTOM.md").write_text(readme)
    (staging / "phantom.json").write_text(json.dumps(params, indent=2) + "\n")

    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir
