"""P4's report, ``verdicts``: When a difference follows from the folds: paired and Welch t intervals, said in words."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.papers.p4_finetuning import report


@pytest.mark.parametrize(("values", "status"), [
    ([], "no data"), ([0.1], "one fold"), ([0.10, 0.11, 0.09, 0.10], "follows"),
    ([0.1, -0.1, 0.05], "within noise"), ([0.2, 0.2], "follows"), ([0.0, 0.0], "within noise"),
    ([0.1, np.nan], "one fold"),
])
def test_verdict(values, status):
    mean, found = report.verdict(values)
    assert found == status
    if values and status != "no data":
        assert mean == pytest.approx(np.nanmean(values))
