"""P4's report, ``data_counts``: Data: P4's Table 1 beside the loaders' counts, and the TIRADS labels of DDTI."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.data.sources import REAL, DataSource
from mstl_lib.papers.p4_finetuning import report


def _tirads(counts):
    labels = ["benign", "benign", "malignant", "malignant", "malignant", "malignant"]
    return pd.DataFrame({"images": counts, "cases": counts, "label": labels}, index=list(report.TIRADS_ORDER))


def test_table1_counts_beside_p4():
    tables = {"busi": pd.DataFrame({"target": [0] * 3 + [1] * 1, "data_kind": "real"}),
              "ddti": pd.DataFrame({"target": [0] * 1 + [1] * 3, "data_kind": "phantom"})}
    t1 = report.table1(tables)
    assert list(t1.index) == ["BUSI", "DDTI"]
    assert t1.loc["BUSI", ["ours_benign", "ours_malignant", "ours_total"]].tolist() == [3, 1, 4]
    assert t1.loc["DDTI", "data"] == "phantom" and t1.loc["DDTI", "ours_malignant_share"] == 0.75
    assert t1.loc["DDTI", ["paper_benign", "paper_malignant"]].tolist() == [49, 399]
    assert t1.loc["BUSI", "paper_malignant_share"] == pytest.approx(210 / 647, abs=1e-3)


def test_tirads_table_of_ddti_only(phantom_dir):
    ddti = DataSource("ddti", "train", REAL, str(phantom_dir / "ddti"))
    tirads = report.tirads_table(ddti)
    scored = [t for t in tirads.index if t != "none"]
    assert scored == [t for t in report.TIRADS_ORDER if t in scored]  # TIRADS order
    assert set(tirads.loc[[t for t in scored if t in ("2", "3")], "label"]) <= {"benign"}
    assert report.tirads_table(ddti.to_dict()).equals(tirads)
    assert report.tirads_table(DataSource("busi", "train", REAL, str(phantom_dir / "busi"))) is None
    assert report.tirads_table(None) is None


def test_ddti_note_says_whether_a_threshold_reproduces_p4():
    assert "reproduces P4's counts exactly" in report.ddti_note(_tirads([20, 29, 100, 100, 100, 99]))
    text = report.ddti_note(_tirads([67, 35, 117, 92, 93, 66]))
    assert "No TIRADS threshold" in text and "67 / 403" in text and "TIRADS 2 alone has 67" in text
    assert "P4's is the more skewed" in text  # 89 % vs 78 % malignant
    assert "at least as skewed" in report.ddti_note(_tirads([1, 1, 100, 100, 100, 99]))
    assert "not used" in report.ddti_note(None)
