"""Every chapter's ``full`` grids build without running, and hold the papers' designs task for task.

The design numbers come from each paper's ``protocol`` module (and the chapter's ``full``
settings), so a change there and a grid that drifts from it cannot both pass.
"""

from __future__ import annotations

import pytest

from mstl_lib import papers
from mstl_lib.context import start_run


@pytest.fixture(scope="module")
def full_grids(tmp_path_factory, shared_data):
    mp = pytest.MonkeyPatch()
    mp.setenv("MSTL_RESULTS_DIR", str(tmp_path_factory.mktemp("full_results")))
    grids = {}
    for key in papers.PAPER_PACKAGES:
        run = start_run(papers.module(key, "settings").CHAPTER, profile="full", data_dir="auto", weights=None, seed=0)
        grids[key] = papers.module(key, "grids").build(run)
    yield grids
    mp.undo()


def tasks(grid, **match) -> int:
    """Configurations x folds of ``grid`` whose config matches ``match`` (a value may be a tuple of choices)."""
    def fits(config):
        return all(config.get(k) in (v if isinstance(v, tuple) else (v,)) for k, v in match.items())
    return sum(fits(c) for c in grid.configs) * len(grid.fold_list)


def test_p1_table1_is_three_cnns_by_three_optimizers_by_two_arms_by_five_folds(full_grids):
    from mstl_lib.papers.p1_mstl import protocol

    grids = full_grids["p1_mstl"]
    design = len(protocol.BACKBONES) * len(protocol.OPTIMIZERS) * len(protocol.ARMS) * protocol.N_SPLITS
    assert tasks(grids["main"], tl=protocol.ARMS) == design == 90
    assert {c["epochs"] for c in grids["main"].configs} == {protocol.EPOCHS}
    assert {c["image_size"] for c in grids["main"].configs} == {protocol.IMAGE_SIZE}
    # stage 1: every (CNN, optimizer), on the true cell labels and on the shuffled control
    assert len(grids["stage1"].configs) == len(protocol.BACKBONES) * len(protocol.OPTIMIZERS) * 2
    assert tasks(grids["mt_small"], tl=protocol.ARMS) == len(protocol.ARMS) * protocol.N_SPLITS


def test_p4_is_five_backbones_by_seven_strategies_by_five_folds_per_dataset(full_grids):
    from mstl_lib.papers.p4_finetuning import protocol

    grids = full_grids["p4_finetuning"]
    for dataset in ("busi", "ddti"):  # the two of P4's four datasets that can be had
        grid = grids[f"p4-{dataset}-none-full"]
        assert tasks(grid) == len(protocol.BACKBONES) * len(protocol.STRATEGIES) * 5
        assert {c["epochs"] for c in grid.configs} == {protocol.PAPER_EPOCHS}


def test_p2_trains_arm_a_once_at_its_input_size_and_epochs(full_grids):
    from mstl_lib.papers.p2_breakhis import protocol

    for name, grid in full_grids["p2_breakhis"].items():
        assert {tuple(c["image_shape"]) for c in grid.configs} == {protocol.INPUT_SHAPE[:2]}
        assert {(c["epochs"], c["steps_per_epoch"], c["batch_size"]) for c in grid.configs} == {
            (protocol.PAPER_EPOCHS, protocol.PAPER_STEPS_PER_EPOCH, protocol.BATCH_SIZE)}
        if name.endswith("-A-full"):
            assert tasks(grid, arm="A") == 1  # P2's one split
        else:
            assert tasks(grid) == (len(protocol.ARMS) - 1) * 5


def test_p3_table1_is_three_inputs_by_two_views_by_five_folds(full_grids):
    from mstl_lib.papers.p3_elastography import protocol

    grid = full_grids["p3_elastography"]["p3-busi-p3-full"]
    assert tasks(grid) == len(protocol.INPUTS) * len(protocol.VIEWS) * 5
    assert {c["image_size"] for c in grid.configs} == {224}


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_each_chapter_declares_the_backbones_its_grids_resolve(key, full_grids):
    """``settings.weights_backbones`` (what ``weights status`` lists) is exactly what its grids resolve."""
    resolved = {name for grid in full_grids[key].values() for name in grid.context.get("weights_info", {})}
    assert resolved == set(papers.module(key, "settings").weights_backbones("full")), resolved


@pytest.mark.slow
@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_full_recipe_runs_in_miniature(key, shared_data, tmp_path, monkeypatch):
    """The papers' own recipes at their input sizes, one step or two on a few images: a shape, a name or a
    missing setting of ``full`` fails here, not in hour two of a reader's run."""
    from mstl_lib import engine

    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    store = engine.ResultsStore(tmp_path / "results")
    papers.run_miniature(key, store)
    records = [r for name in store.experiments() for r in store.records(name)]
    assert records and all(r["context"].get("miniature") for r in records)
    failed = [(r["experiment"], r["config"], (r.get("error") or {}).get("message")) for r in records
              if r["status"] != "done"]
    assert not failed, failed
    backbones = {r["config"].get("backbone") for r in records} - {None}
    declared = set(papers.module(key, "settings").weights_backbones("full"))
    assert backbones <= declared
