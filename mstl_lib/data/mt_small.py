"""MT-Small-Dataset (P1's 200 + 200 breast-ultrasound lesions)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mstl_lib.data.files import check_images, find_child_dir, frame, list_files, set_attrs, target
from mstl_lib.data.folders import unwrap
from mstl_lib.data.images import is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent, require_root

# --------------------------------------------------------------------------- #
# MT-Small (and its BUSI stand-in)
# --------------------------------------------------------------------------- #
MT_SMALL_CLASSES = {"benign": "Benign", "malignant": "Malignant"}
STANDIN_FILE = "standin.json"
STANDIN_KIND = "mt_small_standin_from_busi"


def load_mt_small(root: str | Path) -> pd.DataFrame:
    """Load the MT-Small-Dataset (Ayana et al. 2022), or a stand-in built from BUSI.

    Layout: ``<root>/{Benign,Malignant}/{Original,Ground_Truth}/<name>.png``
    (class and sub-folder names matched ignoring case, spaces, ``_`` and ``-``;
    a single wrapping folder is looked through). Masks are matched to images by
    file stem (ignoring case; ``<stem>_mask`` also matches).

    Returns
    -------
    DataFrame
        Base columns plus ``image_id`` (file stem), ``standin`` (bool) and
        ``source_id`` (the BUSI image a stand-in image was made from, else
        None). ``group`` is ``"mt_small:<label>/<image_id>"``.
        ``attrs["standin"]`` holds the stand-in's parameters (or None) and
        ``attrs["orphan_masks"]`` the masks without an image.
    """
    root = require_root(root, "mt_small")
    base = unwrap(root, MT_SMALL_CLASSES.values())
    meta = read_standin_meta(base)
    source_of = {s["file"]: s["source_id"] for s in meta["sources"]} if meta else {}
    rows, orphans = [], 0
    for label, folder_name in MT_SMALL_CLASSES.items():
        class_dir = find_child_dir(base, folder_name)
        if class_dir is None:
            raise DatasetLayoutError(
                f"{base}: class folder '{folder_name}' is missing; expected layout:\n"
                + indent(DATASETS["mt_small"].layout)
            )
        image_dir = find_child_dir(class_dir, "Original")
        if image_dir is None:
            raise DatasetLayoutError(
                f"{class_dir}: sub-folder 'Original' is missing; expected layout:\n"
                + indent(DATASETS["mt_small"].layout)
            )
        images = list_files(image_dir)
        check_images(image_dir, images, f"MT-Small folder '{folder_name}/Original'")
        masks = {}
        mask_dir = find_child_dir(class_dir, "Ground_Truth")
        if mask_dir is not None:
            for path in filter(is_image_file, list_files(mask_dir)):
                masks[path.stem.lower()] = path
        used = set()
        for path in images:
            stem = path.stem
            key = next((k for k in (stem.lower(), f"{stem.lower()}_mask") if k in masks), None)
            used.add(key)
            rel = path.relative_to(base).as_posix()
            rows.append({
                "path": str(path), "dataset": "mt_small", "label": label,
                "target": target(label), "group": f"mt_small:{label}/{stem}",
                "mask_paths": [str(masks[key])] if key else [], "image_id": stem,
                "standin": meta is not None, "source_id": source_of.get(rel),
            })
        orphans += len(set(masks) - used)
    df = frame(rows, ["image_id", "standin", "source_id"], ["label", "image_id"])
    return set_attrs(df, "mt_small", root, orphan_masks=orphans,
                      standin=None if meta is None else {k: v for k, v in meta.items()
                                                         if k != "sources"})


def read_standin_meta(folder: Path) -> dict | None:
    path = folder / STANDIN_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DatasetLayoutError(f"{path}: unreadable stand-in description ({err})") from err
    if not isinstance(meta, dict) or meta.get("kind") != STANDIN_KIND or "sources" not in meta:
        raise DatasetLayoutError(f"{path}: not a stand-in description written by this library")
    return meta
