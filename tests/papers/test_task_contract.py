"""Contract: every paper's tasks, run through the engine by its chapter's smoke run, return the metrics its report
reads."""

from __future__ import annotations

import pytest

from mstl_lib import engine, papers


@pytest.mark.slow
@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_task_returns_the_metrics_its_report_reads(key, smoke_notebooks):
    report = papers.module(key, "report")
    notebook = papers.module(key).PAPER.notebook
    smoke_notebooks.run(notebook)  # the chapter's own smoke run (every grid), which the smoke book renders
    store = engine.ResultsStore(smoke_notebooks.results_dir / notebook)
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
