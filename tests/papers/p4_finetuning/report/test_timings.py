"""P4's report, ``timings``: Where the time goes: task timings and the freeze-cache benchmark."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mstl_lib.paths import bench_dir
from mstl_lib.papers.p4_finetuning import report

from p4_report_helpers import bench_rows


def _raw(status="done", epochs=(3.0, 1.0, 1.2), cached=True):
    return {"status": status, "fold": 0, "wall_time_s": 9.0,
            "config": {"backbone": "ResNet50", "trainable_pct": 15},
            "context": {"dataset": "busi", "grouping": "none"},
            "extra": {"n_frozen": 149, "cached": cached, "cache_seconds": 0.5, "cache_bytes": 2_000_000,
                      "epoch_seconds": list(epochs), "svm_seconds": 0.1}}


def test_timing_frame_and_summary():
    timings = report.timing_frame([_raw(), _raw(epochs=(2.0,), cached=False), _raw(status="failed")])
    assert len(timings) == 2 and timings["dataset"].tolist() == ["BUSI", "BUSI"]
    assert timings["first_epoch_s"].tolist() == [3.0, 2.0] and timings["later_epoch_s"].iloc[0] == 1.1
    assert np.isnan(timings["later_epoch_s"].iloc[1]) and timings["cache_MB"].iloc[0] == 2.0
    summary = report.timing_summary(timings)
    assert summary.loc[("BUSI", "ResNet50", 15), "cached"] == 0.5
    assert report.timing_summary(report.timing_frame([])).empty


def test_benchmark_file_round_trip(isolated_dirs):
    assert report.benchmark_path() == bench_dir() / report.BENCHMARK_FILE
    assert report.load_benchmark() is None
    report.benchmark_path().parent.mkdir(parents=True)
    report.benchmark_path().write_text(json.dumps({"meta": {"summary": "64 images"}, "rows": bench_rows([(0, 12)])}))
    bench = report.load_benchmark()
    assert bench["speedup"].tolist() == [12] and bench.attrs["meta"]["summary"] == "64 images"


def test_benchmark_summary_says_whether_the_goal_is_met():
    met = pd.DataFrame(bench_rows([(0, 25.0), (15, 11.0), (50, 1.5)]))
    assert "is met: speedups 25.0x, 11.0x" in report.benchmark_summary(met)
    missed = pd.DataFrame(bench_rows([(0, 25.0), (15, 2.0)]))
    assert "not met everywhere" in report.benchmark_summary(missed)
    assert "has not been run" in report.benchmark_summary(None)
