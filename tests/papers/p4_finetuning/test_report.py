"""What P4's page shows: tables beside P4's, figures, and sentences that follow from the numbers.

The prose functions get small synthetic record frames whose direction is known,
and must say it, or say that it does not follow.
"""

from __future__ import annotations

import json
import re

import jupytext
import numpy as np
import pandas as pd
import pytest

from mstl_lib import engine
from mstl_lib.data.sources import REAL, DataSource
from mstl_lib.paths import REPO_ROOT, bench_dir
from mstl_lib.papers.p4_finetuning import PAPER, protocol, report

RANDOM = {"used": "random", "requested": "auto",
          "description": "random initialisation (ImageNet weights unavailable: offline; random initialisation)"}
IMAGENET = {"used": "imagenet", "file": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "sha256": "ab",
            "requested": "auto", "description": "ImageNet (resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5)"}
REQUESTED = {"used": "random", "requested": None, "description": "random initialisation (requested)"}
FILE = {"used": "file", "sha256": "ab", "requested": "w.h5", "description": "file w.h5 (sha256 ab…)"}


def make_records(values: dict, dataset: str = "busi", grouping: str = "none", epochs: int = 2,
                 still_improving: bool = False, svm_c: float = 1.0, degenerate: bool = False) -> pd.DataFrame:
    """Records like :func:`report.collect`'s: ``values[(backbone, pct)] = [(ft_auc, svm_auc) per fold]``.

    Every metric of a phase takes that phase's value; ``degenerate`` makes the FT head
    predict all 20 test images malignant with scores in [0.9, 0.95].
    """
    rows = []
    for (backbone, pct), folds in values.items():
        for fold, (ft, svm) in enumerate(folds):
            row = {"experiment": f"p4-{dataset}-{grouping}-cpu", "key": f"{dataset}{grouping}{backbone}{pct}{fold}",
                   "index": 0, "fold": fold, "status": "done", "backbone": backbone, "trainable_pct": pct,
                   "image_size": 75, "epochs": epochs, "batch_size": 16, "learning_rate": 1e-4,
                   "svm_c": svm_c, "wall_time_s": 1.0, "dataset": dataset, "protocol": grouping,
                   "epochs_run": epochs, "still_improving": still_improving}
            for phase, value in (("ft", ft), ("svm", svm)):
                for metric in protocol.PHASE_METRICS:
                    row[f"{phase}_{metric}"] = value
                collapsed = degenerate and phase == "ft"
                row.update({f"{phase}_balanced_accuracy": 0.5 if collapsed else value,
                            f"{phase}_pred_benign": 0 if collapsed else 10,
                            f"{phase}_pred_malignant": 20 if collapsed else 10,
                            f"{phase}_score_min": 0.9 if collapsed else 0.05,
                            f"{phase}_score_max": 0.95 if collapsed else 0.95,
                            f"{phase}_degenerate": float(collapsed)})
            rows.append(row)
    return pd.DataFrame(rows)


def test_metrics_read_are_both_phases_and_c():
    names = (*protocol.PHASE_METRICS, *protocol.DIAGNOSTICS)
    expected = {f"{p}_{m}" for p in protocol.PHASES for m in names} | {"svm_c", "ft_pred_malignant_own_threshold"}
    assert set(report.METRICS_READ) == expected and len(report.METRICS_READ) == len(expected)


# ----------------------------------------------------------------- collect and failures


def _stored_task(config, fold, context):
    if config.get("fail"):
        raise RuntimeError("boom")
    n = 6
    return {"metrics": {m: 0.5 + 0.1 * fold for m in report.METRICS_READ},
            "predictions": {"row": list(range(n)), "y_true": [0, 1] * 3, "ft_score": [0.4] * n,
                            "svm_score": [0.6] * n},
            "history": {"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.9, 0.8]},
            "weights": {"ResNet50": RANDOM}}


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


# ----------------------------------------------------------------- weights and verdicts


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


@pytest.mark.parametrize(("values", "status"), [
    ([], "no data"), ([0.1], "one fold"), ([0.10, 0.11, 0.09, 0.10], "follows"),
    ([0.1, -0.1, 0.05], "within noise"), ([0.2, 0.2], "follows"), ([0.0, 0.0], "within noise"),
    ([0.1, np.nan], "one fold"),
])
def test_verdict(values, status):
    mean, found = report.verdict(values)
    assert found == status
    if values and status != "no data":
        assert mean == pytest.approx(np.nanmean(values))


# ----------------------------------------------------------------- Table 1 and DDTI


def test_table1_counts_beside_p4():
    tables = {"busi": pd.DataFrame({"target": [0] * 3 + [1] * 1, "data_kind": "real"}),
              "ddti": pd.DataFrame({"target": [0] * 1 + [1] * 3, "data_kind": "phantom"})}
    t1 = report.table1(tables)
    assert list(t1.index) == ["BUSI", "DDTI"]
    assert t1.loc["BUSI", ["ours_benign", "ours_malignant", "ours_total"]].tolist() == [3, 1, 4]
    assert t1.loc["DDTI", "data"] == "phantom" and t1.loc["DDTI", "ours_malignant_share"] == 0.75
    assert t1.loc["DDTI", ["paper_benign", "paper_malignant"]].tolist() == [49, 399]
    assert t1.loc["BUSI", "paper_malignant_share"] == pytest.approx(210 / 647, abs=1e-3)


def test_tirads_table_of_ddti_only(phantom_dir):
    ddti = DataSource("ddti", "train", REAL, str(phantom_dir / "ddti"))
    tirads = report.tirads_table(ddti)
    scored = [t for t in tirads.index if t != "none"]
    assert scored == [t for t in report.TIRADS_ORDER if t in scored]  # TIRADS order
    assert set(tirads.loc[[t for t in scored if t in ("2", "3")], "label"]) <= {"benign"}
    assert report.tirads_table(ddti.to_dict()).equals(tirads)
    assert report.tirads_table(DataSource("busi", "train", REAL, str(phantom_dir / "busi"))) is None
    assert report.tirads_table(None) is None


def _tirads(counts):
    labels = ["benign", "benign", "malignant", "malignant", "malignant", "malignant"]
    return pd.DataFrame({"images": counts, "cases": counts, "label": labels}, index=list(report.TIRADS_ORDER))


def test_ddti_note_says_whether_a_threshold_reproduces_p4():
    assert "reproduces P4's counts exactly" in report.ddti_note(_tirads([20, 29, 100, 100, 100, 99]))
    text = report.ddti_note(_tirads([67, 35, 117, 92, 93, 66]))
    assert "No TIRADS threshold" in text and "67 / 403" in text and "TIRADS 2 alone has 67" in text
    assert "P4's is the more skewed" in text  # 89 % vs 78 % malignant
    assert "at least as skewed" in report.ddti_note(_tirads([1, 1, 100, 100, 100, 99]))
    assert "not used" in report.ddti_note(None)


# ----------------------------------------------------------------- Table 2


@pytest.fixture(scope="module")
def layer_counts():
    """Layer counts of the five built Keras backbones (random weights)."""
    pytest.importorskip("keras")
    return report.keras_layer_counts()


def test_keras_layer_counts_equal_table2_and_table2_matches(layer_counts):
    assert layer_counts == {b: protocol.total_layers(b) for b in protocol.BACKBONES}
    t2 = report.table2(layer_counts)
    assert t2["matches"].all() and len(t2) == 35
    assert (t2["engine_frozen"] == t2["frozen_layers"]).all()


def test_table2_raises_when_a_count_differs():
    counts = {b: protocol.total_layers(b) for b in protocol.BACKBONES}
    assert len(report.table2({"ResNet50": counts["ResNet50"]})) == 7  # only the backbones counted
    with pytest.raises(protocol.Table2Mismatch, match="ResNet50"):
        report.table2({**counts, "ResNet50": 176})


def test_table2_wide_and_rounding_misses():
    t2 = report.table2({b: protocol.total_layers(b) for b in protocol.BACKBONES})
    wide = report.table2_wide(t2)
    assert wide.shape == (7, 5) and list(wide.columns) == list(protocol.BACKBONES)
    assert wide.loc[15, "ResNet50"] == 149 and wide.loc[100].eq(0).all()
    misses = report.rounding_misses(t2)
    assert list(zip(misses["backbone"], misses["trainable_pct"])) == [("VGG19", 25), ("VGG19", 85)]


# ----------------------------------------------------------------- Table 3


def test_table3_means_sds_and_p4s_values():
    records = make_records({("ResNet50", 15): [(0.6, 0.7), (0.8, 0.9)], ("ResNet50", 0): [(0.5, 0.5), (0.5, 0.7)]})
    failed = make_records({("ResNet50", 15): [(0.0, 0.0)]}).assign(status="failed")
    t3 = report.table3(pd.concat([records, failed], ignore_index=True))
    assert list(t3.index) == [("BUSI", "ResNet50", 0), ("BUSI", "ResNet50", 15)]
    row = t3.loc[("BUSI", "ResNet50", 15)]
    assert row["folds"] == 2 and row["ft_auc_ours"] == pytest.approx(0.7) and row["svm_auc_ours"] == pytest.approx(0.8)
    assert row["ft_auc_sd"] == pytest.approx(0.141, abs=1e-3)
    assert (row["ft_auc_paper"], row["svm_auc_paper"]) == (0.87, 0.98)  # P4, Table 3, BUSI ResNet50 15 %
    assert row["svm_auc_diff"] == pytest.approx(0.8 - 0.98, abs=1e-3)
    assert (row["ft_degenerate"], row["svm_degenerate"]) == (0, 0)
    collapsed = report.table3(make_records({("ResNet50", 15): [(0.5, 0.6)] * 3}, degenerate=True))
    assert collapsed[["ft_degenerate", "svm_degenerate"]].iloc[0].tolist() == [3, 0]
    assert report.table3(records.iloc[:0]).empty


def test_auc_vs_depth_one_panel_per_dataset():
    records = pd.concat([make_records({("ResNet50", p): [(0.6, 0.7)] for p in (0, 15)}),
                         make_records({("ResNet50", p): [(0.6, 0.7)] for p in (0, 15)}, dataset="ddti")])
    fig = report.auc_vs_depth(report.table3(records))
    assert [ax.get_title() for ax in fig.axes] == ["BUSI", "DDTI"]
    assert len(fig.axes[0].lines) == 3  # FT, FT-SVM, P4's FT-SVM


def _cells(ft_svm_by_fold, pcts=(0, 15, 50)):
    return {("ResNet50", p): ft_svm_by_fold(p) for p in pcts}


def test_reading_table3_one_fold_random_short_budget():
    records = make_records(_cells(lambda p: [(0.6, 0.7)]), epochs=2, still_improving=True)
    text = report.reading_table3(records, [RANDOM])
    assert "random initialisation here" in text and "3 thing(s)" in text
    assert "still falling at the last epoch in 3 of 3" in text and "one fold per cell" in text
    assert "higher than the FT AUC by 0.100" in text and "does not follow" in text


def test_reading_table3_p4s_protocol_and_a_clear_svm_advantage():
    rng = np.random.default_rng(0)
    records = make_records(_cells(lambda p: [(0.6 + 0.01 * f, 0.8 + 0.01 * f + 0.001 * rng.random())
                                             for f in range(5)]), epochs=30)
    text = report.reading_table3(records, [IMAGENET])
    assert "follows P4's protocol" in text and "higher" in text
    assert "so the direction follows" in text and "does not follow" not in text


def test_reading_table3_noisy_or_reversed_difference():
    noisy = make_records(_cells(lambda p: [(0.6, 0.7), (0.7, 0.6), (0.6, 0.62)]), epochs=1)
    text = report.reading_table3(noisy, [RANDOM])
    assert "the direction does not follow" in text and "cannot be told" in text
    lower = make_records(_cells(lambda p: [(0.8, 0.6), (0.81, 0.6), (0.8, 0.61)]), epochs=30)
    assert "lower than the FT AUC" in report.reading_table3(lower, [IMAGENET])
    assert "No finished task" in report.reading_table3(lower.iloc[:0], [])


def test_reading_table3_gives_no_verdict_with_degenerate_folds():
    clear = _cells(lambda p: [(0.6 + 0.01 * f, 0.8 + 0.01 * f) for f in range(5)])
    text = report.reading_table3(make_records(clear, epochs=30, degenerate=True), [IMAGENET])
    assert "no verdict is given" in text and "so the direction follows" not in text


def test_degenerate_note_counts_collapsed_tasks_per_head():
    clean = report.degenerate_note(make_records({("ResNet50", 15): [(0.6, 0.7)] * 2}))
    assert "FT: 0 of 2 task(s) degenerate, 50% of test images predicted malignant" in clean
    assert "No task collapsed" in clean
    collapsed = report.degenerate_note(make_records({("ResNet50", 15): [(0.5, 0.7)] * 2}, degenerate=True))
    assert "FT: 2 of 2 task(s) degenerate, 100% of test images predicted malignant, median score span 0.05" in collapsed
    assert "FT-SVM: 0 of 2" in collapsed and "balanced accuracy or AUC is the number to read" in collapsed
    some = pd.concat([make_records({("ResNet50", 15): [(0.5, 0.7)]}, degenerate=True),
                      make_records({("ResNet50", 0): [(0.5, 0.7)] * 3})])
    assert "Some tasks collapsed" in report.degenerate_note(some)
    assert "No finished task" in report.degenerate_note(some.iloc[:0])


# ----------------------------------------------------------------- Table 4 and the figures


def test_table4_at_15_percent_beside_p4():
    records = pd.concat([make_records({("ResNet50", 15): [(0.6, 0.7), (0.8, 0.9)]}, svm_c=10.0),
                         make_records({("ResNet50", 0): [(0.1, 0.1)]})])
    records.loc[records.index[0], "svm_c"] = 1.0
    records.loc[records.index[1], "svm_c"] = 10.0
    t4 = report.table4(pd.concat([records, make_records({("ResNet50", 15): [(0.5, 0.5)]}, svm_c=10.0)
                                  .assign(fold=2)], ignore_index=True))
    assert list(t4.index.get_level_values("metric")) == ["accuracy", "balanced_accuracy", "precision",
                                                         "sensitivity", "svm_c"]
    assert np.isnan(t4.loc[("BUSI", "ResNet50", "balanced_accuracy"), "ft_paper"])  # not in P4
    accuracy = t4.loc[("BUSI", "ResNet50", "accuracy")]
    assert accuracy["ft_ours"] == pytest.approx((0.6 + 0.8 + 0.5) / 3, abs=1e-4)
    assert accuracy["ft_paper"] == pytest.approx(0.8887)
    c = t4.loc[("BUSI", "ResNet50", "svm_c")]
    assert c["svm_ours"] == 10.0 and np.isnan(c["svm_diff"]) and np.isnan(c["ft_ours"])  # the C chosen most often


def _predictions(datasets=("busi",), backbones=("ResNet50", "InceptionV3"), pct=15):
    rng = np.random.default_rng(0)
    parts = []
    for dataset in datasets:
        for backbone in backbones:
            y = np.tile([0, 1], 10)
            parts.append(pd.DataFrame({"dataset": dataset, "protocol": "none", "backbone": backbone,
                                       "trainable_pct": pct, "fold": 0, "y_true": y,
                                       "ft_score": np.clip(y * 0.3 + rng.random(20) * 0.7, 0, 1),
                                       "svm_score": np.clip(y * 0.5 + rng.random(20) * 0.5, 0, 1)}))
    return pd.concat(parts, ignore_index=True)


def test_confusion_and_roc_one_row_per_key():
    fig = report.confusion_and_roc(_predictions(), "title")
    assert len(fig.axes) == 2 * 3 and fig.axes[0].get_title() == "ResNet50 FT"
    image = fig.axes[0].images[0].get_array()
    assert image.sum() == 20  # every test image once in the confusion matrix


def test_confusion_figure_picks_the_strategy_and_backbones():
    predictions = pd.concat([_predictions(("busi", "ddti")), _predictions(pct=0),
                             _predictions(backbones=("VGG16",))], ignore_index=True)
    fig = report.confusion_figure(predictions)
    assert len(fig.axes) == 4 * 3 and fig.axes[0].get_title() == "BUSI ResNet50 FT"
    assert "No finished task" in report.confusion_figure(predictions, strategy=85).data
    assert "No finished task" in report.confusion_figure(pd.DataFrame()).data


# ----------------------------------------------------------------- grouped folds


def _grouped(case_svm_by_fold, none_svm_by_fold):
    return pd.concat([
        make_records({("ResNet50", 15): [(0.6, s) for s in none_svm_by_fold], ("ResNet50", 0): [(0.5, 0.5)]},
                     dataset="ddti"),
        make_records({("ResNet50", 15): [(0.6, s) for s in case_svm_by_fold]}, dataset="ddti", grouping="case"),
    ], ignore_index=True)


def test_grouping_comparison_and_differences():
    records = _grouped([0.7], [0.9])
    comparison = report.grouping_comparison(records)
    assert list(comparison.index) == [("DDTI", "ResNet50", 15, "case"), ("DDTI", "ResNet50", 15, "none")]
    assert report.grouping_comparison(records, strategies=[0]).empty
    wide = report.grouping_differences(comparison)
    assert wide.loc[("DDTI", "ResNet50", 15), "case_minus_none"] == pytest.approx(-0.2)
    assert report.grouping_differences(comparison.iloc[:0]).empty


def test_grouping_paragraph_says_what_follows():
    one_fold = report.grouping_paragraph(_grouped([0.7], [0.9]))
    assert "FT-SVM AUC -0.200" in one_fold and "does not follow" in one_fold
    clear = report.grouping_paragraph(_grouped([0.70, 0.71, 0.69], [0.90, 0.91, 0.89]))
    assert "grouping lowers the FT-SVM AUC" in clear
    raised = report.grouping_paragraph(_grouped([0.95, 0.96, 0.94], [0.70, 0.71, 0.69]))
    assert "grouping raises" in raised
    assert "No grouped protocol" in report.grouping_paragraph(make_records({("ResNet50", 15): [(0.5, 0.5)]}))


# ----------------------------------------------------------------- timings and the benchmark


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


def _bench_rows(speedups):
    return [{"backbone": "ResNet50", "trainable_pct": pct, "n_frozen": protocol.frozen_layers("ResNet50", pct),
             "naive_epoch_s": 2.0, "cached_epoch_s": 2.0 / s, "speedup": s, "cache_s": 1.0,
             "naive_peak_MB": 900.0, "cached_peak_MB": 800.0} for pct, s in speedups]


def test_benchmark_file_round_trip(isolated_dirs):
    assert report.benchmark_path() == bench_dir() / report.BENCHMARK_FILE
    assert report.load_benchmark() is None
    report.benchmark_path().parent.mkdir(parents=True)
    report.benchmark_path().write_text(json.dumps({"meta": {"summary": "64 images"}, "rows": _bench_rows([(0, 12)])}))
    bench = report.load_benchmark()
    assert bench["speedup"].tolist() == [12] and bench.attrs["meta"]["summary"] == "64 images"


def test_benchmark_summary_says_whether_the_goal_is_met():
    met = pd.DataFrame(_bench_rows([(0, 25.0), (15, 11.0), (50, 1.5)]))
    assert "is met: speedups 25.0x, 11.0x" in report.benchmark_summary(met)
    missed = pd.DataFrame(_bench_rows([(0, 25.0), (15, 2.0)]))
    assert "not met everywhere" in report.benchmark_summary(missed)
    assert "has not been run" in report.benchmark_summary(None)


# ----------------------------------------------------------------- the closing note


def test_closing_note_with_one_fold_claims_nothing():
    records = make_records(_cells(lambda p: [(0.6, 0.9 if p == 15 else 0.7)]))
    text = report.closing_note(records, [RANDOM])
    assert "random initialisation" in text
    assert "best FT-SVM AUC 0.900 at 15 %" in text and "does not follow" in text
    assert "for 1 of 1 (dataset, backbone) pair(s), clearly (beyond fold noise) for 0" in text
    assert "not confirmed by this run" in text
    assert "P4 0.87 / 0.98" in text  # BUSI, ResNet50, 15 %


def test_closing_note_with_folds_that_decide():
    records = make_records(_cells(lambda p: [(0.6, (0.9 if p == 15 else 0.7) + 0.01 * f) for f in range(4)]))
    bench = pd.DataFrame(_bench_rows([(0, 20.0), (15, 3.0)]))
    grouped = make_records({("ResNet50", 15): [(0.6, 0.7)]}, grouping="case")
    text = report.closing_note(pd.concat([records, grouped], ignore_index=True), [IMAGENET], bench)
    assert "clearly (beyond fold noise) for 1" in text and "not confirmed" not in text
    assert "the SVM head beats the MLP head" in text and "so the direction follows" in text
    assert "`case` minus image-level folds" in text and "not met everywhere" in text
    assert "not checked" in report.closing_note(records.iloc[:0], [])


# ----------------------------------------------------------------- the chapter


def test_the_chapter_is_thin_and_runs_in_the_books_smoke_test():
    """The page reads like the paper: library calls only, results in words from this module.

    (It replaces the old always-skipped smoke run: ``_toc.yml`` lists the chapter, so
    ``tests/test_notebooks.py`` runs it under ``smoke``.)
    """
    toc = (REPO_ROOT / "_toc.yml").read_text()
    assert f"build/notebooks/{PAPER.notebook}" in toc
    notebook = jupytext.read(REPO_ROOT / "notebooks" / f"{PAPER.notebook}.py")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    namespace: dict = {}
    exec(code[0].source, namespace)  # noqa: S102 - our own notebook source
    assert {k for k in namespace if not k.startswith("__")} == {
        "profile", "data_dir", "weights", "seed", "executor", "scheduler", "verbose"}
    body = "\n".join(c.source for c in code[1:])
    assert "start_run(CHAPTER" in body and body.index("p4_grids.build(") < body.index("run.banner()")
    for forbidden in (r"\bassert\b", r"\bplt\.", r"matplotlib", r"\bf\"", r"\bf'", r"\bfor\b", r"\bif\b",
                      r"engine\.Grid\(", r"\.groupby\(", r"display\("):
        assert not re.search(forbidden, body), forbidden
    for cell in code[1:]:  # besides imports, one to three statements a cell
        statements = [line for line in cell.source.splitlines()
                      if line.strip() and not line.startswith(("from ", "import ", "#"))]
        assert 1 <= len(statements) <= 3, cell.source


def test_auc_ci_per_cell_with_groups():
    rng = np.random.default_rng(0)
    rows = []
    for pct in (0, 15):
        y = rng.integers(0, 2, 60)
        for i in range(60):
            rows.append({"dataset": "ddti", "protocol": "none", "backbone": "ResNet50", "trainable_pct": pct,
                         "path": f"{pct}-{i}.png", "y_true": y[i], "ft_score": 0.5 + 0.4 * (2 * y[i] - 1) * rng.random(),
                         "svm_score": rng.random()})
    predictions = pd.DataFrame(rows)
    groups = report.groups_by_path({"ddti": pd.DataFrame({"path": predictions["path"],
                                                          "group": predictions["path"].str[:4]})})
    ci = report.auc_ci(predictions, groups=groups, n_boot=100)
    assert list(ci["dataset"]) == ["DDTI", "DDTI"] and list(ci["trainable_pct"]) == [0, 15]
    assert all(s.startswith("1.000 [") for s in ci["ft_auc_95ci"])  # a perfect ranking
    assert report.auc_ci(predictions.iloc[0:0]).empty
    assert report.auc_ci(predictions, protocol_name="case").empty


def test_table4_shows_each_score_pooled_with_its_ci():
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 30)
    predictions = pd.DataFrame({"dataset": "busi", "protocol": "none", "backbone": "ResNet50", "trainable_pct": 15,
                                "path": [f"{i}.png" for i in range(60)], "y_true": y,
                                "ft_score": np.where(y == 1, 0.9, 0.1), "svm_score": rng.random(60)})
    ci = report.head_ci(predictions, metrics=report.TABLE4_METRICS, strategy=15, n_boot=100)
    assert set(ci["metric"]) == set(report.TABLE4_METRICS) and len(ci) == 4
    assert report.head_ci(predictions, strategy=0).empty
    t4 = report.table4(make_records({("ResNet50", 15): [(0.6, 0.7)]}, svm_c=1.0), ci=ci)
    assert t4.loc[("BUSI", "ResNet50", "sensitivity"), "ft_95ci"] == "1.000 [1.000, 1.000]"  # every malignant found
    assert t4.loc[("BUSI", "ResNet50", "svm_c"), "ft_95ci"] == ""  # C is a choice: no CI
