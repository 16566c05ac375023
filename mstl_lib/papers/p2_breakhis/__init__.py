"""P2, Abu Al-Haija and Manasra 2020: ResNet-50 on BreakHis, trained on 100/200/400X, tested on 40X.

Modules: :mod:`.settings` (the chapter's profiles), :mod:`.protocol` (P2's rules,
the four arms' splits, patient ids and the leakage report; no TensorFlow),
:mod:`.tasks` (the engine task), :mod:`.grids` (every grid of the chapter) and
:mod:`.report` (tables beside the paper, figures, and the sentences that state results).
"""

from mstl_lib.papers import PaperInfo

PAPER = PaperInfo(
    key="p2_breakhis",
    label="P2",
    title=("Development of Breast Cancer Detection Model Using Transfer Learning of Residual Neural Network "
           "(ResNet-50)"),
    citation_key="abualhaija2020resnet50",
    claim=("An ImageNet ResNet-50 trained on BreakHis's 100X, 200X and 400X images classifies its 40X images "
           "as benign or malignant with 99 % (99.1 %, 99.10 %) accuracy."),
    notebook="05_breakhis",
)

__all__ = ["PAPER"]
