"""Everything P1's pages show, built from stored records: tables beside the paper, figures, and every result sentence.

Each sentence that states a result or a direction (stage 1 learned or not,
the significance verdict, the leakage rerun, the closing note, chapter 02's
note) is produced here from the numbers, and says so when a conclusion does
not follow from them. The notebooks only call these functions.

Record frames are :func:`mstl_lib.engine.records_frame` tables; raw records
are the dicts of :func:`mstl_lib.engine.load_records`. Functions taking a
``chapter`` take the :class:`~mstl_lib.papers.p1_mstl.grids.ChapterRun` of
``grids.run_all``.

One module per section of the chapter, in the page's order:

- ``common``: What every section of P1's pages reads: the metrics it needs, done records, the per-fold table
  and the notes on degenerate folds, chance ranking, the operating point and failures.
- ``segmentation``: Fig. 2a and the patches: the cell segmentation, its check against a manual annotation, and
  the patches stage 1 trains on.
- ``stage1``: Stage 1: what the cell-line classifier learned, and which weights each stage started from.
- ``table_one``: Table 1, reproduced and beside the paper's: fold means, pooled CIs and the caption.
- ``significance``: The significance test: the paper's t-test recomputed, ours, the control, and the verdict
  in words.
- ``paper_figures``: Figs. 4-6 and S1-S2: ROC curves per arm, the optimizer and CNN effects, feature maps and
  learning curves.
- ``mt_small``: The MT-Small experiment and the leakage rerun: image-level against near-duplicate-grouped
  splits.
- ``closing``: The closing note and the stored runtime of chapter 03.
- ``tour``: Chapter 02, the engine tour: its table and its note.
- ``scorecard_claims``: P1's claims for the scorecard, filled in from stored records, and the audit notes beside the
  paper's numbers.

Every public name is importable from here, as before the split.
"""

from __future__ import annotations

from mstl_lib.report import markdown  # noqa: F401 - the chapter shows every sentence with it

from mstl_lib.papers.p1_mstl.report.common import (  # noqa: F401
    STAGE1_METRICS, STAGE2_METRICS, STAGE2_READ, METRICS_BY_TASK, ALPHA, per_fold_table, degenerate_note,
    chance_ranking_note, operating_point_note, shifted_threshold_note, failures, collect,
)
from mstl_lib.papers.p1_mstl.report.segmentation import (  # noqa: F401
    segmentation_panels, demo_frames, segmentation_demo, annotation_sentence, annotation_check, patch_summary,
    patch_examples,
)
from mstl_lib.papers.p1_mstl.report.stage1 import (  # noqa: F401
    stage1_table, stage1_sentence, weights_table,
)
from mstl_lib.papers.p1_mstl.report.table_one import (  # noqa: F401
    table1, format_table1, pooled_ci, table1_beside_paper, table1_caption,
)
from mstl_lib.papers.p1_mstl.report.significance import (  # noqa: F401
    paper_ttest, paper_ttest_sentence, paired_accuracies, our_tests, control_pairs, control_sentence,
    conclusion_limits, degenerate_arms, significance_sentence,
)
from mstl_lib.papers.p1_mstl.report.paper_figures import (  # noqa: F401
    roc_by_arm, factor_means, factor_effects, factor_note, feature_map_figure, kept_networks, feature_maps,
    learning_curves_by_arm,
)
from mstl_lib.papers.p1_mstl.report.mt_small import (  # noqa: F401
    mt_small_table, mt_small_note, duplicate_sentence, leakage_table, leakage_sentence,
)
from mstl_lib.papers.p1_mstl.report.closing import (  # noqa: F401
    stored_runtime, best_comparison, closing_note,
)
from mstl_lib.papers.p1_mstl.report.tour import (  # noqa: F401
    tour_table, tour_note,
)
from mstl_lib.papers.p1_mstl.report.scorecard_claims import (  # noqa: F401
    NOTEBOOK, SECTIONS, audit_note, paper_claims, evidence_flags, claims,
)
