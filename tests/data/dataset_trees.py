"""Tiny fixture trees in each dataset's real layout, shared by the loader tests.

Every builder takes the dataset's folder (``<data_dir>/<name>``), writes a few
small images there in the official layout and returns that folder. :data:`TREES`
maps each name of :data:`mstl_lib.data.registry.LOADERS` to its builder; the
loader contract test (``test_loader_contract.py``) fails when a loader has none.

``tests/data/conftest.py`` puts this folder on ``sys.path``, so test modules
import it by name (``from dataset_trees import ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from mstl_lib.data import BASE_COLUMNS


def write_image(path: Path, size=(10, 12), mode: str = "L", lesion: bool = False) -> Path:
    """Write a small image and return its path.

    Parameters
    ----------
    path : Path
        Where to write (parent folders are created).
    size : tuple of int
        ``(height, width)``.
    mode : str
        PIL mode of the file (``"1"`` writes a bilevel mask).
    lesion : bool
        Black image with a bright 3 x 4 square instead of flat grey.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full(size, 40, np.uint8)
    if lesion:
        pixels[:] = 0
        pixels[2:5, 3:7] = 255
    image = Image.fromarray(pixels)
    (image.convert("1") if mode == "1" else image.convert(mode)).save(path)
    return path


def check_base_columns(df: pd.DataFrame, dataset: str) -> None:
    """The per-dataset tests' common checks of a loader's table (groups prefixed by the dataset)."""
    assert list(df.columns[:6]) == BASE_COLUMNS
    assert (df["dataset"] == dataset).all()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in df["path"])
    assert df["target"].dtype.kind == "i"
    assert df["group"].str.startswith(f"{dataset}:").all()
    assert all(isinstance(m, list) for m in df["mask_paths"])
    assert df.attrs["dataset"] == dataset and "excluded" in df.attrs


# --------------------------------------------------------------------------- #
# Builders, one per dataset
# --------------------------------------------------------------------------- #
def busi_tree(root: Path) -> Path:
    """3 benign, 2 malignant, 1 normal; one image with two masks and one orphan mask."""
    for label, n_images in (("benign", 3), ("malignant", 2), ("normal", 1)):
        for n in range(1, n_images + 1):
            write_image(root / label / f"{label} ({n}).png", mode="RGB")
            write_image(root / label / f"{label} ({n})_mask.png", mode="1", lesion=label != "normal")
    write_image(root / "benign" / "benign (2)_mask_1.png", mode="RGB", lesion=True)
    write_image(root / "benign" / "benign (9)_mask.png", mode="1")  # orphan mask
    return root


def mendeley_tree(root: Path, wrapped: bool = False) -> Path:
    """2 benign (``Benign``), 3 malignant (``MALIGNANT``); ``wrapped``: inside the archive's folder."""
    base = root / "Breast ultrasound images" if wrapped else root
    for i in range(2):
        write_image(base / "Benign" / f"b{i}.bmp")
    for i in range(3):
        write_image(base / "MALIGNANT" / f"m{i}.png")
    return root


def mt_small_tree(root: Path, names=("Benign", "Original", "Ground_Truth")) -> Path:
    """Two benign cases (one without mask), one malignant with a ``_mask`` name, one stray mask.

    ``names`` gives the spelling of the benign class, image and mask folders;
    the malignant folder follows the benign one's case.
    """
    cls, orig, gt = names
    mal = cls.replace("enign", "alignant").replace("B", "M").replace("b", "m")
    write_image(root / cls / orig / "case1.png")
    write_image(root / cls / gt / "case1.png", lesion=True)
    write_image(root / cls / orig / "case2.png")  # no mask
    write_image(root / mal / orig / "case3.png")
    write_image(root / mal / gt / "case3_mask.png", lesion=True)
    write_image(root / mal / gt / "stray.png")
    return root


DDTI_LINES = [
    "1_1,bening,solid,hypoechogenicity,well-defined,non,2,F,40",
    "1_2,bening,solid,hypoechogenicity,well-defined,non,4a,F,40",
    "2_1,na,None,None,None,None,None,None,None",
    "10_1,maling,cystic,,spiculated,microcalcification,5,M,",
]
"""``label.txt`` of :func:`ddti_tree`: two images of case 1, one unlabelled, one malignant."""


def ddti_tree(root: Path) -> Path:
    """Images and masks of :data:`DDTI_LINES`, plus ``99_1`` which ``label.txt`` does not list."""
    root.mkdir(parents=True, exist_ok=True)
    for image_id in ("1_1", "1_2", "2_1", "10_1", "99_1"):
        write_image(root / f"{image_id}.a.jpg", mode="RGB")
        write_image(root / f"{image_id}.b.jpg", mode="RGB", lesion=True)
    (root / "label.txt").write_text("\n".join(DDTI_LINES))
    return root


def breakhis_file(base: Path, bm: str, kind: str, subtype: str, patient: str, mag: int, seq: int) -> Path:
    """One BreakHis image under ``base`` (the ``breast`` folder), named as in the release."""
    label = "benign" if bm == "B" else "malignant"
    folder = base / label / "SOB" / subtype / f"SOB_{bm}_{kind}_{patient}" / f"{mag}X"
    return write_image(folder / f"SOB_{bm}_{kind}-{patient}-{mag}-{seq:03d}.png", mode="RGB")


def breakhis_breast(root: Path) -> Path:
    """The ``breast`` folder of a BreakHis tree rooted at ``root``."""
    return root / "BreaKHis_v1" / "histology_slides" / "breast"


def breakhis_tree(root: Path) -> Path:
    """Three benign images of two patients (two magnifications of one), one malignant."""
    breast = breakhis_breast(root)
    breakhis_file(breast, "B", "F", "fibroadenoma", "14-25197", 40, 1)
    breakhis_file(breast, "B", "F", "fibroadenoma", "14-25197", 100, 2)
    breakhis_file(breast, "B", "A", "adenosis", "14-22549AB", 40, 1)
    breakhis_file(breast, "M", "DC", "ductal_carcinoma", "14-2523", 400, 10)
    return root


def cells_tree(root: Path) -> Path:
    """Flat layout: two bright-field frames, one HeLa DIC frame with its segmentation, a README."""
    for frame in (8, 9):
        write_image(root / f"B3_01_1_1_BrightField_{frame:03d}.jpeg")
    write_image(root / "hela_dic_t015.tif")
    write_image(root / "hela_dic_t015_seg.tif")
    (root / "SOURCE_README.md").write_text("where these come from")
    return root


TREES: dict[str, Callable[[Path], Path]] = {
    "busi": busi_tree,
    "mendeley": mendeley_tree,
    "mt_small": mt_small_tree,
    "ddti": ddti_tree,
    "breakhis": breakhis_tree,
    "cells": cells_tree,
}
"""Builder of a tiny tree for every dataset loader (keys: ``LOADERS``)."""
