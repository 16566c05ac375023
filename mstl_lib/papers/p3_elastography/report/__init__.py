"""Everything P3's chapter shows, built from stored records: tables beside P3's, controls, sentences.

Every sentence that states a result is written here from the numbers. The BUSI
numbers come from **simulated** strain images: they test the pipeline and how
much of the injected stiffness signal each model recovers, never P3's
performance (:data:`SIMULATION_BANNER`).

One module per section of the chapter, in the page's order:

- ``records``: What P3's chapter reads back: the metrics of each arm, the records, histories and predictions
  of its grids, and failures.
- ``paper_numbers``: P3's own numbers and arithmetic: its Table 1, the strain ratios it implies and its stated
  counts.
- ``beside_paper``: P3's protocol, ours beside the paper: Table 1 with CIs, and degenerate folds.
- ``patient_cis``: Pooled predictions and patient-level CIs, shared by the tables beside the paper and the
  controls.
- ``controls``: Controls: the oracle and negative controls, masking, DDTI, the leak probe and their figures.
- ``closing``: The closing note of the chapter.
- ``scorecard_claims``: P3's claims for the scorecard (each needs P3's private data) and the audit notes
  beside its numbers.
- ``ppv_and_gradcam``: Fig. 5's PPV tests with Holm's correction, the misdiagnosis counts and Grad-CAM.

Every public name is importable from here, as before the split.
"""

from __future__ import annotations

from mstl_lib.papers.p3_elastography.report.records import (  # noqa: F401
    P3_METRICS, METRICS_READ, metrics_read, METRICS_BY_TASK, SIMULATION_BANNER, MODEL_ORDER, Results, collect,
    failures_table,
)
from mstl_lib.papers.p3_elastography.report.paper_numbers import (  # noqa: F401
    paper_table, ratio_fit_table, paper_counts_check,
)
from mstl_lib.papers.p3_elastography.report.beside_paper import (  # noqa: F401
    table1_beside_paper, degenerate_note,
)
from mstl_lib.papers.p3_elastography.report.patient_cis import (  # noqa: F401
    long_predictions, patient_mean_ci, patient_table_ci,
)
from mstl_lib.papers.p3_elastography.report.controls import (  # noqa: F401
    busi_patient_table, controls_table, table2_beside_paper, masking_table, masking_sentence, ddti_table,
    negative_control_sentence, leak_probe_sentence, dose_response_figure, masking_example, strain_examples,
)
from mstl_lib.papers.p3_elastography.report.closing import (  # noqa: F401
    closing_note,
)
from mstl_lib.papers.p3_elastography.report.scorecard_claims import (  # noqa: F401
    NOTEBOOK, SECTIONS, PRIVATE, LEAK, audit_note, paper_claims, claims,
)
from mstl_lib.papers.p3_elastography.report.ppv_and_gradcam import (  # noqa: F401
    ppv, holm, ppv_tests, fig5_tests, test_size_sentence, misdiagnosis_counts, gradcam_record, gradcam_figure,
)
