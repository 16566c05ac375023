"""P1's grids: data decisions from the run context only, stage-2 keys, chapter 02 sharing chapter 03's records."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from mstl_lib import engine
from mstl_lib.context import start_run
from mstl_lib.data.sources import PHANTOM, REAL, load_source
from mstl_lib.papers.p1_mstl import grids, protocol, tasks
from mstl_lib.papers.p1_mstl.settings import CHAPTER, ENGINE_TOUR
from mstl_lib.paths import model_weights_dir


def _keys(grid):
    return {task.key for task in grid.tasks()}


def test_plan_resolves_every_source_through_the_run(smoke_run):
    plan = grids.plan(smoke_run)
    assert isinstance(plan, grids.Plan)
    assert plan.busi.dataset == "busi" and plan.mendeley is None and plan.ultrasound is plan.busi
    assert plan.mt_small.dataset == "mt_small" and plan.mt_small.kind == "stand-in"
    assert plan.cells_train.kind == REAL  # the phantom folder holds a folder per line: usable for training
    assert set(plan.patches["label"]) == set(load_source(plan.cells_train)["label"])
    assert (plan.patches.groupby("label").size() <= CHAPTER.settings("smoke")["patches_per_line"]).all()
    uses = {(row.name, row.use) for row in smoke_run.datasets_table().itertuples()}
    assert {("busi", "train"), ("mendeley", "train"), ("mt_small", "train"), ("cells", "train"),
            ("cells", "show")} <= uses


def test_cell_lines_fall_back_to_phantom_lines_when_frames_are_flat(tmp_path, isolated_dirs):
    (tmp_path / "data" / "cells").mkdir(parents=True)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "data" / "cells" / "B3_bf_01.png")
    run = start_run(CHAPTER, profile="smoke", data_dir=str(tmp_path / "data"), weights=None)
    source = grids.cell_lines_source(run, CHAPTER.settings("smoke"))
    assert source.kind == PHANTOM and source.note == grids.CELL_PHANTOM_NOTE
    table = load_source(source)
    assert table["label"].value_counts().to_dict() == {line: 2 for line in grids.phantoms.CELL_LINES}


def test_ultrasound_sources_raise_without_busi(tmp_path, isolated_dirs):
    (tmp_path / "empty").mkdir()
    run = start_run(CHAPTER, profile="smoke", data_dir=str(tmp_path / "empty"), weights=None)
    with pytest.raises(Exception, match="busi|BUSI"):
        grids.ultrasound_sources(run)


@pytest.mark.parametrize(("mendeley", "expected"), [(None, {"max_images": None, "per_class": 20}),
                                                    ("x", {"max_images": None, "per_class": 100})])
def test_main_sample(mendeley, expected):
    assert grids.main_sample(mendeley, CHAPTER.settings("smoke")) == expected


def test_stage1_grid(smoke_run):
    plan = grids.plan(smoke_run)
    grid = grids.stage1_grid(smoke_run, plan)
    settings = CHAPTER.settings("smoke")
    assert grid.name == "multistage_stage1-smoke" and grid.fold_list == [0]
    true_configs = [c for c in grid.configs if c.get("labels", "true") == "true"]
    control = [c for c in grid.configs if c.get("labels") == "shuffled"]
    assert len(true_configs) == len(settings["backbones"]) * len(settings["optimizers"])
    assert {c["optimizer"] for c in control} == set(settings["optimizers"]) & set(settings["control_optimizers"])
    assert all({**c, "labels": "true"} in [{**t, "labels": "true"} for t in true_configs] for c in control)
    assert all(c["epochs"] == settings["stage1_epochs"] and c["split"] == [0.7, 0.2, 0.1] for c in grid.configs)
    assert grid.code_version == tasks.RECIPE_VERSION and "patches_index" not in grid.keyed_context()
    assert grid.context["data_source"]["dataset"] == "cells"


@pytest.mark.parametrize("arm", protocol.ALL_ARMS)
def test_stage2_config(arm):
    settings = CHAPTER.settings("smoke")
    links = {"ResNet50/adagrad": {"key": "s1"}, "ResNet50/adagrad/shuffled": {"key": "s0"}}
    config = grids.stage2_config(arm, "ResNet50", "adagrad", settings, links)
    assert config["tl"] == arm and config["epochs"] == settings["epochs"]
    assert ("stage1_key" in config) == (arm != "CTL")
    assert config.get("stage1_key") == {"CTL": None, "MSTL": "s1", protocol.CONTROL: "s0"}[arm]
    assert grids.stage2_config(arm, "ResNet50", "sgd", settings, {}).get("stage1_key") is None


def test_stage2_grid_keys_ctl_never_depend_on_stage1(smoke_run):
    plan = grids.plan(smoke_run)
    settings = CHAPTER.settings("smoke")
    before = grids.stage2_grid(smoke_run, settings, "t", plan.busi, links={}, max_images=40)
    after = grids.stage2_grid(smoke_run, settings, "t", plan.busi, max_images=40,
                              links={"ResNet50/adagrad": {"key": "s1", "weights_file": "f"}})
    ctl = {t.key for t in before.tasks() if t.config["tl"] == "CTL"}
    assert ctl == {t.key for t in after.tasks() if t.config["tl"] == "CTL"}
    assert not {t.key for t in before.tasks() if t.config["tl"] == "MSTL"} & _keys(after)
    assert len(before) == 2 * len(settings["optimizers"]) * settings["folds_run"]
    assert before.name == "t-smoke" and before.code_version == tasks.RECIPE_VERSION
    assert before.context["per_class"] is None and before.context["val_size"] == protocol.VAL_SIZE


def test_kept_models_and_main_stem(smoke_run):
    assert grids.kept_models(CHAPTER.settings("smoke")) == [["ResNet50", "adagrad", 0]]
    assert grids.main_stem(grids.plan(smoke_run)) == "multistage_busi"


def test_build_and_stage2_grids(smoke_run):
    built = grids.build(smoke_run)
    assert list(built) == ["stage1", *grids.STAGE2_GRIDS]
    assert all(c.get("stage1_key") is None for c in built["main"].configs)  # stage 1 has not run
    assert built["grouped"].context["grouping"] == "duplicates"
    assert built["mt_small"].name == "multistage_mt_small-smoke"
    settings = CHAPTER.settings("smoke")
    for name in ("image_level", "grouped", "mt_small"):
        assert {(c["backbone"], c["optimizer"]) for c in built[name].configs} == {
            (settings["best_backbone"], settings["best_optimizer"])}
        assert built[name].fold_list == list(range(settings["rerun_folds"]))
    assert _keys(built["image_level"]) <= _keys(built["main"])  # the main grid's own tasks on BUSI
    again = grids.stage2_grids(smoke_run, grids.plan(smoke_run), {})
    assert {name: _keys(grid) for name, grid in again.items()} == {n: _keys(built[n]) for n in grids.STAGE2_GRIDS}


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_engine_tour_tasks_are_the_main_grids_ctl_tasks(profile, phantom_dir, isolated_dirs):
    tour_run = start_run(ENGINE_TOUR, profile=profile, data_dir=str(phantom_dir), weights=None)
    chapter_run = start_run(CHAPTER, profile=profile, data_dir=str(phantom_dir), weights=None)
    tour, main = grids.engine_tour(tour_run), grids.build(chapter_run)["main"]
    assert tour.name == main.name and {c["tl"] for c in tour.configs} == {"CTL"}
    assert _keys(tour) <= _keys(main)
    settings = ENGINE_TOUR.settings(profile)
    assert len(tour) == len(settings["backbones"]) * len(settings["optimizers"]) * settings["folds_run"]


def test_mendeley_runs_p1s_100_plus_100(phantom_dir, tmp_path, isolated_dirs):
    data = tmp_path / "data"
    shutil.copytree(phantom_dir / "busi", data / "busi")
    for label in ("benign", "malignant"):
        (data / "mendeley" / label).mkdir(parents=True)
        for path in sorted((phantom_dir / "busi" / label).glob(f"{label} (*).png")):
            if "_mask" not in path.name:
                shutil.copy(path, data / "mendeley" / label / path.name.replace(" ", "_"))
    run = start_run(CHAPTER, profile="smoke", data_dir=str(data), weights=None)
    plan = grids.plan(run)
    main = grids.stage2_grids(run, plan, {})["main"]
    assert plan.ultrasound.dataset == "mendeley" and main.name == "multistage_mendeley-smoke"
    assert main.context["per_class"] == protocol.MENDELEY_PER_CLASS and main.context["max_images"] is None
    tour = grids.engine_tour(start_run(ENGINE_TOUR, profile="smoke", data_dir=str(data), weights=None))
    assert _keys(tour) <= _keys(main)


def test_run_stage1_retrains_a_task_whose_weights_file_is_gone(smoke_run, isolated_dirs):
    grid = grids.stage1_grid(smoke_run, grids.plan(smoke_run))
    store = engine.ResultsStore(isolated_dirs)
    first = grids.run_stage1(smoke_run, grid, store, progress=False)
    assert first.ok and first.n_run == len(grid) == 2  # the true labels and the shuffled-label control
    record, control = engine.load_records(store, grid)
    (model_weights_dir() / record["extra"]["weights_file"]).unlink()
    again = grids.run_stage1(smoke_run, grid, store, progress=False)
    renewed, same = engine.load_records(store, grid)
    assert again.ok and renewed["key"] == record["key"] and tasks.stage1_file_present(renewed)
    assert same["finished"] == control["finished"]  # only the task whose file was gone ran again


def test_run_all_runs_every_grid_and_links_stage1(chapter):
    assert list(chapter.runs) == ["stage1", *grids.STAGE2_GRIDS]
    assert all(result.ok for result in chapter.runs.values())
    stage1, control = sorted(chapter.raw_records("stage1"), key=lambda r: r["config"].get("labels", "true") != "true")
    assert control["config"]["labels"] == "shuffled"
    links = chapter.grids["main"].context["stage1"]
    assert links[protocol.link_key("ResNet50", "adagrad")]["key"] == stage1["key"]
    assert links[protocol.link_key("ResNet50", "adagrad", "shuffled")]["key"] == control["key"]
    assert chapter.runs["image_level"].n_cached == len(chapter.grids["image_level"])  # shared with the main grid
    assert chapter.failures().empty and len(chapter.summary().splitlines()) == len(chapter.runs)


def test_chapter_run_reads_the_store(chapter):
    records = chapter.records("main")
    assert len(records) == len(chapter.grids["main"]) and set(records["tl"]) == set(protocol.ALL_ARMS)
    predictions = chapter.predictions("main")
    assert len(predictions) == sum(len(r["predictions"]["y_true"]) for r in chapter.raw_records("main"))
    assert {"epoch", "metric", "value"} <= set(chapter.history("main").columns)
    table = chapter.task_table("main")
    available = load_source(chapter.plan.busi)["target"].value_counts()
    per_class = chapter.settings["busi_per_class"]  # P1 balanced its classes: so does the BUSI substitute
    assert table["target"].value_counts().to_dict() == {t: min(per_class, int(available[t])) for t in (0, 1)}
    assert chapter.settings is chapter.plan.settings
    # the same records as the one type every paper's report reads back
    results = chapter.results
    assert isinstance(results, engine.ChapterResults)
    assert results.part(grid="main")["key"].tolist() == records["key"].tolist()
    assert set(results.records["grid"]) == set(chapter.grids) and len(results.raw) == len(results.records)
    assert len(results.part("predictions", grid="main")) == len(predictions)


def test_run_tour_reuses_the_chapters_records(chapter, phantom_dir):
    run = start_run(ENGINE_TOUR, profile="smoke", data_dir=str(phantom_dir), weights=None)
    grid, result = grids.run_tour(run, chapter.store)
    assert result.ok and result.n_run == 0 and result.n_cached == len(grid)


@pytest.mark.slow
def test_stored_reads_the_grids_run_all_ran_without_training(chapter, phantom_dir):
    from mstl_lib.papers.p1_mstl import report
    from mstl_lib.report import scorecard as sc

    again = grids.stored(chapter.run, chapter.store)
    assert isinstance(again, grids.ChapterRun) and set(again.grids) == set(chapter.grids)
    assert {t.key for t in again.grids["main"].tasks()} == {t.key for t in chapter.grids["main"].tasks()}
    flags = report.evidence_flags(again, again.records("main"), again.plan.ultrasound)
    assert sc.RANDOM_WEIGHTS in flags and sc.NOT_RUN not in flags
    claims = report.claims(profile="smoke", data_dir=str(phantom_dir), weights=None, store=chapter.store)
    best = next(c for c in claims if c.id == "best-accuracy")
    assert best.ours is not None and 0 <= best.ours <= 100 and best.ci is not None
    assert all(sc.verdict(c).verdict == sc.CANNOT_CHECK for c in claims)  # phantoms and random weights decide nothing
