"""P1's chapters under each profile: ``multistage`` (chapter 03) and ``first_grid`` (chapter 02).

``full`` is P1's protocol (:mod:`.protocol`); ``cpu`` scales it to about a
quarter of an hour on 2 CPU cores; ``smoke`` is a seconds-long pass through
both stages. ``notes`` says, per setting, why ``cpu`` or ``smoke`` departs from
the paper; the chapters show it beside the settings table.

Chapter 02 (:data:`ENGINE_TOUR`) runs a subset of chapter 03's main grid,
P1's CTL arm, with exactly the same task configuration, so the two chapters
share their records: its own settings only choose which optimizers and folds
of that grid it runs.
"""

from __future__ import annotations

from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.profiles import ChapterSettings

_PAPER = {
    "backbones": list(protocol.BACKBONES), "optimizers": list(protocol.OPTIMIZERS),
    "image_size": protocol.IMAGE_SIZE, "epochs": protocol.EPOCHS, "batch_size": protocol.BATCH_SIZE,
    "learning_rate": protocol.LEARNING_RATE, "decay_rate": protocol.DECAY_RATE,
    "augment_copies": protocol.STAGE2_AUGMENT_COPIES, "n_splits": protocol.N_SPLITS, "folds_run": protocol.N_SPLITS,
    "busi_per_class": protocol.MENDELEY_PER_CLASS, "cell_frames_per_line": 200, "cell_frame_size": 512, "patches_per_line": 6800,
    "stage1_epochs": protocol.EPOCHS, "stage1_augment_copies": protocol.STAGE1_AUGMENT_COPIES,
    "stage1_split": list(protocol.STAGE1_SPLIT), "best_backbone": protocol.BEST["cnn"],
    "best_optimizer": protocol.BEST["optimizer"], "rerun_folds": protocol.N_SPLITS, "mt_small_max_images": None,
    "control_optimizers": list(protocol.OPTIMIZERS), "operating_point": "0.5",
}

CHAPTER = ChapterSettings(
    name="multistage",
    by_profile={
        "smoke": {**_PAPER, "backbones": ["ResNet50"], "optimizers": ["adagrad"], "image_size": 32, "epochs": 1,
                  "augment_copies": 1, "n_splits": 2, "folds_run": 2, "busi_per_class": 20, "operating_point": "validation",
                  "cell_frames_per_line": 2, "patches_per_line": 12, "stage1_epochs": 1,
                  "stage1_augment_copies": 1, "rerun_folds": 1, "mt_small_max_images": 40},
        "cpu": {**_PAPER, "backbones": ["ResNet50"], "epochs": 3, "folds_run": 3, "control_optimizers": ["adagrad"],
                "operating_point": "validation",
                "cell_frames_per_line": 12, "patches_per_line": 120, "stage1_epochs": 2, "rerun_folds": 1},
        "full": dict(_PAPER),
    },
    budget_minutes={"cpu": 18},  # 15 in the plan; 3 taken from P2's 10, which its chapter does not use
    notes={
        "backbones": "cpu and smoke keep P1's best CNN, ResNet50, only: three CNNs x 50 epochs do not fit 2 CPU cores",
        "optimizers": "smoke: Adagrad only (P1's best), to pass through both stages in seconds",
        "image_size": "smoke: 32 px, a pipeline check; cpu and full use P1's 75 px",
        "epochs": ("cpu: 3 of P1's 50 epochs per stage-2 task (time budget; 2 left one MSTL network ranking its test "
                   "fold below chance); such networks are far from converged"),
        "augment_copies": "smoke: no augmentation; cpu and full: P1's threefold",
        "n_splits": "smoke: 2 outer folds so that tiny subsets still hold both classes in every part",
        "folds_run": ("cpu: 3 of the 5 outer folds (time budget; 120 pooled test images, so that a 95 % CI of "
                      "the pooled AUC can tell a weak signal from chance); fold SDs rest on three values"),
        "busi_per_class": ("BUSI stands in for Mendeley when no mendeley/ folder is supplied: every profile draws a "
                           "class-balanced sample as P1 did (100 benign + 100 malignant; smoke 20 + 20); with "
                           "Mendeley, P1's own 100 + 100 is drawn"),
        "cell_frames_per_line": ("P1 segmented 608 frames of three private cell lines; cpu writes 12 phantom frames "
                                 "per line unless a folder per cell line is supplied"),
        "cell_frame_size": "size of the phantom cell frames (P1 does not give its frames' size)",
        "patches_per_line": "P1 drew 6,800 patches per line; cpu keeps at most 120 (time budget)",
        "stage1_epochs": "cpu: 2 of P1's 50 stage-1 epochs (time budget)",
        "stage1_augment_copies": "smoke: no augmentation; cpu and full double the training patches as P1",
        "rerun_folds": "cpu: the MT-Small and leakage-aware reruns run 1 outer fold",
        "mt_small_max_images": "smoke: a 40-image cap on the MT-Small stand-in",
        "control_optimizers": ("not in P1: our shuffled-label control arm runs for these optimizers; cpu keeps P1's "
                               "best, Adagrad (time budget)"),
        "operating_point": ("P1 calls an image malignant when its sigmoid score is >= 0.5; cpu and smoke (not in P1) "
                            "move the threshold, once per task, to the one that maximises balanced accuracy on the "
                            "fold's validation images, where the network's own 0.5 calls at least 95 % of them one "
                            "class (elsewhere it stays): after a few epochs the network's output shifts between training "
                            "(mini-batch BatchNorm statistics) and prediction (settled ones), and some folds called "
                            "every test image one class while ranking them well. The AUC is unchanged"),
        "learning_rate": "P1's; the decay rate is applied per epoch (P1 does not give the decay step)",
    },
)
"""Chapter 03, P1's multistage transfer learning."""

_TOUR_SHARED = ("backbones", "image_size", "epochs", "batch_size", "learning_rate", "decay_rate", "augment_copies",
                "n_splits", "busi_per_class", "operating_point")
_TOUR_SUBSET = {
    "smoke": {"optimizers": ["adagrad"], "folds_run": 1},
    "cpu": {"optimizers": ["sgd", "adam", "adagrad"], "folds_run": 1},
    "full": {"optimizers": ["sgd", "adam", "adagrad"], "folds_run": 5},
}

ENGINE_TOUR = ChapterSettings(
    name="first_grid",
    by_profile={
        profile: {"arm": "CTL", **{key: CHAPTER.by_profile[profile][key] for key in _TOUR_SHARED},
                  **_TOUR_SUBSET[profile]}
        for profile in ("smoke", "cpu", "full")
    },
    budget_minutes={"cpu": 3},
    notes={
        "arm": "chapter 02 runs P1's CTL arm only; chapter 03 adds MSTL",
        "optimizers": "a subset of chapter 03's optimizers; the task configurations are chapter 03's",
        "folds_run": "cpu: outer fold 0 only (3 tasks, about 3 minutes); chapter 03 reuses them and adds folds 1 and 2",
        "epochs": "cpu: 2 of P1's 50 epochs (time budget), as in chapter 03",
        "busi_per_class": "as in chapter 03: a balanced 100 + 100 BUSI sample (P1's Mendeley sample)",
    },
)
"""Chapter 02, a first grid through the engine: P1's CTL arm, ResNet50 x optimizers.

The values of ``_TOUR_SHARED`` are copied from :data:`CHAPTER`, never typed
twice; the grid itself is built from :data:`CHAPTER` (see ``grids.engine_tour``)."""


def weights_backbones(profile: str) -> tuple[str, ...]:
    """The backbones whose ImageNet weights chapters 02 and 03 start from under ``profile``."""
    return tuple(CHAPTER.settings(profile)["backbones"])
