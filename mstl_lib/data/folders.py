"""A generic folder-per-class dataset, and Mendeley's breast-ultrasound set, which has that layout."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mstl_lib.data.files import check_images, find_child_dir, frame, is_ignored, list_files, set_attrs, target
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, dataset_not_found, require_root

# --------------------------------------------------------------------------- #
# Generic folder-per-class, Mendeley
# --------------------------------------------------------------------------- #
def load_image_folder(
    root: str | Path,
    classes: Iterable[str] | None = None,
    positive: Iterable[str] = ("malignant",),
    dataset: str = "folder",
    negative: Iterable[str] = ("benign",),
) -> pd.DataFrame:
    """Load a folder-per-class image set (for example your own data).

    Layout: ``<root>/<class>/**/<image>`` with any of :data:`IMAGE_EXTENSIONS`
    (case-insensitive). Files directly in ``root`` are ignored (recorded in
    ``attrs["ignored_files"]``).

    Parameters
    ----------
    root : path
        Folder holding one sub-folder per class.
    classes : iterable of str, optional
        Class folders to load, matched ignoring case; the label is spelled as
        given here. By default every sub-folder, labelled by its name.
    positive : iterable of str, default=("malignant",)
        Labels with ``target = 1``.
    dataset : str, default="folder"
        Value of the ``dataset`` column and prefix of ``group``.
    negative : iterable of str, default=("benign",)
        Labels with ``target = 0``; any other label gets ``-1``.

    Returns
    -------
    DataFrame
        Base columns plus ``relpath`` (path relative to ``root``).
        ``group`` is ``"<dataset>:<relpath>"`` (one image per group).

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist (:class:`DatasetNotFoundError` for a known
        dataset name).
    DatasetLayoutError
        If there is no class folder, a requested class folder is missing or
        empty, or a class folder holds a non-image file.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        if dataset in DATASETS:
            raise dataset_not_found(dataset, root)
        raise FileNotFoundError(f"image folder {root} does not exist (or is not a folder)")
    root = root.resolve()
    class_dirs = _class_dirs(root, classes)
    rows = []
    for label, folder in class_dirs:
        files = list_files(folder, recursive=True)
        check_images(folder, files, f"class folder '{label}'")
        for path in files:
            rel = path.relative_to(root).as_posix()
            rows.append({
                "path": str(path), "dataset": dataset, "label": label,
                "target": target(label, positive, negative),
                "group": f"{dataset}:{rel}", "mask_paths": [], "relpath": rel,
            })
    df = frame(rows, ["relpath"], ["label", "relpath"])
    ignored = [p.name for p in list_files(root)]
    return set_attrs(df, dataset, root, ignored_files=ignored)


def _class_dirs(root: Path, classes: Iterable[str] | None) -> list[tuple[str, Path]]:
    if classes is None:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and not is_ignored(p))
        if not dirs:
            raise DatasetLayoutError(
                f"{root}: no class folders; expected <root>/<class>/<image> "
                "(one sub-folder per class)"
            )
        return [(p.name, p) for p in dirs]
    out = []
    for label in classes:
        folder = find_child_dir(root, label)
        if folder is None:
            raise DatasetLayoutError(
                f"{root}: class folder '{label}' is missing (looked for it ignoring case)"
            )
        out.append((label, folder))
    if not out:
        raise DatasetLayoutError(f"{root}: no classes asked for (classes is empty)")
    return out


def unwrap(root: Path, required: Iterable[str]) -> Path:
    """``root`` or its single sub-folder, whichever holds all ``required`` folders."""
    def has_all(folder: Path) -> bool:
        return all(find_child_dir(folder, name) is not None for name in required)

    if has_all(root):
        return root
    subs = [p for p in root.iterdir() if p.is_dir() and not is_ignored(p)]
    if len(subs) == 1 and has_all(subs[0]):
        return subs[0]
    return root


def load_mendeley(root: str | Path) -> pd.DataFrame:
    """Load the Mendeley breast ultrasound set (Rodrigues 2017).

    Layout: ``<root>/{benign,malignant}/*.bmp|png`` (folder names
    case-insensitive; a single wrapping folder, as in the archive, is looked
    through). Built on :func:`load_image_folder`; ``group`` is one image
    (the set has no patient identifiers).
    """
    root = require_root(root, "mendeley")
    df = load_image_folder(
        unwrap(root, ("benign", "malignant")), classes=("benign", "malignant"),
        positive=("malignant",), dataset="mendeley",
    )
    return set_attrs(df, "mendeley", root)
