"""P3's rules and constants: inputs, views, patient splits, eq. 1 and eq. 2, and the simulated strain.

Inputs (P3's Fig. 4)
    ``B`` the grey B-mode image, ``SE`` the colour strain image, ``BSE`` the two
    stacked into 4 channels, grey B-mode **first**, then the strain image's R, G, B.
Views
    ``full`` the whole image; ``crop`` the lesion's bounding box from its mask
    plus :data:`CROP_MARGIN` of the image side on each side (P3 crops by hand).
Patients
    BUSI has no patient ids: pseudo-patients are its near-duplicate clusters
    (:func:`mstl_lib.data.near_duplicates.group_by_duplicates`), clusters whose
    images carry both labels are dropped. DDTI: case = patient.
Splits
    ``p3``: P3's protocol, a fixed patient-disjoint test set (one stratified
    group fold of :data:`P3_TEST_FOLDS`) and 5-fold CV over the training
    patients; fold ``k`` trains on four parts, picks its epoch on part ``k``, and
    every fold's model is tested on the same test patients.
    ``nested``: patient-grouped outer k-fold (every patient tested once) with a
    grouped inner validation split; nothing is chosen on test patients.
Patient-wise metrics
    eq. 1: majority vote of a patient's image labels, a tie goes to malignant
    (:func:`mstl_lib.evaluation.patients.majority_vote`, ``tie="malignant"``);
    accuracy, precision, specificity, sensitivity and F1 over patients.
    eq. 2: global patient recognition rate, the share of a patient's images
    classified correctly averaged over patients
    (:func:`mstl_lib.evaluation.patients.patient_recognition_rate`).

This module imports no TensorFlow.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data import splits
from mstl_lib.data.annotations import annotation_mask
from mstl_lib.data.images import read_image, read_mask
from mstl_lib.data.phantoms import strain
from mstl_lib.data.sources import DataSource
from mstl_lib.data.tables import binary_table
from mstl_lib.evaluation import metrics, patients

__all__ = [
    "COMPARISONS", "CONSTITUENTS", "CROP_MARGIN", "ENSEMBLES", "FEATURE_WIDTHS", "IMAGE_METRICS", "INPUTS", "MODELS",
    "P3_TEST_FOLDS", "PATIENT_METRICS", "PROTOCOLS", "STAND_INS", "TIE_RULE", "VIEWS", "constituent_backbone",
    "crop_box", "drop_mixed_patients", "fold_parts", "image_level", "input_channels", "model_inputs",
    "oracle_scores", "patient_level", "patient_ratios", "patient_table", "stack_channels", "strain_distributions",
]

INPUTS = ("B", "SE", "BSE")
"""P3's inputs: B-mode, strain (SE), and the two stacked (B-SE)."""

VIEWS = ("full", "crop")
"""Whole image, or the lesion crop (bounding box + margin)."""

CONSTITUENTS = ("AlexNet", "ResNet18")
"""The ensemble's two fine-tuned feature extractors."""

ENSEMBLES = ("ensemble", "voting")
"""``ensemble``: a new softmax layer on the concatenated penultimate features of the frozen constituents;
``voting``: the two constituents' majority vote, a tie (they disagree) going to malignant."""

MODELS = (*CONSTITUENTS, *ENSEMBLES, "oracle")
"""Every scored model of a task; ``oracle`` classifies from the drawn strain ratio alone."""

FEATURE_WIDTHS = {"AlexNet": 4096, "ResNet18": 512}
"""Penultimate feature widths P3 gives (4,096 + 512 = 4,608 concatenated)."""

COMPARISONS = {"VGG": "VGG16", "SqueezeNet": "SqueezeNet", "DenseNet": "DenseNet121"}
"""Table 2's comparison models on B-SE (P3's name -> registry backbone): frozen convolutions, a trained
global-average-pooling + softmax head (P3 does not say how it trained them)."""

STAND_INS = {"AlexNet": "VGG16", "ResNet18": "ResNet50"}
"""Registry backbones that stand in for a constituent the backbone registry does not have yet."""

CROP_MARGIN = 0.05
"""Crop = the mask's bounding box plus this share of the image side on each side (clipped to the image)."""

PROTOCOLS = ("p3", "nested")
"""``p3``: fixed test patients + 5-fold CV over the rest; ``nested``: every patient tested once."""

P3_TEST_FOLDS = 4
"""P3 holds out 20 of 85 patients (23.5 %); one of 4 stratified patient folds (25 %) is the fixed test set."""

TIE_RULE = "malignant"
"""P3's eq. 1: a tied patient vote is malignant."""

IMAGE_METRICS = ("accuracy", "precision", "specificity", "sensitivity", "f1", "auc", "balanced_accuracy",
                 "pred_benign", "pred_malignant", "degenerate")
"""Image-wise metrics recorded per model (P3's five, plus AUC and the degenerate flags)."""

PATIENT_METRICS = ("accuracy", "precision", "specificity", "sensitivity", "f1", "recognition_rate", "n_ties",
                   "n_patients")
"""Patient-wise metrics recorded per model: eq. 1's five, eq. 2, the ties settled by the rule, and the count."""


# ----------------------------------------------------------------- inputs


def input_channels(input_name: str) -> int:
    """Channels of ``input_name``: B 1, SE 3, BSE 4."""
    return {"B": 1, "SE": 3, "BSE": 4}[_check_input(input_name)]


def _check_input(input_name: str) -> str:
    if input_name not in INPUTS:
        raise ValueError(f"input must be one of {INPUTS}; got {input_name!r}")
    return input_name


def crop_box(mask: np.ndarray, margin: float = CROP_MARGIN) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)``: the mask's bounding box plus ``margin`` x side; the whole image
    when the mask is empty."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return 0, mask.shape[0], 0, mask.shape[1]
    return strain.roi_box(mask, margin)


def stack_channels(bmode: np.ndarray, strain_rgb: np.ndarray, input_name: str) -> np.ndarray:
    """The network input of one image: ``B`` grey (H, W, 1), ``SE`` RGB (H, W, 3) or ``BSE`` grey then RGB."""
    grey = np.asarray(bmode, dtype="float32")[..., None]
    if input_name == "B":
        return grey
    if input_name == "SE":
        return np.asarray(strain_rgb, dtype="float32")
    return np.concatenate([grey, np.asarray(strain_rgb, dtype="float32")], axis=-1)


def _image_seed(seed: int, path: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(str(path).encode())])


def _resize(array: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    import cv2  # noqa: PLC0415

    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(array), (size, size), interpolation=interpolation)


def model_inputs(table: pd.DataFrame, input_name: str, view: str, size: int, ratios=None, seed: int = 0,
                 work_size: int = 160, settings: strain.StrainSettings = strain.StrainSettings(),
                 masked: bool = False) -> np.ndarray:
    """The network inputs of every row of ``table``: ``(n, size, size, channels)`` float32 in [0, 1].

    Each image and its mask are read at ``work_size``; the strain image is
    simulated there from the row's ratio (seeded by ``seed`` and the image's
    path, so a row gets the same strain image in every subset); the ``crop``
    view cuts both to :func:`crop_box` of the mask; then both are resized.
    ``masked``: the B-mode's burned-in annotations
    (:func:`mstl_lib.data.annotations.annotation_mask` of the colour image at
    its own resolution; a work pixel touching a masked one is masked) are set to 0 first.
    """
    _check_input(input_name)
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}; got {view!r}")
    needs_strain = input_name != "B"
    if needs_strain and ratios is None:
        raise ValueError("SE and BSE inputs need one strain ratio per row")
    out = np.empty((len(table), size, size, input_channels(input_name)), dtype="float32")
    for i, row in enumerate(table.itertuples(index=False)):
        if masked:
            colour = read_image(row.path, channels=3)
            hidden = _resize(annotation_mask(colour).astype("float32"), work_size) > 0
            bmode = np.where(hidden, 0.0, _resize(colour.mean(axis=-1), work_size)).astype("float32")
        else:
            bmode = read_image(row.path, channels=1, size=(work_size, work_size))[..., 0]
        masks = list(row.mask_paths) if isinstance(row.mask_paths, (list, tuple)) else []
        mask = read_mask(masks, size=(work_size, work_size)) if masks else np.zeros_like(bmode, dtype=bool)
        if needs_strain and not mask.any():
            raise ValueError(f"{row.path}: no lesion mask, so no strain image can be simulated")
        rgb = (strain.strain_image(bmode, mask, float(ratios[i]), _image_seed(seed, row.path), settings)["rgb"]
               if needs_strain else None)
        top, bottom, left, right = crop_box(mask) if view == "crop" else (0, work_size, 0, work_size)
        bmode = _resize(bmode[top:bottom, left:right], size)
        rgb = None if rgb is None else _resize(rgb[top:bottom, left:right], size)
        image = stack_channels(bmode, rgb, input_name)
        out[i] = image.reshape(size, size, -1)
    return out


# ----------------------------------------------------------------- simulated strain


@functools.lru_cache(maxsize=1)
def _published_ratios() -> pd.DataFrame:
    return paper_values.load("p3_strain_ratios")


def strain_distributions(separation: float = 1.0) -> dict[int, strain.LogNormal]:
    """Stiffness-ratio distributions fitted to P3's supplementary per-patient strain ratios.

    ``separation`` scales the gap between the classes' log-means (0: one
    class-independent distribution, the negative control; 1: as fitted).
    """
    table = _published_ratios()
    return strain.class_distributions(table.loc[table["label"] == "benign", "strain_ratio"],
                                      table.loc[table["label"] == "malignant", "strain_ratio"], separation)


def patient_ratios(table: pd.DataFrame, separation: float, seed: int) -> np.ndarray:
    """One drawn stiffness ratio per row: each patient draws once from its class's distribution."""
    ids, labels = patients.patient_labels(table["target"], table["patient"])
    rng = np.random.default_rng([int(seed), int(round(1000 * separation)), 3])
    drawn = strain.draw_ratios(labels, strain_distributions(separation), rng)
    by_patient = dict(zip(ids, drawn, strict=True))
    return table["patient"].map(by_patient).to_numpy(dtype=float)


def oracle_scores(ratios, separation: float) -> np.ndarray:
    """P(malignant | ratio) under the two drawn distributions with equal priors: the injected ceiling."""
    dists = strain_distributions(separation)
    logs = np.log(np.asarray(ratios, dtype=float))

    def loglik(d):
        return -0.5 * ((logs - d.mu) / d.sigma) ** 2 - np.log(d.sigma)

    return 1.0 / (1.0 + np.exp(np.clip(loglik(dists[0]) - loglik(dists[1]), -50, 50)))


# ----------------------------------------------------------------- patients and splits


def drop_mixed_patients(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` whose ``patient`` has one label; ``attrs["dropped_mixed"]`` counts the dropped
    patients and images."""
    n_labels = table.groupby("patient")["target"].transform("nunique")
    kept = table[n_labels == 1].reset_index(drop=True)
    mixed = table.loc[n_labels > 1, "patient"]
    kept.attrs = dict(table.attrs)
    kept.attrs["dropped_mixed"] = {"patients": int(mixed.nunique()), "images": int(len(mixed))}
    return kept


def patient_table(source: DataSource | dict, max_images: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Benign-vs-malignant rows of ``source`` with a ``patient`` column.

    BUSI: pseudo-patients are near-duplicate clusters (label-mixed ones
    dropped); any other dataset: its own groups (DDTI cases).
    """
    source = DataSource.from_dict(source)
    if source.dataset == "busi":
        table = binary_table(source, "duplicates", max_images, seed)
    else:
        table = binary_table(source, "image", max_images, seed)
    table["patient"] = table["group"].astype(str)
    return drop_mixed_patients(table)


def fold_parts(table: pd.DataFrame, fold: int, protocol: str, n_splits: int = 5, seed: int = 0,
               val_splits: int = 5) -> dict[str, np.ndarray]:
    """Row indices ``fit``, ``val`` and ``test`` of fold ``fold``, every part patient-disjoint.

    ``p3``: ``test`` is fold 0 of a stratified patient-grouped split into
    :data:`P3_TEST_FOLDS` (the same for every ``fold``); the remaining patients
    are split into ``n_splits`` grouped folds and fold ``fold`` is ``val``.
    ``nested``: ``test`` is outer fold ``fold`` of ``n_splits``; ``val`` one of
    ``val_splits`` grouped folds of the rest.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
    y = table["target"].to_numpy()
    groups = table["patient"].to_numpy()
    if protocol == "p3":
        outer = splits.kfold(y, groups, n_splits=P3_TEST_FOLDS, seed=seed)[0]
        rest = outer.train
        inner = splits.kfold(y[rest], groups[rest], n_splits=n_splits, seed=seed + 1)[fold]
    else:
        outer = splits.kfold(y, groups, n_splits=n_splits, seed=seed)[fold]
        rest = outer.train
        inner = splits.kfold(y[rest], groups[rest], n_splits=val_splits, seed=seed + 1 + fold)[0]
    parts = {"fit": np.sort(rest[inner.train]), "val": np.sort(rest[inner.test]), "test": np.sort(outer.test)}
    splits.assert_disjoint([splits.Fold(index=fold, train=parts["fit"], val=parts["val"], test=parts["test"])],
                           groups)
    return parts


def constituent_backbone(name: str, registered) -> str:
    """The registry backbone a constituent runs on: itself when registered, else its :data:`STAND_INS`."""
    registered = {str(n).lower() for n in registered}
    if name.lower() in registered:
        return name
    if name in STAND_INS:
        return STAND_INS[name]
    raise ValueError(f"backbone {name!r} is not registered and has no stand-in")


# ----------------------------------------------------------------- metrics


def image_level(y_true, y_score) -> dict:
    """Image-wise :data:`IMAGE_METRICS` of one model (threshold 0.5 on P(malignant))."""
    values = metrics.binary_metrics(y_true, y_score)
    return {name: values[name] for name in IMAGE_METRICS}


def patient_level(y_true, y_score, patient_ids, tie: str = TIE_RULE) -> dict:
    """Patient-wise :data:`PATIENT_METRICS`: eq. 1's vote (tie -> ``tie``) scored over patients, and eq. 2."""
    ids, labels = patients.patient_labels(y_true, patient_ids)
    _, votes = patients.majority_vote(y_score, patient_ids, tie=tie)
    summary = patients.patient_metrics(y_true, y_score, patient_ids, tie=tie)
    values = metrics.binary_metrics(labels, votes.astype(float))
    return {"accuracy": values["accuracy"], "precision": values["precision"],
            "specificity": values["specificity"], "sensitivity": values["sensitivity"], "f1": values["f1"],
            "recognition_rate": summary["patient_recognition_rate"], "n_ties": summary["n_ties"],
            "n_patients": summary["n_patients"]}
