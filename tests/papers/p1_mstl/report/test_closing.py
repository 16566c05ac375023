"""P1's report, ``closing``: The closing note and the stored runtime of chapter 03."""

from __future__ import annotations

import pytest

from mstl_lib.engine.store import ResultsStore
from mstl_lib.papers.p1_mstl import report


def test_stored_runtime_sums_per_profile(tmp_path):
    class FakeStore:
        def experiments(self):
            return ["multistage_a-cpu", "multistage_b-cpu", "multistage_a-smoke", "other-cpu"]

        def records(self, experiment):
            return [{"wall_time_s": 60.0}, {"wall_time_s": 120.0}]

    table = report.stored_runtime(FakeStore()).set_index("profile")
    assert table.loc["cpu", "tasks"] == 4 and table.loc["cpu", "training_min"] == pytest.approx(6.0)
    assert table.loc["smoke", "experiments"] == 1 and "other" not in table.index
    assert report.stored_runtime(ResultsStore(tmp_path)).empty


@pytest.mark.parametrize(("ctl", "mstl", "direction"), [(0.6, 0.8, "above"), (0.8, 0.6, "below"), (0.7, 0.7, "level")])
def test_best_comparison_states_the_direction(records_factory, ctl, mstl, direction):
    ours = report.table1(records_factory(ctl=ctl, mstl=mstl, optimizers=("adagrad",)))
    sentence = report.best_comparison(ours)
    assert "99.00 ± 0.612 %" in sentence and f"points {direction}" in sentence
    assert "a direction, not a test" in sentence
    assert "no finished MSTL and CTL" in report.best_comparison(ours.query("tl == 'CTL'"))


def test_closing_note_counts_each_task_once(chapter):
    note = report.closing_note(chapter)
    keys = {r["key"] for name in chapter.grids for r in chapter.raw_records(name)}
    assert f"the {len(keys)} tasks" in note and "Best configuration, ResNet50-adagrad" in note
