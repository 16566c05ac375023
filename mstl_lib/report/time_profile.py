"""Where a book run's time went: one table per chapter, from the run's records.

Every task record carries ``timings``, its seconds per phase (:mod:`mstl_lib.timing`),
and ``wall_time_s``. A chapter's window is its executed notebook's start and end
(papermill writes them into the notebook's metadata); the tasks that started in
it are the ones that chapter trained. What the tasks do not account for is the
notebook's own time: the kernel's start, data tables, reports and figures.

``bench/time_profile.py`` prints the tables after ``make book``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mstl_lib.timing import PHASES

FIXED_PHASES = ("process_start", "imports", "build", "tracing")
"""Costs a task pays once, however long it trains."""


@dataclass
class ChapterWindow:
    """One executed chapter: its name and its start and end (POSIX seconds)."""

    name: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class ChapterProfile:
    """The seconds of one chapter, by phase, summed over the tasks it trained."""

    window: ChapterWindow
    tasks: int = 0
    task_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def outside_tasks(self) -> float:
        """The notebook's own time: kernel start, data, reports and figures (the chapter less its tasks)."""
        return max(0.0, self.window.seconds - self.task_seconds - self.phases.get("process_start", 0.0))

    def rows(self) -> list[tuple[str, str, float]]:
        """``(phase, kind, seconds)``: the fixed costs first, each group largest first, then the rest."""
        in_task = sum(v for k, v in self.phases.items() if k != "process_start")
        seconds = {**self.phases, "other": max(0.0, self.task_seconds - in_task), "notebook": self.outside_tasks}
        fixed = sorted(((k, "fixed", v) for k, v in seconds.items() if k in FIXED_PHASES), key=lambda r: -r[2])
        rest = sorted(((k, "per step" if k in PHASES else "chapter" if k == "notebook" else "per task", v)
                       for k, v in seconds.items() if k not in FIXED_PHASES), key=lambda r: -r[2])
        return [row for row in fixed + rest if row[2] > 0]


def notebook_window(path: str | Path) -> ChapterWindow | None:
    """The start and end of an executed notebook, from papermill's metadata; ``None`` when it has none."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
        start, end = meta.get("start_time"), meta.get("end_time")
        if not start or not end:
            return None
        return ChapterWindow(Path(path).stem, _posix(start), _posix(end))
    except (OSError, ValueError):
        return None


def _posix(stamp: str) -> float:
    """A record's or papermill's ISO time as POSIX seconds (papermill's carry no zone: they are UTC)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def profile_chapters(windows: Iterable[ChapterWindow], records: Iterable[dict]) -> list[ChapterProfile]:
    """Sum each chapter's trained records by phase; a record belongs to the window in which it started.

    Records from the cache (started before every window) are left out: they cost the run nothing.
    """
    profiles = [ChapterProfile(w) for w in sorted(windows, key=lambda w: w.start)]
    for record in records:
        if not record.get("started"):
            continue
        started = _posix(record["started"])
        chapter = next((p for p in profiles if p.window.start <= started <= p.window.end), None)
        if chapter is None:
            continue
        chapter.tasks += 1
        chapter.task_seconds += float(record.get("wall_time_s") or 0.0)
        for name, seconds in (record.get("timings") or {}).items():
            chapter.phases[name] = chapter.phases.get(name, 0.0) + float(seconds)
    return profiles


def format_profile(profile: ChapterProfile) -> str:
    """A plain-text table of one chapter: phase, kind, seconds, share of the chapter, seconds per task."""
    wall = profile.window.seconds
    lines = [f"{profile.window.name}: {wall:.0f} s, {profile.tasks} task(s) trained",
             f"  {'phase':<14} {'kind':<9} {'seconds':>8} {'share':>6} {'per task':>9}"]
    for name, kind, seconds in profile.rows():
        per_task = f"{seconds / profile.tasks:9.1f}" if profile.tasks and kind != "chapter" else f"{'':>9}"
        lines.append(f"  {name:<14} {kind:<9} {seconds:8.1f} {seconds / wall if wall else 0:6.1%} {per_task}")
    return "\n".join(lines)
