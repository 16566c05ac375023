"""Everything P4's chapter shows, built from stored records: tables beside P4's, figures, sentences.

Every sentence that states a result or a direction is written here from the
numbers, and says so when the conclusion does not follow from them: with one
fold there is no spread, so no difference between two cells can be told from
fold-to-fold noise. A difference "follows" when the two-sided 95 % t interval
of its mean over folds excludes zero (paired by fold where both sides share
the folds, Welch's interval where the folds differ), with at least two folds.

One module per section of the chapter, in the page's order:

- ``records``: What P4's chapter reads back: the metrics it needs, the records, histories and predictions of
  its grids, failures and the weights each task used.
- ``verdicts``: When a difference follows from the folds: paired and Welch t intervals, said in words.
- ``data_counts``: Data: P4's Table 1 beside the loaders' counts, and the TIRADS labels of DDTI.
- ``layer_counts``: Table 2: the layers each strategy trains, counted in Keras, beside P4's counts.
- ``auc_by_depth``: Table 3 and its figure: AUC per fine-tuning depth, FT against FT-SVM, beside P4's, and
  what it shows.
- ``best_strategy``: Table 4 and its figures: the 15 % strategy per backbone, confusion matrices and ROC
  curves.
- ``grouped_folds``: Grouped folds: P4's image-level folds against folds that keep near-duplicate clusters
  together.
- ``timings``: Where the time goes: task timings and the freeze-cache benchmark.
- ``closing``: The closing note of the chapter.
- ``scorecard_claims``: P4's claims for the scorecard, filled in from stored records, and the audit notes
  beside P4's numbers.

Every public name is importable from here, as before the split.
"""

from __future__ import annotations

from mstl_lib.papers.p4_finetuning.report.records import (  # noqa: F401
    METRICS_READ, METRICS_BY_TASK, BENCHMARK_FILE, KEY, Results, collect, failures_table, weights_caption,
)
from mstl_lib.papers.p4_finetuning.report.verdicts import (  # noqa: F401
    verdict,
)
from mstl_lib.papers.p4_finetuning.report.data_counts import (  # noqa: F401
    table1, TIRADS_ORDER, tirads_table, ddti_note,
)
from mstl_lib.papers.p4_finetuning.report.layer_counts import (  # noqa: F401
    keras_layer_counts, table2, table2_wide, rounding_misses,
)
from mstl_lib.papers.p4_finetuning.report.auc_by_depth import (  # noqa: F401
    groups_by_path, head_ci, auc_ci, TABLE4_METRICS, table3, auc_vs_depth, reading_table3, degenerate_note,
)
from mstl_lib.papers.p4_finetuning.report.best_strategy import (  # noqa: F401
    table4, confusion_and_roc, confusion_figure,
)
from mstl_lib.papers.p4_finetuning.report.grouped_folds import (  # noqa: F401
    grouping_comparison, grouping_differences, grouping_paragraph,
)
from mstl_lib.papers.p4_finetuning.report.timings import (  # noqa: F401
    timing_frame, timing_summary, benchmark_path, load_benchmark, benchmark_summary,
)
from mstl_lib.papers.p4_finetuning.report.closing import (  # noqa: F401
    closing_note,
)
from mstl_lib.papers.p4_finetuning.report.scorecard_claims import (  # noqa: F401
    NOTEBOOK, SECTIONS, HEADLINE_DATASETS, LEAKS, SELECTION, audit_note, paper_claims, claims,
)
