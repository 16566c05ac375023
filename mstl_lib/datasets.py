"""Dataset loaders: one tidy table per dataset, one row per image.

Every loader returns a :class:`pandas.DataFrame` sorted deterministically, with
at least these columns:

``path``        absolute path of the image (str)
``dataset``     dataset name (str), as in :data:`DATASETS`
``label``       class name (str): "benign", "malignant", "normal", a cell line, ...
``target``      int: 1 malignant, 0 benign, -1 anything else
``group``       the unit that must not straddle splits (str, prefixed by the dataset)
``mask_paths``  list of absolute mask paths (possibly empty)

plus the dataset's own fields. Dataset-level facts live in ``df.attrs``:
``dataset``, ``root``, ``excluded`` (a dict of counts of images left out, by
reason) and loader-specific entries.

The data are never shipped with the project: a missing dataset raises
:class:`DatasetNotFoundError`, whose message shows where it looked, the expected
layout, the download page and the citation.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .images import IMAGE_EXTENSIONS, image_shape, is_image_file, read_image, read_mask
from .paths import data_dir_candidates

__all__ = [
    "BREAKHIS_TUMOR_TYPES",
    "DATASETS",
    "TIRADS_TO_TARGET",
    "DatasetInfo",
    "DatasetLayoutError",
    "DatasetNotFoundError",
    "build_mt_small_standin",
    "class_counts",
    "dataset_root",
    "group_counts",
    "load_breakhis",
    "load_busi",
    "load_cells",
    "load_dataset",
    "load_ddti",
    "load_image_folder",
    "load_mendeley",
    "load_mt_small",
    "locate_data_dir",
]

BASE_COLUMNS = ["path", "dataset", "label", "target", "group", "mask_paths"]
"""Columns every loader returns first, in this order."""

IGNORED_FILE_NAMES = frozenset({"thumbs.db", "desktop.ini"})
"""System files skipped everywhere (as are names starting with a dot)."""


# --------------------------------------------------------------------------- #
# Registry
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, where to get it and how its folder must look.

    Attributes
    ----------
    name : str
        Key in :data:`DATASETS` and folder name under the data folder.
    title : str
        Human-readable name.
    layout : str
        Expected folder tree (multi-line).
    url : str
        Official download page.
    citation_key : str
        Key of the dataset in the book's bibliography.
    citation : str
        Reference to cite when results use the dataset.
    aliases : tuple of str
        Other folder names accepted under the data folder (official archive names).
    hint : str
        Extra advice shown when the dataset is missing.
    """

    name: str
    title: str
    layout: str
    url: str
    citation_key: str
    citation: str
    aliases: tuple[str, ...] = ()
    hint: str = ""


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            name="busi",
            title="BUSI: Dataset of breast ultrasound images",
            layout=(
                "busi/\n"
                "├── benign/     benign (1).png, benign (1)_mask.png, "
                "benign (1)_mask_1.png, ...\n"
                "├── malignant/  malignant (1).png, malignant (1)_mask.png, ...\n"
                "└── normal/     normal (1).png, normal (1)_mask.png, ..."
            ),
            url="https://scholar.cu.edu.eg/?q=afahmy/pages/dataset",
            citation_key="aldhabyani2020busi",
            citation=(
                "Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound "
                "images. Data in Brief. 2020;28:104863. doi:10.1016/j.dib.2019.104863"
            ),
            aliases=("Dataset_BUSI_with_GT", "BUSI"),
        ),
        DatasetInfo(
            name="mendeley",
            title="Mendeley breast ultrasound images (Rodrigues)",
            layout=(
                "mendeley/\n"
                "├── benign/     *.bmp or *.png (class folder names are case-insensitive)\n"
                "└── malignant/  *.bmp or *.png"
            ),
            url="https://data.mendeley.com/datasets/wmy84gzngw/1",
            citation_key="rodrigues2017mendeley",
            citation=(
                "Rodrigues PS. Breast Ultrasound Image. Mendeley Data, V1, 2017. "
                "doi:10.17632/wmy84gzngw.1"
            ),
        ),
        DatasetInfo(
            name="mt_small",
            title="MT-Small-Dataset (400 BUSI-derived breast ultrasound images)",
            layout=(
                "mt_small/\n"
                "├── Benign/\n"
                "│   ├── Original/      <name>.png  (200 images)\n"
                "│   └── Ground_Truth/  <name>.png  (lesion mask, same file name)\n"
                "└── Malignant/\n"
                "    ├── Original/      <name>.png  (200 images)\n"
                "    └── Ground_Truth/  <name>.png\n"
                "(as described in its README; folder names are case-insensitive)"
            ),
            url="https://doi.org/10.3390/diagnostics12010135",
            citation_key="mtsmall",
            citation=(
                "Ayana G, Park J, Jeong JW, Choe SW. A Novel Multistage Transfer Learning "
                "for Ultrasound Breast Cancer Image Classification. Diagnostics. "
                "2022;12(1):135 (MT-Small-Dataset). doi:10.3390/diagnostics12010135"
            ),
            aliases=("MT-Small-Dataset", "MT_Small", "mt-small"),
            hint=(
                "Offline, a stand-in with the same layout can be built from BUSI with "
                "mstl_lib.datasets.build_mt_small_standin(load_busi(...), out_dir)."
            ),
        ),
        DatasetInfo(
            name="ddti",
            title="DDTI: Digital Database of Thyroid Ultrasound Images",
            layout=(
                "ddti/\n"
                "├── label.txt          id,folder,composition,echogenicity,margins,"
                "calcifications,tirads,sex,age (no header)\n"
                "├── <case>_<k>.a.jpg   ultrasound image\n"
                "└── <case>_<k>.b.jpg   nodule mask"
            ),
            url="http://cimalab.intec.co/applications/thyroid/",
            citation_key="pedraza2015ddti",
            citation=(
                "Pedraza L, Vargas C, Narváez F, Durán O, Muñoz E, Romero E. An open "
                "access thyroid ultrasound image database. Proc. SPIE 9287, 10th "
                "International Symposium on Medical Information Processing and "
                "Analysis, 92870W (2015). doi:10.1117/12.2073532"
            ),
            aliases=("DDTI",),
        ),
        DatasetInfo(
            name="breakhis",
            title="BreaKHis: Breast Cancer Histopathological Database",
            layout=(
                "breakhis/\n"
                "└── BreaKHis_v1/histology_slides/breast/\n"
                "    ├── benign/SOB/<subtype>/SOB_B_<type>_<year>-<patient>/<mag>X/\n"
                "    │       SOB_B_<type>-<year>-<patient>-<mag>-<seq>.png\n"
                "    └── malignant/SOB/<subtype>/SOB_M_<type>_<year>-<patient>/<mag>X/\n"
                "            SOB_M_<type>-<year>-<patient>-<mag>-<seq>.png"
            ),
            url=(
                "https://web.inf.ufpr.br/vri/databases/"
                "breast-cancer-histopathological-database-breakhis/"
            ),
            citation_key="spanhol2016breakhis",
            citation=(
                "Spanhol FA, Oliveira LS, Petitjean C, Heutte L. A Dataset for Breast "
                "Cancer Histopathological Image Classification. IEEE Trans Biomed Eng. "
                "2016;63(7):1455-1462. doi:10.1109/TBME.2015.2496264"
            ),
            aliases=("BreaKHis_v1", "BreaKHis"),
        ),
        DatasetInfo(
            name="cells",
            title="Cancer cell-line microscopy frames",
            layout=(
                "cells/  either flat files\n"
                "├── <prefix>_BrightField_<frame>.jpeg   bright-field frames\n"
                "├── hela_dic_t<frame>.tif               DIC-C2DH-HeLa frame\n"
                "└── hela_dic_t<frame>_seg.tif           its segmentation label image\n"
                "or one folder per cell line (your own images):\n"
                "cells/<cell line>/*.png|jpg|tif"
            ),
            url="http://celltrackingchallenge.net/",
            citation_key="celltracking",
            citation=(
                "Maška M, Ulman V, Delgado-Rodriguez P, et al. The Cell Tracking "
                "Challenge: 10 years of objective benchmarking. Nature Methods. "
                "2023;20:1010-1020. doi:10.1038/s41592-023-01879-y"
            ),
        ),
    ]
}
"""The datasets the book knows, by name."""


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
class DatasetNotFoundError(FileNotFoundError):
    """A dataset that was asked for is not on disk.

    The message shows where it looked, the expected layout, the official
    download page and the citation. Attributes ``dataset`` and ``looked_at``
    hold the dataset name and the path(s) looked at.
    """


class DatasetLayoutError(ValueError):
    """A dataset folder exists but does not have the expected layout.

    Raised for an empty class folder, a non-image file inside a class folder,
    a malformed label line, an image listed but missing, ... The message names
    the file or folder.
    """


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _dataset_not_found(name: str, looked_at, detail: str = "") -> DatasetNotFoundError:
    """Build the error for a missing dataset (see :class:`DatasetNotFoundError`)."""
    info = get_info(name)
    places = [looked_at] if isinstance(looked_at, (str, Path)) else list(looked_at)
    lines = [f"Dataset '{info.name}' ({info.title}) was not found."]
    lines += [f"Looked at: {p}" for p in places]
    if detail:
        lines.append(detail)
    lines += [
        "Expected layout:",
        _indent(info.layout),
        f"Download it from the official page: {info.url}",
        "and place it under your data folder (or set MSTL_DATA_DIR to the folder "
        "holding it).",
    ]
    if info.hint:
        lines.append(info.hint)
    lines.append(f"Cite: {info.citation}")
    err = DatasetNotFoundError("\n".join(lines))
    err.dataset = info.name
    err.looked_at = [str(p) for p in places]
    return err


def _many(paths: list, limit: int = 5) -> str:
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" (and {len(paths) - limit} more)" if len(paths) > limit else "")


# --------------------------------------------------------------------------- #
# Locating data
# --------------------------------------------------------------------------- #
def get_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name`` (case-insensitive, ``-`` = ``_``)."""
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key]


def locate_data_dir(data_dir: str | Path | None = "auto") -> tuple[Path | None, str]:
    """Find the folder holding the datasets.

    Parameters
    ----------
    data_dir : "auto" or path, default="auto"
        ``"auto"`` (or None) tries :func:`mstl_lib.paths.data_dir_candidates`
        in order (``MSTL_DATA_DIR``, ``../shared/data``, ``~/mstl_data``).

    Returns
    -------
    path : Path or None
        The data folder, or None when ``"auto"`` found none.
    reason : str
        How it was found (``"given"`` for an explicit path), or which places
        were tried.

    Raises
    ------
    FileNotFoundError
        If an explicit ``data_dir`` does not exist.
    """
    if data_dir is None or (isinstance(data_dir, str) and data_dir == "auto"):
        candidates = data_dir_candidates()
        for reason, path in candidates:
            if path.is_dir():
                return path.resolve(), reason
        tried = "; ".join(f"{path} ({reason})" for reason, path in candidates)
        return None, f"no data folder found in: {tried}"
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {path} does not exist (or is not a folder)")
    return path.resolve(), "given"


def dataset_root(data_dir: str | Path | None, name: str) -> Path:
    """Folder of dataset ``name`` under the data folder: ``<data_dir>/<name>``.

    Official archive names (:attr:`DatasetInfo.aliases`, e.g. ``BreaKHis_v1``,
    ``Dataset_BUSI_with_GT``) are accepted too.

    Parameters
    ----------
    data_dir : "auto" or path
        See :func:`locate_data_dir`.
    name : str
        A key of :data:`DATASETS`.

    Raises
    ------
    DatasetNotFoundError
        If no data folder or no dataset folder is found.
    """
    info = get_info(name)
    if data_dir is None or (isinstance(data_dir, str) and data_dir == "auto"):
        base, reason = locate_data_dir("auto")
        if base is None:
            raise _dataset_not_found(
                info.name, [p / info.name for _, p in data_dir_candidates()], reason
            )
    else:
        base = Path(data_dir).expanduser()
    for folder in (info.name, *info.aliases):
        if (base / folder).is_dir():
            return (base / folder).resolve()
    raise _dataset_not_found(info.name, base / info.name)


def _require_root(root: str | Path, name: str) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise _dataset_not_found(name, root)
    return root.resolve()


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def _is_ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in IGNORED_FILE_NAMES


def _list_files(folder: Path, recursive: bool = False) -> list[Path]:
    """Files of ``folder`` (sorted), skipping hidden/system files and hidden folders."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    out = []
    for path in found:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or _is_ignored(path):
            continue
        if path.is_file():
            out.append(path)
    return sorted(out)


def _norm_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _find_child_dir(parent: Path, name: str) -> Path | None:
    """Sub-folder of ``parent`` named ``name``, ignoring case, spaces, ``_`` and ``-``."""
    want = _norm_name(name)
    hits = sorted(p for p in parent.iterdir() if p.is_dir() and _norm_name(p.name) == want)
    if len(hits) > 1:
        raise DatasetLayoutError(
            f"{parent}: several folders match '{name}': {_many(hits)}; keep only one"
        )
    return hits[0] if hits else None


def _target(label: str, positive: Iterable[str] = ("malignant",),
            negative: Iterable[str] = ("benign",)) -> int:
    key = label.casefold()
    if key in {p.casefold() for p in positive}:
        return 1
    if key in {n.casefold() for n in negative}:
        return 0
    return -1


def _check_images(folder: Path, files: list[Path], what: str) -> None:
    """Raise DatasetLayoutError if ``files`` holds a non-image or nothing at all."""
    bad = [p for p in files if not is_image_file(p)]
    if bad:
        raise DatasetLayoutError(
            f"{bad[0]}: not an image file (extension must be one of "
            f"{', '.join(IMAGE_EXTENSIONS)}) inside {what} {folder}"
            + (f"; other non-image files: {_many(bad[1:])}" if len(bad) > 1 else "")
        )
    if not files:
        raise DatasetLayoutError(f"{folder}: {what} holds no images")


def _frame(rows: list[dict], extra: list[str], sort_by: list[str]) -> pd.DataFrame:
    """Tidy table: base columns, then ``extra``, sorted by ``sort_by``."""
    df = pd.DataFrame(rows, columns=BASE_COLUMNS + extra)
    if len(df) and sort_by:
        df = df.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    df["target"] = df["target"].astype(int)
    return df


def _set_attrs(df: pd.DataFrame, name: str, root: Path, **extra) -> pd.DataFrame:
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
    root = _require_root(root, "busi")
    classes = BUSI_CLASSES if include_normal else BUSI_CLASSES[:2]
    rows, excluded, orphans, ignored = [], {}, 0, 0
    for label in BUSI_CLASSES:
        folder = _find_child_dir(root, label)
        if label not in classes:
            excluded[label] = 0 if folder is None else sum(
                1 for p in _list_files(folder)
                if is_image_file(p) and not _BUSI_FILE.match(p.stem).group("mask")
            )
            continue
        if folder is None:
            raise DatasetLayoutError(
                f"{root}: class folder '{label}' is missing; expected layout:\n"
                + _indent(DATASETS["busi"].layout)
            )
        files = _list_files(folder)
        if validate:
            _check_images(folder, files, f"BUSI class folder '{label}'")
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
                "target": _target(label), "group": f"busi:{image_id}",
                "mask_paths": mask_paths, "image_id": image_id,
                "n": int(id_match.group("n")) if id_match else -1,
                "n_masks": len(mask_paths),
            })
    df = _frame(rows, ["image_id", "n", "n_masks"], ["label", "n", "image_id"])
    return _set_attrs(df, "busi", root, excluded=excluded, orphan_masks=orphans,
                      ignored_files=ignored)


def _check_same_shape(image: Path, masks: list[str]) -> None:
    shape = image_shape(image)
    for mask in masks:
        if image_shape(mask) != shape:
            raise DatasetLayoutError(
                f"{mask}: mask size {image_shape(mask)} differs from its image "
                f"{image} {shape} (height, width)"
            )


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
            raise _dataset_not_found(dataset, root)
        raise FileNotFoundError(f"image folder {root} does not exist (or is not a folder)")
    root = root.resolve()
    class_dirs = _class_dirs(root, classes)
    rows = []
    for label, folder in class_dirs:
        files = _list_files(folder, recursive=True)
        _check_images(folder, files, f"class folder '{label}'")
        for path in files:
            rel = path.relative_to(root).as_posix()
            rows.append({
                "path": str(path), "dataset": dataset, "label": label,
                "target": _target(label, positive, negative),
                "group": f"{dataset}:{rel}", "mask_paths": [], "relpath": rel,
            })
    df = _frame(rows, ["relpath"], ["label", "relpath"])
    ignored = [p.name for p in _list_files(root)]
    return _set_attrs(df, dataset, root, ignored_files=ignored)


def _class_dirs(root: Path, classes: Iterable[str] | None) -> list[tuple[str, Path]]:
    if classes is None:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and not _is_ignored(p))
        if not dirs:
            raise DatasetLayoutError(
                f"{root}: no class folders; expected <root>/<class>/<image> "
                "(one sub-folder per class)"
            )
        return [(p.name, p) for p in dirs]
    out = []
    for label in classes:
        folder = _find_child_dir(root, label)
        if folder is None:
            raise DatasetLayoutError(
                f"{root}: class folder '{label}' is missing (looked for it ignoring case)"
            )
        out.append((label, folder))
    if not out:
        raise DatasetLayoutError(f"{root}: no classes asked for (classes is empty)")
    return out


def _unwrap(root: Path, required: Iterable[str]) -> Path:
    """``root`` or its single sub-folder, whichever holds all ``required`` folders."""
    def has_all(folder: Path) -> bool:
        return all(_find_child_dir(folder, name) is not None for name in required)

    if has_all(root):
        return root
    subs = [p for p in root.iterdir() if p.is_dir() and not _is_ignored(p)]
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
    root = _require_root(root, "mendeley")
    df = load_image_folder(
        _unwrap(root, ("benign", "malignant")), classes=("benign", "malignant"),
        positive=("malignant",), dataset="mendeley",
    )
    return _set_attrs(df, "mendeley", root)


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
    root = _require_root(root, "mt_small")
    base = _unwrap(root, MT_SMALL_CLASSES.values())
    meta = _read_standin_meta(base)
    source_of = {s["file"]: s["source_id"] for s in meta["sources"]} if meta else {}
    rows, orphans = [], 0
    for label, folder_name in MT_SMALL_CLASSES.items():
        class_dir = _find_child_dir(base, folder_name)
        if class_dir is None:
            raise DatasetLayoutError(
                f"{base}: class folder '{folder_name}' is missing; expected layout:\n"
                + _indent(DATASETS["mt_small"].layout)
            )
        image_dir = _find_child_dir(class_dir, "Original")
        if image_dir is None:
            raise DatasetLayoutError(
                f"{class_dir}: sub-folder 'Original' is missing; expected layout:\n"
                + _indent(DATASETS["mt_small"].layout)
            )
        images = _list_files(image_dir)
        _check_images(image_dir, images, f"MT-Small folder '{folder_name}/Original'")
        masks = {}
        mask_dir = _find_child_dir(class_dir, "Ground_Truth")
        if mask_dir is not None:
            for path in filter(is_image_file, _list_files(mask_dir)):
                masks[path.stem.lower()] = path
        used = set()
        for path in images:
            stem = path.stem
            key = next((k for k in (stem.lower(), f"{stem.lower()}_mask") if k in masks), None)
            used.add(key)
            rel = path.relative_to(base).as_posix()
            rows.append({
                "path": str(path), "dataset": "mt_small", "label": label,
                "target": _target(label), "group": f"mt_small:{label}/{stem}",
                "mask_paths": [str(masks[key])] if key else [], "image_id": stem,
                "standin": meta is not None, "source_id": source_of.get(rel),
            })
        orphans += len(set(masks) - used)
    df = _frame(rows, ["image_id", "standin", "source_id"], ["label", "image_id"])
    return _set_attrs(df, "mt_small", root, orphan_masks=orphans,
                      standin=None if meta is None else {k: v for k, v in meta.items()
                                                         if k != "sources"})


def _read_standin_meta(folder: Path) -> dict | None:
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


def _draw_standin_sources(busi_table: pd.DataFrame, n_per_class: int, seed: int) -> list[dict]:
    """The BUSI rows a stand-in is made of: ``n_per_class`` per class, seeded."""
    busi_root = busi_table.attrs.get("root")
    rng = np.random.default_rng(seed)
    sources = []
    for label, folder in MT_SMALL_CLASSES.items():
        pool = busi_table[busi_table["label"] == label]
        pool = pool.sort_values(["n", "image_id"], kind="mergesort")
        if len(pool) < n_per_class:
            raise ValueError(
                f"the BUSI table has {len(pool)} {label} images, fewer than "
                f"n_per_class={n_per_class}"
            )
        picked = pool.iloc[np.sort(rng.choice(len(pool), size=n_per_class, replace=False))]
        for row in picked.itertuples(index=False):
            name = f"{row.image_id}.png"
            sources.append({
                "file": f"{folder}/Original/{name}",
                "mask": f"{folder}/Ground_Truth/{name}",
                "source_id": row.image_id,
                "source": _relative_to(row.path, busi_root),
                "source_masks": [_relative_to(p, busi_root) for p in row.mask_paths],
                "_path": row.path, "_mask_paths": list(row.mask_paths),
            })
    return sources


def _relative_to(path: str, root: str | None) -> str:
    try:
        return Path(path).relative_to(root).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def build_mt_small_standin(
    busi_table: pd.DataFrame,
    out_dir: str | Path,
    n_per_class: int = 200,
    size: int = 128,
    seed: int = 0,
) -> Path:
    """Write an MT-Small-shaped stand-in made of BUSI images.

    The real MT-Small-Dataset is 400 BUSI-derived images (200 benign, 200
    malignant). When it is not available, this draws ``n_per_class`` benign
    and ``n_per_class`` malignant BUSI images at random (seeded, without
    replacement), resizes them to ``size x size`` (grey images: area
    interpolation; masks: union of the image's BUSI masks, nearest neighbour)
    and writes them in the MT-Small layout, with a ``README.md`` naming the
    seed and every source file and a ``standin.json`` of the parameters.

    Parameters
    ----------
    busi_table : DataFrame
        Output of :func:`load_busi`.
    out_dir : path
        Where to write; keep it out of the repository (e.g. under
        :func:`mstl_lib.paths.build_dir`), as it holds real-data derivatives.
    n_per_class : int, default=200
    size : int, default=128
    seed : int, default=0

    Returns
    -------
    Path
        ``out_dir``, loadable with :func:`load_mt_small`.

    Notes
    -----
    Idempotent: if ``out_dir`` already holds a complete stand-in with the same
    parameters and sources, nothing is rewritten. An older stand-in with other
    parameters is replaced; a non-empty folder that is not a stand-in is never
    touched (ValueError).
    """
    if n_per_class < 1 or size < 1:
        raise ValueError(f"n_per_class and size must be positive, got {n_per_class}, {size}")
    out_dir = Path(out_dir).expanduser()
    sources = _draw_standin_sources(busi_table, n_per_class, seed)
    public = [{k: v for k, v in s.items() if not k.startswith("_")} for s in sources]
    meta = {
        "kind": STANDIN_KIND, "source_dataset": "busi",
        "source_root": busi_table.attrs.get("root"),
        "n_per_class": int(n_per_class), "size": int(size), "seed": int(seed),
        "sources": public,
    }
    if out_dir.is_dir() and any(out_dir.iterdir()):
        old = _read_standin_meta(out_dir) if (out_dir / STANDIN_FILE).is_file() else None
        if old is None:
            raise ValueError(
                f"{out_dir}: folder is not empty and holds no {STANDIN_FILE}; "
                "refusing to overwrite it with an MT-Small stand-in"
            )
        if _same_standin(old, meta) and _standin_complete(out_dir, old):
            return out_dir
        _remove_standin(out_dir)
    _write_standin(out_dir, sources, size)
    (out_dir / "README.md").write_text(_standin_readme(meta), encoding="utf-8")
    # written last: its presence means the stand-in is complete
    (out_dir / STANDIN_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return out_dir


def _same_standin(old: dict, new: dict) -> bool:
    keys = ("n_per_class", "size", "seed")
    same_params = all(old.get(k) == new[k] for k in keys)
    pairs = lambda meta: [(s["file"], s["source"]) for s in meta["sources"]]  # noqa: E731
    return same_params and pairs(old) == pairs(new)


def _standin_complete(out_dir: Path, meta: dict) -> bool:
    return all((out_dir / s[k]).is_file() for s in meta["sources"] for k in ("file", "mask"))


def _remove_standin(out_dir: Path) -> None:
    """Delete what a previous stand-in wrote (and nothing else)."""
    for folder in MT_SMALL_CLASSES.values():
        if (out_dir / folder).is_dir():
            shutil.rmtree(out_dir / folder)
    for name in (STANDIN_FILE, "README.md"):
        (out_dir / name).unlink(missing_ok=True)


def _write_standin(out_dir: Path, sources: list[dict], size: int) -> None:
    for src in sources:
        image = read_image(src["_path"], channels=1, size=size, dtype="uint8")[..., 0]
        if src["_mask_paths"]:
            mask = read_mask(src["_mask_paths"], size=size)
        else:
            mask = np.zeros((size, size), dtype=bool)
        for key, pixels in (("file", image), ("mask", mask.astype(np.uint8) * 255)):
            target = out_dir / src[key]
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(target)


def _standin_readme(meta: dict) -> str:
    lines = [
        "# MT-Small stand-in built from BUSI",
        "",
        "This folder is **not** the MT-Small-Dataset of Ayana et al. (2022). That set "
        "(400 BUSI-derived images) was not available, so this stand-in was built from "
        "BUSI (Al-Dhabyani et al. 2020) by `mstl_lib.datasets.build_mt_small_standin`: "
        f"{meta['n_per_class']} benign and {meta['n_per_class']} malignant BUSI images "
        f"drawn at random without replacement (seed={meta['seed']}), resized to "
        f"{meta['size']}x{meta['size']} (grey images with area interpolation, masks as the "
        "nearest-neighbour union of the image's BUSI masks), written in the MT-Small layout:",
        "",
        "```",
        DATASETS["mt_small"].layout,
        "```",
        "",
        f"Parameters: `{STANDIN_FILE}`. BUSI folder used: `{meta['source_root']}`.",
        "Cite BUSI for any result on this stand-in: " + DATASETS["busi"].citation + ".",
        "",
        "## Source files (relative to the BUSI folder)",
        "",
        "| file | source image | source masks |",
        "|---|---|---|",
    ]
    for s in meta["sources"]:
        lines.append(f"| {s['file']} | {s['source']} | {', '.join(s['source_masks'])} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# DDTI
# --------------------------------------------------------------------------- #
TIRADS_TO_TARGET = {"2": 0, "3": 0, "4a": 1, "4b": 1, "4c": 1, "5": 1}
"""DDTI TIRADS category -> target (the usual benign/malignant reading of TI-RADS)."""

DDTI_COLUMNS = ("id", "folder_label", "composition", "echogenicity", "margins",
                "calcifications", "tirads", "sex", "age")
_MISSING = frozenset({"", "none", "null", "nan"})
_DDTI_ID = re.compile(r"^(?P<case>\d+)_(?P<k>\d+)$")
DDTI_FIELDS = ("case", "k", "tirads", "composition", "echogenicity", "margins",
               "calcifications", "sex", "age", "folder_label")
"""DDTI's own columns in the loaded table."""


def _missing_to_none(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in _MISSING else value


def _read_ddti_labels(label_file: Path) -> list[dict]:
    records, seen = [], {}
    with open(label_file, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(DDTI_COLUMNS):
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: expected {len(DDTI_COLUMNS)} comma-separated "
                    f"fields ({','.join(DDTI_COLUMNS)}), found {len(fields)}"
                )
            rec = dict(zip(DDTI_COLUMNS, (f.strip() for f in fields)))
            match = _DDTI_ID.match(rec["id"])
            if match is None:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: image id {rec['id']!r} is not '<case>_<k>'"
                )
            if rec["id"] in seen:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: image id {rec['id']!r} already on line "
                    f"{seen[rec['id']]}"
                )
            seen[rec["id"]] = line
            tirads = _missing_to_none(rec["tirads"])
            tirads = tirads.lower() if tirads else None
            if tirads is not None and tirads not in TIRADS_TO_TARGET:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: unknown TIRADS {rec['tirads']!r} "
                    f"(expected one of {', '.join(TIRADS_TO_TARGET)} or empty)"
                )
            age = _missing_to_none(rec["age"])
            try:
                age = float(age) if age is not None else np.nan
            except ValueError:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: age {rec['age']!r} is not a number"
                ) from None
            records.append({
                **{k: _missing_to_none(rec[k]) for k in
                   ("composition", "echogenicity", "margins", "calcifications", "sex")},
                "id": rec["id"], "case": match.group("case"), "k": int(match.group("k")),
                "tirads": tirads, "age": age, "folder_label": rec["folder_label"],
                "line": line,
            })
    if not records:
        raise DatasetLayoutError(f"{label_file}: no label lines")
    return records


def load_ddti(root: str | Path, include_unlabelled: bool = False) -> pd.DataFrame:
    """Load DDTI (Pedraza et al. 2015), labelled from TIRADS.

    Layout: ``<root>/<case>_<k>.a.jpg`` image, ``<case>_<k>.b.jpg`` mask and
    ``label.txt`` lines ``id,folder,composition,echogenicity,margins,
    calcifications,tirads,sex,age`` (no header; ``None`` or empty = missing).

    TIRADS 2 and 3 are benign (0); 4a, 4b, 4c and 5 malignant (1)
    (:data:`TIRADS_TO_TARGET`). Images with no TIRADS are excluded and counted
    in ``attrs["excluded"]["no_tirads"]``; images on disk but not in
    ``label.txt`` in ``attrs["excluded"]["not_in_label_txt"]``.

    Parameters
    ----------
    root : path
        The ``ddti`` folder.
    include_unlabelled : bool, default=False
        Keep the images without TIRADS, as label ``"unknown"``, target -1.

    Returns
    -------
    DataFrame
        Base columns plus ``case`` (str), ``k`` (int), ``tirads``,
        ``composition``, ``echogenicity``, ``margins``, ``calcifications``,
        ``sex`` (str or None), ``age`` (float, NaN if missing) and
        ``folder_label`` (the archive's 'bening'/'maling'/'na', unused).
        ``group`` is ``"ddti:" + case`` (a case is one patient's nodule).

    Raises
    ------
    DatasetLayoutError
        If ``label.txt`` is missing or malformed (file and line named), or an
        image it lists is missing on disk.
    """
    root = _require_root(root, "ddti")
    label_file = root / "label.txt"
    if not label_file.is_file():
        raise DatasetLayoutError(
            f"{label_file}: missing; expected layout:\n" + _indent(DATASETS["ddti"].layout)
        )
    records = _read_ddti_labels(label_file)
    missing = [f"{r['id']}.a.jpg (label.txt line {r['line']})" for r in records
               if not (root / f"{r['id']}.a.jpg").is_file()]
    if missing:
        raise DatasetLayoutError(
            f"{root}: {len(missing)} image(s) listed in {label_file.name} are missing: "
            + _many(missing)
        )
    listed = {r["id"] for r in records}
    on_disk = {p.name[: -len(".a.jpg")] for p in root.glob("*.a.jpg")}
    rows, no_tirads, no_mask = [], 0, 0
    for rec in records:
        if rec["tirads"] is None:
            no_tirads += 1
            if not include_unlabelled:
                continue
            label, target = "unknown", -1
        else:
            target = TIRADS_TO_TARGET[rec["tirads"]]
            label = "malignant" if target == 1 else "benign"
        mask = root / f"{rec['id']}.b.jpg"
        no_mask += not mask.is_file()
        rows.append({
            "path": str(root / f"{rec['id']}.a.jpg"), "dataset": "ddti", "label": label,
            "target": target, "group": f"ddti:{rec['case']}",
            "mask_paths": [str(mask)] if mask.is_file() else [],
            **{k: rec[k] for k in DDTI_FIELDS},
        })
    rows.sort(key=lambda r: (int(r["case"]), r["k"]))
    df = _frame(rows, list(DDTI_FIELDS), [])
    excluded = {"no_tirads": 0 if include_unlabelled else no_tirads,
                "not_in_label_txt": len(on_disk - listed)}
    return _set_attrs(df, "ddti", root, excluded=excluded, no_tirads=no_tirads,
                      missing_masks=no_mask, label_file=str(label_file))



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
        if cand.is_dir() and all(_find_child_dir(cand, c) for c in ("benign", "malignant")):
            return cand
    raise DatasetLayoutError(
        f"{root}: no BreaKHis 'breast/{{benign,malignant}}' folders found; expected layout:\n"
        + _indent(DATASETS["breakhis"].layout)
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
    root = _require_root(root, "breakhis")
    breast = _breakhis_breast_dir(root)
    rows, ignored = [], 0
    for label in ("benign", "malignant"):
        class_dir = _find_child_dir(breast, label)
        for path in _list_files(class_dir, recursive=True):
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
                "target": _target(label), "group": f"breakhis:{patient}", "mask_paths": [],
                "subtype": subtype, "tumor_type": match.group("tumor_type"),
                "patient": patient, "magnification": int(match.group("mag")),
                "seq": int(match.group("seq")),
            })
    if not rows:
        raise DatasetLayoutError(f"{breast}: no BreaKHis images found under benign/ or malignant/")
    extra = ["subtype", "tumor_type", "patient", "magnification", "seq"]
    df = _frame(rows, extra, ["label", "tumor_type", "patient", "magnification", "seq"])
    return _set_attrs(df, "breakhis", root, breast_dir=str(breast), ignored_files=ignored)


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
    flat = _norm_name(stem)
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
    root = _require_root(root, "cells")
    flat_images = [p for p in _list_files(root) if is_image_file(p)]
    if flat_images:
        df = _load_cells_flat(root, flat_images)
        return _set_attrs(df, "cells", root, layout="flat")
    if not any(p.is_dir() and not _is_ignored(p) for p in root.iterdir()):
        raise DatasetLayoutError(
            f"{root}: no images and no cell-line folders; expected layout:\n"
            + _indent(DATASETS["cells"].layout)
        )
    df = load_image_folder(root, positive=(), negative=(), dataset="cells")
    df = df.assign(cell_line=df["label"], modality="unspecified", seg_path=None,
                   frame=-1, source="folder per cell line")
    df = df.drop(columns="relpath")
    return _set_attrs(df, "cells", root, layout="folders")


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
    return _frame(rows, extra, ["group", "frame", "path"])


# --------------------------------------------------------------------------- #
# Dispatch and summaries
# --------------------------------------------------------------------------- #
LOADERS: dict[str, Callable[..., pd.DataFrame]] = {
    "busi": load_busi,
    "mendeley": load_mendeley,
    "mt_small": load_mt_small,
    "ddti": load_ddti,
    "breakhis": load_breakhis,
    "cells": load_cells,
}
"""Loader of each dataset in :data:`DATASETS`."""


def load_dataset(name: str, data_dir: str | Path | None = "auto", **kwargs) -> pd.DataFrame:
    """Load a dataset by name from the data folder.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` ("busi", "mendeley", "mt_small", "ddti",
        "breakhis", "cells").
    data_dir : "auto" or path, default="auto"
        Folder holding the datasets (see :func:`locate_data_dir`).
    **kwargs
        Passed to the dataset's loader (e.g. ``include_normal=True``).

    Raises
    ------
    DatasetNotFoundError
        If the dataset's folder is missing.
    """
    info = get_info(name)
    return LOADERS[info.name](dataset_root(data_dir, info.name), **kwargs)


def class_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Images and groups per label (with the label's target and masked images).

    Returns
    -------
    DataFrame indexed by ``label`` with columns ``target``, ``images``,
    ``groups`` and ``with_mask``.
    """
    by_label = df.groupby("label", sort=True)
    out = pd.DataFrame({
        "target": by_label["target"].first().astype(int),
        "images": by_label.size(),
        "groups": by_label["group"].nunique(),
        "with_mask": by_label["mask_paths"].apply(lambda s: int(sum(len(m) > 0 for m in s))),
    })
    return out


def group_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Images and labels per group, largest groups first.

    Returns
    -------
    DataFrame indexed by ``group`` with columns ``images``, ``n_labels`` and
    ``labels`` (sorted, comma-joined); ``n_labels > 1`` flags a group whose
    images carry different labels.
    """
    by_group = df.groupby("group", sort=True)
    out = pd.DataFrame({
        "images": by_group.size(),
        "n_labels": by_group["label"].nunique(),
        "labels": by_group["label"].apply(lambda s: ",".join(sorted(set(s)))),
    })
    return out.sort_values(["images", "n_labels"], ascending=False, kind="mergesort")
