"""Grid progress as JSON lines: written only when asked, read back, ETA and totals."""

from __future__ import annotations

import pytest

from mstl_lib.engine import progress
from mstl_lib.engine.progress import ENV, ProgressLog, eta_seconds, read_events, summarize


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    log = ProgressLog("g", 3, 1)
    log.task_done(False)
    log.close()
    assert log.path is None and not list(tmp_path.iterdir())


def test_events_counts_and_totals(tmp_path, monkeypatch):
    path = tmp_path / "p.jsonl"
    monkeypatch.setenv(ENV, str(path))
    first = ProgressLog("a", 4, 1)
    first.task_done(False)
    first.task_done(True)
    first.close()
    second = ProgressLog("b", 2, 2)
    second.close()
    path.write_text(path.read_text() + '{"event": "ta')  # a half-written last line
    events = read_events(path)
    assert [e["event"] for e in events] == ["start", "task", "task", "end", "start", "end"]
    assert events[3] | {"elapsed_s": 0, "time": 0} == {"event": "end", "grid": "a", "total": 4, "cached": 1,
                                                       "trained": 1, "failed": 1, "elapsed_s": 0, "time": 0}
    assert summarize(events) == {"grids": 2, "trained": 1, "cached": 3, "failed": 1}


@pytest.mark.parametrize("trained, failed, elapsed, expected", [(0, 0, 5.0, None), (2, 0, 10.0, 15.0),
                                                                 (1, 1, 4.0, 6.0), (5, 0, 9.0, 0.0)])
def test_eta_from_the_mean_task_time(trained, failed, elapsed, expected):
    event = {"total": 6, "cached": 1, "trained": trained, "failed": failed, "elapsed_s": elapsed}
    assert eta_seconds(event) == expected


def test_two_runs_of_one_grid_name_both_count(tmp_path, monkeypatch):
    path = tmp_path / "p.jsonl"
    monkeypatch.setenv(ENV, str(path))
    first = ProgressLog("same", 3, 0)
    for _ in range(3):
        first.task_done(False)
    first.close()
    ProgressLog("same", 2, 2).close()  # a second grid of the same experiment, all from the cache
    assert summarize(read_events(path)) == {"grids": 2, "trained": 3, "cached": 2, "failed": 0}


def test_a_missing_file_has_no_events(tmp_path):
    assert read_events(tmp_path / "none.jsonl") == []


def test_the_chapter_event_names_the_settings_and_is_not_a_grid(tmp_path, monkeypatch):
    path = tmp_path / "p.jsonl"
    monkeypatch.setenv(progress.ENV, str(path))
    progress.chapter_event("multistage", "cpu", 15)
    log = progress.ProgressLog("g", total=2, cached=1)
    log.task_done(failed=False)
    events = progress.read_events(path)
    assert progress.chapter_of(events) == {**events[0], "chapter": "multistage", "profile": "cpu", "budget_minutes": 15}
    assert [e["event"] for e in progress.grid_events(events)] == ["start", "task"]
    assert progress.summarize(events) == {"grids": 1, "trained": 1, "cached": 1, "failed": 0}
    assert progress.chapter_of(progress.grid_events(events)) == {}


def test_the_first_chapter_event_is_the_pages_own(tmp_path):
    """A page that opens other chapters' run contexts (the scorecard) opens its own first."""
    path = tmp_path / "p.jsonl"
    progress.chapter_event("verdicts", "cpu", 2, path=path)
    progress.chapter_event("multistage", "cpu", 15, path=path)
    assert progress.chapter_of(progress.read_events(path))["chapter"] == "verdicts"
