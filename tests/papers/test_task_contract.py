"""Contract: every paper's tasks run through the engine on phantoms and return the metrics its report reads."""

from __future__ import annotations

import pytest

from mstl_lib import papers


@pytest.mark.slow
@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_task_returns_the_metrics_its_report_reads(key, phantom_chapters):
    report = papers.module(key, "report")
    store = phantom_chapters.store(key)  # grids.run_all under smoke on phantoms, shared with the paper's tests
    records = store.records()
    assert records, f"{key}: the smoke grids ran no task"
    assert {record["task"] for record in records} == set(report.METRICS_BY_TASK), (
        f"{key}: tasks run and tasks the report declares differ")
    for record in records:
        assert record["status"] == "done", record.get("error")
        expected = report.METRICS_BY_TASK[record["task"]]
        expected = expected(record["config"]) if callable(expected) else expected  # per record, by configuration
        missing = set(expected) - set(record["metrics"])
        assert not missing, f"{record['task']} does not return {sorted(missing)}, which {key}'s report reads"
