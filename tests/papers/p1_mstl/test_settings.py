"""P1's chapter settings: full is the paper's protocol, every departure is explained, 02 is a subset of 03."""

from __future__ import annotations

import pytest

from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.settings import CHAPTER, ENGINE_TOUR
from mstl_lib.profiles import PROFILES


def test_names_and_budgets():
    assert (CHAPTER.name, ENGINE_TOUR.name) == ("multistage", "first_grid")
    assert CHAPTER.budget_minutes == {"cpu": 18} and ENGINE_TOUR.budget_minutes == {"cpu": 3}


def test_full_profile_is_the_papers_protocol():
    full = CHAPTER.settings("full")
    assert full["backbones"] == list(protocol.BACKBONES) and full["optimizers"] == list(protocol.OPTIMIZERS)
    assert (full["image_size"], full["epochs"], full["batch_size"]) == (75, 50, 16)
    assert (full["learning_rate"], full["decay_rate"]) == (1e-3, 0.96)
    assert full["stage1_epochs"] == 50 and tuple(full["stage1_split"]) == (0.7, 0.2, 0.1)
    assert full["augment_copies"] == 3 and full["stage1_augment_copies"] == 2
    assert full["n_splits"] == full["folds_run"] == full["rerun_folds"] == 5
    assert full["patches_per_line"] == 6800 and full["busi_per_class"] == 100
    assert (full["best_backbone"], full["best_optimizer"]) == (protocol.BEST["cnn"], protocol.BEST["optimizer"])


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_every_departure_from_the_paper_is_explained(profile):
    full, scaled = CHAPTER.settings("full"), CHAPTER.settings(profile)
    departures = {key for key in full if scaled[key] != full[key]}
    assert departures, "a scaled profile that equals the paper's protocol"
    assert departures <= set(CHAPTER.notes), f"unexplained: {departures - set(CHAPTER.notes)}"
    assert "why" in CHAPTER.table().columns


@pytest.mark.parametrize("profile", list(PROFILES))
def test_profiles_are_consistent(profile):
    settings = CHAPTER.settings(profile)
    assert settings["folds_run"] <= settings["n_splits"] and settings["rerun_folds"] <= settings["folds_run"]
    assert settings["best_backbone"] in settings["backbones"] and settings["best_optimizer"] in settings["optimizers"]
    assert sum(settings["stage1_split"]) == pytest.approx(1)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_engine_tour_is_a_subset_of_chapter_03(profile):
    tour, chapter = ENGINE_TOUR.settings(profile), CHAPTER.settings(profile)
    assert tour["arm"] == "CTL"
    assert set(tour["optimizers"]) <= set(chapter["optimizers"])
    assert tour["folds_run"] <= chapter["folds_run"]
    shared = set(tour) - {"arm", "optimizers", "folds_run"}
    assert shared and all(tour[key] == chapter[key] for key in shared)


def test_cpu_tour_fits_its_budget_in_tasks():
    tour = ENGINE_TOUR.settings("cpu")
    tasks = len(tour["backbones"]) * len(tour["optimizers"]) * tour["folds_run"]
    assert tasks == 3  # about a minute each on 2 cores (FACTS: 14-22 trained img/s, 720 images per task)
