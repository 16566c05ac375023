"""P4's grids: one per dataset and grouped protocol, keyed by the run context's decisions."""

from __future__ import annotations

import dataclasses

import pytest

from mstl_lib import engine
from mstl_lib.context import MISSING, start_run
from mstl_lib.data.tables import binary_table
from mstl_lib.engine.provenance import fingerprint_table
from mstl_lib.engine.task import resolve_task
from mstl_lib.papers.p4_finetuning import grids, protocol, report, tasks
from mstl_lib.papers.p4_finetuning.settings import CHAPTER
from mstl_lib.profiles import ChapterSettings


def test_grid_name_names_dataset_grouping_and_profile():
    assert grids.grid_name("ddti", "case", "cpu") == "p4-ddti-case-cpu"


@pytest.mark.parametrize("profile", ["smoke", "cpu", "full"])
def test_protocols_follow_the_settings(profile):
    settings = CHAPTER.settings(profile)
    found = grids.protocols(settings)
    assert found[: len(settings["datasets"])] == [
        (name, "none", list(settings["backbones"]), list(settings["strategies"])) for name in settings["datasets"]]
    grouped = found[len(settings["datasets"]):]
    assert [f"{d}:{g}" for d, g, _, _ in grouped] == list(settings["grouped_protocols"])
    assert all(b == list(settings["grouping_backbones"]) and s == list(settings["grouping_strategies"])
               for _, _, b, s in grouped)


def test_train_tables_hold_every_image_of_each_served_dataset(smoke_run):
    tables = grids.train_tables(smoke_run)
    assert list(tables) == list(smoke_run.settings["datasets"])
    for name, table in tables.items():
        source = smoke_run.source(name, "train")
        assert len(table) == len(binary_table(source))  # uncapped
        assert table["fold_group"].is_unique


def test_build_smoke_grids(smoke_run):
    built = grids.build(smoke_run)
    assert list(built) == ["p4-busi-none-smoke", "p4-ddti-none-smoke", "p4-ddti-case-smoke"]
    settings = smoke_run.settings
    for name, grid in built.items():
        assert grid.name == name and grid.task == grids.TASK and resolve_task(grid.task) is tasks.finetune_svm
        assert grid.code_version == tasks.RECIPE_VERSION
        assert grid.fold_list == list(range(settings["folds_run"]))
        context = grid.context
        source = smoke_run.source(context["dataset"], "train")
        assert context["data_source"] == source.to_dict()
        assert context["weights"] == {"ResNet50": {"used": "random"}}
        assert set(context["weights_info"]) == {"ResNet50"}
        assert (context["profile"], context["seed"]) == ("smoke", 0)
        assert (context["n_splits"], context["max_images"], context["svm_cv"]) == (
            settings["n_splits"], settings["max_images"], settings["svm_cv"])
        table = protocol.task_table(source, context["grouping"], settings["max_images"], 0)
        assert grid.data_fingerprint == fingerprint_table(table, label_column="label")
        assert all(set(c) == {"backbone", "trainable_pct", "image_size", "epochs", "batch_size", "learning_rate",
                                "class_weight", "operating_point"}
                   for c in grid.configs)
    assert len(built["p4-busi-none-smoke"].configs) == len(settings["backbones"]) * len(settings["strategies"])
    assert [c["trainable_pct"] for c in built["p4-ddti-case-smoke"].configs] == settings["grouping_strategies"]
    assert {r.name: r.kind for r in smoke_run.uses.values()} == {"busi": "real", "ddti": "real"}
    assert set(smoke_run.weights) == {"ResNet50"}  # resolved before any training


def test_other_profile_other_grids_and_keys(smoke_run, phantom_dir):
    cpu = start_run(CHAPTER, profile="cpu", data_dir=str(phantom_dir), weights=None, seed=0)
    built = grids.build(cpu)
    assert all(name.endswith("-cpu") for name in built)
    assert "p4-busi-duplicates-cpu" in built and "p4-ddti-duplicates-cpu" in built
    smoke_keys = {t.key for g in grids.build(smoke_run).values() for t in g.tasks()}
    assert not smoke_keys & {t.key for g in built.values() for t in g.tasks()}


def test_a_dataset_nothing_serves_has_no_grid(phantom_dir, isolated_dirs):
    smoke = dict(CHAPTER.settings("smoke"), datasets=["busi", "mendeley"], grouped_protocols=[])
    chapter = ChapterSettings("finetuning", {"smoke": smoke, "cpu": smoke, "full": smoke})
    run = start_run(chapter, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)
    assert list(grids.build(run)) == ["p4-busi-none-smoke"]
    assert run.uses[("mendeley", "train")].kind == MISSING  # the banner lists it


def test_weights_identity_enters_the_key(smoke_run):
    grid = grids.build(smoke_run)["p4-busi-none-smoke"]
    other = dataclasses.replace(grid, context={**grid.context, "weights": {"ResNet50": {"used": "imagenet"}}})
    assert grid.tasks()[0].key != other.tasks()[0].key
    moved = dataclasses.replace(grid, context={**grid.context, "data_source": {**grid.context["data_source"],
                                                                                "root": "/elsewhere"}})
    assert grid.tasks()[0].key == moved.tasks()[0].key  # where the data lie is not keyed; their fingerprint is


def _fake_task(config, fold, context):
    if config["trainable_pct"] == 15 and context.get("fail"):
        raise RuntimeError("fake failure")
    return {"metrics": {name: 0.5 for name in report.METRICS_READ}}


def _fake_grids(run, fail: bool):
    return {name: dataclasses.replace(grid, task=_fake_task, context={**grid.context, "fail": fail})
            for name, grid in grids.build(run).items()}


def test_run_all_runs_every_grid_and_reuses_records(smoke_run, capsys):
    store = engine.ResultsStore()
    fake = _fake_grids(smoke_run, fail=False)
    runs = grids.run_all(smoke_run, store, grids=fake)
    assert list(runs) == list(fake) and all(r.ok and r.n_run == len(fake[n]) for n, r in runs.items())
    assert "p4-busi-none-smoke: 4 tasks" in capsys.readouterr().out
    again = grids.run_all(smoke_run, store, grids=fake)
    assert all(r.n_cached == r.n_total and r.n_run == 0 for r in again.values())


def test_run_all_raises_on_failures_only_in_smoke(smoke_run, phantom_dir):
    with pytest.raises(engine.GridFailedError, match="fake failure"):
        grids.run_all(smoke_run, engine.ResultsStore(), grids=_fake_grids(smoke_run, fail=True))
    cpu = start_run(CHAPTER, profile="cpu", data_dir=str(phantom_dir), weights=None, seed=0)
    # in this process: cpu's fresh process per task would spend minutes starting Python for fake tasks
    runs = grids.run_all(cpu, engine.ResultsStore(), executor="local", grids=_fake_grids(cpu, fail=True))
    assert sum(r.n_failed for r in runs.values()) > 0  # recorded, shown by the chapter
