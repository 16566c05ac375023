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
near-duplicates in the sense of :mod:`mstl_lib.data.near_duplicates`.

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from mstl_lib.data.images import write_image

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


_FFT_RADIUS = 24
"""Kernel radius (px) above which :func:`wrapped_gaussian` filters through the FFT."""


def wrapped_gaussian(field: np.ndarray, sigma, truncate: float = 4.0) -> np.ndarray:
    """``ndimage.gaussian_filter(field, sigma, mode="wrap")``, with wide kernels applied through the FFT.

    Each axis is filtered with scipy's own truncated kernel; where its radius
    exceeds :data:`_FFT_RADIUS` the circular correlation is computed as a product
    of spectra (the kernel folded onto the axis), which equals the direct sum up
    to rounding and costs a few milliseconds instead of a second per frame.
    """
    field = np.asarray(field, dtype="float64")
    sigmas = np.broadcast_to(np.asarray(sigma, dtype="float64"), (field.ndim,))
    for axis, sd in enumerate(sigmas):
        if sd <= 1e-15:
            continue
        radius = int(truncate * sd + 0.5)
        if radius <= _FFT_RADIUS:
            field = ndimage.gaussian_filter1d(field, sd, axis=axis, mode="wrap", truncate=truncate)
            continue
        n = field.shape[axis]
        offsets = np.arange(-radius, radius + 1)
        kernel = np.exp(-0.5 * (offsets / sd) ** 2)
        folded = np.zeros(n)
        np.add.at(folded, offsets % n, kernel / kernel.sum())
        spectrum = np.fft.rfft(folded)  # the kernel is symmetric: correlation = convolution
        shape = [1] * field.ndim
        shape[axis] = spectrum.size
        field = np.fft.irfft(np.fft.rfft(field, axis=axis) * spectrum.reshape(shape), n=n, axis=axis)
    return field


def _smooth_noise(rng, shape, sigma) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    field = wrapped_gaussian(rng.standard_normal(shape), sigma)
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
            write_image(image, folder / f"{stem}.png")
            write_image(_mask_to_uint8(mask), folder / f"{stem}_mask.png")


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
            write_image(image, out_dir / f"{image_id}.a.jpg", quality=92)
            write_image(_mask_to_uint8(mask), out_dir / f"{image_id}.b.jpg", quality=92)
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
