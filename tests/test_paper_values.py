"""The papers' stored tables load, name their source and have the expected shape."""

from __future__ import annotations

import pytest

from mstl_lib import paper_values

SHAPES = {"p1_table1": (18, 11), "p1_mt_small": (1, 9), "p1_factors": (6, 4), "p1_significance": (1, 2)}


@pytest.mark.parametrize(("name", "shape"), SHAPES.items())
def test_table_loads_with_source(name, shape):
    table = paper_values.load(name)
    assert table.shape == shape
    assert "Ayana" in table.attrs["source"]
    assert not table.isna().any().any()


def test_p1_table1_grid_is_complete():
    table = paper_values.load("p1_table1")
    assert set(table["tl"]) == {"CTL", "MSTL"}
    assert table.groupby(["tl", "cnn"]).size().eq(3).all()
    assert set(table["optimizer"]) == {"sgd", "adam", "adagrad"}
    assert table[["auc", "f1", "specificity", "sensitivity"]].le(1).all().all()


def test_p1_table1_best_row():
    table = paper_values.load("p1_table1")
    best = table.loc[table["accuracy"].idxmax()]
    assert (best["tl"], best["cnn"], best["optimizer"], best["accuracy"]) == ("MSTL", "ResNet50", "adagrad", 99.0)


def test_unknown_table_names_the_available_ones():
    with pytest.raises(FileNotFoundError, match="p1_table1"):
        paper_values.load("no_such_table")


P2_SHAPES = {"p2_table1": (3, 6), "p2_comparison": (11, 5), "p2_statements": (25, 5)}


@pytest.mark.parametrize(("name", "shape"), P2_SHAPES.items())
def test_p2_tables_load_with_source(name, shape):
    table = paper_values.load(name)
    assert table.shape == shape
    assert "Abu Al-Haija" in table.attrs["source"]
    assert not table.drop(columns=[c for c in ("text",) if c in table.columns]).isna().any().any()


def test_p2_accuracy_statements_as_printed():
    stated = paper_values.load("p2_statements")
    accuracies = stated.loc[stated["quantity"] == "test_accuracy", "value"].tolist()
    assert accuracies == [99, 99, 99.1, 99.10]
    assert paper_values.load("p2_comparison")["accuracy_pct"].iloc[-1] == 99.10
