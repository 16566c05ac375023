"""Near-duplicate images found by perceptual hashing.

BUSI carries no patient identifiers, and it holds exact and near duplicate
images (the same frame saved twice, re-cropped, with or without caliper
marks), some of them filed under both ``benign`` and ``malignant``. A random
image-level split then puts copies of one lesion on both sides of a fold and
inflates every score. This module finds those copies so that
:func:`mstl_lib.data.splits.kfold` can keep each cluster of copies on one side.

Method
------
Each image is read as greyscale and reduced to a 64-bit DCT perceptual hash
(``imagehash.phash``; the image is resized to 32x32, so resolution does not
matter). Two images are linked when the Hamming distance of their hashes is
at most ``max_distance``; clusters are the connected components of that graph
(``scipy.sparse.csgraph``), so a chain ``a~b~c`` is one cluster.

Choice of ``max_distance`` (default 6)
--------------------------------------
Chosen on the real BUSI release (780 images, benign + malignant + normal,
downscaled to a longest side of 320 px), checked on DDTI and on the phantoms.
(A 64-bit pHash splits at the median, so distances come in even steps.)

* BUSI, distance from each image to its nearest other image: 0 bits: 88
  images, 2: 135, 4: 56, 6: 37, then a valley (8: 8, 10: 11, 12: 12) before
  the bulk of unrelated images (14: 58, 16: 147, 18: 164; median over all
  pairs 30). Viewed side by side, pairs at 0-6 bits are one frame saved
  twice (re-cropped, with or without calipers or text); pairs at 8-10 bits
  are two frames of one lesion a few millimetres apart; at 12 bits a third of
  the pairs are unrelated images.
* DDTI (595 images): no pair at 6 bits, and the pairs at 8-10 bits are
  *different* patients: DDTI frames share a scanner layout with wide black
  borders, which pulls unrelated hashes together.
* Phantoms (:mod:`mstl_lib.data.phantoms`, 390 images at 160 px): no pair at or
  below 6 bits, a few at 8-10.

6 bits is therefore the largest threshold that sits in the gap of all three.
With it, **BUSI has 142 clusters of copies holding 316 of its 780 images**
(174 redundant images, largest cluster 4), and **8 clusters mix classes**
(6 benign with malignant, 2 benign with normal), so 780 images collapse to
606 groups. ``max_distance=10`` adds, on BUSI only, 7 clusters / 19 images of
same-lesion frames (149 clusters, 335 images, 594 groups) and suits a
stricter, BUSI-only grouping; do not use it on DDTI. On DDTI, 6 bits gives
130 clusters (266 images), 127 of which span *different case ids*: grouping
DDTI by case alone leaks.

Perceptual hashing finds copies of one *frame*; it cannot find two different
frames of one patient. The groups it produces are therefore a lower bound on
the real patient grouping, not a replacement for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from os import PathLike

import imagehash
import numpy as np
import pandas as pd
from PIL import Image
from scipy import sparse
from scipy.sparse.csgraph import connected_components

DEFAULT_MAX_DISTANCE = 6
"""Hamming distance (bits of a 64-bit pHash) up to which two images are copies."""

_HASH_FUNCTIONS = {
    "phash": imagehash.phash,
    "dhash": imagehash.dhash,
    "ahash": imagehash.average_hash,
    "whash": imagehash.whash,
}


# --------------------------------------------------------------------------- hashes
def perceptual_hashes(
    paths: Sequence[str | PathLike], hash_size: int = 8, method: str = "phash"
) -> np.ndarray:
    """Perceptual hashes of images, as a boolean bit matrix.

    Parameters
    ----------
    paths : sequence of path-like
        Image files; each is read with PIL and converted to greyscale (``L``).
    hash_size : int, default=8
        Side of the hash; each hash has ``hash_size**2`` bits.
    method : {"phash", "dhash", "ahash", "whash"}, default="phash"
        The ``imagehash`` function used.

    Returns
    -------
    hashes : ndarray of bool, shape (n_images, hash_size**2)
    """
    if method not in _HASH_FUNCTIONS:
        raise ValueError(f"method must be one of {sorted(_HASH_FUNCTIONS)}, got {method!r}")
    hash_function = _HASH_FUNCTIONS[method]
    n_bits = hash_size * hash_size
    hashes = np.zeros((len(paths), n_bits), dtype=bool)
    for row, path in enumerate(paths):
        with Image.open(path) as image:
            image.draft("L", (4 * hash_size * 4, 4 * hash_size * 4))  # JPEG: decode small
            bits = hash_function(image.convert("L"), hash_size=hash_size).hash
        hashes[row] = np.asarray(bits, dtype=bool).ravel()
    return hashes


def hashes_to_hex(hashes: np.ndarray) -> list[str]:
    """Hexadecimal strings of boolean hashes (as ``str(imagehash.ImageHash)``)."""
    hashes = np.asarray(hashes, dtype=bool)
    side = round(np.sqrt(hashes.shape[1]))
    return [str(imagehash.ImageHash(bits.reshape(side, -1))) for bits in hashes]


def hamming_matrix(hashes: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between boolean hashes.

    Parameters
    ----------
    hashes : array-like of bool, shape (n, n_bits)

    Returns
    -------
    distances : ndarray of int, shape (n, n)
        Symmetric, zero on the diagonal.
    """
    bits = np.asarray(hashes, dtype=bool).astype(np.float32)
    # d(a, b) = #(a & ~b) + #(~a & b); float32 matmul is exact for counts < 2**24
    differing = bits @ (1.0 - bits).T
    return np.rint(differing + differing.T).astype(np.int64)


# --------------------------------------------------------------------------- clusters
def _components_in_order_of_appearance(labels: np.ndarray) -> np.ndarray:
    """Relabel component ids 0, 1, 2, ... in the order rows first show them."""
    _, first_rows, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty_like(first_rows)
    rank[np.argsort(first_rows)] = np.arange(first_rows.size)
    return rank[inverse]


def clusters_from_distances(distances: np.ndarray, max_distance: int) -> np.ndarray:
    """Connected components of the graph linking pairs at distance <= ``max_distance``.

    Ids are deterministic: numbered in the order of each cluster's first row.
    """
    distances = np.asarray(distances)
    adjacency = sparse.csr_matrix(distances <= max_distance)
    _, labels = connected_components(adjacency, directed=False)
    return _components_in_order_of_appearance(labels)


def duplicate_clusters(
    paths: Sequence[str | PathLike],
    max_distance: int = DEFAULT_MAX_DISTANCE,
    hash_size: int = 8,
) -> pd.DataFrame:
    """Cluster images whose perceptual hashes are within ``max_distance`` bits.

    Parameters
    ----------
    paths : sequence of path-like
        Image files, in the order of the returned rows.
    max_distance : int, default=6
        Largest Hamming distance at which two images are linked (see the module
        docstring for how 6 was chosen on BUSI).
    hash_size : int, default=8
        Side of the pHash.

    Returns
    -------
    clusters : DataFrame
        One row per path with columns ``path`` (str), ``hash`` (hex str),
        ``cluster`` (int, numbered by first appearance; singletons get their
        own id), ``cluster_size``, ``nearest_distance`` (distance to the
        closest other image; ``<NA>`` for a single image) and
        ``nearest_path``.
    """
    paths = [str(p) for p in paths]
    hashes = perceptual_hashes(paths, hash_size=hash_size)
    distances = hamming_matrix(hashes)
    clusters = clusters_from_distances(distances, max_distance)
    sizes = np.bincount(clusters)[clusters] if len(paths) else np.zeros(0, int)

    nearest_distance = pd.array([pd.NA] * len(paths), dtype="Int64")
    nearest_path: list[str | None] = [None] * len(paths)
    if len(paths) > 1:
        off_diagonal = distances + np.diag(np.full(len(paths), np.iinfo(np.int32).max))
        nearest = off_diagonal.argmin(axis=1)
        nearest_distance = pd.array(off_diagonal[np.arange(len(paths)), nearest], dtype="Int64")
        nearest_path = [paths[j] for j in nearest]

    return pd.DataFrame(
        {
            "path": paths,
            "hash": hashes_to_hex(hashes),
            "cluster": clusters.astype(np.int64),
            "cluster_size": sizes.astype(np.int64),
            "nearest_distance": nearest_distance,
            "nearest_path": nearest_path,
        }
    )


def cluster_summary(clusters_df: pd.DataFrame, label_column: str | None = None) -> dict:
    """Counts that describe the duplicate clusters of a table.

    Parameters
    ----------
    clusters_df : DataFrame
        Has ``cluster`` and ``cluster_size`` columns (from
        :func:`duplicate_clusters`, or ``dup_cluster`` / ``dup_cluster_size``
        from :func:`group_by_duplicates`).
    label_column : str, optional
        Class column; when given, clusters whose members carry more than one
        label are counted as label conflicts.

    Returns
    -------
    summary : dict
        ``n_images``, ``n_clusters`` (clusters with more than one image),
        ``n_rows_in_clusters``, ``n_redundant`` (images beyond the first of
        each cluster), ``largest_cluster`` and, with labels,
        ``n_label_conflicts`` and ``conflict_clusters`` (their ids).
    """
    cluster_col = "cluster" if "cluster" in clusters_df else "dup_cluster"
    size_col = "cluster_size" if "cluster_size" in clusters_df else "dup_cluster_size"
    shared = clusters_df[clusters_df[size_col] > 1]
    n_clusters = int(shared[cluster_col].nunique())
    summary = {
        "n_images": len(clusters_df),
        "n_clusters": n_clusters,
        "n_rows_in_clusters": len(shared),
        "n_redundant": int(len(shared) - n_clusters),
        "largest_cluster": int(clusters_df[size_col].max()) if len(clusters_df) else 0,
    }
    if label_column is not None:
        n_labels = shared.groupby(cluster_col)[label_column].nunique()
        conflicts = sorted(int(c) for c in n_labels.index[n_labels > 1])
        summary["n_label_conflicts"] = len(conflicts)
        summary["conflict_clusters"] = conflicts
    return summary


# --------------------------------------------------------------------------- groups
def _merge_groups(*keys: Iterable) -> np.ndarray:
    """Union-find over rows: rows sharing any key in any of ``keys`` are merged.

    Each element of ``keys`` is one key per row (``None`` for "no key"). Returns
    a component id per row, numbered by first appearance.
    """
    keys = [list(k) for k in keys]
    n_rows = len(keys[0])
    rows, anchors = [], []
    for key in keys:
        first_row: dict = {}
        for row, value in enumerate(key):
            if value is None:
                continue
            rows.append(row)
            anchors.append(first_row.setdefault(value, row))
    graph = sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, anchors)), shape=(n_rows, n_rows)
    )
    _, labels = connected_components(graph, directed=False)
    return _components_in_order_of_appearance(labels)


def group_by_duplicates(
    table: pd.DataFrame,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    path_column: str = "path",
    group_column: str = "group",
    label_column: str | None = "label",
    hash_size: int = 8,
) -> pd.DataFrame:
    """Merge the groups of a dataset table with its near-duplicate clusters.

    Rows end up in one group when they share an original group **or** a
    duplicate cluster, transitively (union-find over both). A merged group that
    contains a duplicate cluster is named ``"dup:<cluster>"`` (the smallest
    cluster id in it); other rows keep their original group, as a string.

    Parameters
    ----------
    table : DataFrame
        One row per image; not modified.
    max_distance : int, default=6
        See :func:`duplicate_clusters`.
    path_column : str, default="path"
        Column with image paths.
    group_column : str, default="group"
        Column with the original groups (e.g. patient or case ids). When the
        table has no such column, every row starts as its own group (its path).
    label_column : str or None, default="label"
        Class column used to count label conflicts (ignored when absent).
    hash_size : int, default=8
        Side of the pHash.

    Returns
    -------
    grouped : DataFrame
        A copy with ``group_column`` replaced, the original in
        ``group_original``, and ``dup_cluster`` / ``dup_cluster_size`` added.
        ``grouped.attrs["near_duplicates"]`` holds :func:`cluster_summary`
        plus ``max_distance`` and ``n_groups_before`` / ``n_groups_after``.
    """
    out = table.copy()
    paths = out[path_column].astype(str).tolist()
    unique_paths = list(dict.fromkeys(paths))  # hash each file once
    clusters = duplicate_clusters(unique_paths, max_distance=max_distance, hash_size=hash_size)
    by_path = clusters.set_index("path")
    dup_cluster = by_path.loc[paths, "cluster"].to_numpy()
    # a path listed twice is its own duplicate: size counts table rows
    dup_size = pd.Series(dup_cluster).map(pd.Series(dup_cluster).value_counts()).to_numpy()

    if group_column in out:
        original = out[group_column].astype(str).tolist()
        out["group_original"] = out[group_column]
    else:
        original = paths
        out["group_original"] = None
    cluster_keys = [c if s > 1 else None for c, s in zip(dup_cluster, dup_size, strict=True)]
    merged = _merge_groups(original, cluster_keys)

    group_names = {}
    for component in np.unique(merged):
        members = merged == component
        member_clusters = dup_cluster[members & (dup_size > 1)]
        if member_clusters.size:
            group_names[component] = f"dup:{member_clusters.min()}"
        else:
            group_names[component] = original[int(np.flatnonzero(members)[0])]
    out[group_column] = [group_names[c] for c in merged]
    out["dup_cluster"] = dup_cluster.astype(np.int64)
    out["dup_cluster_size"] = dup_size.astype(np.int64)

    use_labels = label_column if label_column in out else None
    summary = cluster_summary(out, label_column=use_labels)
    summary.update(
        max_distance=int(max_distance),
        n_groups_before=len(set(original)),
        n_groups_after=int(out[group_column].nunique()),
    )
    out.attrs["near_duplicates"] = summary
    return out
