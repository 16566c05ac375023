"""Everything P2's chapter shows, built from the release's counts and stored records.

Offline, from ``folder_counts.csv`` (the full release's per-folder counts): P2's
Table I beside the release, the arithmetic of P2's printed numbers, the split
sizes and the leakage report under each patient definition. On the real
12-image sample: the split logic and the refusal to train on it. From the
records: the arms A-D beside the majority-class baseline, patient-level
metrics, patient-cluster bootstrap CIs, the paired A - B difference, the
test curves (P2's Figs. 7-8) and the sentences that state the results.

A difference "follows" when its 95 % bootstrap CI over patients excludes zero
and no fold of either arm is degenerate.

One module per section of the chapter, in the page's order:

- ``release_counts``: The release's counts, offline: P2's Table 1 and its arithmetic, the split, the leak it
  makes and P2's comparison table.
- ``sample``: The real sample: why it cannot be split by patient.
- ``arms``: Arms A-D: their records, accuracies beside the majority-class baseline, A minus B, curves and the
  closing note.
- ``phantom_leak``: The cheap classifier that finds patients, where the counts come from, and the histology
  phantom.
- ``scorecard_claims``: P2's claims for the scorecard, filled in from stored records, and the audit notes
  beside its numbers.

Every public name is importable from here, as before the split.
"""

from __future__ import annotations

from mstl_lib.papers.p2_breakhis.report.release_counts import (  # noqa: F401
    METRICS_READ, METRICS_BY_TASK, COMPARISON_PROTOCOLS, release_counts, table1, table1_arithmetic, split_table,
    leakage_table, patient_definitions_table, leakage_paragraph, statements_table, comparison_table,
)
from mstl_lib.papers.p2_breakhis.report.sample import (  # noqa: F401
    sample_split, sample_refusal,
)
from mstl_lib.papers.p2_breakhis.report.arms import (  # noqa: F401
    Results, collect, failures_table, POOLED_METRICS, arms_table, a_minus_b, magnification_table, curve_table,
    sensitivity_table, curves_figure, arms_paragraph, closing_note,
)
from mstl_lib.papers.p2_breakhis.report.phantom_leak import (  # noqa: F401
    colour_statistics, leak_check, counts_file, counts_from_table, cheap_leak_table, phantom_figure,
    table1_note,
)
from mstl_lib.papers.p2_breakhis.report.scorecard_claims import (  # noqa: F401
    NOTEBOOK, SECTIONS, MAGNIFICATION_LEAK, audit_note, paper_claims, claims,
)
