"""Patient-level metrics for datasets with several images per patient.

Two summaries are in use in the papers, and they differ:

- the **patient recognition rate** of the BreakHis authors (Spanhol et al.,
  2016): each patient's score is the share of that patient's images classified
  correctly, and the rate is the mean of the scores over patients, so every
  patient weighs the same however many images it has;
- **majority-vote patient accuracy**: each patient gets one predicted label,
  the majority of its images' predicted labels, and accuracy is taken over
  patients. A tie (as many images called benign as malignant) needs a rule,
  which is an explicit parameter here.

The positive class is 1 (malignant). Scores are probabilities of class 1;
labels predicted as ``score >= threshold``, as in
:func:`mstl_lib.evaluation.metrics.binary_metrics`. Patients come back in the
sorted order of their ids (:func:`numpy.unique`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TIE_RULES",
    "patient_labels",
    "majority_vote",
    "patient_scores",
    "patient_recognition_rate",
    "majority_vote_accuracy",
    "patient_metrics",
]

TIE_RULES = ("malignant", "benign", "raise")
"""What a tied vote becomes: class 1, class 0, or a ``ValueError``."""


def _arrays(y_true, y_score, patients) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_score = np.asarray(y_score, dtype=float).reshape(-1)
    patients = np.asarray(patients).reshape(-1)
    if not len(y_true) == len(y_score) == len(patients):
        raise ValueError(f"{len(y_true)} labels, {len(y_score)} scores and {len(patients)} patient ids; "
                         "they must be equal.")
    if not len(y_true):
        raise ValueError("No images: patient metrics need at least one.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"Labels must be 0 or 1; got {np.unique(y_true).tolist()}.")
    return y_true, y_score, patients


def patient_labels(y_true, patients) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's label, checked to be the same on all of its images.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Image labels.
    patients : array-like
        Patient id of each image.

    Returns
    -------
    ids : ndarray
        Sorted unique patient ids.
    labels : ndarray of int
        The label of each patient in ``ids``.

    Raises
    ------
    ValueError
        When a patient has images of both labels (the id then does not name
        a patient, or the labels are wrong).
    """
    y_true, _, patients = _arrays(y_true, np.zeros(len(np.asarray(y_true).reshape(-1))), patients)
    ids, index = np.unique(patients, return_inverse=True)
    low = np.full(len(ids), 2)
    high = np.full(len(ids), -1)
    np.minimum.at(low, index, y_true)
    np.maximum.at(high, index, y_true)
    mixed = ids[low != high]
    if len(mixed):
        raise ValueError(f"Patients with images of both labels: {mixed[:5].tolist()}"
                         f"{' ...' if len(mixed) > 5 else ''}; a patient must have one label.")
    return ids, low.astype(int)


def majority_vote(y_score, patients, threshold: float = 0.5, tie: str = "malignant") -> tuple[np.ndarray, np.ndarray]:
    """One predicted label per patient: the majority of its images' predicted labels.

    Parameters
    ----------
    y_score : array-like of float
        Probability of class 1 per image (0/1 predictions work too).
    patients : array-like
        Patient id of each image.
    threshold : float
        An image is predicted 1 when ``y_score >= threshold``.
    tie : {"malignant", "benign", "raise"}
        What a patient with as many images predicted 0 as 1 gets: class 1,
        class 0, or a ``ValueError``.

    Returns
    -------
    ids : ndarray
        Sorted unique patient ids.
    votes : ndarray of int
        The voted label of each patient in ``ids``.
    """
    if tie not in TIE_RULES:
        raise ValueError(f"tie must be one of {TIE_RULES}, not {tie!r}.")
    y_score = np.asarray(y_score, dtype=float).reshape(-1)
    patients = np.asarray(patients).reshape(-1)
    if len(y_score) != len(patients):
        raise ValueError(f"{len(y_score)} scores but {len(patients)} patient ids.")
    ids, index = np.unique(patients, return_inverse=True)
    malignant = np.bincount(index, weights=(y_score >= threshold).astype(float), minlength=len(ids))
    total = np.bincount(index, minlength=len(ids)).astype(float)
    benign = total - malignant
    tied = malignant == benign
    if tie == "raise" and tied.any():
        raise ValueError(f"Tied votes for patients {ids[tied][:5].tolist()}; choose tie='malignant' or 'benign'.")
    votes = (malignant > benign).astype(int)
    votes[tied] = 1 if tie == "malignant" else 0
    return ids, votes


def patient_scores(y_true, y_score, patients, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's score: the share of its images classified correctly.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_score : array-like of float
    patients : array-like
    threshold : float

    Returns
    -------
    ids : ndarray
        Sorted unique patient ids.
    scores : ndarray of float
        ``N_correct / N_images`` of each patient in ``ids``.
    """
    y_true, y_score, patients = _arrays(y_true, y_score, patients)
    ids, index = np.unique(patients, return_inverse=True)
    correct = np.bincount(index, weights=((y_score >= threshold).astype(int) == y_true).astype(float),
                          minlength=len(ids))
    return ids, correct / np.bincount(index, minlength=len(ids))


def patient_recognition_rate(y_true, y_score, patients, threshold: float = 0.5) -> float:
    """The BreakHis authors' patient recognition rate: patient scores averaged over patients.

    ``(1 / N) * sum_P N_correct(P) / N_images(P)`` over the ``N`` patients
    (Spanhol et al., 2016). It equals image accuracy when every patient has
    the same number of images.
    """
    return float(np.mean(patient_scores(y_true, y_score, patients, threshold)[1]))


def majority_vote_accuracy(y_true, y_score, patients, threshold: float = 0.5, tie: str = "malignant") -> float:
    """Share of patients whose majority vote (:func:`majority_vote`) equals their label."""
    _, labels = patient_labels(y_true, patients)
    _, votes = majority_vote(y_score, patients, threshold=threshold, tie=tie)
    return float(np.mean(labels == votes))


def patient_metrics(y_true, y_score, patients, threshold: float = 0.5, tie: str = "malignant") -> dict:
    """Patient-level summary of one set of image predictions.

    Returns
    -------
    dict
        ``patient_recognition_rate`` (:func:`patient_recognition_rate`),
        ``patient_vote_accuracy`` (:func:`majority_vote_accuracy`),
        ``patient_vote_sensitivity`` and ``patient_vote_specificity`` (recall
        of malignant and of benign patients by vote; 0 where a class has no
        patient), ``n_patients``, ``n_patients_malignant`` and ``n_ties``
        (patients whose vote was tied and settled by ``tie``), all numbers.
    """
    y_true, y_score, patients = _arrays(y_true, y_score, patients)
    _, labels = patient_labels(y_true, patients)
    _, votes = majority_vote(y_score, patients, threshold=threshold, tie=tie)
    ids, index = np.unique(patients, return_inverse=True)
    malignant = np.bincount(index, weights=(y_score >= threshold).astype(float), minlength=len(ids))
    ties = int(np.sum(2 * malignant == np.bincount(index, minlength=len(ids))))
    positive = labels == 1
    return {
        "patient_recognition_rate": patient_recognition_rate(y_true, y_score, patients, threshold),
        "patient_vote_accuracy": float(np.mean(labels == votes)),
        "patient_vote_sensitivity": float(np.mean(votes[positive] == 1)) if positive.any() else 0.0,
        "patient_vote_specificity": float(np.mean(votes[~positive] == 0)) if (~positive).any() else 0.0,
        "n_patients": int(len(ids)),
        "n_patients_malignant": int(positive.sum()),
        "n_ties": ties,
    }
