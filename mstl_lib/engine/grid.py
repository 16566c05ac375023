"""Experiment engine: resumable, cached grids of (configuration, fold) tasks.

A chapter declares its protocol as data, a :class:`Grid`, and runs it with
:func:`run_grid`. Each (configuration, fold) pair is one :class:`Task`, whose
record (metrics, per-sample predictions, training history, timings,
provenance) is written to a :class:`~mstl_lib.engine.store.ResultsStore` as soon as it
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
* the grid's ``code_version``: the task's recipe version (each paper's
  ``tasks.RECIPE_VERSION``), which a change to its training or evaluation code
  must bump, so that records made by old code are never reused,
* the context, minus the entries named in ``Grid.unkeyed`` (by default
  ``DEFAULT_UNKEYED_CONTEXT``: verbosity, local folder paths, and the
  bookkeeping entries of the run context, none of which change results). The
  profile, the seed and the *resolved* weights identity (ImageNet, a file's
  SHA-256, or random; see :meth:`mstl_lib.context.RunContext.task_context`)
  therefore enter the key.

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

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mstl_lib.engine.provenance import (
    config_hash,
)
from mstl_lib.engine.store import ResultsStore, check_name
from mstl_lib.engine.executors import EXECUTORS, RUNNERS, SPAWNING
from mstl_lib.engine.progress import ProgressLog
from mstl_lib.engine.task import DEFAULT_UNKEYED_CONTEXT, GridFailedError, Task, importable, task_reference

log = logging.getLogger(__name__)

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
        failed), ``extra`` (free JSON), ``weights`` (name -> the weights' identity, kind and description; see
        :func:`mstl_lib.nn.weights.weights_fields`) and ``weights_used`` (the line shown).
    data_fingerprint
        See :func:`mstl_lib.engine.provenance.fingerprint_table`; part of the key.
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


def covering(configs: Sequence[Mapping], seen: set | None = None) -> list[dict]:
    """The configurations that, in order, each bring a (field, value) pair none before them had.

    Every value of every field appears in at least one kept configuration: every backbone,
    optimizer, strategy, arm and input of a grid is run once. ``seen`` (updated in place)
    carries the pairs of earlier grids, so that several grids cover their values together.
    ``full`` in miniature (:meth:`mstl_lib.context.RunContext.trimmed`) runs these only.
    """
    seen = set() if seen is None else seen
    kept = []
    for config in configs:
        pairs = {(name, config_hash({"v": value})) for name, value in config.items()}
        if pairs - seen:
            kept.append(dict(config))
            seen |= pairs
    return kept


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


def as_store(store: ResultsStore | str | os.PathLike | None) -> ResultsStore:
    return store if isinstance(store, ResultsStore) else ResultsStore(store)


def _progress_bar(total: int, initial: int, desc: str, enabled: bool):
    if enabled:
        from tqdm.auto import tqdm  # noqa: PLC0415
    else:  # tqdm.auto would warn about notebook widgets even for a bar it never draws
        from tqdm import tqdm  # noqa: PLC0415

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
    progress: bool | None = None,
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
        Show a ``tqdm.auto`` bar (done / total, ETA, cached and failed counts); by
        default only when ``$MSTL_PROGRESS_FILE`` is not set. When it is set (``make
        book``), each event is appended to that file instead
        (:mod:`mstl_lib.engine.progress`) and shown in the terminal, so the executed
        notebooks stay free of progress bars.
    verbose
        Passed to tasks as ``context["verbose"]`` (Keras ``fit`` verbosity; 0 = silent).

    Returns
    -------
    GridRun
        Counts plus the records and failures as DataFrames. Failed tasks do not
        raise: use :func:`raise_on_failures` where a failure must stop the build.
    """
    if executor not in RUNNERS:
        raise ValueError(f"executor must be one of {EXECUTORS}, not {executor!r}")
    if executor in SPAWNING and not importable(grid.task):
        raise ValueError(
            f"the '{executor}' executor needs an importable task, not {task_reference(grid.task)}; "
            "pass 'module:function', or use executor='dask' (which can ship notebook functions)"
        )
    t0 = time.perf_counter()
    store = as_store(store)
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

    log_file = ProgressLog(grid.name, len(tasks), n_cached)
    if progress is None:
        progress = log_file.path is None
    with _progress_bar(len(tasks), n_cached, grid.name, progress) as bar:
        if pending:
            runner = RUNNERS[executor]
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
                log_file.task_done(record["status"] == "failed")
    log_file.close()

    from mstl_lib.engine.records import failures_table, records_table  # noqa: PLC0415 - records imports grid

    ordered = [records[t.key] for t in tasks if t.key in records]
    return GridRun(
        experiment=grid.name,
        n_total=len(tasks),
        n_cached=n_cached,
        n_run=len(pending),
        n_failed=n_failed,
        wall_time_s=time.perf_counter() - t0,
        records=records_table(ordered),
        failures=failures_table(ordered),
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
