"""P4's report, ``closing``: The closing note of the chapter."""

from __future__ import annotations

import pandas as pd

from mstl_lib.papers.p4_finetuning import report

from p4_report_helpers import IMAGENET, RANDOM, bench_rows, cells_frame, make_records


def test_closing_note_with_one_fold_claims_nothing():
    records = make_records(cells_frame(lambda p: [(0.6, 0.9 if p == 15 else 0.7)]))
    text = report.closing_note(records, [RANDOM])
    assert "random initialisation" in text
    assert "best FT-SVM AUC 0.900 at 15 %" in text and "does not follow" in text
    assert "for 1 of 1 (dataset, backbone) pair(s), clearly (beyond fold noise) for 0" in text
    assert "not confirmed by this run" in text
    assert "P4 0.87 / 0.98" in text  # BUSI, ResNet50, 15 %


def test_closing_note_with_folds_that_decide():
    records = make_records(cells_frame(lambda p: [(0.6, (0.9 if p == 15 else 0.7) + 0.01 * f) for f in range(4)]))
    bench = pd.DataFrame(bench_rows([(0, 20.0), (15, 3.0)]))
    grouped = make_records({("ResNet50", 15): [(0.6, 0.7)]}, grouping="case")
    text = report.closing_note(pd.concat([records, grouped], ignore_index=True), [IMAGENET], bench)
    assert "clearly (beyond fold noise) for 1" in text and "not confirmed" not in text
    assert "the SVM head beats the MLP head" in text and "so the direction follows" in text
    assert "`case` minus image-level folds" in text and "not met everywhere" in text
    assert "not checked" in report.closing_note(records.iloc[:0], [])
