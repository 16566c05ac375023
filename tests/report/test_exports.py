"""Numbers out: the CSV beside each table, with formatted cells turned back into numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mstl_lib.report import exports


def test_formatted_columns_become_numeric_columns():
    shown = pd.DataFrame({
        "backbone": ["ResNet50", "VGG16"],
        "n": [5, 4],
        "AUC": ["0.912 ± 0.021", "n/a"],
        "accuracy (95 % CI)": ["0.71 [0.65, 0.77]", "−0.02 [−0.10, 0.05]"],
        "sensitivity": ["93.1 %", "80 %"],
        "note": ["ok", "0.5 ± x"],
        "direction": ["", None],
    })
    table = exports.numeric_table(shown)
    assert list(table.columns) == ["backbone", "n", "AUC", "AUC sd", "accuracy (95 % CI)",
                                   "accuracy (95 % CI) ci low", "accuracy (95 % CI) ci high", "sensitivity", "note",
                                   "direction"]
    assert table.loc[0, ["AUC", "AUC sd"]].tolist() == [0.912, 0.021] and math.isnan(table.loc[1, "AUC"])
    assert table.loc[1, ["accuracy (95 % CI)", "accuracy (95 % CI) ci low", "accuracy (95 % CI) ci high"]].tolist() \
        == [-0.02, -0.10, 0.05]
    assert table["sensitivity"].tolist() == [93.1, 80.0] and table["n"].tolist() == [5, 4]
    assert table["note"].tolist() == ["ok", "0.5 ± x"]  # text that is not one format stays text
    assert table["direction"].iloc[0] == "" and "direction sd" not in table  # an empty column is not read as numbers


def test_an_index_and_levelled_columns_become_plain_columns():
    shown = pd.DataFrame([["0.8 ± 0.1", "0.7 ± 0.2"]], index=pd.Index(["BUSI"], name="dataset"),
                         columns=pd.MultiIndex.from_tuples([("ours", "AUC"), ("paper", "AUC")]))
    table = exports.numeric_table(shown)
    assert list(table.columns) == ["dataset", "ours / AUC", "ours / AUC sd", "paper / AUC", "paper / AUC sd"]
    assert table.loc[0, "dataset"] == "BUSI"


def test_each_table_is_written_once_with_a_link_the_page_can_follow(tmp_path, monkeypatch):
    folder = tmp_path / "tables" / "03_multistage"
    monkeypatch.setenv(exports.TABLES_ENV, str(folder))
    written = exports.table_exports()
    assert written is exports.table_exports()  # one per kernel and folder
    first = written.export(pd.DataFrame({"AUC": ["0.5 ± 0.1"]}))
    second = written.export(pd.DataFrame({"x": [1]}), name="scorecard")
    assert first.startswith("{download}`") and "<tables/03_multistage/table-01.csv>" in first
    assert "<tables/03_multistage/scorecard.csv>" in second
    assert pd.read_csv(folder / "table-01.csv").to_dict("list") == {"AUC": [0.5], "AUC sd": [0.1]}
    assert sorted(p.name for p in folder.iterdir()) == ["scorecard.csv", "table-01.csv"]  # no partial file left


def test_without_the_runner_tables_show_as_usual(monkeypatch):
    monkeypatch.delenv(exports.TABLES_ENV, raising=False)
    assert exports.table_exports() is None
    assert exports.install_table_downloads() is False
    assert exports.download(pd.DataFrame({"x": [1]}), "scorecard").data == ""


@pytest.mark.parametrize("value", ["0.5 ± 0.1", "0.5 [0.4, 0.6]", "50 %", "1e-3"])
def test_a_single_formatted_cell_is_read_back_exactly(value):
    assert not exports.numeric_table(pd.DataFrame({"v": [value]})).isna().any().any()
