"""The three run profiles and what each expands to, in one place.

``smoke``  seconds per notebook, tiny subsets; for tests.
``cpu``    the default of ``make book``: real data, a scaled-down protocol,
           the whole book in at most an hour on 2 CPU cores.
``full``   the papers' exact protocols, meant for a GPU and the original data.

Notebooks never hard-code these numbers: they call :func:`chapter_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd


@dataclass(frozen=True)
class Profile:
    """A named run profile."""

    name: str
    summary: str
    phantom_scale: str
    """Size of the synthetic data folder used when no real data is found."""


PROFILES = MappingProxyType(
    {
        "smoke": Profile("smoke", "seconds per notebook, tiny subsets; for tests", "small"),
        "cpu": Profile("cpu", "real data, scaled-down protocol for 2 CPU cores", "cpu"),
        "full": Profile("full", "the paper's exact protocol; meant for a GPU", "cpu"),
    }
)

CHAPTER_SETTINGS = {
    "datasets": {
        "smoke": {"duplicate_scan_limit": 120, "samples_per_class": 2, "duplicate_examples": 2},
        "cpu": {"duplicate_scan_limit": None, "samples_per_class": 4, "duplicate_examples": 6},
        "full": {"duplicate_scan_limit": None, "samples_per_class": 4, "duplicate_examples": 6},
    },
    # A first grid through the experiment engine: P1's conventional-transfer (CTL)
    # arm, ResNet50 x optimizers, on BUSI benign vs malignant.
    "first_grid": {
        "smoke": {"backbones": ["ResNet50"], "optimizers": ["adam"], "image_size": 32, "epochs": 1,
                  "batch_size": 16, "augment_copies": 1, "n_splits": 2, "folds_run": 2, "max_images": 40},
        "cpu": {"backbones": ["ResNet50"], "optimizers": ["sgd", "adam", "adagrad"], "image_size": 75,
                "epochs": 2, "batch_size": 16, "augment_copies": 3, "n_splits": 5, "folds_run": 2,
                "max_images": None},
        "full": {"backbones": ["ResNet50"], "optimizers": ["sgd", "adam", "adagrad"], "image_size": 75,
                 "epochs": 50, "batch_size": 16, "augment_copies": 3, "n_splits": 5, "folds_run": 5,
                 "max_images": None},
    },
    # P1, multistage transfer learning (notebooks/03_multistage.py).
    # The stage-2 keys mirror "first_grid"; stage 1 (cells) has its own; "best_*" names the
    # configuration of the MT-Small and leakage-aware reruns (P1's best: ResNet50 + Adagrad).
    "multistage": {
        "smoke": {"backbones": ["ResNet50"], "optimizers": ["adagrad"], "image_size": 32, "epochs": 1,
                  "batch_size": 16, "learning_rate": 1e-3, "decay_rate": 0.96, "augment_copies": 1,
                  "n_splits": 2, "folds_run": 2, "max_images": 40, "cell_frames_per_line": 2,
                  "cell_frame_size": 512, "patches_per_line": 12, "stage1_epochs": 1,
                  "stage1_augment_copies": 1, "stage1_split": [0.7, 0.2, 0.1], "best_backbone": "ResNet50",
                  "best_optimizer": "adagrad", "rerun_folds": 1, "mt_small_max_images": 40},
        "cpu": {"backbones": ["ResNet50"], "optimizers": ["sgd", "adam", "adagrad"], "image_size": 75,
                "epochs": 2, "batch_size": 16, "learning_rate": 1e-3, "decay_rate": 0.96, "augment_copies": 3,
                "n_splits": 5, "folds_run": 2, "max_images": 200, "cell_frames_per_line": 12,
                "cell_frame_size": 512, "patches_per_line": 120, "stage1_epochs": 2,
                "stage1_augment_copies": 2, "stage1_split": [0.7, 0.2, 0.1], "best_backbone": "ResNet50",
                "best_optimizer": "adagrad", "rerun_folds": 1, "mt_small_max_images": None},
        "full": {"backbones": ["EfficientNetB2", "InceptionV3", "ResNet50"], "optimizers": ["sgd", "adam", "adagrad"],
                 "image_size": 75, "epochs": 50, "batch_size": 16, "learning_rate": 1e-3, "decay_rate": 0.96,
                 "augment_copies": 3, "n_splits": 5, "folds_run": 5, "max_images": None,
                 "cell_frames_per_line": 200, "cell_frame_size": 512, "patches_per_line": 6800,
                 "stage1_epochs": 50, "stage1_augment_copies": 2, "stage1_split": [0.7, 0.2, 0.1],
                 "best_backbone": "ResNet50", "best_optimizer": "adagrad", "rerun_folds": 5,
                 "mt_small_max_images": None},
    },
    # P4, fine-tuning depth and the SVM head (notebooks/04_finetuning_svm.py).
    # cpu: all 7 strategies for ResNet50 and InceptionV3 on real BUSI and DDTI at 75 px
    # (InceptionV3's minimum), 2 epochs, batch 16, fold 0 of the 5-fold CV; the frozen
    # prefix is cached, so the shallow strategies cost seconds (see the chapter).
    "finetuning": {
        "smoke": {"datasets": ["busi", "ddti"], "backbones": ["ResNet50"], "strategies": [0, 15],
                  "image_size": 32, "epochs": 1, "batch_size": 8, "learning_rate": 1e-4, "n_splits": 2,
                  "folds_run": 2, "max_images": 32, "svm_cv": 2, "grouped_protocols": ["ddti:case"],
                  "grouping_strategies": [15], "grouping_backbones": ["ResNet50"]},
        "cpu": {"datasets": ["busi", "ddti"], "backbones": ["ResNet50", "InceptionV3"],
                "strategies": [0, 15, 25, 50, 75, 85, 100], "image_size": 75, "epochs": 2, "batch_size": 16,
                "learning_rate": 1e-4, "n_splits": 5, "folds_run": 1, "max_images": None, "svm_cv": 5,
                "grouped_protocols": ["busi:duplicates", "ddti:case", "ddti:duplicates"],
                "grouping_strategies": [15], "grouping_backbones": ["ResNet50", "InceptionV3"]},
        "full": {"datasets": ["busi", "ddti", "mendeley"],
                 "backbones": ["VGG16", "VGG19", "ResNet50", "ResNet101", "InceptionV3"],
                 "strategies": [0, 15, 25, 50, 75, 85, 100], "image_size": 224, "epochs": 30, "batch_size": 4,
                 "learning_rate": 1e-4, "n_splits": 5, "folds_run": 5, "max_images": None, "svm_cv": 5,
                 "grouped_protocols": ["busi:duplicates", "ddti:case", "ddti:duplicates"],
                 "grouping_strategies": [0, 15, 25, 50, 75, 85, 100],
                 "grouping_backbones": ["ResNet50", "InceptionV3"]},
    },
}


def get_profile(name: str) -> Profile:
    """Return the :class:`Profile` called ``name``; raise ``ValueError`` for an unknown one."""
    try:
        return PROFILES[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None


def chapter_settings(chapter: str, profile: str) -> MappingProxyType:
    """The concrete settings of ``chapter`` under ``profile`` (read-only mapping)."""
    profile = get_profile(profile).name
    if chapter not in CHAPTER_SETTINGS:
        raise ValueError(f"no settings for chapter {chapter!r}; known: {', '.join(CHAPTER_SETTINGS)}")
    return MappingProxyType(dict(CHAPTER_SETTINGS[chapter][profile]))


def settings_table(chapter: str) -> pd.DataFrame:
    """All profiles' settings of ``chapter`` side by side (one column per profile)."""
    columns = {
        name: {key: "all" if value is None else value for key, value in CHAPTER_SETTINGS[chapter][name].items()}
        for name in PROFILES
    }
    return pd.DataFrame(columns, dtype=object)
