"""Where tasks run: in this process, in spawned processes (shared, or a fresh one per task), or on a Dask cluster."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from typing import Any

from mstl_lib.engine.provenance import usable_cpus
from mstl_lib.engine.task import Task, execute_task, lost_task_record

log = logging.getLogger(__name__)

EXECUTORS = ("local", "processes", "isolated", "dask")
SPAWNING = ("processes", "isolated")
"""Executors that start tasks in spawned processes: their task must be importable by name."""

# =========================================================================== executors


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables sizing TensorFlow / OpenMP thread pools of one worker."""
    return {
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(min(2, threads + 1)),
        "OMP_NUM_THREADS": str(threads),
    }


@contextlib.contextmanager
def _environ(values: Mapping[str, str]):
    """Set environment variables inside the block (children spawned there inherit them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _init_process_worker(threads: int) -> None:
    """Initializer of ``processes`` workers: size thread pools before TensorFlow starts."""
    os.environ.update(thread_environment(threads))
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        with contextlib.suppress(Exception):  # too late once TF's runtime is up
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads + 1))


def _run_local(tasks: list[Task], verbose: int, **_) -> Iterator[dict]:
    for task in tasks:
        yield execute_task(task, verbose)


def _run_processes(tasks: list[Task], verbose: int, n_workers: int | None = None,
                   tasks_per_worker: int | None = None, **_) -> Iterator[dict]:
    n = max(1, min(n_workers or usable_cpus(), len(tasks)))
    threads = max(1, usable_cpus() // n)
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_process_worker,
        initargs=(threads,),
        max_tasks_per_child=tasks_per_worker,
    )
    finished = False
    try:
        with _environ(thread_environment(threads)):  # workers are spawned on submit
            futures = {pool.submit(execute_task, task, verbose): task for task in tasks}
        for future in futures_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its task only
                yield lost_task_record(futures[future], exc)
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)


def _run_isolated(tasks: list[Task], verbose: int, **_) -> Iterator[dict]:
    """One task at a time, each in a fresh spawned process with every core.

    Whatever a task leaves behind (TensorFlow's caches, a fragmented heap) goes
    with its process, so a chapter's memory is that of its largest task, not the
    sum of its tasks; the price is an import of TensorFlow per task (a few seconds).
    """
    yield from _run_processes(tasks, verbose, n_workers=1, tasks_per_worker=1)


def _dask_client(scheduler: Any, n_workers: int | None):
    """A client for ``scheduler`` and the objects we started (to close afterwards)."""
    from distributed import Client, LocalCluster  # noqa: PLC0415 - dask only when used

    if isinstance(scheduler, Client):
        return scheduler, []
    if scheduler is not None:  # an address or a cluster object (LocalCluster, SLURMCluster...)
        client = Client(scheduler)
        return client, [client]
    n = n_workers or 2
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env=thread_environment(max(1, usable_cpus() // n)),
    )
    client = Client(cluster)
    return client, [client, cluster]


def _run_dask(
    tasks: list[Task], verbose: int, n_workers: int | None = None, scheduler: Any = None, **_
) -> Iterator[dict]:
    from distributed import as_completed  # noqa: PLC0415

    client, started = _dask_client(scheduler, n_workers)
    futures = {}
    try:
        for task in tasks:
            future = client.submit(execute_task, task, verbose, pure=False)
            futures[future.key] = (future, task)
        for future in as_completed([f for f, _ in futures.values()]):
            task = futures.pop(future.key)[1]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection...
                yield lost_task_record(task, exc)
    finally:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel([f for f, _ in futures.values()])
        for obj in started:
            with contextlib.suppress(Exception):
                obj.close()


RUNNERS = {"local": _run_local, "processes": _run_processes, "isolated": _run_isolated, "dask": _run_dask}
