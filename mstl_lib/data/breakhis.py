"""BreakHis: breast-cancer histopathology at four magnifications (group = patient)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mstl_lib.data.files import find_child_dir, frame, list_files, set_attrs, target
from mstl_lib.data.images import is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent, require_root

# --------------------------------------------------------------------------- #
# BreakHis
# --------------------------------------------------------------------------- #
BREAKHIS_TUMOR_TYPES = {
    "A": "adenosis", "F": "fibroadenoma", "TA": "tubular_adenoma", "PT": "phyllodes_tumor",
    "DC": "ductal_carcinoma", "LC": "lobular_carcinoma", "MC": "mucinous_carcinoma",
    "PC": "papillary_carcinoma",
}
"""BreaKHis tumour-type codes and their sub-folder names."""

_BREAKHIS_FILE = re.compile(
    r"^SOB_(?P<bm>[BM])_(?P<tumor_type>[A-Z]+)-(?P<year>\d+)-(?P<pid>[0-9A-Za-z]+)"
    r"-(?P<mag>\d+)-(?P<seq>\d+)$"
)


def _breakhis_breast_dir(root: Path) -> Path:
    for cand in (root / "BreaKHis_v1" / "histology_slides" / "breast",
                 root / "histology_slides" / "breast", root):
        if cand.is_dir() and all(find_child_dir(cand, c) for c in ("benign", "malignant")):
            return cand
    raise DatasetLayoutError(
        f"{root}: no BreaKHis 'breast/{{benign,malignant}}' folders found; expected layout:\n"
        + indent(DATASETS["breakhis"].layout)
    )


def load_breakhis(root: str | Path) -> pd.DataFrame:
    """Load BreaKHis (Spanhol et al. 2016).

    ``root`` may be the folder holding ``BreaKHis_v1``, ``BreaKHis_v1`` itself
    or its ``histology_slides/breast`` folder. Images are found anywhere under
    ``breast/{benign,malignant}`` and parsed from their official names
    ``SOB_<B|M>_<type>-<year>-<patient>-<mag>-<seq>.png``.

    Returns
    -------
    DataFrame
        Base columns plus ``subtype`` (folder name, e.g. ``"fibroadenoma"``),
        ``tumor_type`` (A, F, TA, PT, DC, LC, MC, PC), ``patient`` (e.g.
        ``"14-25197"``), ``magnification`` (40, 100, 200 or 400) and ``seq``.
        ``group`` is ``"breakhis:" + patient``. Non-image files are skipped
        (``attrs["ignored_files"]``).

    Raises
    ------
    DatasetLayoutError
        If the tree is not found, an image name does not follow the official
        pattern or its B/M letter contradicts its class folder, or no image is found.
    """
    root = require_root(root, "breakhis")
    breast = _breakhis_breast_dir(root)
    rows, ignored = [], 0
    for label in ("benign", "malignant"):
        class_dir = find_child_dir(breast, label)
        for path in list_files(class_dir, recursive=True):
            if not is_image_file(path):
                ignored += 1
                continue
            match = _BREAKHIS_FILE.match(path.stem)
            if match is None:
                raise DatasetLayoutError(
                    f"{path}: name does not follow "
                    "'SOB_<B|M>_<type>-<year>-<patient>-<mag>-<seq>.png' (BreaKHis naming)"
                )
            if match.group("bm") != label[0].upper():
                raise DatasetLayoutError(
                    f"{path}: name says SOB_{match.group('bm')} but the file is under '{label}'"
                )
            parts = path.relative_to(class_dir).parts
            subtype = (parts[1] if len(parts) > 2 and parts[0].upper() == "SOB"
                       else BREAKHIS_TUMOR_TYPES.get(match.group("tumor_type"), "unknown"))
            patient = f"{match.group('year')}-{match.group('pid')}"
            rows.append({
                "path": str(path), "dataset": "breakhis", "label": label,
                "target": target(label), "group": f"breakhis:{patient}", "mask_paths": [],
                "subtype": subtype, "tumor_type": match.group("tumor_type"),
                "patient": patient, "magnification": int(match.group("mag")),
                "seq": int(match.group("seq")),
            })
    if not rows:
        raise DatasetLayoutError(f"{breast}: no BreaKHis images found under benign/ or malignant/")
    extra = ["subtype", "tumor_type", "patient", "magnification", "seq"]
    df = frame(rows, extra, ["label", "tumor_type", "patient", "magnification", "seq"])
    return set_attrs(df, "breakhis", root, breast_dir=str(breast), ignored_files=ignored)
