"""P4's chapter under each profile (``notebooks/04_finetuning_svm.py``).

``cpu``: all seven strategies for ResNet50 and InceptionV3 on the real BUSI and
DDTI at 75 px (InceptionV3's minimum), 2 epochs at batch 16, fold 0 of the
5-fold CV; the frozen prefix is cached, so the shallow strategies cost seconds.
``full``: P4's protocol (five backbones, 224 px, 30 epochs, batch 4, five folds).
"""

from __future__ import annotations

from mstl_lib.profiles import ChapterSettings

_SMOKE = {
    "datasets": ["busi", "ddti"], "backbones": ["ResNet50"], "strategies": [0, 15],
    "image_size": 32, "epochs": 1, "batch_size": 8, "learning_rate": 1e-4, "n_splits": 2,
    "folds_run": 2, "max_images": 32, "svm_cv": 2, "grouped_protocols": ["ddti:case"],
    "grouping_strategies": [15], "grouping_backbones": ["ResNet50"], "class_weight": "balanced",
    "operating_point": "validation",
}
_CPU = {
    "datasets": ["busi", "ddti"], "backbones": ["ResNet50", "InceptionV3"],
    "strategies": [0, 15, 25, 50, 75, 85, 100], "image_size": 75, "epochs": 2, "batch_size": 16,
    "learning_rate": 1e-4, "n_splits": 5, "folds_run": 1, "max_images": None, "svm_cv": 5,
    "grouped_protocols": ["busi:duplicates", "ddti:case", "ddti:duplicates"],
    "grouping_strategies": [15], "grouping_backbones": ["ResNet50", "InceptionV3"], "class_weight": "balanced",
    "operating_point": "validation",
}
_FULL = {
    "datasets": ["busi", "ddti", "mendeley"],
    "backbones": ["VGG16", "VGG19", "ResNet50", "ResNet101", "InceptionV3"],
    "strategies": [0, 15, 25, 50, 75, 85, 100], "image_size": 224, "epochs": 30, "batch_size": 4,
    "learning_rate": 1e-4, "n_splits": 5, "folds_run": 5, "max_images": None, "svm_cv": 5,
    "grouped_protocols": ["busi:duplicates", "ddti:case", "ddti:duplicates"],
    "grouping_strategies": [0, 15, 25, 50, 75, 85, 100], "grouping_backbones": ["ResNet50", "InceptionV3"],
    "class_weight": None, "operating_point": "0.5",
}

CHAPTER = ChapterSettings(
    name="finetuning",
    by_profile={"smoke": _SMOKE, "cpu": _CPU, "full": _FULL},
    budget_minutes={"cpu": 14},  # 12 in the plan, 2 taken from P2's
    notes={
        "datasets": "P4 also uses Mendeley (run in full when supplied) and a salivary-gland set that is not public",
        "backbones": "P4 runs five; cpu keeps its two best (ResNet50, InceptionV3)",
        "image_size": "P4 does not state it; 75 px is InceptionV3's smallest input",
        "epochs": "P4: 30",
        "batch_size": "P4: 4; 16 runs faster on CPU",
        "folds_run": "P4 runs all 5 folds; cpu runs fold 0 (the engine resumes, so raising it reuses fold 0)",
        "max_images": "smoke only: a stratified subset",
        "svm_cv": "P4: 5-fold stratified grid search for C",
        "grouped_protocols": "not in P4: folds that keep a DDTI case or a near-duplicate cluster on one side",
        "grouping_strategies": "not in P4: strategies rerun with grouped folds",
        "grouping_backbones": "not in P4: backbones rerun with grouped folds",
        "operating_point": ("not in P4 (full keeps its argmax): after BatchNorm is settled, smoke and cpu move the fine-tuned "
                            "network's threshold to the one that maximises balanced accuracy on the fold's validation "
                            "images where its own argmax calls at least 95 % of them one class (elsewhere it stays), "
                            "since after 2 epochs from random weights the output can shift as a whole between "
                            "training and prediction; AUC is unchanged, and the SVM head is not touched"),
        "class_weight": ("not in P4 (full keeps its plain loss): cpu weighs the fine-tuning loss by inverse class "
                         "frequency, since 2 epochs from random weights otherwise learn DDTI's class prior and "
                         "predict one class; the SVM head is unchanged"),
    },
)
"""P4's chapter settings; ``CHAPTER.settings(profile)`` gives one profile's."""

__all__ = ["CHAPTER", "weights_backbones"]


def weights_backbones(profile: str) -> tuple[str, ...]:
    """The backbones whose ImageNet weights chapter 04 starts from under ``profile``."""
    settings = CHAPTER.settings(profile)
    return tuple(dict.fromkeys([*settings["backbones"], *settings["grouping_backbones"]]))
