"""A rule-based mask of burned-in annotations on ultrasound images (text, colour bars, calipers, boxes).

Scanner exports carry marks that are not tissue: text and scale labels,
colour bars and coloured markers, calipers and measurement boxes, and often a
frame around the sector. A model can learn them (a measured lesion is a
suspicious one). :func:`annotation_mask` marks, by fixed rules and without
learning:

1. **coloured pixels**: chroma (max minus min of R, G, B) above ``chroma``;
   grey ultrasound has none, colour bars and markers have it;
2. **small bright marks**: pixels at least ``bright`` (near-white) in connected
   components (8-connectivity) of at most ``max_component`` of the image's
   pixels: text, caliper crosses and thin box lines, while large bright tissue
   (a bright wall, a calcification cluster) stays;
3. **border bands**: ``border`` of each side, where labels and frames sit;

and grows the union by ``dilate`` pixels to take in anti-aliased edges. The
defaults are meant for an image at its own resolution (thin marks blur into
grey once it is downsampled). On BUSI the rule takes thin yellow boxes, coloured
markers and most text, but it also takes some small near-white tissue specks and
misses dim text: it is a rule, not a detector.
:func:`mask_annotations` fills the masked pixels with a constant.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["annotation_mask", "mask_annotations"]


def annotation_mask(image: np.ndarray, chroma: float = 0.06, bright: float = 0.95, max_component: float = 0.0005,
                    border: float = 0.03, dilate: int = 1) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the burned-in annotations of ``image`` (see the module docstring).

    Parameters
    ----------
    image : ndarray (H, W), (H, W, 1) or (H, W, 3), values in [0, 1]
        A grey image has no coloured pixels; only rules 2 and 3 apply.
    chroma, bright, max_component, border : float
        The rules' thresholds (``max_component`` and ``border`` as shares of the pixels / sides).
    dilate : int
        Pixels by which the mask grows (0: none).
    """
    image = np.asarray(image, dtype=float)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"image must be (H, W), (H, W, 1) or (H, W, 3); got {image.shape}")
    grey = image.mean(axis=-1) if image.ndim == 3 else image
    h, w = grey.shape
    out = np.zeros((h, w), dtype=bool)
    if image.ndim == 3:
        out |= image.max(axis=-1) - image.min(axis=-1) > chroma
    labels, n = ndimage.label(grey >= bright, structure=np.ones((3, 3)))
    if n:
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = sizes <= max_component * h * w
        small[0] = False
        out |= small[labels]
    by, bx = round(border * h), round(border * w)
    if by:
        out[:by], out[h - by:] = True, True
    if bx:
        out[:, :bx], out[:, w - bx:] = True, True
    if dilate > 0:
        out = ndimage.binary_dilation(out, structure=np.ones((3, 3)), iterations=int(dilate))
    return out


def mask_annotations(image: np.ndarray, mask: np.ndarray | None = None, fill: float = 0.0, **rules) -> np.ndarray:
    """``image`` with its :func:`annotation_mask` (or the given ``mask``) set to ``fill``; a copy."""
    out = np.array(image, dtype=float, copy=True)
    mask = annotation_mask(image, **rules) if mask is None else np.asarray(mask, dtype=bool)
    out[mask] = fill
    return out
