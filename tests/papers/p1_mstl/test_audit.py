"""P1's audit on its own tables: what it must find, and what it must not blame."""

from __future__ import annotations

import pytest

from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT
from mstl_lib.papers.p1_mstl import audit, report


def _at(findings, location, check):
    hits = [f for f in findings if f.location == location and f.check.startswith(check)]
    assert len(hits) == 1, (location, check, hits)
    return hits[0]


def test_counts_and_fold_sizes():
    counts = audit.counts()
    assert counts[("Mendeley used", "total")] == 200 and audit.fold_test_size(200) == 40
    assert audit.printed("p1_factors").loc[3, "accuracy"] == "98"  # the decimals as printed


def test_table1_findings():
    found = audit.table1_findings()
    best = "Table 1, MSTL ResNet50 adagrad"
    # 99 ± 0.612 is attainable with 5 folds of 40, as a standard error
    attainable = _at(found, best, "attainable")
    assert attainable.verdict == CONSISTENT and "SE (n-1)" in attainable.detail
    assert audit.BEST_ACCURACY in attainable.claims
    assert _at(found, best, "accuracy vs").verdict == CONSISTENT
    # 96.49 cannot be a mean of five k/40
    assert _at(found, "Table 1, CTL InceptionV3 adagrad", "attainable").verdict == INCONSISTENT
    # the per-CNN average 89 is 89.83 truncated
    average = _at(found, "Table 1, CTL ResNet50 Avg. Test Acc.", "rounding")
    assert average.verdict == INCONSISTENT and "truncated" in average.detail
    assert _at(found, "Table 1, CTL InceptionV3 adam", "F1").verdict == INCONSISTENT


def test_factor_and_mt_small_findings():
    factors = audit.factor_findings()
    assert len(factors) == 6 and all(f.verdict == CONSISTENT for f in factors)
    assert "SD (n)" in _at(factors, "Section 3.3 (Fig. 5), optimizer adagrad", "mean").detail
    mt = audit.mt_small_findings()
    assert _at(mt, "Section 3.5, MT-Small ResNet50 Adagrad", "accuracy vs").verdict == INCONSISTENT


def test_count_findings(tmp_path):
    found = audit.count_findings(tmp_path)  # an empty data folder: our counts cannot be checked
    assert _at(found, "Section 2.2, cell-patch split", "split").verdict == INCONSISTENT
    assert _at(found, "Section 2.2, cell frames", "per-line").verdict == CONSISTENT
    assert _at(found, "Mendeley release, total", "dataset count").verdict == CANNOT_CHECK


def test_p_value_is_the_paired_t_test():
    (finding,) = audit.p_value_findings()
    assert finding.verdict == CONSISTENT and "paired" in finding.detail
    assert finding.claims == (audit.MSTL_SIGNIFICANT,)


def test_bibliography_and_all_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_PAPERS_DIR", str(tmp_path))
    (missing,) = audit.bibliography_findings()
    assert missing.verdict == CANNOT_CHECK
    monkeypatch.delenv("MSTL_PAPERS_DIR")
    everything = audit.findings(tmp_path)
    assert {f.check for f in everything} >= {"p-value recomputed", "rounding", "accuracy vs sensitivity, specificity"}


@pytest.mark.parametrize(("where", "expected"), [("Table 1", "do not add up"), ("p = 0.01191", "no inconsistency")])
def test_audit_note_cites_the_table(where, expected):
    assert expected in report.audit_note(where)
