"""On-disk store of experiment records: one JSON file per task, written atomically.

Layout::

    <root>/<experiment>/<key>.json                 a record
    <root>/<experiment>/.<key>.json.<random>.partial   a write in progress
    <root>/<experiment>/<key>.json.corrupt-<time>  a record that failed to parse

The root is ``MSTL_RESULTS_DIR`` or ``<repo>/results`` (git-ignored).

A write goes to a temporary file in the record's folder (:mod:`mstl_lib.atomic`), which is
fsynced and renamed over the record (``os.replace`` is atomic on POSIX and
Windows), then the folder is fsynced. A reader therefore sees the old record
or the new one, never half of one, even if the writer is killed. Several
processes may write to one store at once; the last rename wins.

A record that does not parse, or lacks the required fields, is reported
(``warnings`` and ``logging``, naming the file), moved aside and treated as
missing, so that the engine recomputes it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mstl_lib import atomic
from mstl_lib.paths import results_dir
from mstl_lib.engine.provenance import jsonable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the record layout; records of another version are treated as corrupt."""

REQUIRED_FIELDS = ("schema", "key", "experiment", "status")
"""Fields without which a record is not trusted."""

STATUSES = ("done", "failed")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class CorruptRecordWarning(UserWarning):
    """A record file failed to parse or validate; it was moved aside."""


class AmbiguousKeyError(LookupError):
    """A key prefix matches more than one record."""


def default_results_dir() -> Path:
    """``MSTL_RESULTS_DIR`` if set, else ``<repo>/results``."""
    return results_dir()


def check_name(name: str, what: str = "experiment") -> str:
    """Return ``name`` if it is a safe folder / file name, else raise ``ValueError``."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".tmp", ".json")):
        raise ValueError(
            f"{what} name {name!r} must start with a letter or digit and contain only "
            "letters, digits, '_', '-' and '.'"
        )
    return name


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def validation_error(record: Any, key: str | None = None) -> str | None:
    """Why ``record`` is not a valid record (``None`` when it is).

    Parameters
    ----------
    record
        The parsed JSON.
    key
        The key its file name says it has.
    """
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    missing = [f for f in REQUIRED_FIELDS if f not in record]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    if record["schema"] != SCHEMA_VERSION:
        return f"schema version {record['schema']!r}, expected {SCHEMA_VERSION}"
    if record["status"] not in STATUSES:
        return f"unknown status {record['status']!r}"
    if key is not None and record["key"] != key:
        return f"holds key {record['key']!r}, not {key!r}"
    return None


class ResultsStore:
    """A folder of task records, grouped by experiment.

    Parameters
    ----------
    root
        The store's folder; default ``default_results_dir()``. Created on first write.

    Examples
    --------
    >>> store = ResultsStore("/tmp/results")            # doctest: +SKIP
    >>> store.write({"schema": 1, "key": "ab12", "experiment": "p1",
    ...              "status": "done", "metrics": {"auc": 0.9}})  # doctest: +SKIP
    >>> store.read("p1", "ab12")["metrics"]             # doctest: +SKIP
    {'auc': 0.9}
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_results_dir()

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.root)!r})"

    # ------------------------------------------------------------------ paths

    def folder(self, experiment: str) -> Path:
        """Folder of one experiment's records."""
        return self.root / check_name(experiment)

    def path(self, experiment: str, key: str) -> Path:
        """File of one record."""
        return self.folder(experiment) / f"{check_name(key, 'key')}.json"

    # ------------------------------------------------------------------ write

    def write(self, record: dict) -> Path:
        """Write ``record`` atomically and return its path.

        Parameters
        ----------
        record
            Must hold ``experiment``, ``key`` and ``status``; ``schema`` is
            filled in. NumPy values are converted; NaN is kept.

        Returns
        -------
        pathlib.Path
        """
        record = {"schema": SCHEMA_VERSION, **jsonable(record, strict=False)}
        problem = validation_error(record)
        if problem:
            raise ValueError(f"refusing to write an invalid record: {problem}")
        final = self.path(record["experiment"], record["key"])
        final.parent.mkdir(parents=True, exist_ok=True)
        return atomic.write_text(final, json.dumps(record, allow_nan=True, separators=(",", ":")), durable=True)

    # ------------------------------------------------------------------ read

    def read(self, experiment: str, key: str) -> dict | None:
        """The record, or ``None`` when it is missing or corrupt (then moved aside)."""
        return self._load(self.path(experiment, key), key)

    def _load(self, path: Path, key: str | None) -> dict | None:
        try:
            identity = path.stat().st_ino
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(data.decode("utf-8"))
            problem = validation_error(record, key)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            problem = f"does not parse ({exc})"
        if problem is None:
            return record
        self._quarantine(path, identity, problem)
        return None

    def _quarantine(self, path: Path, identity: int, problem: str) -> None:
        """Report a corrupt record and move it aside (unless it was rewritten meanwhile)."""
        aside = path.with_name(f"{path.name}.corrupt-{_timestamp()}")
        try:
            if path.stat().st_ino == identity:
                os.replace(path, aside)
        except FileNotFoundError:  # another process moved or replaced it first
            pass
        message = f"corrupt record {path}: {problem}; moved to {aside.name}, it will be recomputed"
        log.warning(message)
        warnings.warn(message, CorruptRecordWarning, stacklevel=3)

    # ------------------------------------------------------------------ listing

    def experiments(self) -> list[str]:
        """Names of the experiments with a folder in the store, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def keys(self, experiment: str) -> list[str]:
        """Keys of one experiment's record files, sorted (contents not checked)."""
        folder = self.folder(experiment)
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))

    def records(self, experiment: str | None = None, status: str | None = None) -> list[dict]:
        """Valid records of one experiment (or all), optionally of one status.

        Sorted by experiment, then by the task's position in its grid, then key.
        """
        names = [experiment] if experiment is not None else self.experiments()
        out = []
        for name in names:
            for key in self.keys(name):
                record = self.read(name, key)
                if record is not None and (status is None or record["status"] == status):
                    out.append(record)
        return sorted(out, key=lambda r: (r["experiment"], r.get("index", 0), r["key"]))

    def iter_paths(self, experiment: str | None = None) -> Iterator[tuple[str, str, Path]]:
        """``(experiment, key, path)`` of every record file."""
        for name in [experiment] if experiment is not None else self.experiments():
            for key in self.keys(name):
                yield name, key, self.path(name, key)

    def find(self, prefix: str) -> dict | None:
        """The record whose key starts with ``prefix``, in any experiment.

        Returns
        -------
        dict or None
            ``None`` when nothing matches.

        Raises
        ------
        AmbiguousKeyError
            When several records match.
        """
        matches = [(name, key) for name, key, _ in self.iter_paths() if key.startswith(prefix)]
        if len(matches) > 1:
            listed = ", ".join(f"{name}/{key}" for name, key in matches[:10])
            raise AmbiguousKeyError(f"key prefix {prefix!r} matches {len(matches)} records: {listed}")
        if not matches:
            return None
        return self.read(*matches[0])

    def corrupt_files(self, experiment: str | None = None) -> list[Path]:
        """Record files that were moved aside as corrupt."""
        names = [experiment] if experiment is not None else self.experiments()
        return sorted(p for name in names for p in self.folder(name).glob("*.json.corrupt-*"))

    # ------------------------------------------------------------------ removal

    def clear(self, experiment: str) -> int:
        """Delete an experiment's folder (records, temporaries, corrupt files).

        Returns
        -------
        int
            Number of record files removed.
        """
        folder = self.folder(experiment)
        if not folder.is_dir():
            return 0
        n = len(self.keys(experiment))
        shutil.rmtree(folder)
        return n

    def remove_stale_temporaries(self, experiment: str, max_age_s: float = 3600.0) -> int:
        """Delete temporary files left by writers killed mid-write.

        Only files older than ``max_age_s`` are removed, so the writes of a
        concurrent run (which last milliseconds) are never touched.
        """
        folder = self.folder(experiment)
        if not folder.is_dir():
            return 0
        now, n = time.time(), 0
        for tmp in [*folder.glob(".*.partial"), *folder.glob(".*.tmp")]:  # .tmp: written before 0.x
            try:
                if now - tmp.stat().st_mtime > max_age_s:
                    tmp.unlink()
                    n += 1
            except FileNotFoundError:
                pass
        return n
