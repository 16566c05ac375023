"""P3's chapter under each profile (``notebooks/06_elastography.py``).

``cpu``: BUSI with simulated strain at 64 px (AlexNet needs about 63 px), the
constituents' frozen parts computed once (freeze cache), a few epochs, fold 0 of
P3's protocol and of the nested patient-grouped CV, the controls, and DDTI
B-mode with case = patient. ``full``: P3's protocol (224 px, 5 folds, patience
200, every input and view, Table 2's comparison models).
"""

from __future__ import annotations

from mstl_lib.profiles import ChapterSettings

_SMOKE = {
    "constituents": ["AlexNet", "ResNet18"], "image_size": 64, "work_size": 96, "epochs": 2,
    "ensemble_epochs": 3, "patience": 2, "batch_size": 16, "learning_rate": 1e-4, "resnet_freeze": "all",
    "operating_point": "validation",
    "max_images": 48, "ddti_max_images": 40, "n_splits": 2, "folds_run": 1,
    "p3_arms": ["B:crop", "BSE:crop"], "separations": [0.0, 1.0], "control_inputs": ["SE"],
    "ddti": True, "n_boot": 200, "freeze_sensitivity": [], "masking_arms": [False, True],
    "comparisons": ["SqueezeNet"],
}
_CPU = {
    "constituents": ["AlexNet", "ResNet18"], "image_size": 64, "work_size": 128, "epochs": 15,
    "ensemble_epochs": 60, "patience": 5, "batch_size": 32, "learning_rate": 1e-4, "resnet_freeze": "all",
    "operating_point": "validation",
    "max_images": None, "ddti_max_images": None, "n_splits": 5, "folds_run": 1,
    "p3_arms": ["B:crop", "BSE:crop"], "separations": [0.0, 1.0, 2.0],
    "control_inputs": ["SE"], "ddti": True, "n_boot": 1000, "freeze_sensitivity": [], "masking_arms": [False, True],
    "comparisons": ["DenseNet"],
}
_FULL = {
    "constituents": ["AlexNet", "ResNet18"], "image_size": 224, "work_size": 448, "epochs": 2000,
    "ensemble_epochs": 2000, "patience": 200, "batch_size": 16, "learning_rate": 1e-4, "resnet_freeze": "stem",
    "operating_point": "0.5",
    "max_images": None, "ddti_max_images": None, "n_splits": 5, "folds_run": 5,
    "p3_arms": ["B:full", "SE:full", "BSE:full", "B:crop", "SE:crop", "BSE:crop"],
    "separations": [0.0, 0.25, 0.5, 1.0, 2.0], "control_inputs": ["SE", "BSE"], "ddti": True, "n_boot": 2000,
    "freeze_sensitivity": ["layer2"], "masking_arms": [False, True],
    "comparisons": ["VGG", "SqueezeNet", "DenseNet"],
}

CHAPTER = ChapterSettings(
    name="elastography",
    by_profile={"smoke": _SMOKE, "cpu": _CPU, "full": _FULL},
    budget_minutes={"cpu": 15},
    notes={
        "constituents": "P3: AlexNet + ResNet-18 (torchvision layouts in Keras; each record names the "
                        "backbone that ran)",
        "image_size": "P3: 224 px; 64 px on CPU (AlexNet needs about 63 px)",
        "work_size": "not in P3: side at which the strain image is simulated before cropping",
        "epochs": "P3: until 200 epochs without a better validation loss; the cap on epochs of a constituent",
        "ensemble_epochs": "P3: as above; the cap for the new softmax layer",
        "patience": "P3: 200",
        "batch_size": "P3 does not state it",
        "operating_point": ("not in P3 (full keeps the argmax): after BatchNorm is settled, smoke and cpu move each "
                            "constituent's, comparison model's and the ensemble layer's threshold to the one that "
                            "maximises balanced accuracy on the fold's validation patients' images where its own argmax calls at "
                            "least 95 % of them one class (elsewhere it stays), since short "
                            "training from random weights can shift the output as a whole; AUC is unchanged, and the "
                            "voting ensemble votes with the moved thresholds"),
        "resnet_freeze": "P3: ResNet-18's first four child modules frozen ('stem'); 'all' freezes every "
                         "convolution (only the head trains, from cached features) to fit the CPU budget",
        "max_images": "smoke only: a stratified subset of BUSI",
        "ddti_max_images": "smoke only: a stratified subset of DDTI",
        "n_splits": "P3: 5-fold CV over the training patients",
        "folds_run": "P3 runs 5; cpu runs fold 0 of both protocols, so the nested CV tests a fifth of the patients "
                     "(the engine resumes, so raising it reuses fold 0)",
        "p3_arms": "input:view arms under P3's protocol; P3 runs all six (cpu: two, for the time budget)",
        "separations": "not in P3: class separation of the drawn stiffness ratios (0 = negative control)",
        "control_inputs": "not in P3: inputs of the controls and the dose-response (nested CV)",
        "ddti": "not in P3: B-mode arms on real DDTI, case = patient",
        "n_boot": "patient-cluster bootstrap resamples",
        "comparisons": "P3 Table 2: VGG, SqueezeNet, DenseNet on B-SE; here B-SE crops in the nested CV, frozen "
                       "convolutions and a trained GAP + softmax head (cached features), at the chapter's image size. "
                       "cpu runs DenseNet only: from random weights, VGG's and SqueezeNet's frozen convolutions (no "
                       "BatchNorm to settle) gave features on which the head called every image benign, so their rows "
                       "would show the class prior, not the models; full runs all three from ImageNet weights",
        "masking_arms": "not in P3: B-mode full-image arms (nested CV) without and with the burned-in "
                        "annotations masked (mstl_lib.data.annotations)",
        "freeze_sensitivity": "not in P3: the B-SE crop arm (nested CV) rerun with ResNet-18 frozen through these "
                              "stages",
    },
)
"""P3's chapter settings; ``CHAPTER.settings(profile)`` gives one profile's."""

__all__ = ["CHAPTER", "weights_backbones"]


def weights_backbones(profile: str) -> tuple[str, ...]:
    """The backbones whose ImageNet weights chapter 06 starts from under ``profile``: the constituents
    and Table 2's comparison models that profile runs."""
    from mstl_lib.papers.p3_elastography import protocol  # noqa: PLC0415

    return (*protocol.CONSTITUENTS, *(protocol.COMPARISONS[c] for c in CHAPTER.settings(profile)["comparisons"]))
