"""Cell microscopy frames: one folder per cell line, or flat frames with optional segmentations."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mstl_lib.data.files import frame, is_ignored, list_files, norm_name, set_attrs
from mstl_lib.data.folders import load_image_folder
from mstl_lib.data.images import is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent, require_root

# --------------------------------------------------------------------------- #
# Cells
# --------------------------------------------------------------------------- #
CELL_LINE_NAMES = {
    "hela": "HeLa", "h1299": "H1299", "mcf7": "MCF-7", "a549": "A549",
    "u373": "U373", "gowt1": "GOWT1", "cho": "CHO", "psc": "PSC",
}
"""Cell-line tokens recognised in flat file names (lower case -> name)."""

CELL_FILE_PREFIXES = {
    "B3_": ("H1299 or HeLa", "B3 bright-field set (H1299 and HeLa, 20x; line not given per frame)"),
}
"""Known flat-file prefixes -> (cell line, source) when the name carries no line."""

_SEG_SUFFIX = re.compile(r"(_seg|_mask|_label|_gt)$", re.IGNORECASE)
_FRAME_SUFFIX = re.compile(r"[_\-]t?(?P<frame>\d+)$", re.IGNORECASE)


def _cell_modality(stem: str) -> str:
    tokens = set(re.split(r"[_\-\s.]+", stem.lower()))
    flat = norm_name(stem)
    if "brightfield" in flat or "bf" in tokens:
        return "bright-field"
    if "dic" in tokens:
        return "DIC"
    if tokens & {"phc", "phase"}:
        return "phase-contrast"
    if tokens & {"fluo", "gfp", "cfp"}:
        return "fluorescence"
    return "unknown"


def _cell_line_and_source(stem: str) -> tuple[str, str]:
    tokens = re.split(r"[_\-\s.]+", stem.lower())
    for token in tokens:
        if token in CELL_LINE_NAMES:
            line = CELL_LINE_NAMES[token]
            source = "Cell Tracking Challenge DIC-C2DH-HeLa" if (
                line == "HeLa" and "dic" in tokens) else "file name"
            return line, source
    for prefix, (line, source) in CELL_FILE_PREFIXES.items():
        if stem.startswith(prefix):
            return line, source
    return "unknown", "unknown"


def load_cells(root: str | Path) -> pd.DataFrame:
    """Load cell-line microscopy images, flat or one folder per cell line.

    Two layouts, chosen by looking at the folder:

    - *flat* (images directly in ``root``, as ``../shared/data/cells``): each
      image is a frame; ``cell_line``, ``modality`` and ``frame`` are parsed
      from its name; a ``<stem>_seg.<ext>`` file is the frame's segmentation
      (``seg_path``), not a frame.
    - *folder per cell line* (``<root>/<line>/*.png|jpg|tif``, how a private
      cell set is supplied): ``label`` = ``cell_line`` = folder name.

    Returns
    -------
    DataFrame
        Base columns (``label`` = cell line, ``target`` = -1) plus
        ``cell_line``, ``modality`` ("bright-field", "DIC", ... or
        "unspecified"), ``seg_path`` (str or None), ``frame`` (int, -1 if
        none) and ``source``. ``group`` is the field of view
        (``"cells:<name without frame number>"``) in the flat layout, the image
        in the folder layout. ``attrs["layout"]`` is "flat" or "folders".
    """
    root = require_root(root, "cells")
    flat_images = [p for p in list_files(root) if is_image_file(p)]
    if flat_images:
        df = _load_cells_flat(root, flat_images)
        return set_attrs(df, "cells", root, layout="flat")
    if not any(p.is_dir() and not is_ignored(p) for p in root.iterdir()):
        raise DatasetLayoutError(
            f"{root}: no images and no cell-line folders; expected layout:\n"
            + indent(DATASETS["cells"].layout)
        )
    df = load_image_folder(root, positive=(), negative=(), dataset="cells")
    df = df.assign(cell_line=df["label"], modality="unspecified", seg_path=None,
                   frame=-1, source="folder per cell line")
    df = df.drop(columns="relpath")
    return set_attrs(df, "cells", root, layout="folders")


def _load_cells_flat(root: Path, images: list[Path]) -> pd.DataFrame:
    segs = {_SEG_SUFFIX.sub("", p.stem).lower(): p for p in images if _SEG_SUFFIX.search(p.stem)}
    rows = []
    for path in images:
        if _SEG_SUFFIX.search(path.stem):
            continue
        stem = path.stem
        line, source = _cell_line_and_source(stem)
        frame_match = _FRAME_SUFFIX.search(stem)
        field = stem[: frame_match.start()] if frame_match else stem
        seg = segs.get(stem.lower())
        rows.append({
            "path": str(path), "dataset": "cells", "label": line, "target": -1,
            "group": f"cells:{field}", "mask_paths": [], "cell_line": line,
            "modality": _cell_modality(stem), "seg_path": str(seg) if seg else None,
            "frame": int(frame_match.group("frame")) if frame_match else -1,
            "source": source,
        })
    extra = ["cell_line", "modality", "seg_path", "frame", "source"]
    return frame(rows, extra, ["group", "frame", "path"])
