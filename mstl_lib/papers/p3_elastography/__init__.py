"""P3, Misra et al. 2021: an AlexNet + ResNet-18 feature ensemble on stacked B-mode + strain ultrasound, judged patient-wise.

Modules: :mod:`.settings` (the chapter's profiles), :mod:`.protocol` (inputs,
views, patient splits, eq. 1 and eq. 2, the simulated strain; no TensorFlow),
:mod:`.tasks` (the engine task), :mod:`.grids` (every grid of the chapter) and
:mod:`.report` (tables beside the paper, controls, and the sentences that state results).
"""

from mstl_lib.papers import PaperInfo

PAPER = PaperInfo(
    key="p3_elastography",
    label="P3",
    title="Ensemble Transfer Learning of Elastography and B-mode Breast Ultrasound Images",
    citation_key="misra2021ensemble",
    claim=("An ensemble of fine-tuned AlexNet and ResNet-18 features on stacked B-mode + strain images "
           "classifies breast lesions patient-wise with 88.89 % sensitivity and 91.10 % specificity."),
    notebook="06_elastography",
)

__all__ = ["PAPER"]
