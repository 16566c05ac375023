"""P4, Bal-Ghaoui et al. 2023: how deep to fine-tune, and a linear-SVM head on the fine-tuned features.

Modules: :mod:`.settings` (the chapter's profiles), :mod:`.protocol` (Table 2,
the folds, the datasets; no TensorFlow), :mod:`.tasks` (the engine task),
:mod:`.grids` (every grid of the chapter) and :mod:`.report` (tables beside
the paper, figures, and the sentences that state results).
"""

from mstl_lib.papers import PaperInfo

PAPER = PaperInfo(
    key="p4_finetuning",
    label="P4",
    title=("Optimizing ultrasound image classification through transfer learning: fine-tuning strategies "
           "and classifier impact on pre-trained inner-layers"),
    citation_key="balghaoui2023finetuning",
    claim=("Fine-tuning only the last 15 % of the layers of ImageNet ResNet50 and InceptionV3 classifies "
           "ultrasound images well, and a linear SVM on the fine-tuned features beats the network's own MLP head."),
    notebook="04_finetuning_svm",
)

__all__ = ["PAPER"]
