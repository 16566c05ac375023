"""Reading images and masks, with errors that name the file and the problem.

Every reader goes through Pillow and calls ``Image.load()`` so that truncated
files fail loudly (``ImageFile.LOAD_TRUNCATED_IMAGES`` is never enabled).

- :func:`read_image` returns an ``H x W x C`` array (``C`` = 1 or 3), ``float32``
  in ``[0, 1]`` or ``uint8`` in ``0..255``, whatever the file's colour mode
  (``1``, ``L``, ``LA``, ``P``, ``RGB``, ``RGBA``, ``I;16*``, ``I``, ``F``, ...).
- :func:`read_mask` returns the boolean union of one or more mask files.
- :func:`image_shape` reads only the header.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from mstl_lib import timing

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "image_shape",
    "is_image_file",
    "read_image",
    "read_mask",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
"""File extensions (lower case) treated as images by the loaders."""

LOSSY_EXTENSIONS = (".jpg", ".jpeg")
"""Extensions whose masks carry compression noise (thresholded at 0.5, not at 0)."""

UINT16_MAX = 65535.0
"""Full scale of 16-bit modes (``I;16``, ``I;16B``, ``I``): they map to ``[0, 1]`` by it."""

# Errors Pillow (and the codecs under it) raise on broken image data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class ImageReadError(ValueError):
    """An image file that exists but cannot be read; the message names the file."""


def write_image(array: np.ndarray, path: str | os.PathLike, **options) -> None:
    """Write ``array`` (uint8 or uint16) to ``path`` with PIL; a PNG gets light compression (level 1).

    PNG stays lossless at any level; level 1 encodes several times faster than
    PIL's default 6, for files about a fifth larger. Phantoms and cell patches
    are written this way: they are made on the reader's machine, often by the thousand.
    """
    if str(path).lower().endswith(".png"):
        options = {"compress_level": 1, **options}
    Image.fromarray(array).save(path, **options)


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: zero-byte file, not an image")


def _open(path: Path) -> Image.Image:
    """Open ``path`` lazily (header only), turning Pillow's errors into ImageReadError."""
    _check_exists(path)
    try:
        return Image.open(path)
    except UnidentifiedImageError as err:
        raise ImageReadError(f"{path}: not an image (cannot identify image file)") from err
    except _DECODE_ERRORS as err:
        raise ImageReadError(f"{path}: truncated or corrupt image header ({err})") from err


def _open_and_load(path: Path) -> Image.Image:
    """Open ``path`` and decode all its pixels, so truncation is detected."""
    img = _open(path)
    try:
        img.load()
    except _DECODE_ERRORS as err:
        img.close()
        raise ImageReadError(f"{path}: truncated or corrupt image data ({err})") from err
    return img


def image_shape(path: str | os.PathLike) -> tuple[int, int]:
    """Height and width of an image, read from its header only.

    Parameters
    ----------
    path : str or path-like
        The image file.

    Returns
    -------
    (height, width) : tuple of int

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageReadError
        If the file is empty or not an image. Truncated pixel data is *not*
        detected here (use :func:`read_image`).
    """
    path = Path(path)
    with _open(path) as img:
        return img.height, img.width


def _to_float_array(img: Image.Image) -> np.ndarray:
    """Pixels of ``img`` as ``float32`` in ``[0, 1]``, shape ``H x W x C`` (C = 1 or 3).

    Alpha is composited on black; palettes are expanded; 16-bit modes are divided
    by 65535; float images already in ``[0, 1]`` are kept, others min-max scaled.
    """
    mode = img.mode
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode == "1":
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    elif mode == "L":
        arr = np.asarray(img, dtype=np.float32) / 255.0
    elif mode in ("LA", "La"):
        arr = np.asarray(img.convert("LA"), dtype=np.float32) / 255.0
        arr = arr[..., :1] * arr[..., 1:2]
    elif mode in ("RGBA", "RGBa"):
        arr = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        arr = arr[..., :3] * arr[..., 3:4]
    elif mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img).astype(np.float32) / UINT16_MAX
        arr = np.clip(arr, 0.0, 1.0)
    elif mode == "F":
        arr = _rescale_float(np.asarray(img, dtype=np.float32))
    elif mode == "RGB":
        arr = np.asarray(img, dtype=np.float32) / 255.0
    else:  # CMYK, YCbCr, LAB, HSV, ...
        arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr


def _rescale_float(arr: np.ndarray) -> np.ndarray:
    """Keep float data already in ``[0, 1]``; min-max scale anything else (NaN -> 0)."""
    arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if lo >= 0.0 and hi <= 1.0:
        return arr
    if hi == lo:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)


def _as_size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return height, width


def _resize(arr: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """Resize an ``H x W x C`` array to ``size = (height, width)`` with OpenCV."""
    height, width = size
    if arr.shape[:2] == (height, width):
        return arr
    out = cv2.resize(arr, (width, height), interpolation=interpolation)
    return out[..., None] if out.ndim == 2 else out


def _set_channels(arr: np.ndarray, channels: int) -> np.ndarray:
    if arr.shape[-1] == channels:
        return arr
    if channels == 3:
        return np.repeat(arr, 3, axis=-1)
    # ITU-R 601-2 luma, as Pillow's convert("L")
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (arr @ weights)[..., None]


@timing.timed("data")
def read_image(
    path: str | os.PathLike,
    channels: int = 3,
    size: int | tuple[int, int] | None = None,
    dtype: str = "float32",
) -> np.ndarray:
    """Read an image file into an ``H x W x C`` array.

    Parameters
    ----------
    path : str or path-like
        The image file (any format Pillow reads: PNG, JPEG, BMP, TIFF, ...).
    channels : {3, 1}, default=3
        Grey images are repeated to 3 channels; colour images are reduced to
        1 channel with the ITU-R 601-2 luma weights.
    size : int or (height, width), optional
        Resize to this size with area interpolation (``cv2.INTER_AREA``).
    dtype : {"float32", "uint8"}, default="float32"
        ``float32`` gives values in ``[0, 1]``; ``uint8`` gives ``0..255``.

    Returns
    -------
    ndarray of shape (height, width, channels)

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageReadError
        If the file is empty, not an image, truncated or corrupt.

    Notes
    -----
    Alpha is composited on black and then dropped. 16-bit modes (``I;16``,
    ``I;16B``, ``I``) are divided by 65535, the full scale of the type, not by
    the image's own maximum. Float (``F``) images already within ``[0, 1]`` are
    kept as they are; others are min-max scaled to ``[0, 1]``.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    size = _as_size(size)
    path = Path(path)
    with _open_and_load(path) as img:
        arr = _to_float_array(img)
    arr = _set_channels(arr, channels)
    if size is not None:
        arr = np.clip(_resize(arr, size, cv2.INTER_AREA), 0.0, 1.0)
    if dtype == "uint8":
        return np.rint(arr * 255.0).astype(np.uint8)
    return np.ascontiguousarray(arr, dtype=np.float32)


@timing.timed("data")
def read_mask(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    size: int | tuple[int, int] | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Union of one or more mask files as a boolean ``H x W`` array.

    Parameters
    ----------
    paths : path or iterable of paths
        Mask files of the same image (for example BUSI's ``_mask.png`` and
        ``_mask_1.png``). Masks may be 1-bit, grey, RGB or RGBA.
    size : int or (height, width), optional
        Resize the union to this size with nearest-neighbour interpolation.
    threshold : float, optional
        A pixel is lesion when its brightest channel (in ``[0, 1]``) exceeds
        ``threshold``. By default ``0`` (any nonzero value) for lossless files
        and ``0.5`` for JPEG files, whose compression noise is not lesion.

    Returns
    -------
    ndarray of bool, shape (height, width)

    Raises
    ------
    ValueError
        If ``paths`` is empty, or the masks differ in size.
    FileNotFoundError, ImageReadError
        As :func:`read_image`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_mask needs at least one mask file, got an empty list")
    union = None
    for path in paths:
        cut = threshold
        if cut is None:
            cut = 0.5 if path.suffix.lower() in LOSSY_EXTENSIONS else 0.0
        with _open_and_load(path) as img:
            mask = _to_float_array(img).max(axis=-1) > cut
        if union is None:
            union, first = mask, path
        elif mask.shape != union.shape:
            raise ValueError(
                f"{path}: mask is {mask.shape[0]}x{mask.shape[1]} but {first} is "
                f"{union.shape[0]}x{union.shape[1]}; masks of one image must match"
            )
        else:
            union |= mask
    size = _as_size(size)
    if size is not None:
        union = _resize(union[..., None].astype(np.uint8), size, cv2.INTER_NEAREST)[..., 0] > 0
    return union
