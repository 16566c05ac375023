"""Task tables: the rows a task trains and tests on, and their images as one array.

Shared by every paper: benign-vs-malignant rows of one :class:`DataSource`, an
optional cap or class-balanced sample, and the groups a split must respect
(the dataset's own, or merged with near-duplicate clusters).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mstl_lib.data import near_duplicates
from mstl_lib.data.images import read_image
from mstl_lib.data.sources import DataSource, load_source

GROUPINGS = ("image", "duplicates")
"""``image``: the dataset's own groups (patients, cases; one image each where none
are known). ``duplicates``: those merged with near-duplicate clusters."""


def balanced_sample(table: pd.DataFrame, per_class: int, seed: int = 0) -> pd.DataFrame:
    """``per_class`` random rows of each target (all rows of a smaller class), in the table's order."""
    rng = np.random.default_rng(seed)
    keep = []
    for _, rows in table.groupby("target", sort=True):
        keep.extend(rows.index[rng.permutation(len(rows))[:per_class]])
    return table.loc[sorted(keep)].reset_index(drop=True)


@functools.lru_cache(maxsize=8)
def _binary_table(source: DataSource, grouping: str, max_images: int | None, seed: int,
                  per_class: int | None) -> pd.DataFrame:
    table = load_source(source)
    table = table[table["target"] >= 0].reset_index(drop=True)
    if per_class is not None:
        table = balanced_sample(table, int(per_class), seed)
    if max_images is not None and max_images < len(table):
        keep, _ = train_test_split(np.arange(len(table)), train_size=max_images,
                                   stratify=table["target"], random_state=seed)
        table = table.iloc[np.sort(keep)].reset_index(drop=True)
    if grouping == "duplicates":
        table = near_duplicates.group_by_duplicates(table)
    return table


def binary_table(source: DataSource | dict, grouping: str = "image", max_images: int | None = None,
                 seed: int = 0, per_class: int | None = None) -> pd.DataFrame:
    """Benign-vs-malignant rows of ``source`` with the groups a split must respect.

    Parameters
    ----------
    source : DataSource or its dict
    grouping : {"image", "duplicates"}
    max_images : int, optional
        A stratified random subset of this size (after ``per_class``).
    seed : int
    per_class : int, optional
        Draw this many images of each class first (P1: 100 + 100 of Mendeley).

    Returns
    -------
    DataFrame
        Rows with ``target`` 0 or 1, in the loader's order; a copy, safe to modify.
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, not {grouping!r}")
    table = _binary_table(DataSource.from_dict(source), grouping, None if max_images is None else int(max_images),
                          int(seed), None if per_class is None else int(per_class))
    return table.copy()


@functools.lru_cache(maxsize=4)
def image_array(paths: tuple[str, ...], size: int) -> np.ndarray:
    """All images of ``paths`` as one read-only float32 array ``(n, size, size, 3)`` in [0, 1]."""
    array = np.stack([read_image(path, channels=3, size=(size, size)) for path in paths])
    array.setflags(write=False)
    return array
