"""P2's grids: phantoms without the full release, arm A on one split, grouped arms on folds."""

from __future__ import annotations

import pytest

from mstl_lib.context import start_run
from mstl_lib.papers.p2_breakhis import grids, tasks
from mstl_lib.papers.p2_breakhis.settings import CHAPTER


@pytest.fixture
def smoke_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    (tmp_path / "nothing").mkdir()
    return start_run(CHAPTER, profile="smoke", data_dir=str(tmp_path / "nothing"), weights=None, seed=0)


def test_without_the_release_the_phantoms_serve(smoke_run):
    chosen = grids.sources(smoke_run)
    assert chosen.real is None and chosen.sample is None
    assert sorted(chosen.phantoms) == smoke_run.settings["patient_effects"]
    assert all(source.kind == "phantom" for source in chosen.phantoms.values())
    assert any("phantom" in use.name for use in smoke_run.synthetic_uses)  # the banner names them
    built = grids.build(smoke_run, chosen=chosen)
    assert sorted(built) == ["p2-phantom1-A-smoke", "p2-phantom1-grouped-smoke"]
    a, grouped = built["p2-phantom1-A-smoke"], built["p2-phantom1-grouped-smoke"]
    assert [c["arm"] for c in a.configs] == ["A"] and list(a.folds) == [0]
    assert [c["arm"] for c in grouped.configs] == ["B", "C", "D"]
    assert a.task == grids.TASK and a.code_version == tasks.RECIPE_VERSION
    assert a.context["patient_effect"] == 1.0 and a.context["weights"]["ResNet50"] == {"used": "random"}


def test_grid_names_and_sensitivity_entries():
    assert grids.grid_name("real", "A", "full") == "p2-real-A-full"
    assert grids.parse_sensitivity("loss=bce") == ("loss", "bce")
    with pytest.raises(ValueError, match="sensitivity arm"):
        grids.parse_sensitivity("epochs=3")


def test_phantom_source_is_registered_and_reused(smoke_run):
    first = grids.phantom_source(smoke_run, 0.5)
    again = grids.phantom_source(smoke_run, 0.5)
    assert first == again and first.dataset == "breakhis"
    assert ("breakhis phantom 0.5", "train") in smoke_run.uses
