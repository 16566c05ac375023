"""The experiment engine: keys, caching, resume after SIGKILL, failures, executors, frames."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import engine_tasks  # noqa: E402
from engine_tasks import count_runs, demo_grid  # noqa: E402

from mstl_lib.engine import (  # noqa: E402
    Grid,
    GridFailedError,
    failures_frame,
    history_frame,
    predictions_frame,
    raise_on_failures,
    records_frame,
    run_grid,
    select_tasks,
)
from mstl_lib.engine.task import classify_error  # noqa: E402
from mstl_lib.paths import REPO_ROOT  # noqa: E402
from mstl_lib.report.tables import aggregate, mean_sd_column  # noqa: E402
from mstl_lib.engine.provenance import usable_cpus  # noqa: E402
from mstl_lib.engine.store import CorruptRecordWarning, ResultsStore  # noqa: E402

SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(TESTS)])}


def metrics_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Ids and metrics only (no timings), in grid order."""
    return frame.sort_values("index")[["key", "fold", "name", "auc", "accuracy"]].reset_index(drop=True)


@pytest.fixture
def counter(tmp_path):
    return tmp_path / "counter.txt"


# =========================================================================== grids and keys


def test_grid_expands_configs_times_folds():
    grid = demo_grid(n_configs=2)
    tasks = grid.tasks()
    assert len(tasks) == len(grid) == 6
    assert [(t.config["name"], t.fold) for t in tasks[:4]] == [("c0", 0), ("c0", 1), ("c0", 2), ("c1", 0)]
    assert [t.index for t in tasks] == list(range(6))
    assert len({t.key for t in tasks}) == 6
    assert Grid("g", [{}], [3, 5], "m:f").fold_list == [3, 5]


def test_task_key_covers_what_changes_results_only():
    base = demo_grid()
    key = base.task_key({"C": 1.0}, 0)
    assert key == demo_grid(counter_file="/elsewhere", sleep=3).task_key({"C": 1.0}, 0)
    assert key != base.task_key({"C": 1.0}, 1)
    assert key != base.task_key({"C": 2.0}, 0)
    changed = {
        "data": dict(data_fingerprint="other"),
        "code": dict(code_version="v2"),
        "seed": dict(context={**base.context, "seed": 8}),
        "profile": dict(context={**base.context, "profile": "cpu"}),
    }
    for what, change in changed.items():
        grid = Grid(**{**base.__dict__, **change})
        assert grid.task_key({"C": 1.0}, 0) != key, what
    verbose = Grid(**{**base.__dict__, "context": {**base.context, "verbose": 2, "data_dir": "/x"}})
    assert verbose.task_key({"C": 1.0}, 0) == key


def test_grid_rejects_bad_declarations():
    with pytest.raises(ValueError, match="twice"):
        Grid("g", [{"a": 1}, {"a": 1}], 2, "m:f")
    with pytest.raises(ValueError):
        Grid("bad/name", [{}], 2, "m:f")
    with pytest.raises(TypeError, match="unkeyed"):
        Grid("g", [{}], 1, "m:f", context={"table": object()}).tasks()


def test_select_by_dict_callable_and_fold():
    tasks = demo_grid().tasks()
    assert {t.config["name"] for t in select_tasks(tasks, {"name": ["c0", "c2"]})} == {"c0", "c2"}
    assert {t.fold for t in select_tasks(tasks, {"fold": 1})} == {1}
    assert len(select_tasks(tasks, lambda c: c["C"] > 0.5)) == 6


# =========================================================================== running, caching


def test_run_grid_writes_complete_records(tmp_path):
    store = ResultsStore(tmp_path)
    run = run_grid(demo_grid(n_configs=2), store=store, progress=False)
    assert (run.n_total, run.n_cached, run.n_run, run.n_failed) == (6, 0, 6, 0) and run.ok
    record = store.read("demo", run.keys[0])
    assert record["status"] == "done" and set(record["metrics"]) == {"auc", "accuracy"}
    assert len(record["predictions"]["y_true"]) == len(record["predictions"]["y_score"]) > 0
    assert len(record["history"]["loss"]) == 3
    assert record["wall_time_s"] > 0 and record["started"] <= record["finished"]
    assert record["data_fingerprint"] == "synthetic-v1"
    assert (record["seed"], record["profile"], record["weights_used"]) == (7, "smoke", "none")
    assert record["versions"]["tensorflow"] and record["versions"]["mstl_lib"]
    assert record["device"]["usable_cpus"] >= 1 and record["host"]
    assert record["task"] == "engine_tasks:ridge_task"
    assert run.records["status"].eq("done").all() and run.failures.empty


def test_cached_rerun_trains_nothing_and_is_fast(tmp_path, counter):
    grid = demo_grid(counter)
    run_grid(grid, store=tmp_path, progress=False)
    assert sum(count_runs(counter).values()) == 12
    start = time.perf_counter()
    again = run_grid(grid, store=tmp_path, progress=True)
    elapsed = time.perf_counter() - start
    assert (again.n_cached, again.n_run) == (12, 0)
    assert sum(count_runs(counter).values()) == 12
    assert elapsed < 2.0


def test_force_and_select_recompute_only_the_selection(tmp_path, counter):
    grid = demo_grid(counter, n_configs=2)
    run_grid(grid, store=tmp_path, progress=False)
    run = run_grid(grid, store=tmp_path, select={"name": "c1", "fold": [0, 2]}, force=True, progress=False)
    assert (run.n_total, run.n_run) == (2, 2)
    counts = count_runs(counter)
    assert counts["c1|0"] == counts["c1|2"] == 2 and counts["c1|1"] == counts["c0|0"] == 1


def test_corrupt_records_are_detected_and_recomputed(tmp_path, counter):
    grid = demo_grid(counter, n_configs=2)
    first = run_grid(grid, store=tmp_path, progress=False)
    store = ResultsStore(tmp_path)
    truncated, garbled = store.path("demo", first.keys[1]), store.path("demo", first.keys[4])
    truncated.write_bytes(truncated.read_bytes()[:100])
    garbled.write_bytes(b"\x89PNG not json")
    with pytest.warns(CorruptRecordWarning) as caught:
        run = run_grid(grid, store=store, progress=False)
    messages = " ".join(str(w.message) for w in caught)
    assert str(truncated) in messages and str(garbled) in messages
    assert (run.n_cached, run.n_run) == (4, 2)
    assert count_runs(counter)["c0|1"] == count_runs(counter)["c1|1"] == 2
    assert len(store.corrupt_files("demo")) == 2
    pd.testing.assert_frame_equal(metrics_table(run.records), metrics_table(first.records))


# =========================================================================== failures


def test_failures_are_recorded_and_the_grid_goes_on(tmp_path, counter):
    modes = ["ok", "raise", "nan", "nan_history", "oom", "image"]
    grid = Grid("faulty", [{"mode": m} for m in modes], 2, "engine_tasks:faulty_task",
                context={"counter_file": str(counter)})
    run = run_grid(grid, store=tmp_path, progress=False)
    assert (run.n_total, run.n_failed) == (12, 10)
    statuses = dict(zip(run.records["mode"] + run.records["fold"].astype(str), run.records["status"]))
    assert statuses["ok0"] == statuses["ok1"] == "done"
    kinds = run.failures.drop_duplicates("mode").set_index("mode")["error_kind"].to_dict()
    assert kinds == {"raise": "error", "nan": "nan_loss", "nan_history": "nan_loss",
                     "oom": "out_of_memory", "image": "unreadable_image"}
    assert run.failures["traceback"].str.contains("deliberate failure").any()
    assert len(failures_frame(tmp_path, grid)) == 10
    with pytest.raises(GridFailedError, match="10 of 12 tasks"):
        raise_on_failures(run)
    rerun = run_grid(grid, store=tmp_path, progress=False)  # failed tasks are retried, done ones cached
    assert (rerun.n_cached, rerun.n_run) == (2, 10)
    assert count_runs(counter)["ok|0"] == 1 and count_runs(counter)["raise|0"] == 2


def test_a_diverging_keras_training_is_a_nan_loss_failure(tmp_path, tf):
    grid = Grid("keras", [{"lr": 0.01}, {"lr": 1e12}], 1, "engine_tasks:keras_task", context={"seed": 1})
    run = run_grid(grid, store=tmp_path, progress=False)
    assert run.records["status"].tolist() == ["done", "failed"]
    assert run.failures["error_kind"].tolist() == ["nan_loss"]
    record = ResultsStore(tmp_path).read("keras", run.keys[0])
    assert record["device"]["tensorflow_imported"] and len(record["history"]["loss"]) == 4


def test_classify_error_kinds():
    class ResourceExhaustedError(Exception):
        pass

    class ImageReadError(ValueError):
        pass

    assert classify_error(engine_tasks.NonFiniteLossError("x")) == "nan_loss"
    assert classify_error(ResourceExhaustedError("OOM when allocating")) == "out_of_memory"
    assert classify_error(RuntimeError("CUDA out of memory")) == "out_of_memory"
    assert classify_error(ImageReadError("bad.png")) == "unreadable_image"
    try:
        try:
            raise OSError("cannot identify image file 'a.png'")
        except OSError as inner:
            raise RuntimeError("loading failed") from inner
    except RuntimeError as outer:
        assert classify_error(outer) == "unreadable_image"
    assert classify_error(KeyError("x")) == "error"


# =========================================================================== kill and resume


RUN_SCRIPT = """
import sys
from engine_tasks import demo_grid
from mstl_lib.engine import run_grid
run_grid(demo_grid(sys.argv[2], sleep=float(sys.argv[3])), store=sys.argv[1], progress=False)
"""


def test_sigkill_mid_grid_then_resume(tmp_path, counter):
    store = ResultsStore(tmp_path / "store")
    child = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(store.root), str(counter), "0.3"],
                             env=SUBPROCESS_ENV)
    deadline = time.monotonic() + 60
    while len(store.keys("demo")) < 4 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    finished = {key: store.path("demo", key).stat().st_mtime_ns for key in store.keys("demo")}
    assert 4 <= len(finished) < 12, "the kill should land mid-grid"
    ran_before = count_runs(counter)

    grid = demo_grid(counter)
    resumed = run_grid(grid, store=store, progress=False)
    assert (resumed.n_cached, resumed.n_run, resumed.n_failed) == (len(finished), 12 - len(finished), 0)
    assert {k: store.path("demo", k).stat().st_mtime_ns for k in finished} == finished  # untouched
    counts = count_runs(counter)
    done_before = {f"{r['name']}|{r['fold']}" for r in resumed.records.to_dict("records") if r["key"] in finished}
    assert all(counts[t] == 1 for t in done_before), "a finished task ran again"
    assert set(counts) == {f"c{i}|{f}" for i in range(4) for f in range(3)}
    repeated = [t for t, n in counts.items() if n > 1]
    assert len(repeated) <= 1 and not set(repeated) & done_before  # only the task killed in flight
    assert sum(ran_before.values()) >= len(finished)

    reference = run_grid(grid, store=tmp_path / "uninterrupted", progress=False)
    pd.testing.assert_frame_equal(aggregate(resumed.records), aggregate(reference.records))
    pd.testing.assert_frame_equal(metrics_table(resumed.records), metrics_table(reference.records))


# =========================================================================== executors


HAMMER_SCRIPT = """
import sys, pathlib, time
from engine_tasks import demo_grid
from mstl_lib.engine import run_grid
stop, i = pathlib.Path(sys.argv[2]), 0
while not stop.exists():
    run_grid(demo_grid(), store=sys.argv[1], force=i % 2 == 0, progress=False)
    i += 1
print(i)
"""


def test_dask_matches_local_while_another_executor_writes_the_same_store(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", SUBPROCESS_ENV["PYTHONPATH"])  # for the dask workers
    grid = demo_grid()
    local = run_grid(grid, store=tmp_path / "local", progress=False)

    shared, stop = ResultsStore(tmp_path / "shared"), tmp_path / "stop"
    hammer = subprocess.Popen([sys.executable, "-c", HAMMER_SCRIPT, str(shared.root), str(stop)],
                              env=SUBPROCESS_ENV, stdout=subprocess.PIPE, text=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", CorruptRecordWarning)
            dask_run = run_grid(grid, store=shared, executor="dask", n_workers=2, force=True, progress=False)
    finally:
        stop.touch()
        loops = int(hammer.communicate(timeout=60)[0])
    assert hammer.returncode == 0 and loops >= 1
    assert dask_run.n_run == 12 and dask_run.ok
    assert set(dask_run.records["wall_time_s"] > 0) == {True}
    pd.testing.assert_frame_equal(metrics_table(dask_run.records), metrics_table(local.records))

    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptRecordWarning)
        after = run_grid(grid, store=shared, progress=False)  # every record parses and is cached
    assert after.n_cached == 12
    assert shared.corrupt_files() == [] and not list(shared.folder("demo").glob(".*.tmp"))
    pd.testing.assert_frame_equal(metrics_table(after.records), metrics_table(local.records))


def test_processes_executor_matches_local_including_global_rng(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "sentinel")  # the parent's own setting survives
    grid = Grid("rng", [{"name": "a"}, {"name": "b"}], 2, "engine_tasks:random_task", context={"seed": 3})
    local = run_grid(grid, store=tmp_path / "local", progress=False)
    procs = run_grid(grid, store=tmp_path / "procs", executor="processes", n_workers=2, progress=False)
    assert procs.records["score"].tolist() == local.records["score"].tolist()
    assert local.records["score"].nunique() == 4  # each task has its own stream
    records = [ResultsStore(tmp_path / "procs").read("rng", k) for k in procs.keys]
    assert os.getpid() not in {r["pid"] for r in records}
    threads = str(max(1, usable_cpus() // 2))  # 2 workers share the cores
    assert {r["device"]["TF_NUM_INTRAOP_THREADS"] for r in records} == {threads}
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "sentinel"


def test_processes_executor_refuses_unimportable_tasks(tmp_path):
    grid = Grid("lam", [{}], 1, lambda config, fold, context: {"metrics": {}})
    with pytest.raises(ValueError, match="importable"):
        run_grid(grid, store=tmp_path, executor="processes", progress=False)
    assert run_grid(grid, store=tmp_path, progress=False).ok  # local runs it fine
    with pytest.raises(ValueError, match="executor"):
        run_grid(grid, store=tmp_path, executor="threads")


# =========================================================================== reading back


def test_frames_and_aggregate(tmp_path):
    grid = demo_grid(n_configs=2)
    run = run_grid(grid, store=tmp_path, progress=False)
    frame = records_frame(tmp_path, grid)
    pd.testing.assert_frame_equal(frame, run.records)
    assert frame.attrs["config_columns"] == ["name", "C"]
    assert frame.attrs["metric_columns"] == ["auc", "accuracy"]

    table = aggregate(frame)
    assert list(table.columns) == ["name", "C", "n", "auc_mean", "auc_sd", "accuracy_mean", "accuracy_sd"]
    c0 = frame.loc[frame["name"] == "c0", "auc"].to_numpy()
    assert table.loc[0, "auc_mean"] == pytest.approx(c0.mean())
    assert table.loc[0, "auc_sd"] == pytest.approx(c0.std(ddof=1))
    assert table["n"].tolist() == [3, 3]
    assert mean_sd_column(table, "auc").str.match(r"^0\.\d{3} ± 0\.\d{3}$").all()
    overall = aggregate(frame, by=[], metrics=["auc"])
    assert overall.loc[0, "n"] == 6

    predictions = predictions_frame(tmp_path, grid)
    assert {"key", "fold", "name", "C", "row", "y_true", "y_score"} <= set(predictions.columns)
    assert len(predictions) == 2 * 120  # every sample once per configuration
    history = history_frame(tmp_path, grid)
    assert list(history.columns[-3:]) == ["epoch", "metric", "value"] and len(history) == 6 * 3
    assert records_frame(tmp_path, "demo").shape == frame.shape  # by experiment name


def test_aggregate_skips_failed_rows_and_prefixes_clashing_config_fields(tmp_path):
    grid = Grid("clash", [{"mode": "ok", "status": "x", "opt": {"lr": 0.1}}, {"mode": "raise"}], 2,
                "engine_tasks:faulty_task")
    frame = run_grid(grid, store=tmp_path, progress=False).records
    assert {"config.status", "opt.lr", "mode", "score"} <= set(frame.columns)
    table = aggregate(frame, by=["mode"])
    assert table.set_index("mode")["n"].to_dict() == {"ok": 2}
    assert table.loc[0, "score_mean"] == pytest.approx(1.5)
