"""Where tasks run: in this process, in spawned processes (shared, reused, or a fresh one per task), or on a Dask cluster."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from typing import Any

from mstl_lib.engine.provenance import usable_cpus
from mstl_lib.engine.task import Task, current_rss_mb, execute_task, lost_task_record

log = logging.getLogger(__name__)

EXECUTORS = ("local", "processes", "reused", "isolated", "dask")
SPAWNING = ("processes", "reused", "isolated")
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


def _time_process_start(record: dict, since: float) -> None:
    """Credit the wait for ``record`` beyond the task's own time, since ``since``, to ``process_start``: the worker's
    start and the hand-over (one task at a time; a lost task, which has no time of its own, gets none)."""
    if record["wall_time_s"]:
        waited = time.perf_counter() - since
        record.setdefault("timings", {})["process_start"] = round(max(0.0, waited - record["wall_time_s"]), 3)


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
        clock = time.perf_counter()
        with _environ(thread_environment(threads)):  # workers are spawned on submit
            futures = {pool.submit(execute_task, task, verbose): task for task in tasks}
        for future in futures_completed(futures):
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its task only
                record = lost_task_record(futures[future], exc)
            if n == 1:  # one task at a time: the rest of the wait is the worker's start and hand-over
                _time_process_start(record, clock)
            yield record
            clock = time.perf_counter()
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


WORKER_MEMORY_MB = 6144
"""Default memory watermark of the ``reused`` worker: past it after a task, the worker is replaced."""


class WorkerDied(RuntimeError):
    """The ``reused`` executor's worker process ended while it ran a task."""


def worker_memory_mb() -> float:
    """The ``reused`` worker's memory watermark, MB: ``MSTL_WORKER_MEMORY_MB`` or :data:`WORKER_MEMORY_MB`."""
    value = os.environ.get("MSTL_WORKER_MEMORY_MB", "")
    try:
        return float(value) if value else float(WORKER_MEMORY_MB)
    except ValueError:
        raise ValueError(f"MSTL_WORKER_MEMORY_MB must be a number of megabytes, not {value!r}") from None


def _reused_worker(conn, threads: int, memory_mb: float) -> None:
    """A ``reused`` worker: run tasks until told to stop, or retire once past ``memory_mb`` after one."""
    _init_process_worker(threads)
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        task, verbose = message
        record = execute_task(task, verbose)  # clears the framework's session and seeds before the task
        retire = current_rss_mb() > memory_mb
        conn.send((record, retire))
        if retire:
            return


def _stop_worker(worker, busy: bool = False) -> None:
    process, conn = worker
    if not busy:  # an idle worker leaves by itself; a busy one (the run was interrupted) is stopped
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        process.join(timeout=30)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    conn.close()


def _run_reused(tasks: list[Task], verbose: int, memory_mb: float | None = None, **_) -> Iterator[dict]:
    """One task at a time in a worker process that is reused from task to task.

    The worker starts once (a spawned Python that imports TensorFlow: 4-6 s) instead
    of once per task. Between tasks :func:`execute_task` clears the framework's
    session and reseeds, so a task's result does not depend on what ran before it.
    A worker whose resident memory is past ``memory_mb`` (:func:`worker_memory_mb`)
    after a task is replaced, which bounds a chapter's memory as ``isolated`` does.
    A task that kills its worker fails alone (``worker_lost``); the next task gets
    a new worker.
    """
    memory_mb = worker_memory_mb() if memory_mb is None else float(memory_mb)
    threads = usable_cpus()
    spawn = multiprocessing.get_context("spawn")
    worker, busy = None, False
    try:
        for task in tasks:
            clock = time.perf_counter()
            if worker is None:
                parent_end, child_end = spawn.Pipe()
                with _environ(thread_environment(threads)):
                    process = spawn.Process(target=_reused_worker, args=(child_end, threads, memory_mb), daemon=True)
                    process.start()
                child_end.close()
                worker = (process, parent_end)
            try:
                busy = True
                worker[1].send((task, verbose))
                record, retire = worker[1].recv()
                busy = False
            except (EOFError, OSError) as exc:
                busy = False
                worker[0].join(timeout=5)
                died = WorkerDied(f"the worker process ended (exit code {worker[0].exitcode}) while it ran "
                                  f"task {task.key} of {task.experiment}")
                died.__cause__ = exc
                record, retire = lost_task_record(task, died), True
            _time_process_start(record, clock)
            if retire:
                _stop_worker(worker)
                worker = None
            yield record
    finally:
        if worker is not None:
            _stop_worker(worker, busy)


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


RUNNERS = {"local": _run_local, "processes": _run_processes, "reused": _run_reused, "isolated": _run_isolated,
           "dask": _run_dask}
