"""Synthetic H&E-like histology: patients, four magnifications, and a patient effect, deterministic under a seed.

What it draws
-------------
Each phantom patient has one tissue "slide", drawn once at a fine resolution
as two stain concentration maps (haematoxylin: nuclei; eosin: stroma and
cytoplasm) turned into colour by the Beer-Lambert law with H&E optical-density
vectors (Ruifrok and Johnston's). Each image is a field of view of that slide
at one of BreakHis's magnifications (40X, 100X, 200X, 400X): the field at
``m``X is ``40 / m`` of the 40X field in each direction, taken at a random
place and resized to the output size. So a patient's 40X and 400X images show
the same tissue at two zoom levels, which is what a split by magnification
means on BreakHis.

Architecture carries the class. A patient's *atypia* ``a`` in [0, 1] is drawn
from Beta(2, 5) (benign) or Beta(5, 2) (malignant), so the classes overlap.
Low atypia: round glands with open lumens, small uniform nuclei lined up on
the gland rims, sparse stromal nuclei. High atypia: few, small, irregular
lumens, crowded nuclei of varied size and darker chromatin scattered through
the tissue.

The patient effect
------------------
``patient_effect`` (>= 0) scales how much a patient's appearance departs from
the common one, independently of its class: its stain vectors (hue of
haematoxylin and eosin), stain intensity, background tint and focus (blur). At
0 every patient is stained alike and only architecture differs; at 1 patients
differ as much as slides from different labs do. A classifier that learns a
patient's appearance instead of its tissue is then rewarded by any split that
puts one patient's images on both sides, which is the leak this generator
exists to show.

:func:`write_histology_phantoms` writes patients in BreakHis's official tree
and file names, so :func:`mstl_lib.data.breakhis.load_breakhis` reads them.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from mstl_lib.data.images import write_image

__all__ = [
    "HISTOLOGY_GENERATOR_VERSION", "HISTOLOGY_SCALES", "MAGNIFICATIONS", "PatientLook", "histology_image",
    "histology_patient_images", "sample_patient_look", "write_histology_phantoms",
]

HISTOLOGY_GENERATOR_VERSION = "1"
"""Bumped whenever a change alters the pixels drawn for a given seed."""

MAGNIFICATIONS = (40, 100, 200, 400)
"""BreakHis's magnifications; the field of view at ``m``X is ``40 / m`` of the 40X field."""

HISTOLOGY_SCALES = {
    # patients per class, images per patient and magnification, output (height, width)
    "small": {"patients": (4, 4), "per_magnification": 2, "size": (32, 48)},
    "cpu": {"patients": (12, 12), "per_magnification": 3, "size": (64, 96)},
}

_H_OD = np.array([0.65, 0.70, 0.29])
_E_OD = np.array([0.07, 0.99, 0.11])
_FINE = 4
"""The slide is drawn at this many fine pixels per output pixel of a 40X image."""

_BENIGN_TYPES = (("adenosis", "A"), ("fibroadenoma", "F"), ("phyllodes_tumor", "PT"), ("tubular_adenoma", "TA"))
_MALIGNANT_TYPES = (("ductal_carcinoma", "DC"), ("lobular_carcinoma", "LC"), ("mucinous_carcinoma", "MC"),
                    ("papillary_carcinoma", "PC"))


@dataclass(frozen=True)
class PatientLook:
    """One patient's appearance (class-independent) and tissue (class-dependent)."""

    atypia: float
    h_od: tuple[float, float, float]
    e_od: tuple[float, float, float]
    intensity: float
    tint: tuple[float, float, float]
    blur: float


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.02, None)
    return v / np.linalg.norm(v)


def sample_patient_look(rng: np.random.Generator, malignant: bool, patient_effect: float) -> PatientLook:
    """Draw one patient's atypia (from its class) and appearance (scaled by ``patient_effect``)."""
    if patient_effect < 0:
        raise ValueError(f"patient_effect must be >= 0; got {patient_effect}")
    atypia = float(rng.beta(5, 2) if malignant else rng.beta(2, 5))
    s = float(patient_effect)
    h_od = _unit(_H_OD + s * rng.normal(0, 0.25, 3))
    e_od = _unit(_E_OD + s * rng.normal(0, 0.25, 3))
    return PatientLook(
        atypia=atypia, h_od=tuple(h_od.round(6)), e_od=tuple(e_od.round(6)),
        intensity=float(np.exp(s * rng.normal(0, 0.3))),
        tint=tuple(np.clip(1 + s * rng.normal(0, 0.06, 3), 0.8, 1.2).round(6)),
        blur=float(abs(s * rng.normal(0, 1.0))),
    )


def _slide(rng: np.random.Generator, look: PatientLook, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Haematoxylin and eosin concentration maps of one patient's slide (fine pixels)."""
    height, width = shape
    a = look.atypia
    area = height * width
    # stroma: fibrous eosin texture
    fibres = ndimage.gaussian_filter(rng.normal(size=shape), sigma=(2.0, 6.0))
    eosin = 0.55 + 0.6 * fibres / (fibres.std() + 1e-9) * 0.25
    haem = np.zeros(shape)
    # glands: lumens (white) with nuclei on their rims
    n_glands = rng.poisson(area / 9000 * (1.4 - a))
    lumen = np.zeros(shape, dtype=bool)
    rim_points = []
    for _ in range(n_glands):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(10, 22) * (1 - 0.5 * a)
        wobble = 1 + a * 0.6 * rng.uniform(-1, 1)
        reach = int(np.ceil(radius * 1.7)) + 1
        y0, y1 = max(0, int(cy) - reach), min(height, int(cy) + reach + 1)
        x0, x1 = max(0, int(cx) - reach), min(width, int(cx) + reach + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        lumen[y0:y1, x0:x1] |= np.hypot((yy - cy) / wobble, (xx - cx) * wobble) < radius
        n_rim = int(2 * np.pi * (radius + 3) / 6)
        angles = np.linspace(0, 2 * np.pi, n_rim, endpoint=False) + rng.normal(0, 0.05 + 0.5 * a, n_rim)
        rim_points.append(np.stack([cy + (radius + 3) * np.sin(angles) * wobble,
                                    cx + (radius + 3) * np.cos(angles) / wobble], axis=1))
    # nuclei: rim nuclei, plus stromal ones whose density grows with atypia
    n_free = rng.poisson(area / 400 * (0.3 + 2.5 * a))
    free = np.stack([rng.uniform(0, height, n_free), rng.uniform(0, width, n_free)], axis=1)
    points = np.concatenate([*rim_points, free]) if rim_points else free
    radii = np.clip(rng.normal(2.0 + 2.0 * a, 0.2 + 0.9 * a, len(points)), 1.2, 6.0)
    darkness = np.clip(rng.normal(1.0 + 0.6 * a, 0.1 + 0.2 * a, len(points)), 0.4, 2.5)
    for low, high in ((0, 2.2), (2.2, 3.2), (3.2, 4.4), (4.4, 9)):
        chosen = (radii >= low) & (radii < high)
        if not chosen.any():
            continue
        spikes = np.zeros(shape)
        iy = np.clip(points[chosen, 0].astype(int), 0, height - 1)
        ix = np.clip(points[chosen, 1].astype(int), 0, width - 1)
        np.add.at(spikes, (iy, ix), darkness[chosen])
        sigma = float(np.mean(radii[chosen])) / 1.6
        haem += ndimage.gaussian_filter(spikes, sigma) * (2 * np.pi * sigma**2) * 0.9
    haem = np.clip(haem, 0, 2.5) + 0.06
    haem[lumen] *= 0.15
    eosin[lumen] *= 0.08
    return haem, np.clip(eosin, 0.02, None)


def _render(haem: np.ndarray, eosin: np.ndarray, look: PatientLook, rng: np.random.Generator) -> np.ndarray:
    od = look.intensity * (haem[..., None] * np.asarray(look.h_od) + 0.45 * eosin[..., None] * np.asarray(look.e_od))
    od = od * np.exp(rng.normal(0, 0.03))  # image-to-image exposure
    rgb = np.exp(-od) * np.asarray(look.tint)
    return rgb


def histology_image(haem: np.ndarray, eosin: np.ndarray, look: PatientLook, magnification: int,
                    size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One field of view of a slide at ``magnification``, as ``uint8`` RGB of ``size`` (height, width)."""
    if magnification not in MAGNIFICATIONS:
        raise ValueError(f"magnification must be one of {MAGNIFICATIONS}; got {magnification}")
    height, width = size
    field_h = max(4, round(height * _FINE * 40 / magnification))
    field_w = max(4, round(width * _FINE * 40 / magnification))
    top = int(rng.integers(0, haem.shape[0] - field_h + 1))
    left = int(rng.integers(0, haem.shape[1] - field_w + 1))
    crop = (slice(top, top + field_h), slice(left, left + field_w))
    rgb = _render(haem[crop], eosin[crop], look, rng)
    image = np.asarray(Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).resize(
        (width, height), Image.BILINEAR if field_w < width else Image.BOX), dtype=float)
    if look.blur > 0.05:
        image = ndimage.gaussian_filter(image, sigma=(look.blur, look.blur, 0))
    image += rng.normal(0, 3.0, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def histology_patient_images(seed: int, malignant: bool, patient_effect: float, per_magnification: int,
                             size: tuple[int, int]) -> tuple[PatientLook, dict[int, list[np.ndarray]]]:
    """One patient: its look and ``per_magnification`` images at each of :data:`MAGNIFICATIONS`.

    Deterministic in its arguments. The slide spans twice the 40X field in each
    direction, so 40X images of one patient differ.
    """
    rng = np.random.default_rng(seed)
    look = sample_patient_look(rng, malignant, patient_effect)
    height, width = size
    haem, eosin = _slide(rng, look, (2 * height * _FINE, 2 * width * _FINE))
    images = {m: [histology_image(haem, eosin, look, m, size, rng) for _ in range(per_magnification)]
              for m in MAGNIFICATIONS}
    return look, images


def _params(patient_effect: float, seed: int, scale: str) -> dict:
    if scale not in HISTOLOGY_SCALES:
        raise ValueError(f"scale must be one of {sorted(HISTOLOGY_SCALES)}, got {scale!r}")
    settings = HISTOLOGY_SCALES[scale]
    return {"generator": "mstl_lib.data.phantoms.histology", "generator_version": HISTOLOGY_GENERATOR_VERSION,
            "seed": int(seed), "scale": scale, "patient_effect": float(patient_effect),
            "patients": list(settings["patients"]), "per_magnification": int(settings["per_magnification"]),
            "size": list(settings["size"])}


def write_histology_phantoms(out_dir, patient_effect: float, seed: int = 0, scale: str = "small") -> Path:
    """Write phantom patients in BreakHis's official tree; reuse a folder built with the same parameters.

    Parameters
    ----------
    out_dir : path-like
        Becomes a ``breakhis`` dataset folder: ``BreaKHis_v1/histology_slides/breast/
        {benign,malignant}/SOB/<subtype>/SOB_<B|M>_<type>_99-<pid>/<mag>X/
        SOB_<B|M>_<type>-99-<pid>-<mag>-<seq>.png``, plus ``PHANTOM.md``,
        ``phantom.json`` and ``patients.json`` (each patient's look). Year
        ``99`` marks a phantom patient; patient ids are unique numbers.
    patient_effect : float
        See the module docstring; >= 0.
    seed : int
    scale : {"small", "cpu"}
        :data:`HISTOLOGY_SCALES`.

    Returns
    -------
    Path
    """
    out_dir = Path(out_dir)
    params = _params(patient_effect, seed, scale)
    try:
        if json.loads((out_dir / "phantom.json").read_text()) == params:
            return out_dir
    except (OSError, ValueError):
        if out_dir.exists() and any(out_dir.iterdir()):
            raise FileExistsError(f"{out_dir} is not empty and is not a histology phantom folder") from None
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    breast = staging / "BreaKHis_v1" / "histology_slides" / "breast"
    n_benign, n_malignant = params["patients"]
    seeds = np.random.SeedSequence([int(seed), 8675309]).generate_state(n_benign + n_malignant)
    looks = {}
    for index in range(n_benign + n_malignant):
        malignant = index >= n_benign
        subtype, code = (_MALIGNANT_TYPES if malignant else _BENIGN_TYPES)[index % 4]
        letter, label = ("M", "malignant") if malignant else ("B", "benign")
        pid = f"{9001 + index}"
        folder = breast / label / "SOB" / subtype / f"SOB_{letter}_{code}_99-{pid}"
        look, images = histology_patient_images(int(seeds[index]), malignant, patient_effect,
                                                params["per_magnification"], tuple(params["size"]))
        looks[f"99-{pid}"] = {"label": label, **asdict(look)}
        for magnification, arrays in images.items():
            (folder / f"{magnification}X").mkdir(parents=True, exist_ok=True)
            for seq, array in enumerate(arrays, start=1):
                name = f"SOB_{letter}_{code}-99-{pid}-{magnification}-{seq:03d}.png"
                write_image(array, folder / f"{magnification}X" / name)
    (staging / "PHANTOM.md").write_text(
        "# PHANTOM DATA: everything in this folder is synthetic\n\n"
        f"H&E-like histology phantoms from `mstl_lib.data.phantoms.histology` (generator version "
        f"{HISTOLOGY_GENERATOR_VERSION}, seed {seed}, scale {scale!r}, patient effect {patient_effect}), in "
        "BreakHis's tree. Any number computed on them is a phantom number.\n")
    (staging / "patients.json").write_text(json.dumps(looks, indent=1) + "\n")
    (staging / "phantom.json").write_text(json.dumps(params, indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out_dir)
    return out_dir
