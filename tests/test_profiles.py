"""Run profiles and chapter settings: every chapter covers every profile with the same keys."""

import pytest

from mstl_lib import profiles
from mstl_lib.profiles import PROFILES, ChapterSettings


def by_profile(**overrides):
    """Settings with one key under every profile, then ``overrides`` (profile -> settings)."""
    return {**{name: {"epochs": 1} for name in PROFILES}, **overrides}


@pytest.mark.parametrize("name", list(profiles.SHARED_CHAPTERS))
def test_every_shared_chapter_defines_every_profile_with_the_same_keys(name):
    chapter = profiles.SHARED_CHAPTERS[name]
    assert chapter.name == name
    assert set(chapter.by_profile) == set(PROFILES)
    keys = {profile: set(settings) for profile, settings in chapter.by_profile.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys


def test_chapter_settings_refuse_a_missing_profile_or_differing_keys():
    assert ChapterSettings("ok", by_profile()).settings("smoke") == {"epochs": 1}
    without_full = {name: {"epochs": 1} for name in PROFILES if name != "full"}
    with pytest.raises(ValueError, match=r"no settings for profile\(s\) \['full'\]"):
        ChapterSettings("x", without_full)
    with pytest.raises(ValueError, match="different keys"):
        ChapterSettings("x", by_profile(cpu={"epochs": 1, "batch_size": 8}))


def test_unknown_profile_and_chapter_are_clear_errors():
    assert profiles.get_profile("CPU") is PROFILES["cpu"]
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        profiles.get_profile("fast")
    with pytest.raises(ValueError, match="no shared chapter 'nope'"):
        profiles.chapter_settings("nope", "cpu")


def test_settings_are_read_only_and_table_shows_all_profiles():
    settings = profiles.chapter_settings("datasets", "CPU")
    with pytest.raises(TypeError):
        settings["samples_per_class"] = 1
    table = profiles.settings_table("datasets")
    assert list(table.columns) == list(PROFILES)
    assert table.loc["duplicate_scan_limit", "cpu"] == "all"  # None shown as "all"
    assert table.loc["duplicate_scan_limit", "smoke"] == settings_of("smoke")["duplicate_scan_limit"]


def settings_of(profile):
    return profiles.chapter_settings(profiles.DATASETS_CHAPTER, profile)


def test_settings_table_adds_the_notes_column():
    chapter = ChapterSettings("noted", by_profile(full={"epochs": 50}), notes={"epochs": "the paper's 50"})
    table = chapter.table()
    assert list(table.columns) == [*PROFILES, "why"]
    assert table.loc["epochs"].tolist() == [1, 1, 50, "the paper's 50"]


def test_the_cpu_budgets_of_every_page_fit_the_hour():
    from mstl_lib.papers import PAPER_PACKAGES, module
    from mstl_lib.papers.p1_mstl.settings import ENGINE_TOUR
    from mstl_lib.profiles import DATASETS_CHAPTER, VERDICTS_CHAPTER

    chapters = [DATASETS_CHAPTER, ENGINE_TOUR, *(module(key, "settings").CHAPTER for key in PAPER_PACKAGES)]
    pages = [*chapters, VERDICTS_CHAPTER, VERDICTS_CHAPTER]  # the scorecard and the audit pages
    assert all("cpu" in chapter.budget_minutes for chapter in pages)
    assert sum(chapter.budget_minutes["cpu"] for chapter in pages) <= 60


@pytest.mark.parametrize("key", ["p1_mstl", "p4_finetuning", "p2_breakhis", "p3_elastography"])
def test_miniature_changes_only_steps_and_images(key):
    from mstl_lib import papers
    from mstl_lib.profiles import MINIATURE_KEYS, MINIATURE_VALUES

    chapter = papers.module(key, "settings").CHAPTER
    full, smoke, mini = chapter.settings("full"), chapter.settings("smoke"), chapter.miniature()
    changed = {k for k in full if mini[k] != full[k]}
    assert changed <= set(MINIATURE_KEYS) | set(MINIATURE_VALUES)
    assert all(mini[k] == smoke[k] for k in changed & set(MINIATURE_KEYS) - set(MINIATURE_VALUES))
    assert all(mini[k] == MINIATURE_VALUES[k] for k in changed & set(MINIATURE_VALUES))
    for kept in ("backbones", "image_size", "image_shape", "optimizers", "strategies", "n_splits", "batch_size"):
        if kept in full:
            assert mini[kept] == full[kept], kept


def test_only_full_runs_in_miniature():
    from mstl_lib.context import ParameterError, start_run

    with pytest.raises(ParameterError, match="miniature"):
        start_run("verdicts", profile="cpu", miniature=True)
