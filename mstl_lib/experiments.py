"""Experiment engine: resumable, cached grids of (configuration, fold) tasks.

A chapter declares its protocol as data, a :class:`Grid`, and runs it with
:func:`run_grid`. Each (configuration, fold) pair is one :class:`Task`, whose
record (metrics, per-sample predictions, training history, timings,
provenance) is written to a :class:`~mstl_lib.store.ResultsStore` as soon as it
finishes. Running the grid again reads the finished records instead of
training, so a killed run resumes where it stopped and a book rebuild retrains
nothing. Tables and figures are built from the store with
:func:`records_frame`, :func:`aggregate`, :func:`predictions_frame` and
:func:`history_frame`.

The task key
------------
A task's key is ``config_hash`` of

* the experiment name,
* the configuration and the fold,
* the grid's ``data_fingerprint``,
* the grid's ``code_version`` (bump it when the task's code changes results),
* the context, minus the entries named in ``Grid.unkeyed`` (by default
  ``DEFAULT_UNKEYED_CONTEXT``: verbosity, local folder paths, and the
  bookkeeping entries of ``RunContext.as_dict()``, none of which change
  results). The profile, the seed and the weights request therefore enter the key.

Library versions, the device and the task function's name are recorded but are
not part of the key: upgrading a package, or moving the task function into
another module, reuses the cache. Change ``code_version`` to invalidate it.

Caching rules
-------------
* Only records with status ``"done"`` are reused. Failed tasks run again on the
  next call, so a transient failure (out of memory, a worker lost) heals by rerunning.
* ``force=True`` recomputes every selected task; ``select`` narrows the tasks
  touched (``run_grid(grid, select={"fold": 0}, force=True)``).
* Records are written by the process that called :func:`run_grid`, as each task
  completes; workers only return the record. Dask workers therefore need the
  data and the library, not the store.

Executors (identical records for the same seeds)
------------------------------------------------
``"local"``      sequential, in this process (default; suits notebooks).
``"processes"``  ``n_workers`` spawned processes; TensorFlow and OpenMP thread
                 pools are sized so that workers x threads = usable cores. The task
                 must be importable (``"module:function"`` or a module-level function).
``"dask"``       a ``dask.distributed`` client: a 2-worker ``LocalCluster`` by
                 default, or the scheduler given as ``scheduler`` (an address such
                 as ``"tcp://host:8786"``, a ``Client``, or a cluster object such as
                 dask-jobqueue's ``SLURMCluster``).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
import math
import multiprocessing
import os
import random
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from mstl_lib.provenance import (
    config_hash,
    device_info,
    environment_versions,
    jsonable,
    usable_cpus,
)
from mstl_lib.metrics import format_mean_sd, summarize_folds
from mstl_lib.store import SCHEMA_VERSION, ResultsStore, check_name

log = logging.getLogger(__name__)

DEFAULT_UNKEYED_CONTEXT = (
    "verbose", "data_dir", "cache_dir", "log_dir", "weights_dir",  # local settings and folders
    "datasets", "weights_used", "mstl_lib",  # outcomes / versions of ``RunContext.as_dict()``
)
"""Context entries that do not change results (or are covered by the data fingerprint)
and so stay out of the task key."""

ERROR_KINDS = ("nan_loss", "out_of_memory", "unreadable_image", "worker_lost", "error")
"""Values of a failed record's ``error.kind``."""

EXECUTORS = ("local", "processes", "dask")

RESERVED_COLUMNS = ("experiment", "key", "index", "fold", "status", "wall_time_s")
"""Columns of :func:`records_frame` that config fields may not shadow."""


class GridFailedError(RuntimeError):
    """Some tasks of a grid failed (raised by :func:`raise_on_failures`)."""


# =========================================================================== tasks


def task_reference(task: str | Callable) -> str:
    """``"module:qualname"`` naming a task function (kept as is for a string)."""
    if isinstance(task, str):
        return task
    return f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', repr(task))}"


def resolve_task(task: str | Callable) -> Callable:
    """The task function for a callable or a ``"module:function"`` reference."""
    if callable(task):
        return task
    module_name, sep, attr = str(task).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"task reference {task!r} is not of the form 'module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _importable(task: str | Callable) -> bool:
    """Whether another process can find ``task`` by its name."""
    if isinstance(task, str):
        return True
    ref = task_reference(task)
    return not ref.startswith("__main__:") and "<" not in ref


@dataclass(frozen=True)
class Task:
    """One (configuration, fold) of a grid, with everything needed to run it anywhere."""

    experiment: str
    index: int
    config: dict
    fold: int
    key: str
    task: str | Callable = field(repr=False)
    context: dict = field(default_factory=dict, repr=False)
    data_fingerprint: str = ""
    code_version: str = ""

    @property
    def task_ref(self) -> str:
        """``"module:function"`` of the task function."""
        return task_reference(self.task)


@dataclass
class Grid:
    """An experiment declared as data: configurations x folds, and the task to run.

    Parameters
    ----------
    name
        Experiment name (folder in the store): letters, digits, ``_ - .``.
    configs
        One dict per configuration (JSON-like values).
    folds
        Number of folds (``5`` means ``0..4``) or the list of fold indices.
    task
        ``task(config, fold, context) -> dict``, or its ``"module:function"`` name.
        The dict holds ``metrics`` (name -> float) and optionally ``predictions``
        (name -> equal-length lists, e.g. ``row``, ``y_true``, ``y_score``),
        ``history`` (name -> per-epoch list; a non-finite ``loss`` marks the task
        failed), ``extra`` (free JSON) and ``weights_used``.
    data_fingerprint
        See :func:`mstl_lib.provenance.fingerprint_table`; part of the key.
    context
        Shared settings passed to every task (profile, seed, weights request,
        data folder...). Entries not in ``unkeyed`` are part of the key.
    code_version
        Free label; change it to invalidate the cache after changing the task's code.
    unkeyed
        Context entries left out of the key.
    """

    name: str
    configs: list[dict]
    folds: int | Sequence[int]
    task: str | Callable
    data_fingerprint: str = ""
    context: dict = field(default_factory=dict)
    code_version: str = ""
    unkeyed: Sequence[str] = DEFAULT_UNKEYED_CONTEXT

    def __post_init__(self):
        check_name(self.name)
        if not all(isinstance(c, Mapping) for c in self.configs):
            raise TypeError("configs must be a list of dicts")
        self.configs = [dict(c) for c in self.configs]
        if len({config_hash(c) for c in self.configs}) != len(self.configs):
            raise ValueError(f"grid {self.name!r} lists the same configuration twice")

    @property
    def fold_list(self) -> list[int]:
        """The folds as a list of ints."""
        if isinstance(self.folds, (int, np.integer)):
            return list(range(int(self.folds)))
        return [int(f) for f in self.folds]

    def keyed_context(self) -> dict:
        """The part of the context that enters the task key."""
        return {k: v for k, v in self.context.items() if k not in set(self.unkeyed)}

    def task_key(self, config: dict, fold: int) -> str:
        """Key of one (configuration, fold); see the module docstring for its contents."""
        try:
            return config_hash(
                {
                    "experiment": self.name,
                    "config": config,
                    "fold": int(fold),
                    "data": self.data_fingerprint,
                    "code_version": self.code_version,
                    "context": self.keyed_context(),
                }
            )
        except TypeError as exc:
            raise TypeError(
                f"{exc}. Context entries and config values must have a JSON form; "
                "name context entries that do not change results in Grid(unkeyed=...)"
            ) from exc

    def tasks(self) -> list[Task]:
        """All tasks, configuration-major (config 0 fold 0, config 0 fold 1, ...)."""
        folds = self.fold_list
        return [
            Task(
                experiment=self.name,
                index=i * len(folds) + j,
                config=config,
                fold=fold,
                key=self.task_key(config, fold),
                task=self.task,
                context=self.context,
                data_fingerprint=self.data_fingerprint,
                code_version=self.code_version,
            )
            for i, config in enumerate(self.configs)
            for j, fold in enumerate(folds)
        ]

    def __len__(self) -> int:
        return len(self.configs) * len(self.fold_list)


def select_tasks(tasks: Iterable[Task], select: Callable | Mapping | None) -> list[Task]:
    """Tasks whose configuration passes ``select``.

    Parameters
    ----------
    tasks
        Tasks of a grid.
    select
        ``None`` (all), a predicate ``select(config) -> bool``, or a dict of
        ``field: value`` (or ``field: [values]``) matched against the config;
        the field ``"fold"`` matches the task's fold.
    """
    tasks = list(tasks)
    if select is None:
        return tasks
    if callable(select):
        return [t for t in tasks if select(t.config)]

    def matches(task: Task) -> bool:
        for name, wanted in select.items():
            value = task.fold if name == "fold" and name not in task.config else task.config.get(name)
            allowed = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
            if value not in allowed:
                return False
        return True

    return [t for t in tasks if matches(t)]


# =========================================================================== running one task


_OOM_MESSAGE = re.compile(r"\bOOM\b|out of memory|ResourceExhausted|failed to allocate", re.IGNORECASE)
_IMAGE_CLASS = re.compile(r"(Unreadable|Unidentified|Corrupt|Decode|Invalid|Bad)\w*Image|Image\w*(Read|Decode|Load|Format)")
_IMAGE_MESSAGE = re.compile(
    r"cannot identify image file|unknown image file format|invalid jpeg data|image file is truncated"
    r"|(could not|cannot|can't|unable to|failed to) (read|decode|open|load) (the )?image|unreadable image",
    re.IGNORECASE,
)


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify_error(exc: BaseException) -> str:
    """The kind of a task failure, looking through chained exceptions.

    ``"nan_loss"`` for ``FloatingPointError`` (and subclasses such as
    ``training.NonFiniteLossError``), ``"out_of_memory"`` for ``MemoryError`` and
    TensorFlow's ``ResourceExhaustedError`` / OOM messages, ``"unreadable_image"``
    for image-decoding errors (by class name or message), else ``"error"``.
    """
    chain = list(_exception_chain(exc))
    names = [cls.__name__ for e in chain for cls in type(e).__mro__]
    if any(isinstance(e, FloatingPointError) for e in chain):
        return "nan_loss"
    if any(isinstance(e, MemoryError) for e in chain) or any("ResourceExhausted" in n for n in names):
        return "out_of_memory"
    if any(_OOM_MESSAGE.search(str(e)) for e in chain):
        return "out_of_memory"
    if any(_IMAGE_CLASS.search(n) for n in names) or any(_IMAGE_MESSAGE.search(str(e)) for e in chain):
        return "unreadable_image"
    return "error"


def describe_error(exc: BaseException, kind: str | None = None) -> dict:
    """``{type, message, traceback, kind}`` of an exception, for a failed record."""
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "kind": kind or classify_error(exc),
    }


def nan_loss_error(history: Mapping | None) -> dict | None:
    """A ``nan_loss`` error when the training ``loss`` history holds NaN or infinity."""
    losses = (history or {}).get("loss") or []
    for epoch, value in enumerate(losses, start=1):
        if value is None or not math.isfinite(float(value)):
            return {
                "type": "NonFiniteLoss",
                "message": f"training loss became {value} at epoch {epoch}",
                "traceback": "",
                "kind": "nan_loss",
            }
    return None


def normalise_result(result: Any) -> dict:
    """Check a task's return value and convert it to JSON types.

    Raises
    ------
    TypeError, ValueError
        When ``metrics`` is missing, a metric is not a number, or the
        prediction columns differ in length.
    """
    if not isinstance(result, Mapping) or not isinstance(result.get("metrics"), Mapping):
        raise TypeError("a task must return a dict with a 'metrics' dict")
    out = {"metrics": {str(k): float(v) for k, v in result["metrics"].items()}}
    predictions = jsonable(result.get("predictions") or {}, strict=False)
    lengths = {name: len(values) for name, values in predictions.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"prediction columns differ in length: {lengths}")
    out["predictions"] = predictions or None
    out["history"] = jsonable(result.get("history") or {}, strict=False) or None
    out["extra"] = jsonable(result.get("extra") or {}, strict=False) or None
    out["weights_used"] = jsonable(result.get("weights_used", (out["extra"] or {}).get("weights_used")), strict=False)
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def task_seed(seed: Any, key: str) -> int | None:
    """A 32-bit seed derived from the context's seed and the task key (``None`` without a seed)."""
    if seed is None:
        return None
    return int(config_hash([int(seed), key], length=8), 16)


def seed_globals(seed: int | None) -> None:
    """Seed Python's and NumPy's global generators (and Keras' if already imported).

    The engine calls it before each task with :func:`task_seed`, so that the
    global generators never carry state over from earlier tasks in the same
    process, and every executor gives the same results. Tasks should still seed
    what they use (``tf_runtime.set_seed(seed + fold)``).
    """
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % 2**32)
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "utils"):
        keras.utils.set_random_seed(seed % 2**32)


def build_record(
    task: Task,
    context: dict,
    result: dict | None,
    error: dict | None,
    started: str,
    wall_time_s: float,
) -> dict:
    """The record of a finished (or failed) task."""
    result = result or {}
    return jsonable(
        {
            "schema": SCHEMA_VERSION,
            "key": task.key,
            "experiment": task.experiment,
            "index": task.index,
            "config": task.config,
            "fold": task.fold,
            "status": "failed" if error else "done",
            "metrics": result.get("metrics", {}),
            "predictions": result.get("predictions"),
            "history": result.get("history"),
            "extra": result.get("extra"),
            "error": error,
            "task": task.task_ref,
            "wall_time_s": wall_time_s,
            "started": started,
            "finished": _now(),
            "profile": context.get("profile"),
            "seed": context.get("seed"),
            "weights_used": result.get("weights_used") or context.get("weights"),
            "context": context,
            "data_fingerprint": task.data_fingerprint,
            "code_version": task.code_version,
            "versions": environment_versions(),
            "device": device_info(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
        strict=False,
    )


def execute_task(task: Task, verbose: int = 0) -> dict:
    """Run one task and return its record; never raises for a task failure.

    The task receives a copy of its configuration and the grid's context with
    ``verbose`` added. Exceptions become a failed record with the traceback.
    """
    started, t0 = _now(), time.perf_counter()
    context = {**task.context, "verbose": verbose}
    result, error = None, None
    try:
        seed_globals(task_seed(context.get("seed"), task.key))
        func = resolve_task(task.task)
        result = normalise_result(func(copy.deepcopy(task.config), task.fold, dict(context)))
        error = nan_loss_error(result["history"])
    except Exception as exc:  # noqa: BLE001 - every task failure is recorded
        error = describe_error(exc)
    return build_record(task, context, result, error, started, time.perf_counter() - t0)


def lost_task_record(task: Task, exc: BaseException, context: dict | None = None) -> dict:
    """Failed record for a task whose worker died or could not run it."""
    kind = classify_error(exc)
    if kind == "error" and type(exc).__name__ in ("KilledWorker", "BrokenProcessPool", "CancelledError"):
        kind = "worker_lost"
    return build_record(task, context or task.context, None, describe_error(exc, kind), _now(), 0.0)


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


def _run_processes(tasks: list[Task], verbose: int, n_workers: int | None = None, **_) -> Iterator[dict]:
    n = max(1, min(n_workers or usable_cpus(), len(tasks)))
    threads = max(1, usable_cpus() // n)
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_process_worker,
        initargs=(threads,),
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


_RUNNERS = {"local": _run_local, "processes": _run_processes, "dask": _run_dask}


# =========================================================================== the grid


@dataclass
class GridRun:
    """What :func:`run_grid` did.

    Attributes
    ----------
    experiment
        The grid's name.
    n_total, n_cached, n_run, n_failed
        Selected tasks; reused from the store; run now; failed now.
    wall_time_s
        Time of the whole call.
    records
        :func:`records_frame` of the selected tasks (done and failed).
    failures
        :func:`failures_frame` of the selected tasks that failed.
    keys
        Keys of the selected tasks, in grid order.
    """

    experiment: str
    n_total: int
    n_cached: int
    n_run: int
    n_failed: int
    wall_time_s: float
    records: pd.DataFrame = field(repr=False)
    failures: pd.DataFrame = field(repr=False)
    keys: list[str] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """True when no selected task failed."""
        return self.n_failed == 0

    def summary(self) -> str:
        """One line: done, cached, run, failed and time."""
        return (
            f"{self.experiment}: {self.n_total} tasks, {self.n_cached} cached, {self.n_run} run, "
            f"{self.n_failed} failed, {self.wall_time_s:.1f} s"
        )


def _as_store(store: ResultsStore | str | os.PathLike | None) -> ResultsStore:
    return store if isinstance(store, ResultsStore) else ResultsStore(store)


def _progress_bar(total: int, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = tqdm(total=total, initial=initial, desc=desc, unit="task", disable=not enabled, dynamic_ncols=True)
    bar.set_postfix(cached=initial, failed=0)
    return bar


def run_grid(
    grid: Grid,
    store: ResultsStore | str | os.PathLike | None = None,
    executor: str = "local",
    n_workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    select: Callable | Mapping | None = None,
    progress: bool = True,
    verbose: int = 0,
) -> GridRun:
    """Run the unfinished tasks of a grid, writing each record as it completes.

    Parameters
    ----------
    grid
        The experiment.
    store
        A :class:`ResultsStore` or its folder; default ``MSTL_RESULTS_DIR`` or ``<repo>/results``.
    executor
        ``"local"``, ``"processes"`` or ``"dask"`` (see the module docstring).
    n_workers
        Worker processes (``processes``: default usable cores; ``dask``
        ``LocalCluster``: default 2). Ignored by ``local`` and by a given scheduler.
    scheduler
        ``dask`` only: scheduler address (``"tcp://host:8786"``), ``Client`` or
        cluster object; ``None`` starts (and closes) a ``LocalCluster``.
    force
        Recompute the selected tasks even when finished.
    select
        Restrict to some tasks: see :func:`select_tasks`.
    progress
        Show a ``tqdm.auto`` bar (done / total, ETA, cached and failed counts).
    verbose
        Passed to tasks as ``context["verbose"]`` (Keras ``fit`` verbosity; 0 = silent).

    Returns
    -------
    GridRun
        Counts plus the records and failures as DataFrames. Failed tasks do not
        raise: use :func:`raise_on_failures` where a failure must stop the build.
    """
    if executor not in _RUNNERS:
        raise ValueError(f"executor must be one of {EXECUTORS}, not {executor!r}")
    if executor == "processes" and not _importable(grid.task):
        raise ValueError(
            f"the 'processes' executor needs an importable task, not {task_reference(grid.task)}; "
            "pass 'module:function', or use executor='dask' (which can ship notebook functions)"
        )
    t0 = time.perf_counter()
    store = _as_store(store)
    tasks = select_tasks(grid.tasks(), select)
    store.remove_stale_temporaries(grid.name)

    records: dict[str, dict] = {}
    pending = []
    for task in tasks:
        record = None if force else store.read(grid.name, task.key)
        if record is not None and record["status"] == "done":
            records[task.key] = record
        else:
            pending.append(task)
    n_cached, n_failed = len(records), 0

    with _progress_bar(len(tasks), n_cached, grid.name, progress) as bar:
        if pending:
            runner = _RUNNERS[executor]
            for record in runner(pending, verbose=verbose, n_workers=n_workers, scheduler=scheduler):
                store.write(record)
                records[record["key"]] = record
                if record["status"] == "failed":
                    n_failed += 1
                    error = record["error"]
                    log.info("task %s (fold %s) failed: %s: %s", record["key"], record["fold"],
                                error["type"], error["message"])
                bar.update(1)
                bar.set_postfix(cached=n_cached, failed=n_failed)

    ordered = [records[t.key] for t in tasks if t.key in records]
    return GridRun(
        experiment=grid.name,
        n_total=len(tasks),
        n_cached=n_cached,
        n_run=len(pending),
        n_failed=n_failed,
        wall_time_s=time.perf_counter() - t0,
        records=_records_table(ordered),
        failures=_failures_table(ordered),
        keys=[t.key for t in tasks],
    )


def raise_on_failures(run: GridRun, max_listed: int = 10) -> GridRun:
    """Raise :class:`GridFailedError` listing the failed tasks of ``run``; else return it.

    Smoke runs call it so that ``make test`` fails, while chapters show
    ``run.failures`` as a table instead.
    """
    failures = run.failures
    if failures.empty:
        return run
    lines = [
        f"  {row.key} fold {row.fold}: [{row.error_kind}] {row.error_type}: {row.error_message}"
        for row in failures.head(max_listed).itertuples()
    ]
    more = f"\n  ... and {len(failures) - max_listed} more" if len(failures) > max_listed else ""
    last = failures.iloc[0]["traceback"] or ""
    raise GridFailedError(
        f"{len(failures)} of {run.n_total} tasks of {run.experiment!r} failed:\n"
        + "\n".join(lines) + more + f"\nfirst traceback:\n{last}"
    )


# =========================================================================== reading back


def load_records(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> list[dict]:
    """Records of a grid's current tasks (in grid order), or of every task of an experiment.

    Given a :class:`Grid`, only its present tasks are returned (records left by
    older versions of the grid are ignored); given a name, all records stored
    for that experiment.
    """
    store = _as_store(store)
    if isinstance(grid, Grid):
        found = (store.read(grid.name, t.key) for t in grid.tasks())
        return [r for r in found if r is not None]
    return store.records(grid)


def _flatten(config: Mapping, prefix: str = "") -> dict:
    """Nested dicts become dotted names; lists become tuples (hashable for grouping)."""
    out = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = tuple(value) if isinstance(value, list) else value
    return out


def _config_columns(records: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """Flattened configs (clashing names prefixed ``config.``), config and metric column names."""
    metrics = list(dict.fromkeys(m for r in records for m in (r.get("metrics") or {})))
    taken = set(RESERVED_COLUMNS) | set(metrics)
    flat = []
    for record in records:
        config = _flatten(record.get("config") or {})
        flat.append({(f"config.{k}" if k in taken else k): v for k, v in config.items()})
    columns = list(dict.fromkeys(c for row in flat for c in row))
    return flat, columns, metrics


def _records_table(records: list[dict]) -> pd.DataFrame:
    flat, config_columns, metric_columns = _config_columns(records)
    rows = []
    for record, config in zip(records, flat, strict=True):
        row = {name: record.get(name) for name in ("experiment", "key", "index", "fold", "status")}
        row.update(config)
        row.update(record.get("metrics") or {})
        row["wall_time_s"] = record.get("wall_time_s")
        rows.append(row)
    columns = ["experiment", "key", "index", "fold", "status", *config_columns, *metric_columns, "wall_time_s"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["config_columns"] = config_columns
    frame.attrs["metric_columns"] = metric_columns
    return frame


def _failures_table(records: list[dict]) -> pd.DataFrame:
    failed = [r for r in records if r.get("status") == "failed"]
    flat, config_columns, _ = _config_columns(failed)
    rows = []
    for record, config in zip(failed, flat, strict=True):
        error = record.get("error") or {}
        row = {"key": record["key"], "fold": record.get("fold"), **config}
        row.update({f"error_{k}": error.get(k) for k in ("kind", "type", "message")})
        row.update(traceback=error.get("traceback"), host=record.get("host"), finished=record.get("finished"))
        rows.append(row)
    columns = ["key", "fold", *config_columns, "error_kind", "error_type", "error_message",
               "traceback", "host", "finished"]
    return pd.DataFrame(rows, columns=columns)


def _long_table(records: list[dict], field_name: str, build: Callable[[dict], pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-record tables, each prefixed with key, fold and config columns."""
    chosen = [r for r in records if r.get("status") == "done" and r.get(field_name)]
    flat, config_columns, _ = _config_columns(chosen)
    parts = []
    for record, config in zip(chosen, flat, strict=True):
        part = build(record[field_name])
        ids = {"key": record["key"], "fold": record.get("fold"), **config}
        parts.append(pd.concat([pd.DataFrame({k: [v] * len(part) for k, v in ids.items()}), part], axis=1))
    if not parts:
        return pd.DataFrame(columns=["key", "fold", *config_columns])
    return pd.concat(parts, ignore_index=True)


def _history_long(history: Mapping) -> pd.DataFrame:
    epochs = history.get("epoch")
    rows = [
        (epochs[i] if epochs is not None else i + 1, metric, value)
        for metric, values in history.items()
        if metric != "epoch"
        for i, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["epoch", "metric", "value"])


def records_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """One row per task: ids, status, config fields, metrics and wall time.

    Columns: ``experiment, key, index, fold, status``, then config fields
    (nested dicts flattened as ``optimizer.lr``; a field named like a metric or
    one of the columns above is prefixed ``config.``), then metrics, then
    ``wall_time_s``. ``frame.attrs`` holds ``config_columns`` and
    ``metric_columns``, used by :func:`aggregate`.

    Parameters
    ----------
    store
        The store or its folder (``None``: the default store).
    grid
        A :class:`Grid` (its current tasks) or an experiment name (every record stored).
    """
    return _records_table(load_records(store, grid))


def failures_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """One row per failed task: key, fold, config fields, error kind/type/message, traceback, host."""
    return _failures_table(load_records(store, grid))


def predictions_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """Per-sample predictions of the finished tasks, long: key, fold, config fields, prediction columns."""
    return _long_table(load_records(store, grid), "predictions", pd.DataFrame)


def history_frame(store: ResultsStore | str | os.PathLike | None, grid: Grid | str) -> pd.DataFrame:
    """Training histories of the finished tasks, long: key, fold, config fields, epoch, metric, value."""
    return _long_table(load_records(store, grid), "history", _history_long)


def aggregate(
    frame: pd.DataFrame, by: Sequence[str] | None = None, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean, sample SD (ddof=1) and count of metrics per configuration, over finished tasks.

    Parameters
    ----------
    frame
        From :func:`records_frame` (failed rows are left out).
    by
        Grouping columns; default all config columns (``frame.attrs``).
    metrics
        Metric columns; default all metrics (``frame.attrs``).

    Returns
    -------
    pandas.DataFrame
        One row per group in order of first appearance: the ``by`` columns, ``n``
        (finished tasks; ``n_tasks`` if a config field is named ``n``), then ``<metric>_mean`` and ``<metric>_sd`` per metric.
    """
    by = list(by if by is not None else frame.attrs.get("config_columns", []))
    metrics = list(metrics if metrics is not None else frame.attrs.get("metric_columns", []))
    if not metrics:
        raise ValueError("no metric columns: pass metrics=[...] (frame.attrs lost them?)")
    done = frame[frame["status"] == "done"] if "status" in frame.columns else frame
    done = done.astype({m: float for m in metrics})
    count = "n_tasks" if "n" in by else "n"
    table = summarize_folds(done, by, metrics).rename(columns={"n_folds": count})
    return table[[*by, count, *[f"{m}_{stat}" for m in metrics for stat in ("mean", "sd")]]]


def mean_sd_column(table: pd.DataFrame, metric: str, digits: int = 3) -> pd.Series:
    """``"0.912 ± 0.013"`` strings from the ``<metric>_mean`` / ``<metric>_sd`` columns of :func:`aggregate`."""
    return pd.Series(
        [format_mean_sd(m, s, digits) for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_sd"], strict=True)],
        index=table.index,
        name=metric,
    )
