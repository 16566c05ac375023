"""What several of P2's report tests build: release_long."""

from __future__ import annotations

import pandas as pd

from mstl_lib.papers.p2_breakhis import protocol


def release_long(benign_40x: int = 625) -> pd.DataFrame:
    """A release whose per-class, per-magnification totals are BreakHis's (one folder per class)."""
    counts = pd.DataFrame([
        ("adenosis", "benign", "SOB_B_A_14-1", benign_40x, 644, 623, 588),
        ("ductal_carcinoma", "malignant", "SOB_M_DC_14-2", 1370, 1437, 1390, 1232),
    ], columns=["subtype", "class", "folder", "40X", "100X", "200X", "400X"])
    return protocol.counts_long(counts)
