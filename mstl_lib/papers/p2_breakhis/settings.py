"""P2's chapter under each profile (``notebooks/05_breakhis.py``).

``full``: P2's protocol on the real release (ResNet-50, 144 x 96, 200 epochs of
200 steps, batch 32, MSE, RMSprop), its base fine-tuned (our reading), every
arm on 5 grouped folds, and the sensitivity arms. ``cpu``: without the full
release, arms A-D on the histology phantom at two patient-effect strengths,
3 grouped folds, a frozen base through the freeze cache, 48 x 72 inputs and
20 epochs; with the full release, arms A, B and C on the real images, frozen
base, at most 10 images per patient and magnification. ``smoke``: seconds, a pipeline check.
"""

from __future__ import annotations

from mstl_lib.papers.p2_breakhis import protocol
from mstl_lib.profiles import ChapterSettings

_PAPER = {
    "arms": list(protocol.ARMS), "phantom_arms": list(protocol.ARMS), "real_arms": list(protocol.ARMS),
    "patient_effects": [0.0, 1.0], "phantom_scale": "cpu", "image_shape": list(protocol.INPUT_SHAPE[:2]),
    "base": "finetune", "pooling": "avg", "loss": "mse", "scaling": "backbone",
    "epochs": protocol.PAPER_EPOCHS, "steps_per_epoch": protocol.PAPER_STEPS_PER_EPOCH,
    "batch_size": protocol.BATCH_SIZE, "learning_rate": 1e-3, "n_splits": 5, "folds_run": 5,
    "patient_definition": "number", "per_patient_magnification": None,
    "sensitivity": ["base=frozen", "pooling=flatten", "loss=bce", "scaling=unit"],
    "min_train": dict(protocol.SMALL_RELEASE_MIN), "n_boot": 1000, "executor": "local",
}

CHAPTER = ChapterSettings(
    name="breakhis",
    by_profile={
        "smoke": {**_PAPER, "patient_effects": [1.0], "phantom_scale": "small", "image_shape": [32, 48],
                  "base": "frozen", "epochs": 2, "steps_per_epoch": None, "batch_size": 16, "learning_rate": 1e-5, "n_splits": 2,
                  "folds_run": 1, "real_arms": ["A", "B", "C"], "sensitivity": [],
                  "min_train": {"images_per_class": 4, "patients_per_class": 1}, "n_boot": 50},
        "cpu": {**_PAPER, "image_shape": [48, 72], "base": "frozen", "epochs": 20, "steps_per_epoch": None,
                "learning_rate": 1e-5, "per_patient_magnification": 10,
                "n_splits": 3, "folds_run": 3, "real_arms": ["A", "B", "C"], "sensitivity": [], "n_boot": 300},
        "full": dict(_PAPER),
    },
    budget_minutes={"cpu": 5},  # 10 in the plan; the cpu chapter takes about 2, so 3 went to P1 and 2 to P4
    notes={
        "arms": "A is P2's split; B-D are not in P2 (leakage-aware reruns)",
        "executor": ("where tasks run (not P2's): in the notebook's process in every profile, since P2's cpu tasks "
                     "are small (a frozen base through the freeze cache); a fresh process per task, the cpu "
                     "default of the other chapters, would double this chapter's time"),
        "phantom_arms": "arms run on the histology phantom when the full release is not supplied",
        "real_arms": "arms run on the full release; cpu leaves out D (time budget)",
        "patient_effects": "not in P2: strengths of the phantom's patient effect (0 = off)",
        "phantom_scale": "phantom size: cpu 12 + 12 patients x 4 magnifications x 3 images at 96 x 64; smoke 4 + 4 x 2 at 48 x 32",
        "image_shape": "(height, width); P2: 144 x 96 (width x height); cpu on the phantom 72 x 48 (time budget), smoke 48 x 32",
        "base": "P2 is ambiguous (fine-tuning in the text, a frozen base in Fig. 3); full fine-tunes, cpu freezes (time budget)",
        "pooling": "P2 does not say; global average pooling (full runs flatten as a sensitivity arm)",
        "loss": "P2 states MSE and, elsewhere, cross-entropy; MSE (full runs cross-entropy as a sensitivity arm)",
        "scaling": "P2 does not say; the backbone's own preprocessing (full runs [0, 1] inputs as a sensitivity arm)",
        "epochs": "P2: 200 epochs; cpu 20, smoke 2; 'mean over epochs 101-200' becomes the mean over the second half",
        "steps_per_epoch": "P2: 200 steps of 32 (6,400 images, about one pass); cpu and smoke: one pass over the fitting part",
        "learning_rate": ("P2 does not give it; full: Keras's RMSprop default. On a frozen base's non-negative "
                          "features that rate saturated the sigmoid within a few steps here (every prediction one "
                          "class), so cpu and smoke use 1e-5"),
        "n_splits": "not in P2: grouped folds of arms B-D",
        "folds_run": "folds of arms B-D run",
        "patient_definition": "patient ids for grouping: the folder id without its letter suffix (the cautious reading)",
        "per_patient_magnification": ("cpu: at most 10 images per patient and magnification (on the full release about "
                                      "3,000 of 7,909 images; the phantom has fewer), time budget"),
        "sensitivity": "full only: one setting changed at a time, arms A and B",
        "min_train": "a training part below this per class is refused (smoke: the tiny phantom passes)",
        "n_boot": "bootstrap resamples of the patient-cluster CIs",
    },
)
"""P2's chapter settings; ``CHAPTER.settings(profile)`` gives one profile's."""

__all__ = ["CHAPTER", "weights_backbones"]


def weights_backbones(profile: str) -> tuple[str, ...]:
    """The backbones whose ImageNet weights chapter 05 starts from (every profile: P2's ResNet-50)."""
    return (protocol.BACKBONE,)
