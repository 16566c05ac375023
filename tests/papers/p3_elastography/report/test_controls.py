"""P3's report, ``controls``: Controls: the oracle and negative controls, masking, DDTI, the leak probe and their figures."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.papers.p3_elastography import report

from p3_report_helpers import controls_records


def test_negative_control_sentence_says_whether_its_ci_includes_chance():
    assert "includes 0.5, as it must" in report.negative_control_sentence(controls_records(0.4, 0.6))
    assert "excludes 0.5" in report.negative_control_sentence(controls_records(0.55, 0.7))
    assert "did not run" in report.negative_control_sentence(pd.DataFrame())


@pytest.mark.parametrize(("low", "high", "side"), [(0.27, 0.46, "below"), (0.55, 0.7, "above"), (0.4, 0.6, None)])
def test_negative_control_sentence_names_other_models_off_chance(low, high, side):
    others = pd.DataFrame([{"input": "SE", "separation": 0.0, "model": "ResNet18", "auc": (low + high) / 2,
                            "auc_low": low, "auc_high": high},
                           {"input": "SE", "separation": 0.0, "model": "AlexNet", "auc": 0.5, "auc_low": 0.4,
                            "auc_high": 0.6},
                           {"input": "SE", "separation": 1.0, "model": "ResNet18", "auc": 0.8, "auc_low": 0.7,
                            "auc_high": 0.9}])
    text = report.negative_control_sentence(pd.concat([controls_records(0.4, 0.6), others], ignore_index=True))
    if side is None:
        assert "other models" not in text
    else:
        assert f"Of the 2 other models on this control, ResNet18 " in text and f"lies {side} chance" in text
        assert "AlexNet" not in text and ("leak" in text)


def test_leak_probe_sentence_quotes_the_chapter_and_names_the_leaky_settings():
    probe = pd.DataFrame({"generator": ["strain-2 (chapter)", "strain-1 (old)", "other"], "n_images": 10,
                          "n_patients": 8, "auc [95% CI]": ["0.52 [0.45, 0.60]", "0.77 [0.73, 0.81]", "0.5 [0.4, 0.6]"],
                          "includes_chance": [True, False, True]})
    text = report.leak_probe_sentence(probe)
    assert "AUC 0.52 [0.45, 0.60]; its 95 % CI includes 0.5" in text
    assert "strain-1 (old) 0.77" in text and "other" not in text
    assert "still carry" in report.leak_probe_sentence(probe.assign(includes_chance=False))
    assert "did not run" in report.leak_probe_sentence(pd.DataFrame())


def test_masking_sentence_compares_the_two_arms():
    table = pd.DataFrame({"masked": [False, True], "model": "ensemble", "auc": [0.8, 0.6],
                          "auc_low": [0.75, 0.55], "auc_high": [0.85, 0.65]})
    text = report.masking_sentence(table)
    assert "0.800 [0.750, 0.850] unmasked" in text and "lean on the annotations" in text
    assert "overlap, so" in report.masking_sentence(table.assign(auc_low=[0.5, 0.5], auc_high=[0.9, 0.9]))
    assert "did not both run" in report.masking_sentence(table.iloc[:1])
    assert "did not run" in report.masking_sentence(pd.DataFrame())
