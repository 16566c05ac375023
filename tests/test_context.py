"""The run context: data decisions, weights resolved once, one task context, the banner."""

from __future__ import annotations

import pytest

from mstl_lib import context, data
from mstl_lib.data import phantoms, registry
from mstl_lib.data.sources import DataSource
from mstl_lib.engine.grid import Grid
from mstl_lib.nn import weights as nn_weights
from mstl_lib.profiles import DATASETS_CHAPTER


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """A machine with no data folder: every auto candidate points nowhere."""
    monkeypatch.setattr(registry, "data_dir_candidates", lambda: [("test", tmp_path / "nothing-here")])
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


@pytest.fixture
def busi_only(tmp_path, monkeypatch):
    """An explicit data folder holding a tiny phantom BUSI (4 benign, 3 malignant) and nothing else."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    phantoms.write_ultrasound_phantoms(tmp_path / "data" / "busi", 4, 3, seed=0, size=48)
    return tmp_path / "data"


@pytest.fixture
def offline(monkeypatch):
    """No ImageNet weights can be had."""
    monkeypatch.setattr(nn_weights, "imagenet_weights_available", lambda name, timeout=5.0: (False, "offline"))


def test_auto_falls_back_to_phantoms_and_the_banner_names_them(no_data):
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir="auto", seed=3)
    busi = run.load("busi")
    assert run.data_root is None
    assert (busi["data_kind"] == context.PHANTOM).all()
    assert run.uses[("busi", "show")].kind == context.PHANTOM
    assert run.try_load("breakhis") is None
    assert run.uses[("breakhis", "show")].kind == context.MISSING
    banner = run.banner().data
    assert ":class: warning" in banner and "**busi** (show) is phantoms" in banner
    assert "No real dataset is used on this page" in banner


def test_the_warning_names_only_the_synthetic_datasets(busi_only):
    """Real BUSI beside a phantom cell-line source: the banner names cells, not BUSI."""
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir=str(busi_only))
    run.load("busi")
    cells_root = phantoms.write_cell_phantoms(busi_only.parent / "lines", n_frames_per_line=1, size=128, seed=0)
    run.source("cells", "train", substitute=lambda: DataSource("cells", "train", context.PHANTOM, str(cells_root),
                                                                 "phantom lines"))
    banner = run.banner().data
    assert "**cells** (train) is phantoms" in banner and "trained numbers" in banner
    assert "(busi) are the real ones" in banner
    assert "**busi**" not in banner


def test_missing_dataset_without_fallback_gives_the_full_error(no_data):
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir="auto")
    with pytest.raises(data.DatasetNotFoundError) as err:
        run.load("breakhis")
    message = str(err.value)
    assert "BreaKHis_v1" in message and "http" in message and "Spanhol" in message


def test_explicit_data_dir_is_used_and_never_replaced_by_phantoms(busi_only):
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir=str(busi_only))
    busi = run.load("busi")
    assert run.uses[("busi", "show")].kind == context.REAL
    assert len(busi) == 7
    assert run.try_load("ddti") is None  # an explicit folder never falls back
    assert ":class: note" in run.banner().data


def test_each_use_is_decided_once_and_unusable_real_data_take_the_substitute(busi_only):
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir=str(busi_only))
    shown = run.source("busi", "show")
    calls = []

    def substitute():
        calls.append(1)
        return DataSource("busi", "train", context.STANDIN, shown.root, "test stand-in")

    trained = run.source("busi", "train", usable=lambda table: False, substitute=substitute)
    again = run.source("busi", "train", usable=lambda table: False, substitute=substitute)
    assert shown.kind == context.REAL and trained.kind == context.STANDIN
    assert again is trained and calls == [1]


def test_mt_small_stand_in_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    phantoms.write_ultrasound_phantoms(tmp_path / "data" / "busi", 6, 5, seed=0, size=48)
    run = context.start_run(DATASETS_CHAPTER, profile="smoke", data_dir=str(tmp_path / "data"))
    source = run.mt_small_source(run.source("busi", "train"), n_per_class=200, size=32)
    assert source.kind == context.STANDIN and run.uses[("mt_small", "train")].kind == context.STANDIN
    table = data.load_source(source)
    assert table["label"].value_counts().to_dict() == {"benign": 5, "malignant": 5}


def test_weights_are_resolved_once_and_shown(offline, busi_only, monkeypatch):
    calls = []
    real = nn_weights.resolve_weights

    def counting(weights, name, timeout=5.0):
        calls.append(name)
        return real(weights, name, timeout)

    monkeypatch.setattr(nn_weights, "resolve_weights", counting)
    run = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights="auto")
    first = run.weights_for(["ResNet50", "VGG16"])
    run.weights_for(["ResNet50"])
    assert calls == ["ResNet50", "VGG16"]
    assert {info.used for info in first.values()} == {"random"}
    assert "ResNet50: random initialisation" in run.banner().data


def test_imagenet_that_cannot_be_had_fails_before_training(offline, busi_only):
    run = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights="imagenet")
    with pytest.raises(nn_weights.WeightsUnavailableError):
        run.weights_for(["ResNet50"])


def test_full_refuses_random_unless_asked_and_then_says_so(offline, busi_only):
    run = context.start_run(DATASETS_CHAPTER, profile="full", data_dir=str(busi_only), weights="auto")
    with pytest.raises(nn_weights.WeightsUnavailableError, match="weights=None"):
        run.weights_for(["ResNet50"])
    explicit = context.start_run(DATASETS_CHAPTER, profile="full", data_dir=str(busi_only), weights=None)
    assert explicit.weights_for(["ResNet50"])["ResNet50"].used == "random"
    banner = explicit.banner().data
    assert "Random initialisation under the full profile" in banner and ":class: warning" in banner


def _key(run, source):
    grid = Grid(name="g", configs=[{"backbone": "ResNet50"}], folds=1, task="x:y",
                context=run.task_context(source, ["ResNet50"], n_splits=5))
    return grid.task_key({"backbone": "ResNet50"}, 0)


def test_the_resolved_weights_enter_the_results_key(offline, busi_only, tmp_path):
    """"auto" resolved to random, then a weights file: the key changes; the file's path does not matter."""
    auto = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights="auto")
    source = auto.source("busi", "train")
    explicit_random = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights=None)
    assert _key(auto, source) == _key(explicit_random, source)  # both are random initialisation

    first, second = tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"
    first.write_bytes(b"weights one")
    second.write_bytes(b"weights one")
    from_file = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights=str(first))
    same_bytes = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), weights=str(second))
    assert _key(from_file, source) != _key(auto, source)
    assert _key(from_file, source) == _key(same_bytes, source)
    info = from_file.weights["ResNet50"]
    assert info.used == "file" and len(info.sha256) == 64
    assert "sha256" in from_file.banner().data


def test_task_context_is_json_and_keys_only_what_changes_results(offline, busi_only):
    run = context.start_run(DATASETS_CHAPTER, profile="cpu", data_dir=str(busi_only), seed=4)
    source = run.source("busi", "train")
    ctx = run.task_context(source, ["ResNet50"], grouping="image")
    assert ctx["profile"] == "cpu" and ctx["seed"] == 4 and ctx["grouping"] == "image"
    assert ctx["weights"] == {"ResNet50": {"used": "random"}}
    assert DataSource.from_dict(ctx["data_source"]) == source
    grid = Grid(name="g", configs=[{}], folds=1, task="x:y", context=ctx)
    keyed = grid.keyed_context()
    assert "data_source" not in keyed and "weights_info" not in keyed and "weights" in keyed
    assert keyed["keras_backend"] == "tensorflow"  # a JAX run's records would have other keys
    assert "keras_backend" not in run.task_context(source)  # no network, no backend


@pytest.mark.parametrize("weights", [None, "auto", "ImageNet", "none", "random"])
def test_weights_words_and_none_are_accepted(weights):
    assert context.weights_problem(weights) == ""


def test_chapter_names_must_be_known():
    with pytest.raises(ValueError, match="no shared chapter"):
        context.start_run("no-such-chapter", profile="smoke")


@pytest.mark.parametrize(("parameters", "named"), [
    ({"profile": "fast"}, "parameter profile='fast': unknown profile 'fast'"),
    ({"data_dir": "/no/such/folder"}, "parameter data_dir='/no/such/folder': data folder"),
    ({"seed": "one"}, "parameter seed='one': not an integer"),
    ({"weights": "imagenett"}, "parameter weights='imagenett': no weights file imagenett; pass one of auto, imagenet"),
    ({"weights": "/"}, "parameter weights='/': / is a folder, not a weights file"),
    ({"weights": 3}, "parameter weights=3: not a word or a path (a int)"),
])
def test_a_bad_parameter_is_one_line_naming_it(parameters, named):
    with pytest.raises(context.ParameterError) as err:
        context.start_run(DATASETS_CHAPTER, **{"profile": "smoke", **parameters})
    assert str(err.value).startswith(named)
    assert err.value._render_traceback_() == [f"ParameterError: {err.value}"]  # what a notebook shows


@pytest.mark.parametrize(("chapter_name", "profile", "requested", "expected"), [
    ("multistage", "cpu", "auto", "reused"),  # the cpu profile's: one worker process, reused across tasks
    ("multistage", "smoke", "auto", "local"),
    ("multistage", "full", "auto", "local"),
    ("breakhis", "cpu", "auto", "local"),  # the chapter's own setting wins
    ("multistage", "cpu", "dask", "dask"),  # a named executor is kept
])
def test_auto_executor_is_the_chapters_or_the_profiles(busi_only, chapter_name, profile, requested, expected):
    from mstl_lib.papers import module

    settings = module({"multistage": "p1_mstl", "breakhis": "p2_breakhis"}[chapter_name], "settings").CHAPTER
    run = context.start_run(settings, profile=profile, data_dir=busi_only)
    assert run.executor(requested) == expected
