"""P4's report, ``grouped_folds``: Grouped folds: P4's image-level folds against folds that keep near-duplicate clusters together."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p4_finetuning import report

from p4_report_helpers import make_records


def _grouped(case_svm_by_fold, none_svm_by_fold):
    return pd.concat([
        make_records({("ResNet50", 15): [(0.6, s) for s in none_svm_by_fold], ("ResNet50", 0): [(0.5, 0.5)]},
                     dataset="ddti"),
        make_records({("ResNet50", 15): [(0.6, s) for s in case_svm_by_fold]}, dataset="ddti", grouping="case"),
    ], ignore_index=True)


def test_grouping_comparison_and_differences():
    records = _grouped([0.7], [0.9])
    comparison = report.grouping_comparison(records)
    assert list(comparison.index) == [("DDTI", "ResNet50", 15, "case"), ("DDTI", "ResNet50", 15, "none")]
    assert report.grouping_comparison(records, strategies=[0]).empty
    wide = report.grouping_differences(comparison)
    assert wide.loc[("DDTI", "ResNet50", 15), "case_minus_none"] == pytest.approx(-0.2)
    assert report.grouping_differences(comparison.iloc[:0]).empty


def test_grouping_paragraph_says_what_follows():
    one_fold = report.grouping_paragraph(_grouped([0.7], [0.9]))
    assert "FT-SVM AUC -0.200" in one_fold and "does not follow" in one_fold
    clear = report.grouping_paragraph(_grouped([0.70, 0.71, 0.69], [0.90, 0.91, 0.89]))
    assert "grouping lowers the FT-SVM AUC" in clear
    raised = report.grouping_paragraph(_grouped([0.95, 0.96, 0.94], [0.70, 0.71, 0.69]))
    assert "grouping raises" in raised
    assert "No grouped protocol" in report.grouping_paragraph(make_records({("ResNet50", 15): [(0.5, 0.5)]}))
