"""P2's audit on its own tables and the release's counts: what it must find, and what it must not blame."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT
from mstl_lib.papers.p2_breakhis import audit, report


def _at(findings, location, check):
    hits = [f for f in findings if f.location == location and f.check.startswith(check)]
    assert len(hits) == 1, (location, check, hits)
    return hits[0]


def write_release(root):
    """A data folder whose BreakHis folder holds a folder_counts.csv with BreakHis's totals."""
    breakhis = root / "breakhis" / "BreaKHis_v1" / "histology_slides" / "breast"
    for label in ("benign", "malignant"):
        (breakhis / label).mkdir(parents=True)
    pd.DataFrame([("adenosis", "benign", "SOB_B_A_14-1AB", 300, 300, 300, 300),
                  ("adenosis", "benign", "SOB_B_A_14-1CD", 325, 344, 323, 288),
                  ("ductal_carcinoma", "malignant", "SOB_M_DC_14-2", 1370, 1437, 1390, 1232)],
                 columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"]).to_csv(
        root / "breakhis" / "folder_counts.csv", index=False)
    return root


def test_table1_sums_fail_where_p2_mistyped_and_nowhere_else(tmp_path):
    found = audit.table1_findings(tmp_path)  # no data: sums only, counts cannot be checked
    bad = [f.location for f in found if f.verdict == INCONSISTENT]
    assert bad == ["Table I, row benign", "Table I, column 40X"]
    assert _at(found, "Table I, benign 40X", "dataset count").verdict == CANNOT_CHECK


def test_table1_cells_against_the_release(tmp_path):
    found = audit.table1_findings(write_release(tmp_path))
    counts = [f for f in found if f.check == "dataset count"]
    assert [f.location for f in counts if f.verdict == INCONSISTENT] == ["Table I, benign 40X"]
    assert _at(found, "Table I, benign 40X", "dataset count").detail == "differs by +27"


def test_statements_against_the_release(tmp_path):
    found = audit.statement_findings(write_release(tmp_path))
    assert _at(found, "Section III.A", "images").verdict == CONSISTENT
    patients = _at(found, "Section III.A", "patients")
    assert patients.verdict == INCONSISTENT and "folders 3" in patients.computation  # 3 folders here, not 82
    assert _at(found, "Section III.B", "resize factor").verdict == CONSISTENT
    attainable = _at(found, "Section V and comparison table", "attainable")
    assert attainable.verdict == CONSISTENT and "1977/1995" in attainable.computation
    assert "all-malignant classifier scores 68.7 %" in attainable.detail
    rounding = [f for f in found if f.check == "rounding" and "accuracy" in f.computation]
    assert len(rounding) == 3 and all(f.verdict == CONSISTENT for f in rounding)  # 99 and 99.1 from 99.10


def test_statements_without_counts_cannot_be_checked(tmp_path):
    found = audit.statement_findings(tmp_path)
    assert _at(found, "Section III.A", "patients").verdict == CANNOT_CHECK
    assert _at(found, "Section V and comparison table", "attainable").verdict == CANNOT_CHECK


def test_table_labels_and_own_row_citation():
    found = audit.table_label_findings()
    assert _at(found, "Comparison table, proposed method", "citation").verdict == INCONSISTENT
    assert all(audit.BEATS_OTHERS in f.claims for f in found[1:])


def test_bibliography_entry_matches_the_text():
    found = audit.bibliography_findings()
    assert all(f.verdict in (CONSISTENT, CANNOT_CHECK) for f in found)


def test_audit_note_cites_table1(tmp_path):
    note = report.audit_note("Table I", tmp_path)
    assert "2507" in note and "1995" in note


def test_paper_claims():
    claims = report.paper_claims()
    assert [c.id for c in claims] == [audit.ACCURACY_99, audit.BEATS_OTHERS]
    assert claims[0].paper_number == pytest.approx(0.991) and claims[0].protocol_flaws
    assert claims[1].unavailable
