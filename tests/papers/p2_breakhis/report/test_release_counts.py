"""P2's report, ``release_counts``: The release's counts, offline: P2's Table 1 and its arithmetic, the split, the leak it makes and P2's"""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p2_breakhis import protocol, report

from p2_report_helpers import release_long


def test_table1_arithmetic_finds_p2s_two_broken_sums():
    arithmetic = report.table1_arithmetic().set_index("line")
    assert not arithmetic["adds_up"]["row benign"] and not arithmetic["adds_up"]["column 40X"]
    assert arithmetic.loc["row benign", "sum_of_parts"] == 2507
    assert arithmetic["adds_up"].sum() == len(arithmetic) - 2


def test_split_and_leakage_tables():
    long = release_long()
    sizes = report.split_table(long)
    assert sizes.loc["test (40X)", "total"] == 1995 and sizes.loc["test (40X)", "P2 states (images)"] == 2000
    leakage = report.leakage_table(long)
    assert list(leakage.index) == list(protocol.PATIENT_DEFINITIONS)
    assert (leakage["share_test_seen"] == 1.0).all()
    text = report.leakage_paragraph(leakage)
    assert "2 of 2 patients (folder ids)" in text and "1995 of 1995 test images (100.0%)" in text


def test_patient_definitions_table_lists_merged_folders():
    counts = pd.DataFrame([("a", "benign", "SOB_B_A_14-1AB", 1, 1, 1, 1), ("a", "benign", "SOB_B_A_14-1CD", 1, 1, 1, 1),
                           ("d", "malignant", "SOB_M_DC_14-2", 1, 1, 1, 1)],
                          columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"])
    table = report.patient_definitions_table(protocol.counts_long(counts))
    assert table["definition"].tolist() == ["number"] and table["patient"].tolist() == ["14-1"]


def test_comparison_table_marks_what_is_known():
    table = report.comparison_table()
    assert len(table) == 11 and table["accuracy_pct"].iloc[-1] == pytest.approx(99.10)
    known = table.set_index("reference")["patient-disjoint"]
    assert known[55] == "yes" and known[56] == "no" and known[46] == "not known here"
