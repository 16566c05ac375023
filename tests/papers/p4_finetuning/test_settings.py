"""P4's chapter settings and paper entry: every profile is a valid, runnable P4 protocol."""

from __future__ import annotations

import pytest

from mstl_lib import papers
from mstl_lib.paths import REPO_ROOT
from mstl_lib.papers.p4_finetuning import PAPER, protocol
from mstl_lib.papers.p4_finetuning.settings import CHAPTER
from mstl_lib.profiles import PROFILES

KEYS = {"datasets", "backbones", "strategies", "image_size", "epochs", "batch_size", "learning_rate", "n_splits",
        "folds_run", "max_images", "svm_cv", "grouped_protocols", "grouping_strategies", "grouping_backbones", "class_weight",
        "operating_point"}


def test_chapter_has_every_profile_with_the_old_keys():
    assert CHAPTER.name == "finetuning"
    assert set(CHAPTER.by_profile) == set(PROFILES)
    for profile in PROFILES:
        assert set(CHAPTER.settings(profile)) == KEYS


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_is_a_valid_p4_protocol(profile):
    s = CHAPTER.settings(profile)
    assert set(s["strategies"]) <= set(protocol.STRATEGIES)
    assert set(s["grouping_strategies"]) <= set(protocol.STRATEGIES)
    assert set(s["backbones"]) <= set(protocol.BACKBONES)
    assert set(s["grouping_backbones"]) <= set(protocol.BACKBONES)
    assert set(s["datasets"]) <= set(protocol.PAPER_DATASET)
    for entry in s["grouped_protocols"]:
        dataset, grouping = protocol.parse_protocol(entry)
        assert dataset in s["datasets"] and grouping != "none"
    assert 1 <= s["folds_run"] <= s["n_splits"]
    assert s["svm_cv"] >= 2 and s["epochs"] >= 1 and s["batch_size"] >= 1
    if "InceptionV3" in s["backbones"] + s["grouping_backbones"]:
        assert s["image_size"] >= 75  # InceptionV3's smallest input


def test_full_profile_is_p4s_protocol():
    s = CHAPTER.settings("full")
    assert (s["epochs"], s["batch_size"], s["learning_rate"]) == (protocol.PAPER_EPOCHS, 4, 1e-4)
    assert (s["n_splits"], s["folds_run"], s["svm_cv"], s["max_images"]) == (5, 5, 5, None)
    assert tuple(s["backbones"]) == protocol.BACKBONES and tuple(s["strategies"]) == protocol.STRATEGIES


def test_smoke_profile_is_tiny():
    s = CHAPTER.settings("smoke")
    assert s["max_images"] <= 64 and s["epochs"] == 1 and s["image_size"] <= 32


def test_notes_explain_settings_that_exist_and_show_in_the_table():
    assert set(CHAPTER.notes) <= KEYS
    table = CHAPTER.table()
    assert list(table.columns) == [*PROFILES, "why"]
    assert table.loc["epochs", "why"] == CHAPTER.notes["epochs"]
    assert CHAPTER.budget_minutes == {"cpu": 14}


def test_paper_entry():
    assert PAPER.key == "p4_finetuning" and PAPER.label == "P4"
    assert papers.module("p4_finetuning").PAPER is PAPER
    assert PAPER in papers.papers()
    assert (REPO_ROOT / "notebooks" / f"{PAPER.notebook}.py").is_file()
    assert f"{{{PAPER.citation_key}," in (REPO_ROOT / "references.bib").read_text()
    assert PAPER.claim.endswith(".") and PAPER.claim.count(". ") == 0  # one sentence


def test_full_keeps_p4s_plain_loss():
    assert CHAPTER.settings("full")["class_weight"] is None
    assert CHAPTER.settings("cpu")["class_weight"] == "balanced" and "class_weight" in CHAPTER.notes
