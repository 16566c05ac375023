"""Simulated strain elastography from a real B-mode image and its lesion mask, deterministic under a seed.

P3's B-mode + strain set is private; BUSI has B-mode images and lesion masks but
no strain. This generator gives each BUSI image a colour strain image that
carries one injected number, the lesion's stiffness ratio, and, in the lesion
crop, nothing of the lesion's outline, size or shape:

1. **ROI box**: the mask's bounding box plus ``roi_margin`` of the image side
   (0.05, the chapter's crop margin, so a lesion crop is exactly the ROI box);
2. **stiffness map**, simulated on a fixed ``render_size`` grid covering the box
   (``frame="box"``): background stiffness 1 (optionally a smooth log-normal
   texture) and a stiff **ellipse centred in the box** with semi-axes a fixed
   share of its half sides, ``ratio`` times stiffer;
3. **axial strain under uniform compression**: with uniform stress, strain is
   inversely proportional to stiffness, so the background-to-lesion strain
   ratio equals the drawn stiffness ratio (what a strain-ratio reading measures);
4. **estimator noise and blur**: multiplicative Gaussian noise, then a Gaussian
   blur, both in box units, so the map has no detail that a small box would lose;
5. **display**: the grid resized into the box; inside it, log strain relative to
   the mean background strain on a jet-like scale (hard = blue, background
   mid-scale, soft = red); outside it, the grey B-mode, as a scanner overlays its
   elastogram.

Generator ``strain-1`` (:data:`LEGACY`) drew the ellipse with the mask's
centroid, area and orientation over the whole image, coloured relative to the
ROI mean, with a wider ROI: its lesion crops carried the lesion's size and
shape (through the ellipse's share of the crop, the colours' dependence on it
and the noise's scale), and the chapter's negative control detected them. That
ellipse stays available (``inclusion="lesion"``; ``frame="image"``).

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
    "LEGACY",
    "STRAIN_GENERATOR_VERSION",
    "LogNormal",
    "StrainSettings",
    "class_distributions",
    "draw_ratios",
    "ellipse_mask",
    "fit_lognormal",
    "jet",
    "lesion_ellipse",
    "roi_box",
    "strain_image",
    "strain_ratio",
]

STRAIN_GENERATOR_VERSION = "strain-2"
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
        Margin of the ROI box around the lesion's bounding box, as a fraction of the image side
        (0.05: the chapter's crop margin, so a lesion crop is exactly the ROI box).
    dynamic_range : float
        Strain relative to the reference that saturates the colour scale (its log maps to the ends).
    frame : {"box", "image"}
        ``"box"``: the elastogram is simulated on a ``render_size`` grid covering the ROI box and
        resized into it, so texture, blur and noise scale with the box and a lesion crop looks the
        same whatever the lesion's size; ``"image"``: simulated over the whole image (strain-1).
    inclusion : {"box", "lesion"}
        ``"box"``: the stiff inclusion is the axis-aligned ellipse centred in the ROI box with
        semi-axes ``inclusion_fill`` x half its sides (no lesion geometry in the crop);
        ``"lesion"``: the ellipse with the mask's centroid, area and orientation (the issue's first
        choice, which leaks lesion size and shape into the strain crop: see the chapter).
    inclusion_fill : float
        Semi-axes of the ``"box"`` inclusion as a share of the box's half sides.
    reference : {"background", "roi"}
        Colour = log strain relative to the mean background strain (``"background"``: the
        background is always mid-scale) or to the ROI mean (``"roi"``, strain-1: the colours
        then also depend on the lesion's share of the box).
    render_size : int
        Side of the grid a ``"box"`` frame is simulated on.
    """

    texture: float = 0.15
    texture_scale: float = 0.05
    blur: float = 0.06
    noise: float = 0.25
    roi_margin: float = 0.05
    dynamic_range: float = 4.0
    frame: str = "box"
    inclusion: str = "box"
    inclusion_fill: float = 0.6
    reference: str = "background"
    render_size: int = 64


LEGACY = StrainSettings(blur=0.01, noise=0.10, roi_margin=0.10, frame="image", inclusion="lesion", reference="roi")
"""The settings of generator ``strain-1`` (its negative control leaked lesion size and shape)."""


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
    for name, allowed in (("frame", ("box", "image")), ("inclusion", ("box", "lesion")),
                          ("reference", ("background", "roi"))):
        if getattr(settings, name) not in allowed:
            raise ValueError(f"{name} must be one of {allowed}; got {getattr(settings, name)!r}")
    bmode = np.asarray(bmode, dtype=float)
    if bmode.ndim == 3:
        bmode = bmode.mean(axis=-1)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != bmode.shape:
        raise ValueError(f"mask shape {mask.shape} differs from the B-mode image's {bmode.shape}")
    if not mask.any():
        raise ValueError("the lesion mask is empty: no ROI to draw")
    shape = bmode.shape
    if settings.frame == "image":
        lesion = _inclusion(mask, settings)
        roi = roi_box(mask | lesion, settings.roi_margin)
        strain, lesion = _simulate(lesion, ratio, rng, settings, float(max(shape)), compression)
    else:
        roi = roi_box(mask, settings.roi_margin)
        top, bottom, left, right = roi
        n = int(settings.render_size)
        local = np.zeros((n, n), dtype=bool)
        if settings.inclusion == "lesion":  # the mask's ellipse, in box coordinates
            local = _resize_nearest(_inclusion(mask, settings)[top:bottom, left:right], n)
        else:
            local = _inclusion(local, settings)
        small, local = _simulate(local, ratio, rng, settings, float(n), compression, noise_first=True)
        strain = np.full(shape, compression)
        lesion = np.zeros(shape, dtype=bool)
        strain[top:bottom, left:right] = _resize_nearest(small, bottom - top, right - left)
        lesion[top:bottom, left:right] = _resize_nearest(local, bottom - top, right - left)
    top, bottom, left, right = roi
    box, box_lesion = strain[top:bottom, left:right], lesion[top:bottom, left:right]
    if settings.reference == "roi" or not (~box_lesion).any():
        reference = box.mean()
    else:
        reference = box[~box_lesion].mean()
    relative = np.log(box / reference) / np.log(settings.dynamic_range)
    rgb = np.repeat(np.clip(bmode, 0, 1)[..., None], 3, axis=-1)
    rgb[top:bottom, left:right] = jet(0.5 + 0.5 * relative)
    return {"rgb": rgb.astype("float32"), "strain": strain, "lesion": lesion, "roi": roi}


def _resize_nearest(array: np.ndarray, rows: int, cols: int | None = None) -> np.ndarray:
    """``array`` resized to ``rows`` x ``cols`` (square when ``cols`` is None) by nearest neighbour."""
    cols = rows if cols is None else cols
    r = np.minimum((np.arange(rows) + 0.5) * array.shape[0] / rows, array.shape[0] - 1).astype(int)
    c = np.minimum((np.arange(cols) + 0.5) * array.shape[1] / cols, array.shape[1] - 1).astype(int)
    return array[np.ix_(r, c)]


def _inclusion(mask: np.ndarray, settings: StrainSettings) -> np.ndarray:
    """The stiff inclusion on ``mask``'s grid: the mask's moment ellipse, or the frame's centred ellipse."""
    shape = mask.shape
    if settings.inclusion == "box":
        h, w = shape
        return ellipse_mask(shape, ((h - 1) / 2, (w - 1) / 2, settings.inclusion_fill * w / 2,
                                    settings.inclusion_fill * h / 2, 0.0))
    lesion = ellipse_mask(shape, lesion_ellipse(mask))
    return lesion if lesion.any() else mask.copy()  # a lesion of one or two pixels


def _simulate(lesion: np.ndarray, ratio: float, rng: np.random.Generator, settings: StrainSettings,
              side: float, compression: float, noise_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Estimated axial strain of a stiffness map with ``lesion`` ``ratio`` times stiffer, and the lesion.

    ``noise_first``: the estimator noise is applied before the blur, so that the strain map has no
    detail finer than the blur (a box frame then survives being resized into a small box).
    """
    shape = lesion.shape
    stiffness = np.ones(shape)
    if settings.texture > 0:
        field = ndimage.gaussian_filter(rng.standard_normal(shape), settings.texture_scale * side)
        field /= field.std() + 1e-12
        stiffness *= np.exp(settings.texture * field)
    stiffness[lesion] = ratio * (stiffness[~lesion].mean() if (~lesion).any() else 1.0)
    # uniform stress: strain = stress / stiffness, scaled so the background strains by `compression`
    strain = compression * stiffness[~lesion].mean() / stiffness if (~lesion).any() else compression / stiffness
    noise = np.exp(settings.noise * rng.standard_normal(shape)) if settings.noise > 0 else None
    if noise is not None and noise_first:
        strain = strain * noise
    if settings.blur > 0:
        strain = ndimage.gaussian_filter(strain, settings.blur * side)
    if noise is not None and not noise_first:
        strain = strain * noise
    return strain, lesion
