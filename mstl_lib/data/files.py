"""Helpers shared by the dataset loaders: listing files, checking class folders, tidy tables."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mstl_lib.data.images import IMAGE_EXTENSIONS, is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, many

BASE_COLUMNS = ["path", "dataset", "label", "target", "group", "mask_paths"]
"""Columns every loader returns first, in this order."""

IGNORED_FILE_NAMES = frozenset({"thumbs.db", "desktop.ini"})
"""System files skipped everywhere (as are names starting with a dot)."""

# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def is_ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in IGNORED_FILE_NAMES


def list_files(folder: Path, recursive: bool = False) -> list[Path]:
    """Files of ``folder`` (sorted), skipping hidden/system files and hidden folders."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    out = []
    for path in found:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or is_ignored(path):
            continue
        if path.is_file():
            out.append(path)
    return sorted(out)


def norm_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def find_child_dir(parent: Path, name: str) -> Path | None:
    """Sub-folder of ``parent`` named ``name``, ignoring case, spaces, ``_`` and ``-``."""
    want = norm_name(name)
    hits = sorted(p for p in parent.iterdir() if p.is_dir() and norm_name(p.name) == want)
    if len(hits) > 1:
        raise DatasetLayoutError(
            f"{parent}: several folders match '{name}': {many(hits)}; keep only one"
        )
    return hits[0] if hits else None


def target(label: str, positive: Iterable[str] = ("malignant",),
            negative: Iterable[str] = ("benign",)) -> int:
    key = label.casefold()
    if key in {p.casefold() for p in positive}:
        return 1
    if key in {n.casefold() for n in negative}:
        return 0
    return -1


def check_images(folder: Path, files: list[Path], what: str) -> None:
    """Raise DatasetLayoutError if ``files`` holds a non-image or nothing at all."""
    bad = [p for p in files if not is_image_file(p)]
    if bad:
        raise DatasetLayoutError(
            f"{bad[0]}: not an image file (extension must be one of "
            f"{', '.join(IMAGE_EXTENSIONS)}) inside {what} {folder}"
            + (f"; other non-image files: {many(bad[1:])}" if len(bad) > 1 else "")
        )
    if not files:
        raise DatasetLayoutError(f"{folder}: {what} holds no images")


def frame(rows: list[dict], extra: list[str], sort_by: list[str]) -> pd.DataFrame:
    """Tidy table: base columns, then ``extra``, sorted by ``sort_by``."""
    df = pd.DataFrame(rows, columns=BASE_COLUMNS + extra)
    if len(df) and sort_by:
        df = df.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    df["target"] = df["target"].astype(int)
    return df


def set_attrs(df: pd.DataFrame, name: str, root: Path, **extra) -> pd.DataFrame:
    info = DATASETS.get(name)
    df.attrs.update(
        dataset=name,
        root=str(root),
        title=info.title if info else name,
        citation_key=info.citation_key if info else None,
    )
    df.attrs.setdefault("excluded", {})
    df.attrs.update(extra)
    return df
