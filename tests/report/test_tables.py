"""Book tables: mean ± SD per configuration, and our numbers beside the paper's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mstl_lib.report import tables
from mstl_lib.report.tables import aggregate, beside_paper, mean_sd_column


@pytest.fixture
def records():
    """A records-like frame: two configurations x 3 folds, one failed task, attrs as records_frame sets."""
    frame = pd.DataFrame({
        "name": ["c0"] * 3 + ["c1"] * 4,
        "C": [0.1] * 3 + [1.0] * 4,
        "fold": [0, 1, 2, 0, 1, 2, 2],
        "status": ["done"] * 6 + ["failed"],
        "auc": [0.8, 0.9, 1.0, 0.6, 0.6, 0.9, np.nan],
        "accuracy": [0.5, 0.5, 0.5, 0.7, 0.8, 0.9, np.nan],
    })
    frame.attrs.update(config_columns=["name", "C"], metric_columns=["auc", "accuracy"])
    return frame


def test_aggregate_mean_sample_sd_and_count(records):
    table = aggregate(records)
    assert list(table.columns) == ["name", "C", "n", "auc_mean", "auc_sd", "accuracy_mean", "accuracy_sd"]
    assert table["name"].tolist() == ["c0", "c1"]  # order of first appearance
    assert table["n"].tolist() == [3, 3]  # the failed row is left out
    np.testing.assert_allclose(table["auc_mean"], [0.9, 0.7])
    np.testing.assert_allclose(table["auc_sd"], [0.1, math.sqrt(0.03)])  # ddof=1
    np.testing.assert_allclose(table["accuracy_sd"], [0.0, 0.1], atol=1e-12)


def test_aggregate_by_and_metrics_arguments(records):
    overall = aggregate(records, by=[], metrics=["auc"])
    assert list(overall.columns) == ["n", "auc_mean", "auc_sd"]
    assert overall.loc[0, "n"] == 6 and overall.loc[0, "auc_mean"] == pytest.approx(0.8)
    # a config field named "n" keeps its name; the count becomes n_tasks
    renamed = aggregate(records.rename(columns={"C": "n"}), by=["n"], metrics=["auc"])
    assert list(renamed.columns[:2]) == ["n", "n_tasks"] and renamed["n_tasks"].tolist() == [3, 3]
    without_attrs = pd.DataFrame(records.to_dict("list"))
    with pytest.raises(ValueError, match="no metric columns"):
        aggregate(without_attrs, by=["name"])


def test_aggregate_without_status_column_keeps_every_row(records):
    done = records[records["status"] == "done"].drop(columns="status")
    done.attrs.update(records.attrs)
    pd.testing.assert_frame_equal(aggregate(done), aggregate(records))


def test_mean_sd_column_formats_each_row():
    table = pd.DataFrame({"auc_mean": [0.91234, 0.5], "auc_sd": [0.01349, float("nan")]}, index=[3, 7])
    column = mean_sd_column(table, "auc")
    assert column.tolist() == ["0.912 ± 0.013", "0.500"]
    assert column.name == "auc" and column.index.tolist() == [3, 7]
    assert mean_sd_column(table, "auc", digits=1).tolist() == ["0.9 ± 0.0", "0.5"]


def test_beside_paper_joins_and_subtracts():
    paper = pd.DataFrame({"cnn": ["A", "B"], "auc": [0.9, 0.8]})
    ours = pd.DataFrame({"cnn": ["B", "C"], "auc": [0.85, 0.7]})
    table = beside_paper(ours, paper, on=["cnn"], metrics=["auc"])
    assert list(table.columns) == ["cnn", "auc_ours", "auc_paper", "auc_diff"]
    rows = table.set_index("cnn")
    assert set(rows.index) == {"A", "B", "C"}  # outer join
    assert rows.loc["B", "auc_diff"] == pytest.approx(0.05)
    assert np.isnan(rows.loc["A", "auc_diff"]) and np.isnan(rows.loc["C", "auc_diff"])
    with pytest.raises(KeyError, match="ours table lacks columns"):
        beside_paper(ours.drop(columns="auc"), paper, on=["cnn"], metrics=["auc"])


def _predictions(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 2 * n)
    score = 1 / (1 + np.exp(-(2 * (2 * y - 1) + rng.normal(size=2 * n))))
    return pd.DataFrame({"arm": ["a"] * n + ["b"] * n, "path": [f"{i}.png" for i in range(2 * n)], "y_true": y,
                         "y_score": score})


def test_pooled_ci_per_group_brackets_each_estimate():
    ci = tables.pooled_ci(_predictions(), ["arm"], n_boot=200)
    assert list(ci["arm"]) == ["a", "b"] and (ci["n_images"] == 60).all()
    for name in tables.CI_METRICS:
        assert (ci[f"{name}_low"] <= ci[name]).all() and (ci[name] <= ci[f"{name}_high"]).all()
    assert (ci["auc_low"] > 0.5).all()
    assert tables.pooled_ci(_predictions().iloc[0:0], ["arm"]).empty


def test_ci_strings_format_and_scale():
    ci = pd.DataFrame({"accuracy": [0.7123], "accuracy_low": [0.6], "accuracy_high": [0.8]})
    strings = tables.ci_strings(ci, metrics=["accuracy"], scale={"accuracy": 100})
    assert strings["accuracy_95ci"].iloc[0] == "71.2 [60.0, 80.0]"
    assert tables.ci_strings(ci, metrics=["accuracy"])["accuracy_95ci"].iloc[0] == "0.712 [0.600, 0.800]"
