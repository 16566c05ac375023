"""P4's engine task: the model it builds, phase 1 (cached = naive), and one task through the engine."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from mstl_lib import engine
from mstl_lib.nn.weights import WeightsInfo
from mstl_lib.papers.p4_finetuning import grids, protocol, report, tasks

keras = pytest.importorskip("keras")


def test_tasks_neither_seed_nor_look_data_or_weights_up():
    source = inspect.getsource(tasks)
    for forbidden in ("set_seed(", "seed_everything(", "data_dir", "locate_data_dir", "resolve_weights(",
                      "load_dataset(", "svm_phase", "require_real_weights"):
        assert forbidden not in source, forbidden


def test_epoch_timer_records_one_time_per_epoch():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = tasks.epoch_timer()
    model.fit(np.zeros((4, 3)), np.zeros(4), epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 3 and all(s >= 0 for s in timer.seconds)


@pytest.mark.parametrize("pct", [0, 15, 100])
def test_build_p4_model_freezes_table2_prefix(pct):
    info = WeightsInfo(None, "random", "random initialisation", "random initialisation requested")
    model, n_frozen, used = tasks.build_p4_model("ResNet50", 32, pct, info.to_dict())
    layers = model.get_layer("backbone").layers
    assert n_frozen == protocol.frozen_layers("ResNet50", pct)
    assert not any(layer.trainable for layer in layers[:n_frozen])
    assert all(layer.trainable for layer in layers[n_frozen:])
    assert used == info  # the resolved weights are used as they are
    assert model.get_layer("head_dense").units == 512 and model.output_shape == (None, 2)




def _phase1(n_frozen: int, cache: bool, chain_classifier):
    from mstl_lib.nn import classifier

    images = np.random.default_rng(1).random((16, 16, 16, 3)).astype("float32")
    labels = np.arange(16) % 2
    model = chain_classifier()
    classifier.freeze_first(model.get_layer("backbone"), n_frozen)
    parts = {"fit": np.arange(0, 12), "val": np.arange(12, 16), "test": np.arange(12, 16)}
    out = tasks.train_phase1(model, n_frozen, images, labels, parts, epochs=3, batch_size=4,
                             learning_rate=1e-3, seed=7, cache=cache)
    return out, parts


@pytest.mark.parametrize("n_frozen", [2, 5])
def test_cached_training_follows_the_naive_trajectory(n_frozen, chain_classifier):
    naive, parts = _phase1(n_frozen, False, chain_classifier)
    cached, _ = _phase1(n_frozen, True, chain_classifier)
    assert cached["cached"] and not naive["cached"]
    assert cached["cache_bytes"] > 0 and cached["boundary"] and naive["cache_bytes"] == 0
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(cached["history"][key], naive["history"][key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cached["predict"](parts["test"]), naive["predict"](parts["test"]),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cached["features"](parts["test"]), naive["features"](parts["test"]),
                               rtol=1e-4, atol=1e-5)


def test_resnet_cached_training_follows_the_naive_trajectory():
    """At 15 % the boundary crosses a residual block (two tensors): the cache must still be exact."""
    from mstl_lib.seeding import seed_everything

    images = np.random.default_rng(2).random((16, 32, 32, 3)).astype("float32")
    labels = np.arange(16) % 2
    parts = {"fit": np.arange(0, 12), "val": np.arange(12, 16), "test": np.arange(12, 16)}
    outs = []
    for cache in (False, True):
        seed_everything(0)
        model, n_frozen, _ = tasks.build_p4_model("ResNet50", 32, 15, None)
        outs.append(tasks.train_phase1(model, n_frozen, images, labels, parts, epochs=2, batch_size=4,
                                       learning_rate=1e-3, seed=7, cache=cache))
    naive, cached = outs
    assert len(cached["boundary"]) == 2
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(cached["history"][key], naive["history"][key], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(cached["predict"](parts["test"]), naive["predict"](parts["test"]),
                               rtol=1e-3, atol=1e-4)


def test_phase1_outputs(chain_classifier):
    out, parts = _phase1(0, True, chain_classifier)  # nothing frozen: nothing to cache
    assert not out["cached"] and len(out["epoch_seconds"]) == 3 and len(out["history"]["loss"]) == 3
    scores = out["predict"](parts["test"])
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    assert out["features"](parts["fit"]).shape == (12, 8)


@pytest.fixture
def one_task(smoke_run):
    """The 15 % ResNet50 task of fold 0 on phantom BUSI, run through the engine."""
    grid = grids.build(smoke_run)["p4-busi-none-smoke"]
    store = engine.ResultsStore()
    result = engine.run_grid(grid, store, select={"trainable_pct": 15, "fold": 0}, progress=False)
    return grid, store, result


def test_one_task_through_the_engine(one_task):
    grid, store, result = one_task
    assert result.ok and result.n_run == 1
    record = engine.load_records(store, grid)[0]
    assert record["status"] == "done" and record["code_version"] == tasks.RECIPE_VERSION
    assert set(record["metrics"]) == set(report.METRICS_READ)  # exactly what the report reads
    values = record["metrics"]
    for phase in protocol.PHASES:
        assert all(0 <= values[f"{phase}_{m}"] <= 1 for m in (*protocol.PHASE_METRICS, "balanced_accuracy",
                                                              "degenerate", "score_min", "score_max"))
        assert values[f"{phase}_pred_benign"] + values[f"{phase}_pred_malignant"] == record["extra"]["n_test"]
    assert record["metrics"]["svm_c"] in protocol.SVM_C_GRID
    assert record["weights_used"] == "random initialisation (random initialisation requested)"
    extra = record["extra"]
    assert extra["n_frozen"] == 149 and extra["n_layers"] == 175 and extra["cached"]
    assert extra["operating_point"].startswith(("operating point set on", "operating point kept"))  # smoke, as cpu
    assert 0 <= values["ft_pred_malignant_own_threshold"] <= extra["n_test"]
    # random init: the frozen prefix's BN settled before caching, then the trained suffix's after training
    first, second = extra["batchnorm"].split(" | ")
    assert "BatchNorm layers settled on" in first and "BatchNorm layers settled on" in second
    assert extra["n_fit"] + extra["n_val"] == extra["n_train"]
    predictions = record["predictions"]
    assert len(predictions["y_true"]) == extra["n_test"] == len(predictions["svm_score"])
    assert extra["n_train"] + extra["n_test"] == grid.context["max_images"]


def test_the_engine_reruns_a_task_identically(one_task):
    grid, store, _ = one_task
    first = engine.load_records(store, grid)[0]
    engine.run_grid(grid, store, select={"trainable_pct": 15, "fold": 0}, force=True, progress=False)
    second = engine.load_records(store, grid)[0]
    assert second["metrics"] == first["metrics"]
    assert second["predictions"]["ft_score"] == first["predictions"]["ft_score"]


def test_grouped_task_keeps_cases_on_one_side(smoke_run):
    grid = grids.build(smoke_run)["p4-ddti-case-smoke"]
    context = {**grid.context, "verbose": 0}
    result = tasks.finetune_svm(dict(grid.configs[0]), 0, context)
    table = protocol.task_table(context["data_source"], "case", context["max_images"], context["seed"])
    tested = set(result["predictions"]["row"])
    trained = set(range(len(table))) - tested
    groups = table["fold_group"].to_numpy()
    assert not {groups[i] for i in tested} & {groups[i] for i in trained}
    assert result["predictions"]["path"] == table["path"].iloc[result["predictions"]["row"]].tolist()
