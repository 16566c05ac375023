"""P2's report, ``sample``: The real sample: why it cannot be split by patient."""

from __future__ import annotations

from mstl_lib.papers.p2_breakhis import report


def test_sample_split_and_refusal(fixture_rows):
    split = report.sample_split(fixture_rows)
    assert set(split.loc[split["magnification"] == 40, "side"]) == {"test"}
    assert set(split.loc[split["magnification"] != 40, "side"]) == {"train"}
    assert "TooSmallTrainingSet" in report.sample_refusal(fixture_rows)
    assert "No BreakHis images" in report.sample_refusal(None)
