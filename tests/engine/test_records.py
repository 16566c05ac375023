"""Reading records back: records, failures, predictions and history frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from engine_tasks import demo_grid

from mstl_lib.engine import (
    Grid,
    history_frame,
    predictions_frame,
    records_frame,
    run_grid,
)
from mstl_lib.report.tables import aggregate


def test_frames_read_back_the_run(tmp_path):
    grid = demo_grid(n_configs=2)
    run = run_grid(grid, store=tmp_path, progress=False)
    frame = records_frame(tmp_path, grid)
    pd.testing.assert_frame_equal(frame, run.records)
    assert frame["index"].tolist() == list(range(6))  # grid order
    assert frame.attrs["config_columns"] == ["name", "C"]
    assert frame.attrs["metric_columns"] == ["auc", "accuracy"]
    assert frame[["auc", "accuracy"]].apply(lambda c: c.between(0, 1)).all().all()
    # the attrs drive aggregate's defaults (tested on hand-made frames in tests/report/test_tables.py)
    assert list(aggregate(frame).columns[:3]) == ["name", "C", "n"]

    predictions = predictions_frame(tmp_path, grid)
    assert {"key", "fold", "name", "C", "row", "y_true", "y_score"} <= set(predictions.columns)
    assert len(predictions) == 2 * 120  # every sample once per configuration
    for _, part in predictions.groupby("name"):
        assert sorted(part["row"]) == list(range(120))
    assert predictions["y_score"].between(0, 1).all() and set(predictions["y_true"]) == {0, 1}

    history = history_frame(tmp_path, grid)
    assert list(history.columns[-3:]) == ["epoch", "metric", "value"] and len(history) == 6 * 3
    assert sorted(set(history["epoch"])) == [1, 2, 3]  # numbered from 1
    c0 = history[(history["name"] == "c0") & (history["fold"] == 0)].sort_values("epoch")
    np.testing.assert_allclose(c0["value"], [1.0 / (e + 1 + 0.01) for e in range(3)])  # ridge_task's losses
    assert records_frame(tmp_path, "demo").shape == frame.shape  # by experiment name


def test_config_fields_are_flattened_and_clashes_prefixed(tmp_path):
    grid = Grid("clash", [{"mode": "ok", "status": "x", "opt": {"lr": 0.1}}, {"mode": "raise"}], 2,
                "engine_tasks:faulty_task")
    frame = run_grid(grid, store=tmp_path, progress=False).records
    assert {"config.status", "opt.lr", "mode", "score"} <= set(frame.columns)
    assert frame["status"].tolist() == ["done", "done", "failed", "failed"]
    assert frame["config.status"].tolist()[:2] == ["x", "x"] and frame["opt.lr"].tolist()[:2] == [0.1, 0.1]
    assert frame["score"].tolist()[:2] == [1.0, 2.0] and frame["score"].iloc[2:].isna().all()


def test_gather_stacks_every_grids_frames_with_its_labels(tmp_path):
    from mstl_lib.engine import gather

    grids = {"a": demo_grid(name="a", n_configs=1), "b": demo_grid(name="b", n_configs=2), "c": demo_grid(name="c")}
    for grid in (grids["a"], grids["b"]):  # grid c never ran
        run_grid(grid, store=tmp_path, progress=False)
    found = gather(tmp_path, grids, lambda grid: {"grid_name": grid.name}, frames=("records", "history", "failures"))
    assert set(found) == {"records", "history", "failures", "raw"}
    assert found["records"]["grid_name"].tolist() == ["a"] * 3 + ["b"] * 6
    assert [r["experiment"] for r in found["raw"]] == found["records"]["experiment"].tolist()
    assert set(found["history"]["grid_name"]) == {"a", "b"} and found["failures"].empty


def test_collect_reads_a_chapter_back_once_and_parts_select_by_label(tmp_path):
    from mstl_lib.engine import ChapterResults, collect

    grids = {"a": demo_grid(name="a", n_configs=1), "b": demo_grid(name="b", n_configs=2)}
    for grid in grids.values():
        run_grid(grid, store=tmp_path, progress=False)
    results = collect(tmp_path, grids, lambda grid: {"grid_name": grid.name}, frames=("records", "history"))
    assert isinstance(results, ChapterResults) and len(results.raw) == len(results.records) == 9
    assert results.part("records", grid_name="b")["grid_name"].tolist() == ["b"] * 6
    assert set(results.part("history", grid_name="a")["grid_name"]) == {"a"}
    assert results.predictions.empty and results.part("predictions", grid_name="a").empty  # not gathered
    assert results.weights == []  # the demo task records no networks
