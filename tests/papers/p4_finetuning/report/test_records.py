"""P4's report, ``records``: What P4's chapter reads back: the metrics it needs, the records, histories and predictions of its grids,"""

from __future__ import annotations

import pytest

from mstl_lib import engine
from mstl_lib.papers.p4_finetuning import protocol, report

from p4_report_helpers import IMAGENET, RANDOM


REQUESTED = {"used": "random", "requested": None, "description": "random initialisation (requested)"}


FILE = {"used": "file", "sha256": "ab", "requested": "w.h5", "description": "file w.h5 (sha256 ab…)"}


def _stored_task(config, fold, context):
    if config.get("fail"):
        raise RuntimeError("boom")
    n = 6
    return {"metrics": {m: 0.5 + 0.1 * fold for m in report.METRICS_READ},
            "predictions": {"row": list(range(n)), "y_true": [0, 1] * 3, "ft_score": [0.4] * n,
                            "svm_score": [0.6] * n},
            "history": {"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.9, 0.8]},
            "weights": {"ResNet50": RANDOM}}


def test_metrics_read_are_both_phases_and_c():
    names = (*protocol.PHASE_METRICS, *protocol.DIAGNOSTICS)
    expected = {f"{p}_{m}" for p in protocol.PHASES for m in names} | {"svm_c", "ft_pred_malignant_own_threshold"}
    assert set(report.METRICS_READ) == expected and len(report.METRICS_READ) == len(expected)


def test_collect_reads_every_grid_with_its_dataset_and_protocol(tmp_path):
    store = engine.ResultsStore(tmp_path / "results")
    configs = [{"backbone": "ResNet50", "trainable_pct": 15, "epochs": 3}]
    built = {
        "a": engine.Grid("p4-busi-none-x", configs, 2, _stored_task, context={"dataset": "busi", "grouping": "none"}),
        "b": engine.Grid("p4-ddti-case-x", configs + [{**configs[0], "trainable_pct": 0, "fail": True}], 1,
                         _stored_task, context={"dataset": "ddti", "grouping": "case"}),
    }
    for grid in built.values():
        engine.run_grid(grid, store, progress=False)
    results = report.collect(store, built)
    records = results.records
    assert len(records) == 4 and set(records["status"]) == {"done", "failed"}
    assert set(zip(records["dataset"], records["protocol"])) == {("busi", "none"), ("ddti", "case")}
    assert records.loc[records["status"] == "done", "still_improving"].all()
    assert (records.loc[records["status"] == "done", "epochs_run"] == 3).all()
    assert set(results.image_level["dataset"]) == {"busi"}
    assert len(results.predictions) == 3 * 6 and set(results.predictions["protocol"]) == {"none", "case"}
    assert results.weights == [RANDOM] * 3
    assert len(results.failures) == 1 and results.failures["dataset"].iloc[0] == "ddti"
    shown = report.failures_table(results)
    assert list(shown["error_message"]) == ["boom"] and "trainable_pct" in shown.columns
    assert "No task failed" in report.failures_table(report.Results(records)).data


def test_collect_of_nothing_is_empty(tmp_path):
    grid = engine.Grid("p4-busi-none-y", [{"backbone": "ResNet50", "trainable_pct": 0}], 1, _stored_task,
                       context={"dataset": "busi", "grouping": "none"})
    results = report.collect(engine.ResultsStore(tmp_path), {"g": grid})
    assert results.records.empty and results.image_level.empty and results.weights == []


@pytest.mark.parametrize(("used", "phrase"), [
    ([RANDOM], "no ImageNet weights on this machine"),
    ([REQUESTED, REQUESTED], "requested explicitly"),
    ([IMAGENET], "as in P4"),
    ([RANDOM, IMAGENET], "mixed"),
    ([FILE], "Not P4's ImageNet weights"),
    ([], "no finished task"),
])
def test_weights_caption(used, phrase):
    assert phrase in report.weights_caption(used)
