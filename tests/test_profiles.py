import pytest

from mstl_lib import profiles


@pytest.mark.parametrize("chapter", list(profiles.CHAPTER_SETTINGS))
def test_every_chapter_defines_every_profile_with_the_same_keys(chapter):
    by_profile = profiles.CHAPTER_SETTINGS[chapter]
    assert set(by_profile) == set(profiles.PROFILES)
    keys = {name: set(settings) for name, settings in by_profile.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys


def test_unknown_profile_and_chapter_are_clear_errors():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        profiles.get_profile("fast")
    with pytest.raises(ValueError, match="no settings for chapter"):
        profiles.chapter_settings("nope", "cpu")


def test_settings_are_read_only_and_table_shows_all_profiles():
    settings = profiles.chapter_settings("datasets", "CPU")
    with pytest.raises(TypeError):
        settings["samples_per_class"] = 1
    table = profiles.settings_table("datasets")
    assert list(table.columns) == list(profiles.PROFILES)
    assert table.loc["duplicate_scan_limit", "cpu"] == "all"
