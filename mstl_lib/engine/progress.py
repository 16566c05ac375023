"""Grid progress as JSON lines, for a terminal outside the notebook.

A notebook's kernel cannot print to the terminal that runs ``make book``, and
whatever it prints would end up in the book. So :func:`run_grid` appends one
JSON line per event to the file named by ``MSTL_PROGRESS_FILE`` (when set), and
``scripts/run_notebooks.py`` follows that file and draws the bars: grid, tasks
done of total, cached, failed, ETA. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENV = "MSTL_PROGRESS_FILE"


def chapter_event(name: str, profile: str, budget_minutes: float | None,
                  path: str | os.PathLike | None = None) -> None:
    """Say which chapter (settings name), profile and time budget a notebook runs under."""
    target = path if path is not None else os.environ.get(ENV)
    if not target:
        return
    line = {"event": "chapter", "chapter": name, "profile": profile, "budget_minutes": budget_minutes,
            "time": time.time()}
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def grid_events(events: list[dict]) -> list[dict]:
    """The grid events of a progress file (without the chapter event)."""
    return [e for e in events if "grid" in e]


def chapter_of(events: list[dict]) -> dict:
    """The notebook's chapter event (``chapter``, ``profile``, ``budget_minutes``); ``{}`` when none was written."""
    return next((e for e in events if e.get("event") == "chapter"), {})


class ProgressLog:
    """Appends the events of one grid run to ``$MSTL_PROGRESS_FILE``."""

    def __init__(self, grid: str, total: int, cached: int, path: str | os.PathLike | None = None):
        target = path if path is not None else os.environ.get(ENV)
        self.path = Path(target) if target else None
        self.grid, self.total, self.cached = grid, int(total), int(cached)
        self.trained = self.failed = 0
        self.started = time.perf_counter()
        self._write("start")

    def _write(self, event: str) -> None:
        if self.path is None:
            return
        line = {"event": event, "grid": self.grid, "total": self.total, "cached": self.cached,
                "trained": self.trained, "failed": self.failed, "elapsed_s": round(time.perf_counter() - self.started, 2),
                "time": time.time()}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def task_done(self, failed: bool) -> None:
        """One pending task finished (trained or failed)."""
        self.trained += 0 if failed else 1
        self.failed += 1 if failed else 0
        self._write("task")

    def close(self) -> None:
        """The grid run ended."""
        self._write("end")


def read_events(path: str | os.PathLike) -> list[dict]:
    """Every complete event in a progress file (a half-written last line is skipped)."""
    events = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return events
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def eta_seconds(event: dict) -> float | None:
    """Seconds left for a grid, from its mean time per trained task so far; ``None`` before the first."""
    done = event["trained"] + event["failed"]
    left = event["total"] - event["cached"] - done
    if done == 0:
        return None
    return max(left, 0) * event["elapsed_s"] / done


def summarize(events: list[dict]) -> dict:
    """Tasks trained, from cache and failed over every grid run of the events.

    A grid may run more than once (two grids of one experiment name, or a rerun):
    each ``start`` event opens a new run, whose last event counts.
    """
    runs = []
    for event in grid_events(events):
        if event["event"] == "start" or not runs:
            runs.append(event)
        else:
            runs[-1] = event
    return {"grids": len(runs), "trained": sum(e["trained"] for e in runs),
            "cached": sum(e["cached"] for e in runs), "failed": sum(e["failed"] for e in runs)}
