"""The datasets the book knows: what each is, where it lives, and its loader.

Every loader returns a :class:`pandas.DataFrame` sorted deterministically, with
at least the columns of :data:`mstl_lib.data.files.BASE_COLUMNS`:

``path``        absolute path of the image (str)
``dataset``     dataset name (str), as in :data:`DATASETS`
``label``       class name (str): "benign", "malignant", "normal", a cell line, ...
``target``      int: 1 malignant, 0 benign, -1 anything else
``group``       the unit that must not straddle splits (str, prefixed by the dataset)
``mask_paths``  list of absolute mask paths (possibly empty)

plus the dataset's own fields. Dataset-level facts live in ``df.attrs``.

The data are never shipped with the project: a missing dataset raises
:class:`DatasetNotFoundError`, whose message shows where it looked, the expected
layout, the download page and the citation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mstl_lib.paths import data_dir_candidates


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
    terms : str
        Its licence or terms of use, as far as they are known (every registered
        dataset states them; the data page lists them).
    """

    name: str
    title: str
    layout: str
    url: str
    citation_key: str
    citation: str
    aliases: tuple[str, ...] = ()
    hint: str = ""
    terms: str = ""


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
            terms=("released with an open-access data article (Data in Brief, CC BY 4.0) for research use; cite the "
                   "article. The download page's own wording was not checked here (no internet)"),
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
            terms=("the licence Mendeley Data shows on the dataset's page (its datasets are commonly CC BY 4.0); cite "
                   "the DOI. Not checked here (no internet)"),
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
            url="https://www.kaggle.com/mohammedtgadallah/mt-small-dataset",
            citation_key="mtsmall",
            citation=(
                "Badawy SM, Mohamed AENA, Hefnawy AA, Zidan HE, GadAllah MT, El-Banby GM. Automatic "
                "semantic segmentation of breast tumors in ultrasound images based on combining fuzzy "
                "logic and deep learning: a feasibility study. PLoS ONE. 2021;16(5):e0251899 "
                "(MT-Small-Dataset, derived from BUSI: cite Al-Dhabyani et al. 2020 too). "
                "doi:10.1371/journal.pone.0251899"
            ),
            aliases=("MT-Small-Dataset", "MT_Small", "mt-small"),
            hint=(
                "Offline, a stand-in with the same layout can be built from BUSI with "
                "mstl_lib.data.build_mt_small_standin(load_busi(...), out_dir)."
            ),
            terms="derived from BUSI, so BUSI's terms apply, with the Kaggle page's; cite both. Not checked here",
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
            terms=("published as an open-access database for research (Pedraza et al. 2015), with no licence file; "
                   "cite the paper. Not checked here (no internet)"),
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
            terms=("free for research with citation of Spanhol et al. 2016; the host mentions a request form. The "
                   "terms were not checked here (no internet)"),
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
            terms=("the Cell Tracking Challenge's terms of use on its website (cite Maška et al. 2023); your own "
                   "images stay under yours. Not checked here (no internet)"),
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


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def dataset_not_found(name: str, looked_at, detail: str = "") -> DatasetNotFoundError:
    """Build the error for a missing dataset (see :class:`DatasetNotFoundError`)."""
    info = get_info(name)
    places = [looked_at] if isinstance(looked_at, (str, Path)) else list(looked_at)
    lines = [f"Dataset '{info.name}' ({info.title}) was not found."]
    lines += [f"Looked at: {p}" for p in places]
    if detail:
        lines.append(detail)
    lines += [
        "Expected layout:",
        indent(info.layout),
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


def many(paths: list, limit: int = 5) -> str:
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
            raise dataset_not_found(
                info.name, [p / info.name for _, p in data_dir_candidates()], reason
            )
    else:
        base = Path(data_dir).expanduser()
    for folder in (info.name, *info.aliases):
        if (base / folder).is_dir():
            return (base / folder).resolve()
    raise dataset_not_found(info.name, base / info.name)


def require_root(root: str | Path, name: str) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise dataset_not_found(name, root)
    return root.resolve()


# --------------------------------------------------------------------------- #
# Dispatch and summaries
# --------------------------------------------------------------------------- #
LOADERS: dict[str, str] = {
    "busi": "mstl_lib.data.busi:load_busi",
    "mendeley": "mstl_lib.data.folders:load_mendeley",
    "mt_small": "mstl_lib.data.mt_small:load_mt_small",
    "ddti": "mstl_lib.data.ddti:load_ddti",
    "breakhis": "mstl_lib.data.breakhis:load_breakhis",
    "cells": "mstl_lib.data.cells:load_cells",
}
"""Loader of each dataset in :data:`DATASETS` (``module:function``, imported on first use)."""


def loader(name: str):
    """The loader function of dataset ``name``."""
    module, function = LOADERS[get_info(name).name].split(":")
    return getattr(importlib.import_module(module), function)


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
    return loader(info.name)(dataset_root(data_dir, info.name), **kwargs)


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
