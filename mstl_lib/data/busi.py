"""BUSI: breast ultrasound images with lesion masks (benign / malignant / normal)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mstl_lib.data.files import check_images, find_child_dir, frame, list_files, set_attrs, target
from mstl_lib.data.images import image_shape, is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent, require_root

# --------------------------------------------------------------------------- #
# BUSI
# --------------------------------------------------------------------------- #
BUSI_CLASSES = ("benign", "malignant", "normal")
_BUSI_FILE = re.compile(r"^(?P<image_id>.+?)(?P<mask>_mask(?:_(?P<k>\d+))?)?$", re.IGNORECASE)
_BUSI_ID = re.compile(r"^(?P<cls>[A-Za-z]+) \((?P<n>\d+)\)$")


def load_busi(
    root: str | Path, include_normal: bool = False, validate: bool = True
) -> pd.DataFrame:
    """Load BUSI (Al-Dhabyani et al. 2020).

    Layout: ``<root>/{benign,malignant,normal}/<class> (<n>).png`` with masks
    ``<class> (<n>)_mask.png``, ``_mask_1.png``, ... attached to ``mask_paths``.

    Parameters
    ----------
    root : path
        The ``busi`` folder.
    include_normal : bool, default=False
        Keep the ``normal`` images (``target = -1``); otherwise they are
        counted in ``attrs["excluded"]["normal"]``.
    validate : bool, default=True
        Check that every class folder exists and holds images only, that image
        names follow ``<class> (<n>)`` and that every header can be read and
        matches its masks' size. Cheap (headers only).

    Returns
    -------
    DataFrame
        Base columns plus ``image_id`` (e.g. ``"benign (12)"``), ``n`` (int) and
        ``n_masks``. ``group`` is ``"busi:" + image_id``: BUSI has no patient
        identifiers (near-duplicate grouping is applied elsewhere).
        ``attrs["orphan_masks"]`` counts masks without an image (ignored).

    Raises
    ------
    DatasetNotFoundError
        If ``root`` does not exist.
    DatasetLayoutError
        If a class folder is missing or empty, or holds a non-image file
        (with ``validate``).
    """
    root = require_root(root, "busi")
    classes = BUSI_CLASSES if include_normal else BUSI_CLASSES[:2]
    rows, excluded, orphans, ignored = [], {}, 0, 0
    for label in BUSI_CLASSES:
        folder = find_child_dir(root, label)
        if label not in classes:
            excluded[label] = 0 if folder is None else sum(
                1 for p in list_files(folder)
                if is_image_file(p) and not _BUSI_FILE.match(p.stem).group("mask")
            )
            continue
        if folder is None:
            raise DatasetLayoutError(
                f"{root}: class folder '{label}' is missing; expected layout:\n"
                + indent(DATASETS["busi"].layout)
            )
        files = list_files(folder)
        if validate:
            check_images(folder, files, f"BUSI class folder '{label}'")
        else:
            ignored += sum(not is_image_file(p) for p in files)
        images, masks = {}, {}
        for path in filter(is_image_file, files):
            match = _BUSI_FILE.match(path.stem)
            image_id = match.group("image_id")
            if match.group("mask"):
                masks.setdefault(image_id, []).append((int(match.group("k") or 0), path))
            else:
                images[image_id] = path
        if validate and not images:
            raise DatasetLayoutError(
                f"{folder}: BUSI class folder '{label}' holds masks but no images"
            )
        orphans += sum(len(v) for k, v in masks.items() if k not in images)
        for image_id, path in images.items():
            id_match = _BUSI_ID.match(image_id)
            if validate and (id_match is None or id_match.group("cls").lower() != label):
                raise DatasetLayoutError(
                    f"{path}: file name does not follow '{label} (<n>).png' (BUSI naming)"
                )
            mask_paths = [str(p) for _, p in sorted(masks.get(image_id, []))]
            if validate:
                _check_same_shape(path, mask_paths)
            rows.append({
                "path": str(path), "dataset": "busi", "label": label,
                "target": target(label), "group": f"busi:{image_id}",
                "mask_paths": mask_paths, "image_id": image_id,
                "n": int(id_match.group("n")) if id_match else -1,
                "n_masks": len(mask_paths),
            })
    df = frame(rows, ["image_id", "n", "n_masks"], ["label", "n", "image_id"])
    return set_attrs(df, "busi", root, excluded=excluded, orphan_masks=orphans,
                      ignored_files=ignored)


def _check_same_shape(image: Path, masks: list[str]) -> None:
    shape = image_shape(image)
    for mask in masks:
        if image_shape(mask) != shape:
            raise DatasetLayoutError(
                f"{mask}: mask size {image_shape(mask)} differs from its image "
                f"{image} {shape} (height, width)"
            )
