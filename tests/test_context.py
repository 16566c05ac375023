"""The run context: data resolution, phantom fallback, provenance banner."""

import pytest

from mstl_lib import context, data
from mstl_lib.data import registry

from mstl_lib.data import phantoms


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """A machine with no data folder: every auto candidate points nowhere."""
    monkeypatch.setattr(registry, "data_dir_candidates",
                        lambda: [("test", tmp_path / "nothing-here")])
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


def test_auto_falls_back_to_phantoms_and_the_banner_says_so(no_data):
    run = context.start_run("datasets", profile="smoke", data_dir="auto", seed=3)
    busi = run.load("busi")
    assert run.data_root is None
    assert (busi["data_kind"] == context.PHANTOM).all()
    assert run.datasets["busi"].kind == context.PHANTOM
    assert run.try_load("breakhis") is None
    assert run.datasets["breakhis"].kind == context.MISSING
    banner = run.banner().data
    assert ":class: warning" in banner and "Synthetic data" in banner and "phantom" in banner


def test_missing_dataset_without_fallback_gives_the_full_error(no_data):
    run = context.start_run("datasets", profile="smoke", data_dir="auto")
    with pytest.raises(data.DatasetNotFoundError) as err:
        run.load("breakhis")
    message = str(err.value)
    assert "BreaKHis_v1" in message and "http" in message and "Spanhol" in message


def test_explicit_data_dir_is_used_and_never_replaced_by_phantoms(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    phantoms.write_ultrasound_phantoms(tmp_path / "data" / "busi", 4, 3, seed=0, size=48)
    run = context.start_run("datasets", profile="smoke", data_dir=str(tmp_path / "data"))
    busi = run.load("busi")
    assert run.datasets["busi"].kind == context.REAL
    assert len(busi) == 7
    assert run.try_load("ddti") is None  # an explicit folder never falls back
    assert ":class: note" in run.banner().data


def test_mt_small_stand_in_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    phantoms.write_ultrasound_phantoms(tmp_path / "data" / "busi", 6, 5, seed=0, size=48)
    run = context.start_run("datasets", profile="smoke", data_dir=str(tmp_path / "data"))
    busi = run.load("busi")
    standin = run.load_mt_small(busi, n_per_class=200, size=32)
    assert run.datasets["mt_small"].kind == context.STANDIN
    assert standin["label"].value_counts().to_dict() == {"benign": 5, "malignant": 5}


def test_weights_are_recorded_in_the_banner(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    run = context.start_run("datasets", profile="cpu", data_dir=str(tmp_path), weights="auto")
    run.record_weights("ResNet50", "random: ImageNet weights unavailable")
    assert "ResNet50: random" in run.banner().data
    assert run.as_dict()["weights_used"] == {"ResNet50": "random: ImageNet weights unavailable"}
