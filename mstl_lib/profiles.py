"""The three run profiles and what each expands to, in one place.

``smoke``  seconds per notebook, tiny subsets; for tests.
``cpu``    the default of ``make book``: real data, a scaled-down protocol,
           the whole book in at most an hour on 2 CPU cores.
``full``   the papers' exact protocols, meant for a GPU and the original data.

Notebooks never hard-code these numbers: each paper's ``settings`` module declares a
:class:`ChapterSettings`, and the run context hands the chapter its settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd


@dataclass(frozen=True)
class Profile:
    """A named run profile."""

    name: str
    summary: str
    phantom_scale: str
    """Size of the synthetic data folder used when no real data is found."""
    executor: str = "local"
    """Where a chapter's tasks run unless its ``executor`` parameter names one (``mstl_lib.engine.executors``)."""


PROFILES = MappingProxyType(
    {
        "smoke": Profile("smoke", "seconds per notebook, tiny subsets; for tests", "small"),
        # cpu: one fresh process per task, so a chapter's memory is its largest task's (a few seconds per task)
        "cpu": Profile("cpu", "real data, scaled-down protocol for 2 CPU cores", "cpu", executor="reused"),
        "full": Profile("full", "the paper's exact protocol; meant for a GPU", "cpu"),
    }
)

MINIATURE_KEYS = ("epochs", "stage1_epochs", "ensemble_epochs", "patience", "steps_per_epoch", "augment_copies",
                  "stage1_augment_copies", "max_images", "ddti_max_images", "busi_per_class", "mt_small_max_images",
                  "cell_frames_per_line", "patches_per_line", "min_train", "svm_cv", "n_boot", "phantom_scale")
"""The settings ``full`` in miniature takes from ``smoke`` (:meth:`ChapterSettings.miniature`): epochs,
steps, augmentation copies and image counts. Everything else stays ``full``'s."""

MINIATURE_VALUES = {"steps_per_epoch": 2, "folds_run": 1, "rerun_folds": 1}
"""Settings ``full`` in miniature fixes, where a chapter has them: two steps an epoch, one fold."""


@dataclass(frozen=True)
class ChapterSettings:
    """One chapter's settings under each profile, and its time budget.

    Attributes
    ----------
    name : str
        The chapter's name (it names its grids and banner).
    by_profile : mapping
        ``{"smoke": {...}, "cpu": {...}, "full": {...}}``; every profile holds the same keys.
    budget_minutes : mapping
        Wall-time budget of the chapter under each profile it has one for.
    notes : mapping
        Why a setting departs from the paper, by key; shown beside the settings table.
    """

    name: str
    by_profile: Mapping[str, Mapping]
    budget_minutes: Mapping[str, float] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        missing = set(PROFILES) - set(self.by_profile)
        if missing:
            raise ValueError(f"chapter {self.name!r} has no settings for profile(s) {sorted(missing)}")
        keys = {name: set(values) for name, values in self.by_profile.items()}
        if len({frozenset(k) for k in keys.values()}) != 1:
            raise ValueError(f"chapter {self.name!r}: the profiles' settings have different keys: {keys}")

    def settings(self, profile: str) -> MappingProxyType:
        """The settings under ``profile`` (read-only)."""
        return MappingProxyType(dict(self.by_profile[get_profile(profile).name]))

    def miniature(self) -> MappingProxyType:
        """``full`` in miniature: the ``full`` settings, with only how many steps and images a task uses
        (:data:`MINIATURE_KEYS`) taken from ``smoke``, and one fold run. Image sizes, backbones, heads,
        optimizers and strategies stay the papers'."""
        full, smoke = self.by_profile["full"], self.by_profile["smoke"]
        values = {**full, **{key: smoke[key] for key in MINIATURE_KEYS if key in full}}
        values.update({key: value for key, value in MINIATURE_VALUES.items() if key in full})
        return MappingProxyType(values)

    def table(self) -> pd.DataFrame:
        """All profiles' settings side by side (one column per profile; ``None`` shown as "all")."""
        columns = {
            name: {key: "all" if value is None else value for key, value in self.by_profile[name].items()}
            for name in PROFILES
        }
        frame = pd.DataFrame(columns, dtype=object)
        if self.notes:
            frame["why"] = [self.notes.get(key, "") for key in frame.index]
        return frame


DATASETS_CHAPTER = ChapterSettings(
    name="datasets",
    by_profile={
        "smoke": {"duplicate_scan_limit": 120, "samples_per_class": 2, "duplicate_examples": 2},
        "cpu": {"duplicate_scan_limit": None, "samples_per_class": 4, "duplicate_examples": 6},
        "full": {"duplicate_scan_limit": None, "samples_per_class": 4, "duplicate_examples": 6},
    },
    budget_minutes={"cpu": 1},
)
"""The datasets chapter (book-wide; the papers' chapters keep theirs in ``papers/<paper>/settings.py``)."""

VERDICTS_CHAPTER = ChapterSettings(
    name="verdicts",
    by_profile={"smoke": {}, "cpu": {}, "full": {}},
    budget_minutes={"cpu": 2},
)
"""The scorecard and audit pages (book-wide): they read stored records and train nothing."""

SHARED_CHAPTERS = {chapter.name: chapter for chapter in (DATASETS_CHAPTER, VERDICTS_CHAPTER)}


def get_profile(name: str) -> Profile:
    """Return the :class:`Profile` called ``name``; raise ``ValueError`` for an unknown one."""
    try:
        return PROFILES[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None


def chapter(chapter: str | ChapterSettings) -> ChapterSettings:
    """The :class:`ChapterSettings` given, or the shared chapter of that name."""
    if isinstance(chapter, ChapterSettings):
        return chapter
    if chapter not in SHARED_CHAPTERS:
        raise ValueError(f"no shared chapter {chapter!r} (known: {', '.join(SHARED_CHAPTERS)}); "
                         "a paper's chapter passes its ChapterSettings from papers/<paper>/settings.py")
    return SHARED_CHAPTERS[chapter]


def chapter_settings(chapter_or_name: str | ChapterSettings, profile: str) -> MappingProxyType:
    """The concrete settings of a chapter under ``profile`` (read-only mapping)."""
    return chapter(chapter_or_name).settings(profile)


def settings_table(chapter_or_name: str | ChapterSettings) -> pd.DataFrame:
    """All profiles' settings of a chapter side by side (one column per profile)."""
    return chapter(chapter_or_name).table()
