"""P3's report, ``closing``: The closing note of the chapter."""

from __future__ import annotations

import pandas as pd

from mstl_lib.papers.p3_elastography import report

from p3_report_helpers import controls_records


def test_closing_note_quotes_the_controls_and_ddti():
    controls = pd.concat([controls_records(0.4, 0.6), controls_records(0.8, 0.95, 1.0)], ignore_index=True)
    ddti = pd.DataFrame([{"model": "ensemble", "n_patients": 12, "vote_accuracy": 0.7, "vote_accuracy_low": 0.5,
                          "vote_accuracy_high": 0.9, "recognition_rate": 0.65, "recognition_rate_low": 0.5,
                          "recognition_rate_high": 0.8}])
    records = pd.DataFrame({"status": ["done"], "AlexNet_image_degenerate": [1.0], "ensemble_image_degenerate": [0.0]})
    note = report.closing_note(controls, ddti, "cpu", 600.0, records)
    assert "0.875 [0.800, 0.950]" in note and "12 cases" in note and "600 s" in note and "`cpu`" in note
    assert "AlexNet 1 of 1" in note
