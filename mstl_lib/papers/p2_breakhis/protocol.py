"""P2's rules and constants, the four arms' splits, patient ids and the leakage report (no TensorFlow).

P2's protocol
    ImageNet ResNet-50 without its top, then Dense 1024 ReLU, Dropout 0.4, one
    sigmoid unit; MSE loss, RMSprop, batch 32, 200 epochs of 200 steps; inputs
    144 x 96 (width x height); benign 0, malignant 1. Train on every 100X,
    200X and 400X image, test on every 40X image; the accuracy is read off the
    per-epoch test curve.

The arms
    ``A`` P2's split exactly: built here on purpose, outside the leak-checked
    splitters of :mod:`mstl_lib.data.splits`, because it puts every patient on
    both sides; its leak is measured by :func:`leakage_report`.
    ``B`` patient-disjoint folds with P2's magnification design: train on the
    100/200/400X images of the training patients, test on the 40X images of
    the held-out ones, pick the epoch on validation patients' 40X images.
    ``C`` patient-disjoint folds on every magnification (the usual
    patient-level benchmark); validation patients from the training part.
    ``D`` image-level random folds on every magnification (the usual leaky control).

Patient ids
    BreakHis names 82 folders ``SOB_<B|M>_<type>_<year>-<id>``, and its
    authors count 82 patients. The ids are not all distinct people: the same
    ``14-13412`` is filed under ductal and lobular carcinoma with identical
    counts, and ids differing by a letter suffix (``14-22549AB``, ``-CD``,
    ``-G``) share a number, which here is read as slides of one patient.
    :data:`PATIENT_DEFINITIONS` names the three readings; grouped arms use the
    most cautious one (``number``) unless told otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data import splits
from mstl_lib.data.sources import DataSource, load_source

__all__ = [
    "ARMS", "ARM_TITLES", "BATCH_SIZE", "DIAGNOSTICS", "HEAD_DROPOUT", "HEAD_UNITS", "IMAGE_METRICS", "INPUT_SHAPE",
    "MAGNIFICATIONS", "PAPER_EPOCHS", "PAPER_STEPS_PER_EPOCH", "PATIENT_DEFINITIONS", "SMALL_RELEASE_MIN",
    "TEST_MAGNIFICATION", "TRAIN_MAGNIFICATIONS", "TooSmallTrainingSet", "arm_parts", "check_trainable",
    "counts_long", "folder_patient", "full_release", "leakage_report", "magnification_split", "majority_baseline",
    "patient_ids", "read_folder_counts", "split_sizes", "table1_counts", "task_table",
]

BACKBONE = "ResNet50"
"""P2's network (ImageNet ResNet-50)."""
INPUT_SHAPE = (96, 144, 3)
"""P2's input: 144 x 96 (width x height), i.e. Keras ``(height, width, channels)`` = (96, 144, 3)."""

HEAD_UNITS = 1024
HEAD_DROPOUT = 0.4
PAPER_EPOCHS = 200
PAPER_STEPS_PER_EPOCH = 200
BATCH_SIZE = 32

MAGNIFICATIONS = (40, 100, 200, 400)
TRAIN_MAGNIFICATIONS = (100, 200, 400)
TEST_MAGNIFICATION = 40

ARMS = ("A", "B", "C", "D")
ARM_TITLES = {
    "A": "P2's split: train 100/200/400X, test 40X, same patients",
    "B": "patient-disjoint, train 100/200/400X, test 40X",
    "C": "patient-disjoint, all magnifications",
    "D": "image-level random split, all magnifications",
}

PATIENT_DEFINITIONS = ("folder", "loader", "number")
"""``folder``: one patient per BreakHis folder (type and id; the authors' 82); ``loader``:
``<year>-<id>`` as the loader parses it (merges one id filed under two tumour types);
``number``: the id without its letter suffix (``14-22549AB`` -> ``14-22549``; merges
the slides that share a number)."""

IMAGE_METRICS = ("accuracy", "balanced_accuracy", "sensitivity", "specificity", "auc")
DIAGNOSTICS = ("pred_benign", "pred_malignant", "score_min", "score_max", "degenerate")

SMALL_RELEASE_MIN = {"images_per_class": 30, "patients_per_class": 4}
"""Below this (per class, in a training part) a task refuses to train: no accuracy from a sample."""


class TooSmallTrainingSet(ValueError):
    """A training part with one class only, or too few images or patients to train and report on."""


# ----------------------------------------------------------------- patients

_FOLDER = re.compile(r"^SOB_(?P<bm>[BM])_(?P<type>[A-Z]+)_(?P<year>\d+)-(?P<id>[0-9A-Za-z]+)$")


def folder_patient(folder: str, definition: str = "number") -> str:
    """The patient id of a BreakHis folder name (``SOB_B_A_14-22549AB``) under ``definition``."""
    if definition not in PATIENT_DEFINITIONS:
        raise ValueError(f"definition must be one of {PATIENT_DEFINITIONS}; got {definition!r}")
    match = _FOLDER.match(str(folder))
    if match is None:
        raise ValueError(f"{folder!r} is not a BreakHis patient folder name (SOB_<B|M>_<type>_<year>-<id>)")
    if definition == "folder":
        return str(folder)
    ident = match.group("id")
    if definition == "number":
        ident = re.sub(r"[A-Za-z]+$", "", ident) or ident
    return f"{match.group('year')}-{ident}"


def patient_ids(table: pd.DataFrame, definition: str = "number") -> pd.Series:
    """Patient id of every row of a loader table (``patient``, ``tumor_type``, ``label`` columns)."""
    if definition not in PATIENT_DEFINITIONS:
        raise ValueError(f"definition must be one of {PATIENT_DEFINITIONS}; got {definition!r}")
    if definition == "loader":
        return table["patient"].astype(str)
    if definition == "number":
        return table["patient"].astype(str).str.replace(r"[A-Za-z]+$", "", regex=True)
    letters = table["label"].str[0].str.upper()
    return "SOB_" + letters + "_" + table["tumor_type"].astype(str) + "_" + table["patient"].astype(str)


# ----------------------------------------------------------------- the release's counts


def read_folder_counts(path: str | Path) -> pd.DataFrame:
    """``folder_counts.csv`` (``subtype,class,folder,40X,100X,200X,400X``), checked.

    Raises
    ------
    ValueError
        A missing column, a negative or non-integer count, or a duplicated folder,
        with the file's name.
    """
    path = Path(path)
    frame = pd.read_csv(path)
    needed = ["subtype", "class", "folder", *[f"{m}X" for m in MAGNIFICATIONS]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing; expected {','.join(needed)}")
    counts = frame[[f"{m}X" for m in MAGNIFICATIONS]]
    if not np.issubdtype(counts.values.dtype, np.integer) or (counts.values < 0).any():
        raise ValueError(f"{path}: image counts must be non-negative integers")
    if frame["folder"].duplicated().any():
        raise ValueError(f"{path}: folders listed twice: {frame.loc[frame['folder'].duplicated(), 'folder'].tolist()}")
    bad = sorted(set(frame["class"]) - {"benign", "malignant"})
    if bad:
        raise ValueError(f"{path}: class must be benign or malignant; found {bad}")
    return frame


def counts_long(counts: pd.DataFrame) -> pd.DataFrame:
    """Folder counts as rows ``folder, subtype, label, target, magnification, n`` plus each patient definition."""
    rows = counts.melt(id_vars=["subtype", "class", "folder"], var_name="mag", value_name="n")
    rows["magnification"] = rows["mag"].str.rstrip("X").astype(int)
    rows = rows.rename(columns={"class": "label"}).drop(columns="mag")
    rows["target"] = (rows["label"] == "malignant").astype(int)
    for definition in PATIENT_DEFINITIONS:
        rows[f"patient_{definition}"] = [folder_patient(f, definition) for f in rows["folder"]]
    return rows


def table1_counts(long: pd.DataFrame) -> pd.DataFrame:
    """Images per class and magnification with totals (P2's Table I layout), from :func:`counts_long` rows."""
    wide = long.pivot_table(index="label", columns="magnification", values="n", aggfunc="sum")
    wide.columns = [f"{m}X" for m in wide.columns]
    wide["total"] = wide.sum(axis=1)
    wide.loc["total"] = wide.sum(axis=0)
    wide.index.name = "category"
    return wide.astype(int)


def split_sizes(long: pd.DataFrame) -> pd.DataFrame:
    """P2's split in images per class: train (100/200/400X) and test (40X), with shares of all images."""
    part = np.where(long["magnification"] == TEST_MAGNIFICATION, "test (40X)", "train (100/200/400X)")
    table = long.assign(part=part).pivot_table(index="part", columns="label", values="n", aggfunc="sum")
    table["total"] = table.sum(axis=1)
    table["share"] = table["total"] / table["total"].sum()
    return table


def leakage_report(rows: pd.DataFrame, patient_column: str = "patient", count_column: str | None = "n",
                   train_mask=None, test_mask=None) -> dict:
    """Patients on both sides of a split, and the share of test images whose patient was seen in training.

    Parameters
    ----------
    rows : DataFrame
        One row per image, or per (folder, magnification) with a count in ``count_column``.
    patient_column : str
    count_column : str or None
        Images a row stands for; ``None``: one image per row.
    train_mask, test_mask : boolean arrays, optional
        The split; default P2's (train 100/200/400X, test 40X), read from ``magnification``.

    Returns
    -------
    dict
        ``patients`` (with at least one image), ``patients_train``, ``patients_test``,
        ``patients_both``, ``test_images``, ``test_images_seen`` (test images whose
        patient has a training image) and ``share_test_seen``.
    """
    n = rows[count_column].to_numpy() if count_column else np.ones(len(rows), dtype=int)
    if train_mask is None:
        train_mask = rows["magnification"].isin(TRAIN_MAGNIFICATIONS).to_numpy()
    if test_mask is None:
        test_mask = (rows["magnification"] == TEST_MAGNIFICATION).to_numpy()
    train_mask, test_mask = np.asarray(train_mask, bool) & (n > 0), np.asarray(test_mask, bool) & (n > 0)
    patients = rows[patient_column].astype(str).to_numpy()
    train_patients, test_patients = set(patients[train_mask]), set(patients[test_mask])
    seen = test_mask & np.isin(patients, list(train_patients))
    test_images = int(n[test_mask].sum())
    return {
        "patients": len(set(patients[n > 0])),
        "patients_train": len(train_patients),
        "patients_test": len(test_patients),
        "patients_both": len(train_patients & test_patients),
        "test_images": test_images,
        "test_images_seen": int(n[seen].sum()),
        "share_test_seen": float(n[seen].sum() / test_images) if test_images else float("nan"),
    }


# ----------------------------------------------------------------- task rows and splits


def full_release(table: pd.DataFrame) -> bool:
    """Whether a BreakHis table is large enough to train on (not the 12-image sample)."""
    counts = table.groupby("target")
    return bool(table["target"].nunique() == 2
            and counts.size().min() >= 4 * SMALL_RELEASE_MIN["images_per_class"]
            and counts["patient"].nunique().min() >= 2 * SMALL_RELEASE_MIN["patients_per_class"])


def task_table(source: DataSource | dict, definition: str = "number", per_patient_magnification: int | None = None,
               seed: int = 0) -> pd.DataFrame:
    """BreakHis rows with ``patient_id`` under ``definition``; optionally at most ``k`` images per patient and magnification."""
    table = load_source(source)
    table = table[table["target"] >= 0].reset_index(drop=True)
    table["patient_id"] = patient_ids(table, definition).to_numpy()
    if per_patient_magnification is not None:
        rng = np.random.default_rng(seed)
        keep = []
        for _, rows in table.groupby(["patient_id", "magnification"], sort=True):
            keep.extend(rows.index[np.sort(rng.permutation(len(rows))[:per_patient_magnification])])
        table = table.loc[sorted(keep)].reset_index(drop=True)
    return table


def magnification_split(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Arm A: P2's split, rows of 100/200/400X for training and of 40X for testing, patients on both sides.

    Built on purpose without :mod:`mstl_lib.data.splits` (whose checks refuse a shared patient).
    """
    magnification = table["magnification"].to_numpy()
    return {"fit": np.flatnonzero(np.isin(magnification, TRAIN_MAGNIFICATIONS)),
            "val": np.array([], dtype=int),
            "test": np.flatnonzero(magnification == TEST_MAGNIFICATION)}


def arm_parts(table: pd.DataFrame, arm: str, fold: int = 0, n_splits: int = 3, seed: int = 0,
              val_splits: int = 4) -> dict[str, np.ndarray]:
    """Row indices ``fit``, ``val`` (epoch selection; empty in arm A) and ``test`` of one arm and fold.

    B and C: outer folds grouped by ``patient_id`` (stratified), validation
    patients one of ``val_splits`` grouped folds of the training patients.
    B then keeps 100/200/400X images for fitting and 40X images for validation
    and testing. D: the same on images, ignoring patients.
    """
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}; got {arm!r}")
    if arm == "A":
        return magnification_split(table)
    y = table["target"].to_numpy()
    groups = None if arm == "D" else table["patient_id"].to_numpy()
    outer = splits.kfold(y, groups, n_splits=n_splits, seed=seed)[fold]
    train = outer.train
    inner = splits.kfold(y[train], None if groups is None else groups[train], n_splits=val_splits, seed=seed + 1)[0]
    parts = {"fit": train[inner.train], "val": train[inner.test], "test": outer.test}
    if arm == "B":
        magnification = table["magnification"].to_numpy()
        parts = {"fit": parts["fit"][np.isin(magnification[parts["fit"]], TRAIN_MAGNIFICATIONS)],
                 "val": parts["val"][magnification[parts["val"]] == TEST_MAGNIFICATION],
                 "test": parts["test"][magnification[parts["test"]] == TEST_MAGNIFICATION]}
    return parts


def check_trainable(table: pd.DataFrame, parts: dict[str, np.ndarray], arm: str,
                    minimum: dict | None = None) -> None:
    """Refuse a training part with one class, or fewer images or patients per class than ``minimum``.

    Raises
    ------
    TooSmallTrainingSet
        Naming the arm and the counts, so that no accuracy is ever printed from a sample.
    """
    minimum = dict(SMALL_RELEASE_MIN if minimum is None else minimum)
    fit = table.iloc[parts["fit"]]
    images = fit.groupby("label").size().reindex(["benign", "malignant"], fill_value=0)
    patients = fit.groupby("label")["patient_id"].nunique().reindex(["benign", "malignant"], fill_value=0)
    test_classes = table.iloc[parts["test"]]["target"].nunique()
    problems = []
    if (images == 0).any():
        problems.append("one class only")
    if images.min() < minimum["images_per_class"]:
        problems.append(f"fewer than {minimum['images_per_class']} images of a class")
    if patients.min() < minimum["patients_per_class"]:
        problems.append(f"fewer than {minimum['patients_per_class']} patients of a class")
    if test_classes < 2:
        problems.append("a test part with one class")
    if problems:
        raise TooSmallTrainingSet(
            f"arm {arm}: refusing to train on {images['benign']} benign + {images['malignant']} malignant images "
            f"of {patients['benign']} + {patients['malignant']} patients ({'; '.join(problems)}); "
            f"test part: {len(parts['test'])} images. No accuracy is reported from a set this small.")


def majority_baseline(train_targets, test_targets) -> dict:
    """Accuracy of always predicting the training part's majority class, on the test part."""
    train_targets, test_targets = np.asarray(train_targets), np.asarray(test_targets)
    majority = int(np.mean(train_targets) >= 0.5)
    return {"majority_class": majority, "majority_accuracy": float(np.mean(test_targets == majority))}


def paper_table1() -> pd.DataFrame:
    """P2's Table I as printed."""
    return paper_values.load("p2_table1")
