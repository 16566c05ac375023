"""Phases nest without counting twice, and a task's record carries its tally."""

from __future__ import annotations

import time

import pytest

from mstl_lib import timing


def test_nested_phases_add_up_to_the_wall_time_without_double_counting():
    timing.reset()
    start = time.perf_counter()
    with timing.phase("build"):
        time.sleep(0.02)
        with timing.phase("data"):
            time.sleep(0.03)
        time.sleep(0.01)
    wall = time.perf_counter() - start
    tally = timing.tally()
    assert set(tally) == {"build", "data"}
    assert tally["data"] >= 0.03 and tally["build"] >= 0.03
    assert tally["build"] + tally["data"] <= wall + 0.002


def test_timed_functions_count_every_call_and_move_shifts_time_between_phases():
    timing.reset()

    @timing.timed("predict")
    def score():
        time.sleep(0.005)

    for _ in range(3):
        score()
    assert timing.tally()["predict"] >= 0.015
    timing.move("predict", "tracing", 0.005)
    timing.move("predict", "steps", 99.0)  # never more than the source holds
    tally = timing.tally()
    assert "predict" not in tally and tally["tracing"] == pytest.approx(0.005, abs=1e-3)
    timing.reset()
    assert timing.tally() == {}


def test_an_unknown_phase_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown phase 'sleep'; the phases are process_start, imports"):
        with timing.phase("sleep"):
            pass
