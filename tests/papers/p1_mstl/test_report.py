"""P1's report: tables beside the paper, the t-test arithmetic, figures, and sentences that follow the numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown
from matplotlib.figure import Figure
from PIL import Image

from mstl_lib.data.sources import DataSource
from mstl_lib.engine.store import ResultsStore
from mstl_lib.papers.p1_mstl import cell_patches, protocol, report
from mstl_lib.report.tables import CI_METRICS


def _frame():
    image = np.full((200, 200, 3), 200, np.uint8)
    image[20:80, 30:100] = 60
    image[150:155, 150:156] = 60
    return image


def _axes_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


# =========================================================================== segmentation and patches


def test_failures():
    assert isinstance(report.failures(pd.DataFrame()), Markdown)
    frame = pd.DataFrame({"grid": ["main"], "key": ["k"], "fold": [0], "error_kind": ["nan_loss"], "traceback": ["x"]})
    shown = report.failures(frame)
    assert list(shown.columns) == ["grid", "key", "fold", "error_kind"] and len(shown) == 1


def test_segmentation_panels_show_every_step():
    segmentation = cell_patches.segment_cells(_frame())
    fig = report.segmentation_panels(segmentation, title="t", n_patches=4)
    assert isinstance(fig, Figure)
    assert _axes_images(fig) == 3 + min(4, len(segmentation.boxes))
    assert f"{len(segmentation.boxes)} kept" in fig.axes[2].get_title()


@pytest.mark.parametrize(("frames", "expected"), [
    (pd.DataFrame({"path": list("abc"), "label": ["x", "x", "y"], "modality": ["bright-field", "DIC", "unknown"]}),
     ["a"]),
    (pd.DataFrame({"path": list("abc"), "label": ["x", "x", "y"]}), ["a", "c"]),
])
def test_demo_frames(frames, expected):
    assert report.demo_frames(frames)["path"].tolist() == expected


def _flat_cells(folder, annotated=True):
    folder.mkdir(parents=True)
    Image.fromarray(_frame()).save(folder / "B3_bf_01.png")
    if annotated:
        Image.fromarray(_frame()).save(folder / "hela_dic_t001.png")
        labels = np.zeros((200, 200), np.uint16)
        labels[25:75, 35:95] = 1
        Image.fromarray(labels).save(folder / "hela_dic_t001_seg.png")
    return DataSource("cells", "show", "real", str(folder))


def test_segmentation_demo_one_figure_per_frame(tmp_path):
    figures = report.segmentation_demo(_flat_cells(tmp_path / "cells"))
    assert len(figures) == 1 and isinstance(figures[0], Figure)
    assert isinstance(report.segmentation_demo(None)[0], Markdown)


def test_annotation_check_and_its_sentence(tmp_path):
    items = report.annotation_check(_flat_cells(tmp_path / "cells"))
    assert isinstance(items[0], Figure) and isinstance(items[1], Markdown)
    assert "1 of 1 annotated cells" in items[1].data
    assert isinstance(items[3], pd.DataFrame) and len(items[3]) == 9
    no_annotation = report.annotation_check(_flat_cells(tmp_path / "flat", annotated=False))
    assert len(no_annotation) == 1 and "skipped" in no_annotation[0].data


def test_annotation_sentence_states_the_counts():
    check = {"annotated_cells": 10, "cells_in_a_box": 7, "boxes": 5, "boxes_without_cell": 2, "cells_per_box": 2.5}
    sentence = report.annotation_sentence(check, 3)
    assert "7 of 10 annotated cells" in sentence and "2 of 5 kept boxes" in sentence and "2.5" in sentence


def _patches(tmp_path, per_line=3):
    rows = []
    for line in ("A", "B"):
        for k in range(per_line):
            path = tmp_path / f"{line}{k}.png"
            Image.fromarray(np.full((40, 30 + k, 3), 50 * k, np.uint8)).save(path)
            rows.append({"path": str(path), "label": line, "frame": f"{line}-f{k % 2}", "w": 30 + k, "h": 40})
    return pd.DataFrame(rows)


def test_patch_summary_and_examples(tmp_path):
    patches = _patches(tmp_path)
    summary = patch_summary = report.patch_summary(patches)
    assert patch_summary.loc["A"].to_dict() == {"frames": 2, "patches": 3, "median_w": 31.0, "median_h": 40.0}
    assert summary["patches"].sum() == len(patches)
    fig = report.patch_examples(patches, per_line=4, size=16)
    assert len(fig.axes) == 2 * 4 and _axes_images(fig) == len(patches)  # a line with 3 patches leaves a blank


# =========================================================================== stage 1


def _stage1_record(accuracy, n_test=30, n_classes=3, status="done", optimizer="adam", labels="true", grouped=True):
    return {"config": {"backbone": "ResNet50", "optimizer": optimizer, "labels": labels}, "status": status,
            "wall_time_s": 1.0,
            "metrics": {"accuracy": accuracy, "loss": 1.0},
            "extra": {"n_test": n_test, "classes": list("abc")[:n_classes], "grouped_by_frame": grouped}}


def test_stage1_table_tests_against_chance():
    table = report.stage1_table([_stage1_record(0.9), _stage1_record(0.3, optimizer="sgd"),
                                 _stage1_record(0, status="failed")])
    assert table["learned"].tolist()[:2] == [True, False] and pd.isna(table["learned"].iloc[2])
    assert table["chance"].iloc[0] == pytest.approx(1 / 3) and table["n_test"].iloc[0] == 30
    assert table["p_value"].iloc[0] < 0.001 < table["p_value"].iloc[1]


@pytest.mark.parametrize(("accuracies", "learned"), [((0.9, 0.8), True), ((0.9, 0.3), False), ((0.3, 0.35), False)])
def test_stage1_sentence_follows_the_test(accuracies, learned):
    records = [_stage1_record(a, optimizer=o) for a, o in zip(accuracies, ("adam", "sgd"), strict=True)]
    sentence = report.stage1_sentence(report.stage1_table(records))
    assert ("learned to tell the lines apart in every configuration" in sentence) == learned
    assert ("did not beat chance" in sentence) == (not learned)
    assert f"{min(accuracies):.2f} to {max(accuracies):.2f}" in sentence


def test_an_ungrouped_stage1_split_is_a_diagnostic_only():
    table = report.stage1_table([_stage1_record(0.9, grouped=False)])
    assert not table["learned"].iloc[0]
    sentence = report.stage1_sentence(table)
    assert "A diagnostic only" in sentence and "learned to tell" not in sentence


def test_the_shuffled_label_stage1_is_reported_not_judged():
    records = [_stage1_record(0.9), _stage1_record(0.33, labels="shuffled")]
    sentence = report.stage1_sentence(report.stage1_table(records))
    assert "learned to tell the lines apart in every configuration" in sentence
    assert "declared control meant to sit at chance) reached 0.33 to 0.33" in sentence


def _control_records(mstl_auc, control_auc, degenerate=0.0):
    rows = []
    for fold, (m, c) in enumerate(zip(mstl_auc, control_auc, strict=True)):
        for arm, auc in (("MSTL", m), (protocol.CONTROL, c), ("CTL", 0.5)):
            rows.append({"tl": arm, "backbone": "ResNet50", "optimizer": "adagrad", "fold": fold, "status": "done",
                         "auc": auc, "degenerate": degenerate if arm == "MSTL" else 0.0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("mstl", "control", "expected"), [
    ([0.80, 0.82, 0.85], [0.60, 0.61, 0.62], "MSTL beats the control"),
    ([0.60, 0.70, 0.65], [0.66, 0.64, 0.65], "MSTL does not beat the control"),
    ([0.80], [0.60], "One pair: a direction, not a test"),
])
def test_control_sentence_follows_the_pairs(mstl, control, expected):
    sentence = report.control_sentence(_control_records(mstl, control))
    assert expected in sentence
    assert f"mean AUC difference {np.mean(np.subtract(mstl, control)):+.3f}" in sentence


def test_control_sentence_without_the_control_or_with_degenerate_folds():
    assert "did not run" in report.control_sentence(_control_records([0.8], [0.6]).query("tl != 'SHUF'"))
    assert "no test is run" in report.control_sentence(_control_records([0.8, 0.9], [0.6, 0.5], degenerate=1.0))


def test_our_tests_pair_ctl_and_mstl_only_even_with_the_control():
    records = _control_records([0.8, 0.9], [0.6, 0.5])
    records = records.assign(**{m: records["auc"] for m in report.STAGE2_METRICS if m != "auc"})
    tests = report.our_tests(records)
    assert tests.loc[tests["level"] == "folds", "n"].iloc[0] == 2


def test_stage1_sentence_without_finished_tasks():
    table = report.stage1_table([_stage1_record(0, status="failed")])
    assert "No stage-1 task finished" in report.stage1_sentence(table)


def test_weights_table_counts_tasks_per_starting_point():
    records = [{"status": "done", "config": {"tl": tl, "backbone": "ResNet50"},
                "weights": {"ResNet50": {"used": used, "description": shown}}, "extra": {"started_from": s}}
               for tl, used, shown, s in [("CTL", "random", "random", "random"), ("CTL", "random", "random", "random"),
                                          ("MSTL", "file", "file f", "stage 1"), ("MSTL", "file", "file f", "stage 1")]]
    records.append({"status": "failed", "config": {"tl": "CTL", "backbone": "ResNet50"}})
    table = report.weights_table(records)
    assert table[["tl", "weights_used", "tasks"]].values.tolist() == [["CTL", "random", 2], ["MSTL", "file f", 2]]
    assert report.weights_table([]).empty


# =========================================================================== Table 1


def test_table1_from_records(records_factory):
    table = report.table1(records_factory())
    assert len(table) == 4 and list(table.columns[:4]) == ["tl", "cnn", "optimizer", "n_folds"]
    row = table.query("tl == 'MSTL' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy"] == pytest.approx(85.0) and row["auc"] == pytest.approx(0.85)
    assert row["accuracy_sd"] == pytest.approx(100 * np.std([0.8, 0.9], ddof=1))
    assert row["avg_accuracy_cnn"] == pytest.approx(85.0) and row["n_folds"] == 2


def test_every_table1_view_counts_degenerate_folds(records_factory):
    records = records_factory()
    records = records.assign(degenerate=[1.0] + [0.0] * (len(records) - 1))
    flagged = records.iloc[0]
    key = (flagged["tl"], flagged["backbone"], flagged["optimizer"])
    for table in (report.table1(records), report.table1_beside_paper(report.table1(records)),
                  report.mt_small_table(records)):
        counts = {(r.tl, r.cnn, r.optimizer): r.degenerate_folds for r in table.dropna(subset=["auc_ours"]
                  if "auc_ours" in table else ["auc"]).itertuples()}
        assert counts.pop(key) == 1 and set(counts.values()) == {0}
    assert "degenerate_folds" not in report.table1(records_factory()).columns


def test_table1_of_failed_records_is_empty(records_factory):
    assert report.table1(records_factory().assign(status="failed")).empty


def test_format_table1_prints_like_the_paper():
    shown = report.format_table1(protocol.paper_table1())
    assert len(shown) == 18
    best = shown.query("tl == 'MSTL' and cnn == 'ResNet50' and optimizer == 'adagrad'").iloc[0]
    assert best["test accuracy (%)"] == "99.00 ± 0.61" and best["avg. per CNN (%)"] == 98.0


def test_table1_beside_paper_differences(records_factory):
    comparison = report.table1_beside_paper(report.table1(records_factory()))
    assert len(comparison) == 18  # the paper's rows; ours are a subset of them
    row = comparison.query("tl == 'MSTL' and cnn == 'ResNet50' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy_diff"] == pytest.approx(85.0 - 98.5)
    assert comparison.query("cnn == 'InceptionV3'")["accuracy_ours"].isna().all()


def test_table1_caption_names_each_departure(chapter):
    caption = report.table1_caption(chapter)
    assert "busi (real)" in caption  # P1 balanced its classes: 20 + 20 asked, the phantom set has 12 malignant
    assert "a class-balanced draw (20 benign + 12 malignant, at most 20 of each) of 36 images" in caption
    assert "2 of 2 outer folds" in caption and "1 epoch," in caption and "random weights" in caption
    assert "Mendeley 100 + 100" in caption


# =========================================================================== significance


def test_paper_ttest_finds_the_paired_two_sided_test():
    variants = report.paper_ttest()
    assert len(variants) == 6
    assert variants[variants["matches"]][["test", "alternative"]].values.tolist() == [["paired", "two-sided"]]
    sentence = report.paper_ttest_sentence(variants)
    assert "paired two-sided t-test" in sentence and "rests on pairing" in sentence


def test_paper_ttest_sentence_when_nothing_matches():
    variants = report.paper_ttest(reported_p=0.5)
    assert not variants["matches"].any()
    assert report.paper_ttest_sentence(variants, reported_p=0.5).startswith("No candidate t-test")


def test_paired_accuracies(records_factory):
    pairs = report.paired_accuracies(report.table1(records_factory()))
    assert pairs[["CTL", "MSTL"]].to_numpy() == pytest.approx(np.array([[65.0, 85.0], [65.0, 85.0]]))
    only_ctl = report.table1(records_factory().query("tl == 'CTL'"))
    assert report.paired_accuracies(only_ctl).empty


def test_our_tests_levels(records_factory):
    tests = report.our_tests(records_factory(optimizers=("sgd", "adam", "adagrad"), jitter=0.01))
    assert tests["level"].tolist() == ["configuration means (as P1)", "folds"]
    assert tests["n"].tolist() == [3, 6] and (tests["mean_difference"] > 0).all()
    assert report.our_tests(records_factory(optimizers=("sgd",), folds=(0,))).empty


@pytest.mark.parametrize(("ctl", "mstl", "verdict"), [(0.6, 0.8, "**survives**"), (0.8, 0.6, "significantly *worse*"),
                                                      (0.7, 0.7, "not significant at every level")])
def test_significance_sentence_states_the_direction(records_factory, ctl, mstl, verdict):
    records = records_factory(ctl=ctl, mstl=mstl, optimizers=("sgd", "adam", "adagrad"), jitter=0.01, seed=1)
    sentence = report.significance_sentence(report.our_tests(records), [])
    assert verdict in sentence and "bears on the claim" in sentence
    limited = report.significance_sentence(report.our_tests(records), ["stage 1 did not learn"])
    assert verdict in limited and "does not bear on P1's claim" in limited and "stage 1 did not learn" in limited


def test_significance_sentence_without_pairs():
    sentence = report.significance_sentence(report.our_tests(pd.DataFrame(columns=["tl", "status"])), [])
    assert "Too few" in sentence and "neither confirmed nor refuted" in sentence


def test_conclusion_limits_of_a_random_phantom_run(chapter):
    limits = report.conclusion_limits(chapter)
    assert any("random weights, not ImageNet" in limit for limit in limits)
    assert any("1 epoch" in limit for limit in limits)
    assert not any("ultrasound images" in limit for limit in limits)  # the phantom folder was given explicitly
    assert all(isinstance(limit, str) and limit for limit in limits)


# =========================================================================== figures


def test_roc_by_arm_one_curve_per_configuration(records_factory):
    records = records_factory()
    predictions = records.loc[records.index.repeat(6)].assign(
        y_true=[0, 1, 0, 1, 1, 0] * len(records), y_score=np.linspace(0, 1, 6 * len(records)))
    fig = report.roc_by_arm(predictions)
    assert len(fig.axes) == 2
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]  # sgd, adam and the chance diagonal
    assert isinstance(report.roc_by_arm(predictions.iloc[0:0]), Markdown)


def test_factor_means_and_effects(records_factory):
    records = records_factory(optimizers=("sgd", "adagrad"))
    means = report.factor_means(records).set_index(["factor", "level"])
    assert means.loc[("optimizer", "sgd"), "accuracy"] == pytest.approx(85.0)
    assert means.loc[("cnn", "ResNet50"), "configurations"] == 2
    fig = report.factor_effects(records)
    assert len(fig.axes) == 2
    blue = [patch for patch in fig.axes[0].patches if patch.get_facecolor()[:3] != pytest.approx((0.827, 0.827, 0.827),
                                                                                                abs=0.01)]
    assert len(fig.axes[0].patches) == 6 and len(blue) == 3


def test_factor_note_counts_levels(records_factory):
    note = report.factor_note(records_factory(optimizers=("sgd", "adam")))
    assert "2 of P1's 3 optimizers and 1 of P1's 3 CNNs" in note and "no error bar" in note


def test_feature_map_figure_one_row_per_arm():
    maps = {arm: [np.random.default_rng(0).random((s, s, 4)) for s in (8, 4, 2)] for arm in ("CTL", "MSTL")}
    maps["MSTL"] = [10 * layer for layer in maps["MSTL"]]
    fig = report.feature_map_figure(np.zeros((16, 16, 3)), maps, ["a", "b", "c"])
    assert len(fig.axes) == 2 * 4 + 3 and _axes_images(fig) == 8  # three colour bars, one per layer
    assert "8×8×4" in fig.axes[1].get_title()
    ctl, mstl = fig.axes[1].get_images()[0], fig.axes[5].get_images()[0]
    assert ctl.get_clim() == mstl.get_clim()  # one colour scale per layer for both arms
    assert mstl.get_clim()[1] == pytest.approx(float(maps["MSTL"][0].mean(axis=-1).max()))


def test_kept_networks_and_feature_maps(chapter):
    kept = report.kept_networks(chapter.raw_records("main"))
    assert set(kept) == set(protocol.ARMS) and all(r["fold"] == 0 for r in kept.values())
    fig = report.feature_maps(chapter)
    n_stages = len(protocol.RESNET50_STAGES)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * (n_stages + 1) + n_stages  # + a colour bar per stage
    assert report.kept_networks([{**r, "status": "failed"} for r in chapter.raw_records("main")]) == {}


def test_learning_curves_by_arm():
    history = pd.DataFrame([{"tl": tl, "backbone": b, "optimizer": "sgd", "fold": 0, "epoch": e, "metric": m,
                             "value": 0.5} for tl in protocol.ARMS for b in ("ResNet50", "VGG16") for e in (1, 2)
                            for m in ("accuracy", "val_accuracy", "loss", "val_loss")])
    items = report.learning_curves_by_arm(history)
    assert len(items) == 6 and isinstance(items[0], Markdown) and "MSTL" in items[0].data
    assert all(isinstance(item, Figure) for item in items[1:3] + items[4:6])
    panels = [ax.get_title() for ax in items[1].axes]  # one panel per (CNN, optimizer): never joined across CNNs
    assert panels == ["backbone = ResNet50, optimizer = sgd", "backbone = VGG16, optimizer = sgd"]
    assert all(len(line.get_xdata()) == 2 for ax in items[1].axes for line in ax.get_lines())


# =========================================================================== MT-Small and leakage


def test_mt_small_table_beside_the_paper(records_factory):
    table = report.mt_small_table(records_factory(optimizers=("adagrad",)))
    assert sorted(table[["tl", "accuracy_paper"]].fillna(-1).values.tolist()) == [["CTL", -1], ["MSTL", 98.7]]
    assert table.query("tl == 'MSTL'")["accuracy_diff"].iloc[0] == pytest.approx(85.0 - 98.7)
    with_ci = report.mt_small_table(records_factory(optimizers=("adagrad",)),
                                    ci=report.pooled_ci(_predictions(signal=2.0), n_boot=50))
    assert with_ci.set_index("tl").loc["MSTL", "auc_ours_95ci"].count("[") == 1


@pytest.mark.parametrize(("kind", "phrase"), [("real", "real dataset"), ("stand-in", "not an independent dataset")])
def test_mt_small_note(kind, phrase):
    source = DataSource("mt_small", "train", kind, "/x", "drawn from BUSI")
    assert phrase in report.mt_small_note(source)


def test_duplicate_sentence_counts_multi_image_groups():
    grouped = pd.DataFrame({"group": ["a", "a", "b", "c", "c", "c", "d"]})
    assert "Of the 7 images this profile uses, 5 fall in 2 groups" in report.duplicate_sentence(grouped)


def test_leakage_table_keeps_the_best_configuration(records_factory):
    image = records_factory(optimizers=("adagrad", "sgd"))
    grouped = records_factory(ctl=0.5, mstl=0.5, optimizers=("adagrad",))
    table = report.leakage_table(image, grouped)
    assert len(table) == 4 and set(table["optimizer"]) == {"adagrad"}
    assert table["split"].value_counts().to_dict() == {"image groups": 2, "duplicate clusters grouped": 2}


@pytest.mark.parametrize(("folds", "grouped_mean", "beyond"), [((0,), 0.5, False), ((0, 1, 2), 0.2, True),
                                                               ((0, 1, 2), 0.8, False)])
def test_leakage_sentence_says_when_noise_hides_the_effect(records_factory, folds, grouped_mean, beyond):
    image = records_factory(optimizers=("adagrad",), folds=folds, spread=0.0, jitter=0.02)
    grouped = records_factory(ctl=grouped_mean, mstl=grouped_mean, optimizers=("adagrad",), folds=folds, spread=0.0,
                              jitter=0.02, seed=3)
    sentence = report.leakage_sentence(image, grouped)
    assert ("beyond fold noise" in sentence) == beyond
    assert ("neither shows nor rules out" in sentence) == (not beyond)
    if len(folds) == 1:
        assert "one fold per split" in sentence


def test_leakage_sentence_without_records(records_factory):
    sentence = report.leakage_sentence(records_factory(), records_factory().iloc[0:0])
    assert "no finished tasks on both splits" in sentence and "neither shows nor rules out" in sentence


# =========================================================================== closing note, runtime, chapter 02


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


def test_tour_table_columns(records_factory):
    records = records_factory().assign(wall_time_s=1.0, key="k")
    assert list(report.tour_table(records).columns) == ["backbone", "optimizer", "fold", "status",
                                                        *report.STAGE2_METRICS, "wall_time_s"]


def _tour_record(scores, truth, optimizer="adam", epochs=2):
    accuracy = float(np.mean((np.asarray(scores) >= 0.5) == np.asarray(truth)))
    return {"status": "done", "config": {"backbone": "ResNet50", "optimizer": optimizer, "epochs": epochs},
            "metrics": {"accuracy": accuracy},
            "weights": {"ResNet50": {"used": "random", "description": "random initialisation (test)"}},
            "predictions": {"y_true": truth, "y_score": scores}}


def test_tour_note_says_chance_when_networks_collapse():
    truth = [0, 0, 0, 1]
    note = report.tour_note([_tour_record([0.1] * 4, truth), _tour_record([0.2, 0.1, 0.3, 0.9], truth, "sgd")])
    assert "2 finished tasks" in note and "random initialisation (test)" in note
    assert "1 of 2 networks gave the same class" in note and "level of chance" in note
    assert "81.5–90.5 % with these optimizers" in note  # P1's CTL ResNet50 with Adam and SGD


def test_tour_note_says_when_networks_beat_the_majority_class():
    truth = [0, 0, 1, 1, 0, 1]
    note = report.tour_note([_tour_record([0.1, 0.2, 0.8, 0.9, 0.3, 0.7], truth, "adagrad", epochs=1)])
    assert "1 finished task started" in note and "1 epoch (P1" in note
    assert "beat the majority class by 50 points" in note and "level of chance" not in note
    assert "97.5 % with this optimizer" in note


def test_tour_note_without_finished_tasks():
    assert "No task" in report.tour_note([{**_tour_record([0.1], [0]), "status": "failed"}])


@pytest.mark.parametrize(("pred_malignant", "expected"), [
    ([5, 8, 3, 2], "No fold is degenerate"),
    ([20, 0, 3, 2], "**Some folds are degenerate**"),
])
def test_degenerate_note_counts_collapsed_folds(pred_malignant, expected):
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL", "MSTL"], "status": "done",
                            "pred_malignant": pred_malignant, "pred_benign": [20 - p for p in pred_malignant],
                            "degenerate": [float(p in (0, 20)) for p in pred_malignant]})
    note = report.degenerate_note(records)
    assert expected in note
    n_ctl = sum(p in (0, 20) for p in pred_malignant[:2])
    assert note.startswith(f"CTL: {n_ctl} of 2 folds degenerate")
    assert "MSTL: 0 of 2 folds degenerate" in note


def test_a_degenerate_fold_that_still_ranks_is_called_a_shifted_threshold():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "CTL"], "status": "done", "pred_malignant": [0, 40, 20],
                            "pred_benign": [40, 0, 20], "degenerate": [1.0, 1.0, 0.0], "auc": [0.82, 0.55, 0.7],
                            "score_min": [0.0, 0.6, 0.1], "score_max": [0.49, 0.9, 0.9]})
    note = report.degenerate_note(records)
    assert "1 degenerate fold still ranks the test images (AUC 0.82)" in note
    assert report.shifted_threshold_note(records[records["auc"] < 0.6]) == ""


def test_a_degenerate_fold_that_ranks_at_chance_is_named():
    records = pd.DataFrame({"tl": ["MSTL", "MSTL", "CTL"], "optimizer": ["adam", "sgd", "adam"], "fold": [1, 0, 0],
                            "status": "done", "pred_malignant": [40, 38, 20], "pred_benign": [0, 2, 20],
                            "degenerate": [1.0, 1.0, 0.0], "auc": [0.33, 0.7, 0.4],
                            "score_min": [0.6, 0.2, 0.1], "score_max": [0.9, 0.9, 0.9]})
    note = report.degenerate_note(records)
    assert "1 degenerate fold ranks the test images no better than chance: MSTL adam fold 1 (AUC 0.33)." in note
    assert report.chance_ranking_note(records[records["auc"] > 0.5]) == ""
    assert "the budget of a few epochs" in note  # the records do not say how long they trained
    assert "the budget of 3 epochs" in report.chance_ranking_note(records.assign(epochs=3))


def test_operating_point_note_counts_the_folds_it_rescued():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL"], "status": "done", "pred_malignant": [20, 25, 18],
                            "pred_benign": [20, 15, 22], "degenerate": 0.0,
                            "pred_malignant_own_threshold": [0.0, 25.0, 40.0]})
    note = report.degenerate_note(records)
    assert ("changed the calls of 2 of 3 folds; at the networks' own threshold, 2 of 3 folds would have "
            "been degenerate.") in note
    assert report.operating_point_note(records.drop(columns="pred_malignant_own_threshold")) == ""


def test_degenerate_note_without_records():
    assert report.degenerate_note(pd.DataFrame({"status": []})) == ("No finished stage-2 task records its "
                                                                    "predicted classes.")


def _predictions(signal: float, n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for arm, shift in (("CTL", 0.0), ("MSTL", signal)):
        y = rng.integers(0, 2, n)
        score = 1 / (1 + np.exp(-(shift * (2 * y - 1) + rng.normal(size=n))))
        frames.append(pd.DataFrame({"tl": arm, "backbone": "ResNet50", "optimizer": "adagrad", "fold": 0,
                                    "path": [f"{arm}{i}.png" for i in range(n)], "y_true": y, "y_score": score}))
    return pd.concat(frames, ignore_index=True)


def test_pooled_ci_brackets_the_estimate_and_tells_signal_from_chance():
    ci = report.pooled_ci(_predictions(signal=2.0), n_boot=200)
    assert list(ci["tl"]) == ["CTL", "MSTL"] and (ci["n_images"] == 80).all()
    for name in CI_METRICS:
        assert (ci[f"{name}_low"] <= ci[name]).all() and (ci[name] <= ci[f"{name}_high"]).all()
    ctl, mstl = ci.set_index("tl").loc["CTL"], ci.set_index("tl").loc["MSTL"]
    assert mstl["auc_low"] > 0.5 and ctl["auc_low"] < 0.5 < ctl["auc_high"]
    assert 0 <= mstl["accuracy_low"] <= 100 and mstl["accuracy"] > 50  # accuracy in %


def test_pooled_ci_resamples_groups_when_given():
    predictions = _predictions(signal=1.0, n=40)
    copies = pd.concat([predictions] * 4, ignore_index=True)
    groups = {path: path for path in predictions["path"]}  # each image and its 3 copies form one group
    by_image = report.pooled_ci(copies, n_boot=200).set_index("tl")
    by_group = report.pooled_ci(copies, groups=groups, n_boot=200).set_index("tl")
    width = lambda t: t["auc_high"] - t["auc_low"]  # noqa: E731
    assert (width(by_group) > 1.5 * width(by_image)).all()


def test_table1_beside_paper_carries_our_cis():
    ours = pd.DataFrame({"tl": ["MSTL"], "cnn": ["ResNet50"], "optimizer": ["adagrad"], "n_folds": [2],
                         **{m: [0.6] for m in report.STAGE2_METRICS}, "accuracy_sd": [3.0],
                         "avg_accuracy_cnn": [60.0]})
    ci = report.pooled_ci(_predictions(signal=2.0), n_boot=100)
    table = report.table1_beside_paper(ours, ci=ci)
    row = table[(table["tl"] == "MSTL") & (table["cnn"] == "ResNet50") & (table["optimizer"] == "adagrad")].iloc[0]
    assert row["auc_ours_95ci"].startswith(f"{ci.set_index('tl').loc['MSTL', 'auc']:.3f} [")
    assert "accuracy_ours_95ci" in table.columns and "balanced_accuracy_ours_95ci" in table.columns


@pytest.mark.parametrize(("degenerate", "expected"), [({}, None), ({"CTL": 2}, "2 degenerate folds in CTL"),
                                                       ({"CTL": 1, "MSTL": 1}, "1 degenerate fold in CTL and 1 "
                                                                              "degenerate fold in MSTL")])
def test_no_verdict_with_degenerate_folds(degenerate, expected):
    tests = pd.DataFrame([{"level": "folds", "test": "paired", "alternative": "two-sided", "n": 3,
                           "mean_difference": 9.0, "statistic": 5.0, "df": 2, "p_value": 0.01}])
    sentence = report.significance_sentence(tests, [], degenerate=degenerate)
    if expected is None:
        assert "**survives**" in sentence and "No verdict" not in sentence
    else:
        assert sentence.startswith("**No verdict**") and expected in sentence and "survives" not in sentence


def test_degenerate_arms_counts_per_arm():
    records = pd.DataFrame({"tl": ["CTL", "CTL", "MSTL"], "status": "done", "degenerate": [1.0, 0.0, 0.0]})
    assert report.degenerate_arms(records) == {"CTL": 1}
    assert report.degenerate_arms(pd.DataFrame({"status": []})) == {}


def test_per_fold_table_marks_degenerate_folds():
    records = pd.DataFrame({"tl": ["MSTL", "CTL"], "backbone": "ResNet50", "optimizer": "adagrad", "fold": [1, 0],
                            "status": "done", "accuracy": [0.5, 0.7], "auc": [0.5, 0.8],
                            "balanced_accuracy": [0.5, 0.7], "sensitivity": [1.0, 0.6], "specificity": [0.0, 0.8],
                            "pred_malignant": [40.0, 18.0], "pred_benign": [0.0, 22.0], "degenerate": [1.0, 0.0]})
    table = report.per_fold_table(records)
    assert list(table["tl"]) == ["CTL", "MSTL"] and list(table["degenerate"]) == [False, True]
    assert list(table["accuracy"]) == [70.0, 50.0] and list(table["n_test"]) == [40, 40]
    assert report.per_fold_table(records.iloc[0:0]).empty


def test_table1_shows_balanced_accuracy_where_recorded(records_factory):
    records = records_factory(optimizers=("adagrad",))
    plain = report.table1(records)
    assert "balanced_accuracy" not in plain.columns or plain["balanced_accuracy"].notna().all()
    with_ba = report.table1(records.assign(balanced_accuracy=0.5))
    assert (with_ba["balanced_accuracy"] == 0.5).all()
    assert (report.format_table1(with_ba)["balanced accuracy"] == 0.5).all()
    assert "balanced accuracy" not in report.format_table1(protocol.paper_table1()).columns


def test_control_pairs_keep_folds_where_both_arms_ran():
    records = _control_records([0.8, 0.9], [0.6, 0.5])
    pairs = report.control_pairs(records)
    assert pairs[["fold", "MSTL", protocol.CONTROL]].values.tolist() == [[0, 0.8, 0.6], [1, 0.9, 0.5]]
    assert report.control_pairs(records[records["tl"] != "MSTL"]).empty
