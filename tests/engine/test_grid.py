"""Grids: keys, selection, running and caching, failures, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from engine_tasks import count_runs, demo_grid, metrics_table

from mstl_lib.engine import (
    Grid,
    GridFailedError,
    failures_frame,
    raise_on_failures,
    run_grid,
    select_tasks,
)
from mstl_lib.engine.provenance import environment_versions, usable_cpus
from mstl_lib.engine.store import CorruptRecordWarning, ResultsStore
from mstl_lib.report.tables import aggregate

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
    assert record["versions"] == environment_versions()  # the local executor runs in this process
    assert record["device"]["usable_cpus"] == usable_cpus() and record["host"] == socket.gethostname()
    assert record["pid"] == os.getpid()
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


# =========================================================================== kill and resume


RUN_SCRIPT = """
import sys
from engine_tasks import demo_grid
from mstl_lib.engine import run_grid
run_grid(demo_grid(sys.argv[2], sleep=float(sys.argv[3])), store=sys.argv[1], progress=False)
"""


def test_sigkill_mid_grid_then_resume(tmp_path, counter, subprocess_env):
    store = ResultsStore(tmp_path / "store")
    child = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(store.root), str(counter), "0.3"],
                             env=subprocess_env)
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


def test_each_task_starts_from_a_fresh_keras_session(tf):
    """Models built by an earlier task do not stay alive in the process (memory of long grids)."""
    import keras

    from mstl_lib.engine.task import release_framework_memory

    keras.layers.Dense(2)
    keras.layers.Dense(2)
    assert keras.backend.get_uid("dense") >= 3  # two layers already took their names
    release_framework_memory()
    assert keras.backend.get_uid("dense") == 1  # a cleared session: nothing of the earlier models is left


def test_covering_keeps_every_value_of_every_field_once():
    from mstl_lib.engine import covering

    configs = [{"cnn": c, "opt": o, "arm": a} for a in ("CTL", "MSTL") for c in ("A", "B", "C") for o in ("x", "y")]
    kept = covering(configs)
    assert kept[0] == configs[0] and len(kept) < len(configs)
    for name in ("cnn", "opt", "arm"):
        assert {c[name] for c in kept} == {c[name] for c in configs}
    assert covering(kept) == kept  # nothing more to drop
    assert covering([{"size": [1, 2]}, {"size": [1, 2]}]) == [{"size": [1, 2]}]


def test_covering_carries_what_earlier_grids_covered():
    from mstl_lib.engine import covering

    seen: set = set()
    first = covering([{"cnn": c, "opt": o} for c in ("A", "B") for o in ("x", "y")], seen)
    assert len(first) == 3
    assert covering([{"cnn": "B", "opt": "y"}, {"cnn": "C", "opt": "x"}], seen) == [{"cnn": "C", "opt": "x"}]
