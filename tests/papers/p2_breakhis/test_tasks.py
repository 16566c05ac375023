"""P2's engine task: the head, the model, the curve summary, and one task through the engine on the phantom."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from mstl_lib import engine
from mstl_lib.context import start_run
from mstl_lib.nn.weights import WeightsInfo
from mstl_lib.papers.p2_breakhis import grids, report, tasks
from mstl_lib.papers.p2_breakhis.settings import CHAPTER

keras = pytest.importorskip("keras")

RANDOM = WeightsInfo(None, "random", "random initialisation", "random initialisation requested").to_dict()


def test_tasks_neither_seed_nor_look_data_or_weights_up():
    source = inspect.getsource(tasks)
    for forbidden in ("set_seed(", "seed_everything(", "data_dir", "locate_data_dir", "resolve_weights(",
                      "load_dataset("):
        assert forbidden not in source, forbidden


@pytest.mark.parametrize(("pooling", "expected"), [
    ("avg", 2048 * 1024 + 1024 + 1024 + 1),  # GAP -> Dense 1024 -> Dense 1
    ("flatten", 3 * 5 * 2048 * 1024 + 1024 + 1024 + 1),  # ResNet-50's 3 x 5 map at 96 x 144
])
def test_p2_head_parameter_count(pooling, expected):
    features = keras.Input((3, 5, 2048))
    head = keras.Model(features, tasks.p2_head(pooling)(features))
    assert head.count_params() == expected
    names = [layer.name for layer in head.layers]
    assert names[-3:] == ["head_dense", "head_dropout", "head_output"]
    assert head.get_layer("head_dropout").rate == pytest.approx(0.4)
    assert head.get_layer("head_output").activation.__name__ == "sigmoid"
    with pytest.raises(ValueError, match="pooling must be one of"):
        tasks.p2_head("max")


@pytest.mark.slow
@pytest.mark.parametrize("scaling", ["backbone", "unit"])
def test_build_p2_model(scaling):
    model, info = tasks.build_p2_model((96, 144), RANDOM, "avg", scaling)
    assert model.input_shape == (None, 96, 144, 3) and model.output_shape == (None, 1)
    assert info.used == "random"
    assert ("preprocessing" in [layer.name for layer in model.layers]) == (scaling == "backbone")
    assert model.get_layer("backbone").output.shape[1:3] == (3, 5)
    with pytest.raises(ValueError, match="scaling must be one of"):
        tasks.build_p2_model((96, 144), RANDOM, "avg", "raw")


def test_curve_summary():
    summary = tasks.curve_summary([0.5, 0.6, 0.9, 0.7])
    assert summary == {"final": 0.7, "mean_second_half": pytest.approx(0.8), "max": 0.9}
    assert np.isnan(tasks.curve_summary([])["final"])


def test_epoch_scores_write_part_curves_to_the_logs():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32"), np.array([1.0, 0.0])
    scorer = tasks.EpochScores({"test": (x, y), "valid": (x[:0], y[:0])}, "mse")
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[scorer]).history
    assert len(history["test_loss"]) == 2 and "valid_loss" not in history
    assert 0 <= history["test_accuracy"][0] <= 1


def test_image_array_reads_p2s_shape(phantom_breakhis):
    paths = tuple(str(p) for p in sorted(phantom_breakhis.rglob("*.png"))[:3])
    array = tasks.image_array(paths, (12, 18))
    assert array.shape == (3, 12, 18, 3) and array.dtype == np.float32 and not array.flags.writeable


@pytest.mark.slow
def test_one_arm_through_the_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    (tmp_path / "nothing").mkdir()
    run = start_run(CHAPTER, profile="smoke", data_dir=str(tmp_path / "nothing"), weights=None, seed=0)
    chosen = grids.sources(run)
    grid = next(g for name, g in grids.build(run, chosen=chosen).items() if name.endswith("-A-smoke"))
    store = engine.ResultsStore(tmp_path / "results")
    result = engine.run_grid(grid, store)
    assert result.summary()
    record = engine.load_records(store, grid)[0]
    assert record["status"] == "done", record.get("error")
    assert set(report.METRICS_READ) <= set(record["metrics"])
    assert record["metrics"]["share_test_seen"] == 1.0  # arm A: every test patient was trained on
    assert len(record["history"]["test_accuracy"]) == CHAPTER.settings("smoke")["epochs"]
    assert "BatchNorm" in record["extra"]["batchnorm"] or "no BatchNorm" in record["extra"]["batchnorm"]
