"""Simulated strain elastography from a real B-mode image and its lesion mask, deterministic under a seed.

P3's B-mode + strain set is private; BUSI has B-mode images and lesion masks but
no strain. This generator gives each BUSI image a colour strain image that
carries one injected number, the lesion's stiffness ratio, and nothing of the
lesion's outline:

1. **stiffness map**: background stiffness 1 (optionally a smooth log-normal
   texture), a stiff **ellipse** with the mask's centroid, area and orientation
   (second moments) whose stiffness is ``ratio`` times the background's;
2. **axial strain under uniform compression**: with uniform stress, strain is
   inversely proportional to stiffness, so the background-to-lesion strain
   ratio equals the drawn stiffness ratio (what a strain-ratio reading measures);
3. **estimator blur and noise**: Gaussian blur of the strain map and
   multiplicative Gaussian noise;
4. **display**: inside an ROI box around the lesion, log strain relative to the
   ROI's mean on a jet-like scale (hard = blue, soft = red); outside it, the
   grey B-mode, as a scanner overlays its elastogram.

Ratios are drawn per patient from class-conditional log-normal distributions
(:func:`class_distributions`), fitted by the caller to published per-patient
strain ratios; ``separation`` scales the gap between the class means (0: the
classes share one distribution, a negative control).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = [
    "STRAIN_GENERATOR_VERSION", "LogNormal", "StrainSettings", "class_distributions", "draw_ratios",
    "ellipse_mask", "fit_lognormal", "jet", "lesion_ellipse", "roi_box", "strain_image", "strain_ratio",
]

STRAIN_GENERATOR_VERSION = "strain-1"
"""Bumped whenever the generator's output for a given seed changes."""


@dataclass(frozen=True)
class LogNormal:
    """A log-normal distribution: ``log(x) ~ N(mu, sigma^2)``."""

    mu: float
    sigma: float

    @property
    def median(self) -> float:
        return float(np.exp(self.mu))


@dataclass(frozen=True)
class StrainSettings:
    """How the strain image is made; the defaults are the chapter's.

    Attributes
    ----------
    texture : float
        SD of the background's log-stiffness texture (0: uniform background).
    texture_scale : float
        Correlation length of the texture, as a fraction of the image side.
    blur : float
        SD of the estimator's Gaussian blur, as a fraction of the image side (0: none).
    noise : float
        SD of the multiplicative estimator noise (0: none).
    roi_margin : float
        Margin of the ROI box around the lesion's bounding box, as a fraction of the image side.
    dynamic_range : float
        Strain relative to the ROI mean that saturates the colour scale (its log maps to the ends).
    """

    texture: float = 0.15
    texture_scale: float = 0.05
    blur: float = 0.01
    noise: float = 0.10
    roi_margin: float = 0.10
    dynamic_range: float = 4.0


def fit_lognormal(ratios) -> LogNormal:
    """Log-normal fitted to positive ``ratios`` (mean and SD, ddof=1, of their logs)."""
    logs = np.log(np.asarray(ratios, dtype=float))
    if len(logs) < 2 or not np.all(np.isfinite(logs)):
        raise ValueError(f"need at least two positive ratios to fit; got {list(np.asarray(ratios))}")
    return LogNormal(float(logs.mean()), float(logs.std(ddof=1)))


def class_distributions(benign, malignant, separation: float = 1.0) -> dict[int, LogNormal]:
    """Class-conditional stiffness-ratio distributions ``{0: benign, 1: malignant}``.

    Each class's log-mean is moved towards (``separation < 1``) or away from
    (``> 1``) the mean of the two by ``separation``; both classes share the
    pooled within-class SD, so ``separation=0`` gives one class-independent
    distribution (the negative control) and ``1`` the fitted one.

    Parameters
    ----------
    benign, malignant : array-like of float
        Observed per-patient strain ratios of each class.
    separation : float, >= 0
    """
    if separation < 0:
        raise ValueError(f"separation must be >= 0; got {separation}")
    fits = [fit_lognormal(benign), fit_lognormal(malignant)]
    centre = (fits[0].mu + fits[1].mu) / 2
    sigma = float(np.sqrt((fits[0].sigma ** 2 + fits[1].sigma ** 2) / 2))
    return {label: LogNormal(centre + separation * (fit.mu - centre), sigma) for label, fit in enumerate(fits)}


def draw_ratios(targets, distributions: dict[int, LogNormal], rng: np.random.Generator) -> np.ndarray:
    """One stiffness ratio per entry of ``targets`` (0/1), from ``distributions[target]``."""
    targets = np.asarray(targets, dtype=int)
    normals = rng.standard_normal(len(targets))
    mu = np.array([distributions[t].mu for t in targets])
    sigma = np.array([distributions[t].sigma for t in targets])
    return np.exp(mu + sigma * normals)


def lesion_ellipse(mask: np.ndarray) -> tuple[float, float, float, float, float]:
    """``(cy, cx, a, b, theta)``: the ellipse with the mask's centroid, area and orientation.

    The axes follow the eigenvalues of the mask's second central moments and are
    scaled so that ``pi * a * b`` equals the mask's area; ``theta`` is the
    angle of the major axis ``a`` from the column axis, in radians.

    Raises
    ------
    ValueError
        An empty mask.
    """
    mask = np.asarray(mask, dtype=bool)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError("the lesion mask is empty: no ellipse to draw")
    cy, cx = ys.mean(), xs.mean()
    cov = np.cov(np.stack([xs - cx, ys - cy])) if len(ys) > 1 else np.eye(2) * 0.25
    cov = np.atleast_2d(cov) + np.eye(2) * 1e-6
    values, vectors = np.linalg.eigh(cov)
    major = vectors[:, 1]
    theta = float(np.arctan2(major[1], major[0]))
    aspect = float(np.sqrt(max(values[1], 1e-9) / max(values[0], 1e-9)))
    area = float(len(ys))
    b = np.sqrt(area / (np.pi * aspect))
    return float(cy), float(cx), float(aspect * b), float(b), theta


def ellipse_mask(shape, ellipse) -> np.ndarray:
    """Boolean ``shape`` array, true inside ``ellipse`` (as :func:`lesion_ellipse` returns)."""
    cy, cx, a, b, theta = ellipse
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def roi_box(mask: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` (exclusive ends): the mask's bounding box plus ``margin`` x side."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    pad_y, pad_x = int(round(margin * h)), int(round(margin * w))
    return (max(0, ys.min() - pad_y), min(h, ys.max() + 1 + pad_y),
            max(0, xs.min() - pad_x), min(w, xs.max() + 1 + pad_x))


def jet(values: np.ndarray) -> np.ndarray:
    """Jet-like colour map of ``values`` in [0, 1]: 0 blue, 0.5 green, 1 red; shape ``(..., 3)``."""
    v = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0])  # r, g, b
    return np.clip(1.5 - np.abs(4.0 * v - centres), 0.0, 1.0)


def strain_ratio(strain: np.ndarray, lesion: np.ndarray, roi: tuple[int, int, int, int]) -> float:
    """Mean background strain inside ``roi`` over mean lesion strain (a strain-ratio reading)."""
    top, bottom, left, right = roi
    inside = np.zeros_like(lesion, dtype=bool)
    inside[top:bottom, left:right] = True
    return float(strain[inside & ~lesion].mean() / strain[lesion].mean())


def strain_image(bmode: np.ndarray, mask: np.ndarray, ratio: float, rng: np.random.Generator,
                 settings: StrainSettings = StrainSettings(), compression: float = 0.01) -> dict:
    """A colour strain image for one B-mode image, its lesion mask and a drawn stiffness ratio.

    Parameters
    ----------
    bmode : ndarray (H, W), grey in [0, 1]
    mask : ndarray (H, W) of bool
        The lesion mask (only its centroid, area and orientation are used).
    ratio : float > 0
        Lesion-to-background stiffness ratio (= background-to-lesion strain ratio).
    rng : numpy Generator
        Draws the texture and the noise.
    settings : StrainSettings
    compression : float
        Applied strain of the background (the scale of the strain map).

    Returns
    -------
    dict
        ``rgb`` (H, W, 3) float32 in [0, 1]; ``strain`` (H, W), the estimated
        axial strain; ``lesion`` the stiff ellipse (bool); ``roi`` the box.
    """
    if not ratio > 0:
        raise ValueError(f"the stiffness ratio must be positive; got {ratio}")
    bmode = np.asarray(bmode, dtype=float)
    if bmode.ndim == 3:
        bmode = bmode.mean(axis=-1)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != bmode.shape:
        raise ValueError(f"mask shape {mask.shape} differs from the B-mode image's {bmode.shape}")
    shape = bmode.shape
    side = float(max(shape))
    lesion = ellipse_mask(shape, lesion_ellipse(mask))
    if not lesion.any():  # a lesion of one or two pixels
        lesion = mask.copy()
    stiffness = np.ones(shape)
    if settings.texture > 0:
        field = ndimage.gaussian_filter(rng.standard_normal(shape), settings.texture_scale * side)
        field /= field.std() + 1e-12
        stiffness *= np.exp(settings.texture * field)
    stiffness[lesion] = ratio * (stiffness[~lesion].mean() if (~lesion).any() else 1.0)
    # uniform stress: strain = stress / stiffness, scaled so the background strains by `compression`
    strain = compression * stiffness[~lesion].mean() / stiffness if (~lesion).any() else compression / stiffness
    if settings.blur > 0:
        strain = ndimage.gaussian_filter(strain, settings.blur * side)
    if settings.noise > 0:
        strain = strain * np.exp(settings.noise * rng.standard_normal(shape))
    roi = roi_box(mask | lesion, settings.roi_margin)
    top, bottom, left, right = roi
    box = strain[top:bottom, left:right]
    relative = np.log(box / box.mean()) / np.log(settings.dynamic_range)
    rgb = np.repeat(np.clip(bmode, 0, 1)[..., None], 3, axis=-1)
    rgb[top:bottom, left:right] = jet(0.5 + 0.5 * relative)
    return {"rgb": rgb.astype("float32"), "strain": strain, "lesion": lesion, "roi": roi}
