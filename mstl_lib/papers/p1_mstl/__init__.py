"""P1: Ayana et al. 2022, multistage transfer learning (ImageNet -> cancer cells -> breast ultrasound).

Modules: :mod:`.settings` (chapters ``multistage`` and ``first_grid``),
:mod:`.protocol` (the paper's rules, no TensorFlow), :mod:`.cell_patches`
(cell-frame segmentation), :mod:`.tasks` (stage-1 and stage-2 engine tasks),
:mod:`.grids` (the chapters' grids) and :mod:`.report` (everything the pages show).
"""

from mstl_lib.papers import PaperInfo

PAPER = PaperInfo(
    key="p1_mstl",
    label="P1",
    title="A Novel Multistage Transfer Learning for Ultrasound Breast Cancer Image Classification",
    citation_key="ayana2022mstl",
    claim=("Pre-training an ImageNet network on cancer-cell microscopy before fine-tuning it on breast "
           "ultrasound (MSTL) classifies benign vs malignant lesions significantly better than fine-tuning "
           "the ImageNet network directly (CTL), p = 0.01191."),
    notebook="03_multistage",
)
