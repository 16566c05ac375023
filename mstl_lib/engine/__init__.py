"""Experiment engine: resumable, cached grids of (configuration, fold) tasks.

A chapter declares its protocol as data, a :class:`Grid`, and runs it with
:func:`run_grid`; every finished task is a record in a :class:`ResultsStore`.
See :mod:`.grid` for the key and the caching rules.

The names below are imported on first use, so that ``python -m mstl_lib runs``
(which needs only :mod:`.store`) starts without pandas or TensorFlow.
"""

import importlib

_HOMES = {
    "EXECUTORS": "executors",
    "Grid": "grid", "GridRun": "grid", "covering": "grid", "raise_on_failures": "grid", "run_grid": "grid",
    "select_tasks": "grid",
    "failures_frame": "records", "history_frame": "records", "load_records": "records",
    "predictions_frame": "records", "records_frame": "records", "gather": "records",
    "ChapterResults": "records", "collect": "records",
    "ResultsStore": "store",
    "DEFAULT_UNKEYED_CONTEXT": "task", "ERROR_KINDS": "task", "GridFailedError": "task", "Task": "task",
    "execute_task": "task",
}
__all__ = sorted(_HOMES)


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(f"mstl_lib.engine.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'mstl_lib.engine' has no attribute {name!r}")


def __dir__():
    return __all__
