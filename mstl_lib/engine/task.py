"""One (configuration, fold) task: its key, how it runs, and its record."""

from __future__ import annotations

import copy
import gc
import importlib
import math
import os
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


from mstl_lib import timing
from mstl_lib.engine.provenance import config_hash, device_info, environment_versions, jsonable
from mstl_lib.engine.store import SCHEMA_VERSION
from mstl_lib.seeding import seed_everything

DEFAULT_UNKEYED_CONTEXT = (
    "verbose", "data_dir", "cache_dir", "log_dir", "weights_dir",  # local settings and folders
    "data_source",  # where the data lie; the grid's data fingerprint covers their content
    "weights_info",  # where the weights lie; their identity is the keyed ``weights`` entry
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


def importable(task: str | Callable) -> bool:
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
    out["weights"] = jsonable(result.get("weights") or {}, strict=False) or None
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def task_seed(seed: Any, key: str) -> int | None:
    """A 32-bit seed derived from the context's seed and the task key (``None`` without a seed)."""
    if seed is None:
        return None
    return int(config_hash([int(seed), key], length=8), 16)


def seed_globals(seed: int | None) -> None:
    """Seed every global generator for one task (:func:`mstl_lib.seeding.seed_everything`); ``None`` leaves them."""
    if seed is not None:
        seed_everything(seed)


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB: a task's own under the ``isolated`` executor."""
    import resource  # noqa: PLC0415 - POSIX only

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def current_rss_mb() -> float:
    """This process's resident memory now, in MB (Linux ``/proc``; elsewhere its peak so far)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024), 1)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def build_record(
    task: Task,
    context: dict,
    result: dict | None,
    error: dict | None,
    started: str,
    wall_time_s: float,
    timings: dict | None = None,
) -> dict:
    """The record of a finished (or failed) task; ``timings`` are its seconds per phase (:mod:`mstl_lib.timing`)."""
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
            "timings": timings or {},
            "started": started,
            "finished": _now(),
            "profile": context.get("profile"),
            "seed": context.get("seed"),
            "weights_used": result.get("weights_used") or context.get("weights"),
            "weights": result.get("weights") or context.get("weights"),
            "context": context,
            "data_fingerprint": task.data_fingerprint,
            "code_version": task.code_version,
            "versions": environment_versions(),
            "device": device_info(),
            "peak_rss_mb": peak_rss_mb(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
        strict=False,
    )


def release_framework_memory() -> None:
    """Drop the models, graphs and traced functions an earlier task left in this process.

    Keras keeps every model built in a process alive in its global state; over a
    grid of dozens of tasks in one notebook kernel that grew to tens of GB. Called
    before each task (only when Keras is already imported, so NumPy tasks never
    pay for importing it), then the task is seeded.
    """
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):  # NumPy-only tasks skip it: a gc pass costs milliseconds
        keras.backend.clear_session()
        gc.collect()


def execute_task(task: Task, verbose: int = 0) -> dict:
    """Run one task and return its record; never raises for a task failure.

    The task receives a copy of its configuration and the grid's context with
    ``verbose`` added. Exceptions become a failed record with the traceback.
    """
    started, t0 = _now(), time.perf_counter()
    context = {**task.context, "verbose": verbose}
    result, error = None, None
    timing.reset()
    try:
        with timing.phase("imports"):
            func = resolve_task(task.task)  # imports the task's module (and Keras) before seeding
        release_framework_memory()
        seed_globals(task_seed(context.get("seed"), task.key))
        result = normalise_result(func(copy.deepcopy(task.config), task.fold, dict(context)))
        error = nan_loss_error(result["history"])
    except Exception as exc:  # noqa: BLE001 - every task failure is recorded
        error = describe_error(exc)
    return build_record(task, context, result, error, started, time.perf_counter() - t0, timing.tally())


def lost_task_record(task: Task, exc: BaseException, context: dict | None = None) -> dict:
    """Failed record for a task whose worker died or could not run it."""
    kind = classify_error(exc)
    if kind == "error" and type(exc).__name__ in ("KilledWorker", "BrokenProcessPool", "CancelledError",
                                                                  "WorkerDied"):
        kind = "worker_lost"
    return build_record(task, context or task.context, None, describe_error(exc, kind), _now(), 0.0)
