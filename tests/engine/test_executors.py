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


def test_isolated_executor_runs_each_task_in_a_fresh_process_with_every_core(tmp_path):
    grid = Grid("rng", [{"name": "a"}, {"name": "b"}], 2, "engine_tasks:random_task", context={"seed": 3})
    local = run_grid(grid, store=tmp_path / "local", progress=False)
    isolated = run_grid(grid, store=tmp_path / "isolated", executor="isolated", progress=False)
    assert isolated.records["score"].tolist() == local.records["score"].tolist()
    records = [ResultsStore(tmp_path / "isolated").read("rng", k) for k in isolated.keys]
    pids = {r["pid"] for r in records}
    assert len(pids) == 4 and os.getpid() not in pids  # one process per task
    assert {r["device"]["TF_NUM_INTRAOP_THREADS"] for r in records} == {str(usable_cpus())}


@pytest.mark.parametrize("executor", ["processes", "isolated"])
def test_process_executors_refuse_unimportable_tasks(tmp_path, executor):
    grid = Grid("lam", [{}], 1, lambda config, fold, context: {"metrics": {}})
    with pytest.raises(ValueError, match="importable"):
        run_grid(grid, store=tmp_path, executor=executor, progress=False)
    assert run_grid(grid, store=tmp_path, progress=False).ok  # local runs it fine
    with pytest.raises(ValueError, match="executor"):
        run_grid(grid, store=tmp_path, executor="threads")
