"""P4's audit on its own tables: what it must find, and what it must not blame."""

from __future__ import annotations

import numpy as np

from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT
from mstl_lib.papers.p4_finetuning import audit, report


def _at(findings, location, check):
    hits = [f for f in findings if f.location == location and f.check.startswith(check)]
    assert len(hits) == 1, (location, check, hits)
    return hits[0]


def test_class_counts_and_fold_options():
    assert audit.class_counts()["BUSI"] == (437, 210)
    options = audit.fold_size_options(49, 399)
    assert [90, 90, 90, 89, 89] in [sorted(o, reverse=True) for o in options]
    assert all(sum(o) == 448 for o in options)


def test_table1_findings(tmp_path):
    found = audit.table1_findings(tmp_path)  # no data here: every count is a sum check or cannot-check
    assert _at(found, "Table 1, BUSI", "classes").verdict == CONSISTENT
    assert _at(found, "Table 1, BUSI, total", "dataset count").verdict == CANNOT_CHECK
    assert _at(found, "Table 1, Salivary glands, total", "dataset count").detail.startswith("no loader")


def test_table2_rounding():
    found = audit.table2_findings()
    bad = [f for f in found if f.verdict != CONSISTENT]
    assert [f.location for f in bad] == ["Table 2, VGG19 85 %"]


def test_table3_and_text_findings():
    found = audit.table3_findings()
    assert _at(found, "Section 3 and Table 3, best strategy", "stated").verdict == CONSISTENT
    assert _at(found, "Table 3, FT-SVM vs FT", "stated").verdict == CONSISTENT
    text = audit.text_findings()
    assert _at(text, "Section 3, BUSI ResNet50 sensitivity increase", "rounding").verdict == INCONSISTENT
    salivary = _at(text, "Section 3, Salivary glands InceptionV3 sensitivity increase", "rounding")
    assert "as a fraction" in salivary.detail
    assert _at(text, "Abstract, SVM improves overall performance by 6 %", "recomputed").verdict == CANNOT_CHECK
    assert audit.audit_text_value("DDTI", "ResNet50") == "3"


def test_table4_findings():
    found = audit.table4_findings()
    floor = _at(found, "Table 4, DDTI VGG16 FT", "accuracy vs")
    assert floor.verdict == INCONSISTENT and "399/448" in floor.detail
    assert _at(found, "Table 4, Salivary glands VGG16 FT-SVM", "accuracy vs").verdict == CONSISTENT
    truncated = [f for f in found if f.location == "Table 4, BUSI VGG19 FT" and "42, 42" in f.check]
    assert truncated and "truncated" in truncated[0].detail


def test_findings_headlines_and_notes(tmp_path):
    assert len(audit.findings(tmp_path)) > 100
    assert audit.svm_auc_at("BUSI", "ResNet50") == 0.98 and np.isnan(audit.svm_auc_at("Salivary glands", "VGG16", 85))
    assert audit.headline_id("Salivary glands", "ResNet50") == "auc-salivary-glands-resnet50"
    assert "do not add up" in report.audit_note("Table 4")
    assert "no inconsistency" in report.audit_note("Table 3")
    assert {c.id for c in report.paper_claims()} >= {audit.BEST_15, audit.SVM_BEATS_MLP, audit.SVM_GAIN}


def test_claims_from_records(phantom_dir, isolated_dirs, monkeypatch):
    """Claims read the chapter's records: the deciding quantities are the paired differences of the records."""
    import pandas as pd
    import pytest

    from mstl_lib.report import scorecard as sc

    rng = np.random.default_rng(0)
    rows = [{"dataset": d, "protocol": "none", "status": "done", "backbone": b, "trainable_pct": p, "fold": f,
             "ft_auc": 0.6 + 0.01 * f, "svm_auc": 0.7 + (0.1 if p == 15 else 0) + 0.02 * f,
             "ft_accuracy": 0.7, "svm_accuracy": 0.75 + 0.01 * f, "ft_degenerate": 0, "svm_degenerate": 0}
            for d in ("busi", "ddti") for b in audit.TWO_BEST for p in (0, 15) for f in range(3)]
    n = 40
    predictions = pd.DataFrame({"dataset": "busi", "protocol": "none", "backbone": "ResNet50", "trainable_pct": 15,
                                "y_true": np.tile([0, 1], n // 2), "svm_score": rng.random(n),
                                "path": [f"x{i}.png" for i in range(n)]})
    fake = report.Results(pd.DataFrame(rows), [{"weights_used": "random (requested)"}], predictions)
    from mstl_lib.papers.p4_finetuning.report import scorecard_claims  # noqa: PLC0415 - where claims reads back

    monkeypatch.setattr(scorecard_claims, "collect", lambda store, grids: fake)
    claims = {c.id: c for c in report.claims(profile="smoke", data_dir=str(phantom_dir), weights=None,
                                             store=isolated_dirs)}
    frame = pd.DataFrame(rows)
    assert claims[audit.SVM_BEATS_MLP].ours == pytest.approx((frame["svm_auc"] - frame["ft_auc"]).mean())
    assert claims[audit.BEST_15].ours == pytest.approx(0.1) and "0 %" in claims[audit.BEST_15].note
    gain = frame[frame["trainable_pct"] == 15]
    assert claims[audit.SVM_GAIN].ours == pytest.approx(100 * (gain["svm_accuracy"] - gain["ft_accuracy"]).mean())
    headline = claims[audit.headline_id("BUSI", "ResNet50")]
    assert headline.ci is not None and headline.ci[0] <= headline.ours <= headline.ci[1]
    assert claims[audit.headline_id("Salivary glands", "ResNet50")].unavailable
    assert claims[audit.TWO_BEST_MODELS].ours is None and "nothing to rank" in claims[audit.TWO_BEST_MODELS].note
    assert all(sc.verdict(c).verdict == sc.CANNOT_CHECK for c in claims.values())  # random weights, phantoms
