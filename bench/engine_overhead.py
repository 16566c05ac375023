"""Measure what the experiment engine costs on top of the training itself.

Runs the same tasks three ways and prints the times:

1. bare: the task function called directly in a loop;
2. engine: ``run_grid`` on an empty store (keys, provenance, atomic fsynced writes, progress);
3. cached: ``run_grid`` again, which only reads the finished records.

Usage (from the repository root)::

    python bench/engine_overhead.py                      # tiny Keras trainings, local executor
    python bench/engine_overhead.py --task ridge --tasks 60
    python bench/engine_overhead.py --executor dask      # includes the LocalCluster start-up
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = REPO / "tests" / "engine"  # engine_tasks.py: the tiny tasks of the engine tests
sys.path[:0] = [str(REPO), str(TASKS)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TASKS), os.environ.get("PYTHONPATH", "")])

from mstl_lib.engine import Grid, run_grid  # noqa: E402
from mstl_lib.nn.runtime import import_tensorflow  # noqa: E402

TASKS = {
    "keras": ("engine_tasks:keras_task", lambda i: {"lr": 0.01 * (i + 1)}),
    "ridge": ("engine_tasks:ridge_task", lambda i: {"C": 10.0 ** (i - 2), "name": f"c{i}"}),
}


def make_grid(task: str, n_tasks: int) -> Grid:
    """``n_tasks`` tasks: ``n_tasks / 2`` configurations x 2 folds."""
    ref, config = TASKS[task]
    n_configs = max(1, n_tasks // 2)
    return Grid(f"bench-{task}", [config(i) for i in range(n_configs)], 2, ref, context={"seed": 0, "n_folds": 2})


def time_bare(grid: Grid) -> float:
    """Seconds to call the task function on every task, without the engine."""
    from mstl_lib.engine import resolve_task

    func = resolve_task(grid.task)
    start = time.perf_counter()
    for task in grid.tasks():
        func(dict(task.config), task.fold, {**task.context, "verbose": 0})
    return time.perf_counter() - start


def time_grid(grid: Grid, store: Path, executor: str) -> tuple[float, object]:
    start = time.perf_counter()
    run = run_grid(grid, store=store, executor=executor, progress=False)
    return time.perf_counter() - start, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="keras")
    parser.add_argument("--tasks", type=int, default=12, help="number of tasks (configs x 2 folds)")
    parser.add_argument("--executor", default="local", choices=["local", "processes", "dask"])
    parser.add_argument("--repeats", type=int, default=3, help="alternate bare / engine runs; keep the fastest")
    args = parser.parse_args()

    grid = make_grid(args.task, args.tasks)
    n = len(grid)
    if args.task == "keras":
        import_tensorflow()
    time_bare(make_grid(args.task, 2))  # warm-up: imports, first graph tracing

    bares, engines, cacheds = [], [], []
    for _ in range(args.repeats):  # alternate, so that machine load hits both alike
        with tempfile.TemporaryDirectory() as tmp:
            bares.append(time_bare(grid))
            engine, run = time_grid(grid, Path(tmp), args.executor)
            cached, again = time_grid(grid, Path(tmp), args.executor)
        assert run.n_run == n and run.ok and again.n_cached == n
        engines.append(engine)
        cacheds.append(cached)
    bare, engine, cached = min(bares), min(engines), min(cacheds)

    print(f"task={args.task} executor={args.executor} tasks={n} (fastest of {args.repeats})")
    print(f"bare calls        {bare:8.3f} s   {1000 * bare / n:9.2f} ms/task")
    print(f"run_grid (empty)  {engine:8.3f} s   {1000 * engine / n:9.2f} ms/task")
    print(f"engine overhead   {engine - bare:8.3f} s   {1000 * (engine - bare) / n:9.2f} ms/task"
          f"   ratio run_grid/bare = {engine / bare:.3f}")
    print(f"cached rerun      {cached:8.3f} s   {1000 * cached / n:9.2f} ms/task")


if __name__ == "__main__":
    main()
