"""P3's audit: its counts, the abstract, F1 identities, which test-set size its means allow; its claims."""

from __future__ import annotations

from mstl_lib.evaluation.audit import CONSISTENT, INCONSISTENT, findings_frame
from mstl_lib.papers.p3_elastography import audit, report
from mstl_lib.report import scorecard as sc


def test_counts_add_up_except_the_supplementary_benign_list():
    frame = findings_frame(audit.count_findings()).set_index("location")
    assert frame.loc["Abstract and II.A, patients", "verdict"] == CONSISTENT      # 42 + 43 = 85
    assert frame.loc["III, patients", "verdict"] == CONSISTENT                    # 65 + 20 = 85
    assert frame.loc["II.A, images", "verdict"] == CONSISTENT                     # 130 + 131 = 261
    assert frame.loc["Supplementary Table 1, benign patients", "verdict"] == INCONSISTENT  # 43 listed
    assert frame.loc["Supplementary Table 2, malignant patients", "verdict"] == CONSISTENT


def test_abstract_numbers_are_table1s_and_the_t_tests_cannot_be_redone():
    verdicts = [f.verdict for f in audit.abstract_findings()]
    assert verdicts == [CONSISTENT, CONSISTENT, "cannot check"]


def test_the_headline_row_satisfies_the_f1_identity():
    found = [f for f in audit.f1_findings() if audit.SENSITIVITY in f.claims]
    assert found and all(f.verdict == CONSISTENT for f in found)  # Table 1 and Table 2 print the same row


def test_patient_wise_means_fit_18_test_patients_far_better_than_the_stated_20():
    search = audit.test_size_search("patient", sizes=(18, 20)).set_index("test_size")
    assert search.loc[18, "mean attainable"] > 2 * search.loc[20, "mean attainable"]
    assert search.loc[20, "cells"] == 18


def test_findings_name_p3_and_known_verdicts():
    frame = findings_frame(audit.findings())
    assert set(frame["paper"]) == {"P3"} and len(frame) > 50


def test_claims_cannot_be_checked_here_because_p3s_data_are_private():
    claims = report.claims()
    assert {c.id for c in claims} >= {audit.SENSITIVITY, audit.SPECIFICITY, audit.ENSEMBLE_BEST}
    assert all(sc.verdict(c).verdict == sc.CANNOT_CHECK for c in claims)
    assert "42" in report.audit_note("Supplementary")


def test_bibliography_gaps_of_the_headerless_copy_are_not_called_errors():
    found = audit.bibliography_findings()
    assert found and all(f.verdict != INCONSISTENT for f in found)
    assert any("title block" in f.detail for f in found)
