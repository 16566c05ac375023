"""The downscaled BUSI copy our numbers come from, made from the original release.

The BUSI copy the book was run on is the official ``Dataset_BUSI_with_GT`` tree with every file
downscaled so that its longest side is at most 320 px: Lanczos for images, nearest neighbour for
masks (``*_mask.png``, ``*_mask_<k>.png``), file names, folders and colour modes kept. This module
makes that copy from the original zip's folder, so the numbers can be regenerated::

    python -m mstl_lib data downscale-busi <Dataset_BUSI_with_GT> <data folder>/busi --max-side 320

Files already at most ``max_side`` are copied byte for byte. The copy is written beside its place
and moved in with one rename.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from PIL import Image

from mstl_lib import atomic
from mstl_lib.data.busi import BUSI_CLASSES
from mstl_lib.data.files import find_child_dir
from mstl_lib.data.images import is_image_file
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent

BOOK_MAX_SIDE = 320
"""The longest side of the BUSI copy the book's numbers come from."""

_MASK = re.compile(r"_mask(_\d+)?$", re.IGNORECASE)


def downscaled_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``(width, height)`` scaled so that the longer side is ``max_side`` (unchanged if already within)."""
    width, height = size
    scale = max_side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def downscale_file(source: Path, target: Path, max_side: int) -> bool:
    """Write ``source`` downscaled to ``target`` (same format and mode); return whether it was resized."""
    with Image.open(source) as image:
        size = downscaled_size(image.size, max_side)
        if size == image.size:
            shutil.copyfile(source, target)
            return False
        resample = Image.Resampling.NEAREST if _MASK.search(source.stem) else Image.Resampling.LANCZOS
        image.resize(size, resample).save(target, format=image.format)
    return True


def downscale_busi(source: str | os.PathLike, out: str | os.PathLike, max_side: int = BOOK_MAX_SIDE) -> dict:
    """Copy the BUSI folder ``source`` to ``out`` (which must not exist), downscaled to ``max_side``.

    Returns
    -------
    dict
        ``files`` copied per class folder and ``resized`` (how many were larger than ``max_side``).

    Raises
    ------
    DatasetLayoutError
        If a class folder is missing (the expected layout is shown).
    FileExistsError
        If ``out`` exists.
    """
    source, out = Path(source).expanduser(), Path(out).expanduser()
    if out.exists():
        raise FileExistsError(f"{out}: already exists; downscale into a new folder")
    folders = {label: find_child_dir(source, label) for label in BUSI_CLASSES}
    missing = [label for label, folder in folders.items() if folder is None]
    if missing:
        raise DatasetLayoutError(f"{source}: class folder(s) {', '.join(missing)} missing; expected layout:\n"
                                 + indent(DATASETS["busi"].layout))
    files, resized = {}, 0
    with atomic.replacing(out, folder=True) as partial:  # appears whole or not at all
        for label, folder in folders.items():
            (partial / folder.name).mkdir(parents=True)
            paths = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
            for path in paths:
                resized += downscale_file(path, partial / folder.name / path.name, max_side)
            files[label] = len(paths)
    return {"files": files, "resized": resized}
