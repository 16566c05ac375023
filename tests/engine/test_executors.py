"""Executors: local, processes and dask runs give the same records, also while another run writes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from engine_tasks import demo_grid, metrics_table

from mstl_lib.engine import Grid, run_grid
from mstl_lib.engine.provenance import usable_cpus
from mstl_lib.engine.store import CorruptRecordWarning, ResultsStore

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


def test_dask_matches_local_while_another_executor_writes_the_same_store(tmp_path, monkeypatch, subprocess_env):
    pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", subprocess_env["PYTHONPATH"])  # for the dask workers
    grid = demo_grid()
    local = run_grid(grid, store=tmp_path / "local", progress=False)

    shared, stop = ResultsStore(tmp_path / "shared"), tmp_path / "stop"
    hammer = subprocess.Popen([sys.executable, "-c", HAMMER_SCRIPT, str(shared.root), str(stop)],
                              env=subprocess_env, stdout=subprocess.PIPE, text=True)
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
    assert shared.corrupt_files() == [] and not list(shared.folder("demo").glob(".*.partial"))
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


def test_isolated_executor_runs_each_task_in_a_fresh_process_with_every_core(tmp_path):
    grid = Grid("rng", [{"name": "a"}, {"name": "b"}], 2, "engine_tasks:random_task", context={"seed": 3})
    local = run_grid(grid, store=tmp_path / "local", progress=False)
    isolated = run_grid(grid, store=tmp_path / "isolated", executor="isolated", progress=False)
    assert isolated.records["score"].tolist() == local.records["score"].tolist()
    records = [ResultsStore(tmp_path / "isolated").read("rng", k) for k in isolated.keys]
    pids = {r["pid"] for r in records}
    assert len(pids) == 4 and os.getpid() not in pids  # one process per task
    assert {r["device"]["TF_NUM_INTRAOP_THREADS"] for r in records} == {str(usable_cpus())}
    # where the time went: each worker's start is timed by the parent, the task's import inside it
    for record in records:
        timings = record["timings"]
        assert timings["process_start"] > 0 and timings["imports"] >= 0
        assert sum(v for k, v in timings.items() if k != "process_start") <= record["wall_time_s"] + 1e-3


def test_reused_worker_matches_local_in_one_process_and_times_its_start_once(tmp_path):
    grid = Grid("rng", [{"name": "a"}, {"name": "b"}], 2, "engine_tasks:random_task", context={"seed": 3})
    local = run_grid(grid, store=tmp_path / "local", progress=False)
    reused = run_grid(grid, store=tmp_path / "reused", executor="reused", progress=False)
    assert reused.records["score"].tolist() == local.records["score"].tolist()  # seeded per task, in any process
    records = [ResultsStore(tmp_path / "reused").read("rng", k) for k in reused.keys]
    assert len({r["pid"] for r in records}) == 1 and os.getpid() != records[0]["pid"]
    starts = [r["timings"]["process_start"] for r in records]
    assert starts[0] == max(starts) and starts[0] > 5 * max(starts[1:])  # the worker started once


def test_keras_tasks_in_a_reused_worker_match_each_run_alone(tmp_path):
    """A task's Keras result does not depend on the tasks its worker ran before (session cleared, reseeded)."""
    grid = Grid("keras", [{"lr": 0.01}, {"lr": 0.02}], 2, "engine_tasks:keras_task", context={"seed": 1})
    reused = run_grid(grid, store=tmp_path / "reused", executor="reused", progress=False)
    alone = run_grid(grid, store=tmp_path / "isolated", executor="isolated", progress=False)
    assert reused.records["final_loss"].tolist() == alone.records["final_loss"].tolist()


def test_reused_worker_is_replaced_past_its_memory_watermark(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_WORKER_MEMORY_MB", "1")  # every worker is past it after its first task
    grid = Grid("rng", [{"name": "a"}], 3, "engine_tasks:random_task", context={"seed": 3})
    reused = run_grid(grid, store=tmp_path, executor="reused", progress=False)
    assert len({ResultsStore(tmp_path).read("rng", k)["pid"] for k in reused.keys}) == 3
    monkeypatch.setenv("MSTL_WORKER_MEMORY_MB", "lots")
    with pytest.raises(ValueError, match="MSTL_WORKER_MEMORY_MB must be a number of megabytes, not 'lots'"):
        run_grid(Grid("rng2", [{"name": "a"}], 1, "engine_tasks:random_task"), store=tmp_path, executor="reused",
                 progress=False)


def test_a_task_that_kills_its_reused_worker_fails_alone(tmp_path):
    grid = Grid("die", [{"die": False, "n": 0}, {"die": True, "n": 1}, {"die": False, "n": 2}], 1,
                "engine_tasks:dying_task")
    result = run_grid(grid, store=tmp_path, executor="reused", progress=False)
    records = [ResultsStore(tmp_path).read("die", k) for k in result.keys]
    assert [r["status"] for r in records] == ["done", "failed", "done"]
    lost = records[1]["error"]
    assert lost["kind"] == "worker_lost" and "exit code 3" in lost["message"] and records[1]["key"] in lost["message"]
    assert records[0]["metrics"]["pid"] != records[2]["metrics"]["pid"]  # a new worker after the loss
    rerun = run_grid(grid, store=tmp_path, executor="reused", progress=False)
    assert rerun.n_cached == 2  # the finished tasks are kept; only the failed one ran again


@pytest.mark.parametrize("executor", ["processes", "reused", "isolated"])
def test_process_executors_refuse_unimportable_tasks(tmp_path, executor):
    grid = Grid("lam", [{}], 1, lambda config, fold, context: {"metrics": {}})
    with pytest.raises(ValueError, match="importable"):
        run_grid(grid, store=tmp_path, executor=executor, progress=False)
    assert run_grid(grid, store=tmp_path, progress=False).ok  # local runs it fine
    with pytest.raises(ValueError, match="executor"):
        run_grid(grid, store=tmp_path, executor="threads")
