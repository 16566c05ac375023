"""The measured time of every chapter, for the landing page.

``make book`` (``scripts/run_notebooks.py``) appends one line per executed
chapter to :func:`mstl_lib.paths.run_times_file`: its wall time, tasks trained,
from cache and failed, peak memory, profile and time budget. Before the book is
rendered, :func:`write_page` turns the latest runs into the Markdown table the
landing page includes, so the times it shows are this machine's, as measured.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path

from mstl_lib import atomic
from mstl_lib.engine.provenance import cpu_model
from mstl_lib.paths import run_times_file, run_times_page

NOT_MEASURED = ("No chapter has been timed on this machine yet: `make book` times every chapter and this "
                "table then shows the times.")


def record(chapter: dict, path: str | os.PathLike | None = None) -> None:
    """Append one chapter run (``name``, ``seconds``, ``trained``, ``cached``, ``failed``, ``peak_rss_mb``,
    ``ok``, ``profile``, ``budget_minutes``) with the time and this machine's CPU count."""
    path = Path(path) if path is not None else run_times_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {**chapter, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(), "machine": platform.machine(), "cpu_model": cpu_model()}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def read(path: str | os.PathLike | None = None) -> list[dict]:
    """Every recorded chapter run, oldest first (unreadable lines skipped)."""
    path = Path(path) if path is not None else run_times_file()
    runs = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                runs.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return runs


def latest(runs: Iterable[dict], profile: str) -> dict[str, dict]:
    """Per chapter, the latest successful run of ``profile`` that trained at least one task (or
    trained none because the chapter has none), else the latest successful run; in run order."""
    chosen: dict[str, dict] = {}
    for run in runs:
        if run.get("profile") != profile or not run.get("ok", True):
            continue
        name = run["name"]
        previous = chosen.get(name)
        computed = run.get("trained", 0) > 0 or run.get("cached", 0) == 0
        if previous is None or computed or not (previous.get("trained", 0) > 0 or previous.get("cached", 0) == 0):
            chosen[name] = run
    return chosen


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def table(runs: Iterable[dict], profile: str = "cpu") -> str:
    """The Markdown table of the latest runs of ``profile``, with each chapter's budget and a total."""
    chosen = latest(runs, profile)
    if not chosen:
        return NOT_MEASURED
    lines = ["| chapter | time | budget | tasks trained | from cache | failed | peak memory | when |",
             "|---|---|---|---|---|---|---|---|"]
    for run in chosen.values():
        budget = run.get("budget_minutes")
        over = budget is not None and run["seconds"] > 60 * budget
        lines.append(
            f"| {run['name']} | {_minutes(run['seconds'])} | "
            f"{'–' if budget is None else f'{budget:g} min'}{' (over)' if over else ''} | {run.get('trained', 0)} | "
            f"{run.get('cached', 0)} | {run.get('failed', 0)} | {run.get('peak_rss_mb', 0) / 1024:.1f} GB | "
            f"{run.get('finished', '')} |")
    total = sum(run["seconds"] for run in chosen.values())
    cpus = sorted({run.get("cpus") for run in chosen.values()} - {None})
    models = sorted({run.get("cpu_model") for run in chosen.values()} - {None})
    cached_only = [run["name"] for run in chosen.values() if run.get("trained", 0) == 0 and run.get("cached", 0) > 0]
    note = (f"\n\nProfile `{profile}`, {'/'.join(map(str, cpus)) or 'unknown'} CPU core(s) of "
            f"{' / '.join(models) or 'an unrecorded CPU model'}; the chapters' times add up to **{_minutes(total)}**.")
    if cached_only:
        note += (f" {', '.join(cached_only)} took every task from the results cache in its latest run, so "
                 "its time here is a cached rerun, not a computation.")
    return "\n".join(lines) + note


def write_page(profile: str = "cpu", runs_path=None, page_path=None) -> Path:
    """Write the landing page's table (:func:`table`) to :func:`mstl_lib.paths.run_times_page`."""
    page = Path(page_path) if page_path is not None else run_times_page()
    return atomic.write_text(page, table(read(runs_path), profile) + "\n")
