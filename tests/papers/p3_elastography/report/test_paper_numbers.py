"""P3's report, ``paper_numbers``: P3's own numbers and arithmetic: its Table 1, the strain ratios it implies and its stated counts."""

from __future__ import annotations

from mstl_lib.papers.p3_elastography import report


def test_p3s_supplementary_tables_list_one_benign_patient_more_than_its_text():
    checks = report.paper_counts_check().set_index("check")
    row = checks.loc["benign patients: text vs Supplementary Table 1"]
    assert (row["stated"], row["implied"], row["consistent"]) == (42, 43, False)
    assert checks.loc["patients = train + test (text)", "consistent"]


def test_paper_tables_are_as_printed():
    table1 = report.paper_table("p3_table1")
    best = table1[(table1["level"] == "patient") & (table1["input"] == "BSE") & (table1["view"] == "crop")
                  & (table1["model"] == "ensemble")].iloc[0]
    assert (best["sensitivity_mean"], best["specificity_mean"]) == (88.89, 91.10)
    assert len(report.paper_table("p3_strain_ratios")) == 86


def test_ratio_fit_table_shows_p3s_classes_and_the_drawn_ones():
    table = report.ratio_fit_table((0.0, 1.0))
    assert {"P3 benign patients", "P3 malignant patients"} <= set(table["what"])
    assert len(table) == 6
