"""P2's chapter settings and paper entry."""

from __future__ import annotations

import pytest

from mstl_lib.papers.p2_breakhis import PAPER, grids, protocol
from mstl_lib.papers.p2_breakhis.settings import CHAPTER
from mstl_lib.profiles import PROFILES


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_is_a_valid_p2_protocol(profile):
    s = CHAPTER.settings(profile)
    assert set(s["arms"]) | set(s["phantom_arms"]) | set(s["real_arms"]) <= set(protocol.ARMS)
    assert "A" in s["phantom_arms"] and "B" in s["phantom_arms"]
    assert 1 <= s["folds_run"] <= s["n_splits"]
    assert s["patient_definition"] in protocol.PATIENT_DEFINITIONS
    assert all(effect >= 0 for effect in s["patient_effects"])
    for entry in s["sensitivity"]:
        grids.parse_sensitivity(entry)


def test_full_profile_is_p2s_protocol():
    s = CHAPTER.settings("full")
    assert tuple(s["image_shape"]) == protocol.INPUT_SHAPE[:2] == (96, 144)
    assert (s["epochs"], s["steps_per_epoch"], s["batch_size"]) == (200, 200, 32)
    assert (s["loss"], s["pooling"]) == ("mse", "avg")
    assert len(s["sensitivity"]) == 4


def test_cpu_profile_is_small_and_budgeted():
    s = CHAPTER.settings("cpu")
    assert s["base"] == "frozen" and s["n_splits"] == 3 and s["epochs"] <= 30
    assert s["patient_effects"] == [0.0, 1.0] and s["sensitivity"] == []
    assert CHAPTER.budget_minutes == {"cpu": 5}


def test_notes_and_paper_entry():
    assert set(CHAPTER.notes) <= set(CHAPTER.settings("cpu"))
    assert PAPER.key == "p2_breakhis" and PAPER.notebook == "05_breakhis" and "99" in PAPER.claim
