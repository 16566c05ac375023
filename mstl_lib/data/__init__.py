"""The data layer: dataset registry and loaders, images, splits, near-duplicates, task tables, phantoms.

``from mstl_lib import data`` gives the loaders' API (:func:`load_dataset`,
:func:`locate_data_dir`, the errors...).
"""

from mstl_lib.data.breakhis import BREAKHIS_TUMOR_TYPES, load_breakhis
from mstl_lib.data.busi import BUSI_CLASSES, load_busi
from mstl_lib.data.cells import CELL_LINE_NAMES, load_cells
from mstl_lib.data.ddti import TIRADS_TO_TARGET, load_ddti
from mstl_lib.data.files import BASE_COLUMNS
from mstl_lib.data.folders import load_image_folder, load_mendeley
from mstl_lib.data.mt_small import MT_SMALL_CLASSES, STANDIN_FILE, STANDIN_KIND, load_mt_small
from mstl_lib.data.registry import (
    DATASETS,
    LOADERS,
    DatasetInfo,
    DatasetLayoutError,
    DatasetNotFoundError,
    class_counts,
    dataset_root,
    get_info,
    group_counts,
    load_dataset,
    locate_data_dir,
)
from mstl_lib.data.sources import DataSource, load_source
from mstl_lib.data.standins import build_mt_small_standin

__all__ = [
    "BASE_COLUMNS", "BREAKHIS_TUMOR_TYPES", "BUSI_CLASSES", "CELL_LINE_NAMES", "DATASETS", "LOADERS",
    "MT_SMALL_CLASSES", "STANDIN_FILE", "STANDIN_KIND", "TIRADS_TO_TARGET", "DatasetInfo", "DatasetLayoutError",
    "DatasetNotFoundError", "DataSource", "build_mt_small_standin", "load_source", "class_counts", "dataset_root", "get_info", "group_counts",
    "load_breakhis", "load_busi", "load_cells", "load_dataset", "load_ddti", "load_image_folder", "load_mendeley",
    "load_mt_small", "locate_data_dir",
]
