"""A run's records add up to per-chapter phase tables, each record counted in the chapter it started in."""

from __future__ import annotations

import json

import pytest

from mstl_lib.report.time_profile import ChapterWindow, format_profile, notebook_window, profile_chapters


def record(started: str, wall: float, **timings) -> dict:
    return {"started": started, "wall_time_s": wall, "timings": timings}


def test_records_fall_into_the_chapter_they_started_in_and_cached_ones_cost_nothing():
    t0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    windows = [ChapterWindow("03_multistage", t0, t0 + 100), ChapterWindow("04_finetuning_svm", t0 + 100, t0 + 300)]
    records = [
        record("2027-01-15T08:00:10.000+00:00", 40.0, process_start=5.0, imports=3.0, build=4.0, steps=20.0),
        record("2027-01-15T08:00:55.000+00:00", 30.0, process_start=0.5, build=4.0, tracing=6.0, steps=15.0),
        record("2027-01-15T08:02:00.000+00:00", 50.0, steps=45.0, predict=2.0),
        record("2027-01-15T07:00:00.000+00:00", 99.0, steps=99.0),  # from the cache: an earlier run
    ]
    first, second = profile_chapters(windows, records)
    assert (first.tasks, second.tasks) == (2, 1)
    rows = {name: (kind, seconds) for name, kind, seconds in first.rows()}
    assert rows["process_start"] == ("fixed", 5.5) and rows["build"] == ("fixed", 8.0)
    assert rows["other"] == ("per task", pytest.approx(70 - 52))  # wall less the phases inside tasks
    assert rows["notebook"] == ("chapter", pytest.approx(100 - 70 - 5.5))
    kinds = [kind for _, kind, _ in first.rows()]
    assert kinds[: kinds.count("fixed")] == ["fixed"] * kinds.count("fixed")  # fixed costs first
    fixed = [s for _, kind, s in first.rows() if kind == "fixed"]
    assert fixed == sorted(fixed, reverse=True)
    assert sum(s for _, _, s in first.rows()) == pytest.approx(100)  # every second of the chapter, once
    text = format_profile(second)
    assert text.splitlines()[0] == "04_finetuning_svm: 200 s, 1 task(s) trained" and "steps" in text


def test_the_window_is_read_from_papermills_metadata(tmp_path):
    path = tmp_path / "05_breakhis.ipynb"
    path.write_text(json.dumps({"metadata": {"papermill": {"start_time": "2027-01-15T08:00:00.5",
                                                             "end_time": "2027-01-15T08:04:10.5"}}}))
    window = notebook_window(path)
    assert window.name == "05_breakhis" and window.seconds == pytest.approx(250.0)
    assert window.start == 1_800_000_000.5  # papermill's times carry no zone: they are UTC
    path.write_text(json.dumps({"metadata": {}}))
    assert notebook_window(path) is None
    assert notebook_window(tmp_path / "missing.ipynb") is None
