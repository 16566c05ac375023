"""P1's tasks: architectures, stage-1 -> stage-2 weights, the one recipe, and both stages through the engine."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mstl_lib.engine.task import resolve_task
from mstl_lib.nn.weights import WeightsInfo, file_sha256
from mstl_lib.papers.p1_mstl import protocol, report, tasks
from mstl_lib.paths import model_weights_dir

SHAPE = (32, 32, 3)
RANDOM = WeightsInfo(None, "random", "random initialisation", "test")


@pytest.fixture(autouse=True)
def fresh_session(tf):
    import keras

    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def weights_home(tmp_path, monkeypatch):
    """Saved weights go to a temporary build folder."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    return model_weights_dir()


def _stage1_link(n_classes=3):
    """A saved stage-1 backbone with non-initial weights; the stage-1 network and its link."""
    model, _ = tasks.stage1_architecture("ResNet50", SHAPE, n_classes, RANDOM)
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in model.get_weights()])
    path = model_weights_dir() / "p1-stage1-test.weights.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    model.get_layer("backbone").save_weights(path)
    link = {"key": "k1", "weights_file": path.name, "sha256": file_sha256(path), "classes": list("abc")[:n_classes],
            "started_from": "random"}
    return model, link


def test_module_contract():
    assert isinstance(tasks.RECIPE_VERSION, str) and tasks.RECIPE_VERSION.startswith("p1-")
    assert resolve_task(tasks.STAGE1_TASK) is tasks.stage1_task and resolve_task(tasks.STAGE2_TASK) is tasks.stage2_task
    assert "patches_index" in tasks.STAGE1_UNKEYED and "stage1" in tasks.STAGE2_UNKEYED
    source = inspect.getsource(tasks)
    assert "set_seed" not in source and "seed_everything" not in source  # the engine seeds every task
    assert "resolve_weights" not in source and "symlink" not in source


def test_weights_file_name_ignores_unkeyed_context():
    config, context = {"backbone": "ResNet50"}, {"seed": 0, "verbose": 0, "patches_index": "/a/patches.csv"}
    name = tasks.weights_file_name("stage1", config, 0, context)
    assert name == tasks.weights_file_name("stage1", config, 0, {**context, "verbose": 2, "patches_index": "/b"})
    assert name != tasks.weights_file_name("stage1", config, 0, {**context, "seed": 1})
    assert name != tasks.weights_file_name("stage1", config, 1, context)
    assert name != tasks.weights_file_name("stage1", {"backbone": "VGG16"}, 0, context)
    assert name.startswith("p1-stage1-") and name.endswith(".weights.h5")


def test_stage1_architecture_is_gap_and_dense_softmax():
    model, info = tasks.stage1_architecture("ResNet50", SHAPE, 3, RANDOM)
    assert [layer.name for layer in model.layers[-2:]] == ["head_gap", "head_output"]
    assert model.get_layer("head_output").units == 3
    assert model.get_layer("head_output").get_config()["activation"] == "softmax"
    assert all(layer.trainable for layer in model.get_layer("backbone").layers)
    assert info.used == "random"


def test_stage2_architecture_matches_p1():
    model, _ = tasks.stage2_architecture("ResNet50", SHAPE)
    head = [layer for layer in model.layers if layer.name.startswith("head_")]
    assert [layer.__class__.__name__ for layer in head] == [
        "GlobalAveragePooling2D", "Dense", "Dropout", "Dense", "Dense"]
    dense = [layer for layer in head if layer.__class__.__name__ == "Dense"]
    assert [d.units for d in dense] == [*protocol.STAGE2_HEAD["units"], 1]
    assert dense[-1].get_config()["activation"] == "sigmoid"
    assert model.get_layer("head_dropout").rate == protocol.STAGE2_HEAD["dropout"]
    assert model.input_shape[1:] == SHAPE


def test_stage1_weights_info_names_the_file(weights_home):
    _, link = _stage1_link()
    info = tasks.stage1_weights_info(link)
    assert info.used == "file" and info.sha256 == link["sha256"] and link["key"] in info.detail
    assert info.identity() == {"used": "file", "sha256": link["sha256"]}


def test_missing_stage1_weights_raise(weights_home):
    with pytest.raises(FileNotFoundError, match="run_all"):
        tasks.stage1_weights_info({"key": "k", "weights_file": "nope.weights.h5", "classes": [1, 2],
                                   "started_from": "random"})


def test_transfer_keeps_every_backbone_weight_and_only_the_head_is_new(weights_home):
    stage1, link = _stage1_link()
    model, info = tasks.transfer_from_stage1("ResNet50", SHAPE, link)
    before, after = stage1.get_layer("backbone").get_weights(), model.get_layer("backbone").get_weights()
    assert len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    ctl, _ = tasks.stage2_architecture("ResNet50", SHAPE)
    assert [layer.__class__.__name__ for layer in ctl.layers] == [layer.__class__.__name__ for layer in model.layers]
    assert info.used == "file"


def test_stage1_file_present_detects_missing_and_changed_files(weights_home):
    _, link = _stage1_link()
    record = {"extra": {"weights_file": link["weights_file"], "sha256": link["sha256"]}}
    assert tasks.stage1_file_present(record)
    assert not tasks.stage1_file_present({"extra": {**record["extra"], "sha256": "0" * 64}})
    (model_weights_dir() / link["weights_file"]).unlink()
    assert not tasks.stage1_file_present(record)


def test_save_model_weights_drops_optimizer_state(weights_home):
    from mstl_lib.nn import training

    model, _ = tasks.stage1_architecture("ResNet50", SHAPE, 2, RANDOM)
    model.compile(optimizer=training.make_optimizer("adam"), loss="categorical_crossentropy")
    model.fit(np.zeros((2, *SHAPE), np.float32), np.eye(2, dtype=np.float32), epochs=1, verbose=0)
    twin, _ = tasks.stage1_architecture("ResNet50", SHAPE, 2, RANDOM)
    path = tasks.save_model_weights(model, twin, weights_home / "w.weights.h5")
    loaded, _ = tasks.stage1_architecture("ResNet50", SHAPE, 2, RANDOM)
    loaded.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True))
    params = sum(w.size for w in model.get_weights())
    assert path.stat().st_size < 1.5 * 4 * params  # no Adam slots (they would triple it)


@pytest.mark.parametrize(("loss", "n_outputs", "copies", "point"), [("binary_crossentropy", 1, 2, "0.5"),
                                                                    ("binary_crossentropy", 1, 1, "validation"),
                                                                    ("categorical_crossentropy", 3, 1, "validation")])
def test_train_recipe_augments_fits_and_predicts(loss, n_outputs, copies, point):
    import keras

    rng = np.random.default_rng(0)
    # a sigmoid head that starts collapsed (every score near 0) and stays so after two small steps, so the
    # validation operating point must move it; the threshold kept on a separating net is tested in calibration's tests
    collapsed = {"kernel_initializer": "zeros", "bias_initializer": keras.initializers.Constant(-12.0)}
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(n_outputs, activation="sigmoid" if n_outputs == 1 else "softmax",
                                                 name="head_output", **(collapsed if n_outputs == 1 else {}))])
    x = rng.random((10, 8, 8, 3), dtype=np.float32)
    y = (np.array([0, 1] * 5, dtype=np.float32) if n_outputs == 1
         else np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)])
    config = {"optimizer": "adagrad", "epochs": 2, "batch_size": 4, "learning_rate": 1e-3, "decay_rate": 0.96,
              "augment_copies": copies, "operating_point": point}
    history, outputs, n_train, notes = tasks.train_recipe(model, (x, y), (x[:4], y[:4]), x[:3], config, loss=loss,
                                                          augmentation=protocol.STAGE2_AUGMENTATION, seed=0)
    assert notes["batchnorm"] == "no BatchNorm layer to settle"
    assert n_train == copies * 10
    assert len(history["loss"]) == 2
    assert outputs.shape == (3, n_outputs) and np.all((outputs >= 0) & (outputs <= 1))
    # the operating point moves for a binary stage that asks for it, and never for stage 1's softmax
    assert ("operating_point" in notes) == (point == "validation" and n_outputs == 1)
    if "operating_point" in notes:
        assert notes["operating_point"].startswith("operating point set on 4 validation images (the network's own "
                                                   "threshold called 0 of them malignant)")
        assert notes["test_positive_at_own_threshold"] == 0


def test_train_recipe_skips_an_empty_validation_set():
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")])
    x = np.random.default_rng(1).random((6, 8, 8, 3), dtype=np.float32)
    y = np.array([0, 1] * 3, dtype=np.float32)
    config = {"optimizer": "sgd", "epochs": 1, "batch_size": 4, "learning_rate": 1e-3, "decay_rate": 0.96,
              "augment_copies": 1}
    history, _, _, _ = tasks.train_recipe(model, (x, y), (x[:0], y[:0]), x[:2], config, loss="binary_crossentropy",
                                          augmentation=protocol.STAGE2_AUGMENTATION, seed=0)
    assert "val_loss" not in history


def test_patch_images_reads_an_index(tmp_path):
    rows = []
    for line in ("b", "a"):
        for k in range(2):
            path = tmp_path / f"{line}{k}.png"
            Image.fromarray(np.full((20, 30, 3), 40 * k, np.uint8)).save(path)
            rows.append({"path": str(path), "label": line})
    pd.DataFrame(rows).to_csv(tmp_path / "patches.csv", index=False)
    images, labels, classes = tasks.patch_images(str(tmp_path / "patches.csv"), 16)
    assert images.shape == (4, 16, 16, 3) and classes == ("a", "b")
    assert labels.tolist() == [1, 1, 0, 0]


def test_stage1_links_keep_finished_records_only():
    records = [
        {"status": "done", "key": "abc", "config": {"backbone": "ResNet50", "optimizer": "adam"},
         "extra": {"weights_file": "f.weights.h5", "sha256": "s", "classes": ["a", "b"], "started_from": "random"}},
        {"status": "failed", "key": "def", "config": {"backbone": "ResNet50", "optimizer": "sgd"}, "extra": None},
    ]
    links = tasks.stage1_links(records)
    assert list(links) == [protocol.link_key("ResNet50", "adam")]
    assert links["ResNet50/adam"] == {"key": "abc", "weights_file": "f.weights.h5", "sha256": "s",
                                      "classes": ["a", "b"], "started_from": "random"}


@pytest.mark.parametrize(("fold", "expected"), [(0, True), (1, False)])
def test_keeps_model(fold, expected):
    context = {"keep_models": [["ResNet50", "adagrad", 0]]}
    assert tasks.keeps_model({"backbone": "ResNet50", "optimizer": "adagrad"}, fold, context) is expected
    assert tasks.keeps_model({"backbone": "ResNet50", "optimizer": "adagrad"}, fold, {}) is False


def test_stage2_model_starts_ctl_from_the_context_and_mstl_from_stage1(weights_home):
    _, link = _stage1_link()
    control = {**link, "key": "k0"}
    context = {"weights_info": {"ResNet50": RANDOM.to_dict()},
               "stage1": {"ResNet50/adagrad": link, "ResNet50/adagrad/shuffled": control}}
    config = {"backbone": "ResNet50", "optimizer": "adagrad"}
    _, ctl = tasks.stage2_model({**config, "tl": "CTL"}, context, SHAPE)
    _, mstl = tasks.stage2_model({**config, "tl": "MSTL", "stage1_key": "k1"}, context, SHAPE)
    _, shuffled = tasks.stage2_model({**config, "tl": protocol.CONTROL, "stage1_key": "k0"}, context, SHAPE)
    assert ctl.used == "random" and mstl.used == "file" and mstl.sha256 == link["sha256"]
    assert shuffled.used == "file"
    with pytest.raises(RuntimeError, match="configuration names"):  # the control never takes MSTL's stage 1
        tasks.stage2_model({**config, "tl": protocol.CONTROL, "stage1_key": "k1"}, context, SHAPE)


@pytest.mark.parametrize(("frames_per_line", "grouped"), [(12, True), (4, False)])
def test_stage1_split_groups_patches_by_frame_when_it_can(frames_per_line, grouped):
    labels = np.repeat(np.arange(3), frames_per_line * 5)
    frames = np.array([f"line{label}-frame{i // 5}" for label, i in zip(labels, range(len(labels)), strict=True)])
    part, is_grouped = tasks.stage1_split(labels, frames, (0.7, 0.2, 0.1), seed=0)
    assert is_grouped == grouped
    sides = [set(frames[part.train]), set(frames[part.val]), set(frames[part.test])]
    straddle = (sides[0] & sides[2]) | (sides[0] & sides[1]) | (sides[1] & sides[2])
    assert (not straddle) == grouped
    assert len(part.train) + len(part.val) + len(part.test) == len(labels)


@pytest.mark.parametrize("seed", [0, 5])
def test_shuffled_labels_keep_the_counts_and_cut_the_link(seed):
    labels = np.repeat(np.arange(3), 40)
    shuffled = tasks.shuffled_labels(labels, seed)
    assert np.array_equal(np.bincount(shuffled), np.bincount(labels))
    assert np.mean(shuffled == labels) < 0.6
    assert np.array_equal(shuffled, tasks.shuffled_labels(labels, seed))


@pytest.mark.parametrize(("config", "context", "error"), [
    ({"tl": "MSTL", "stage1_key": None}, {"stage1": {}}, RuntimeError),
    ({"tl": "MSTL", "stage1_key": "other"}, {"stage1": {"ResNet50/adagrad": {"key": "k1"}}}, RuntimeError),
    ({"tl": "both"}, {}, ValueError),
    ({"tl": "CTL"}, {"weights_info": {}}, KeyError),  # weights never resolved by the task itself
])
def test_stage2_model_refuses_what_it_cannot_start_from(config, context, error):
    with pytest.raises(error):
        tasks.stage2_model({"backbone": "ResNet50", "optimizer": "adagrad", **config}, context, SHAPE)


# --------------------------------------------------------------------------- through the engine (smoke run)


def test_stage1_record_through_the_engine(chapter):
    (record,) = [r for r in chapter.raw_records("stage1") if r["config"].get("labels", "true") == "true"]
    assert record["status"] == "done" and record["code_version"] == tasks.RECIPE_VERSION
    assert record["extra"]["grouped_by_frame"] is False  # smoke: 2 frames per line, too few to group
    assert set(record["metrics"]) == set(report.STAGE1_METRICS)
    extra = record["extra"]
    assert len(record["predictions"]["y_true"]) == extra["n_test"]
    assert extra["n_train"] == chapter.settings["stage1_augment_copies"] * (
        len(chapter.plan.patches) - extra["n_val"] - extra["n_test"])
    assert file_sha256(model_weights_dir() / extra["weights_file"]) == extra["sha256"]
    assert record["weights_used"].startswith("random initialisation")
    assert record["weights"] == {record["config"]["backbone"]: {"used": "random", "requested": None,
                                                                "description": record["weights_used"]}}


def test_stage2_records_through_the_engine(chapter):
    records = chapter.raw_records("main")
    assert records and all(r["status"] == "done" for r in records)
    for record in records:
        assert set(record["metrics"]) == set(report.STAGE2_READ)  # exactly what the report reads
        assert "BatchNorm layers settled" in record["extra"]["batchnorm"]
        scores = np.asarray(record["predictions"]["y_score"])
        assert len(scores) == record["extra"]["n_test"] and np.all((scores >= 0) & (scores <= 1))
        assert record["extra"]["n_train"] % chapter.settings["augment_copies"] == 0
    mstl = [r for r in records if r["config"]["tl"] == "MSTL"]
    (stage1,) = [r for r in chapter.raw_records("stage1") if r["config"].get("labels", "true") == "true"]
    assert all(r["config"]["stage1_key"] == stage1["key"] for r in mstl)
    control = [r for r in records if r["config"]["tl"] == protocol.CONTROL]
    assert control and all(r["config"]["stage1_key"] != stage1["key"] for r in control)
    assert all(r["weights_used"].startswith(f"file {stage1['extra']['weights_file']}") for r in mstl)
    assert all(r["weights"][r["config"]["backbone"]]["used"] == "file"
               and r["weights"][r["config"]["backbone"]]["sha256"] == stage1["extra"]["sha256"] for r in mstl)
    kept = [r for r in records if r["extra"].get("model_file")]
    assert {(r["config"]["tl"], r["fold"]) for r in kept} == {("CTL", 0), ("MSTL", 0)}


def test_kept_stage2_network_reloads_and_gives_five_feature_maps(chapter):
    record = next(r for r in chapter.raw_records("main") if r["extra"].get("model_file"))
    model = tasks.load_stage2_model(record)
    image = np.random.default_rng(0).random(SHAPE, dtype=np.float32)
    maps = tasks.feature_maps(model, image)
    assert len(maps) == len(protocol.RESNET50_STAGES)
    sides = [m.shape[0] for m in maps]
    assert sides == sorted(sides, reverse=True) and all(m.ndim == 3 for m in maps)
    # the reloaded network reproduces the stored test scores
    index = record["predictions"]["row"][0]
    table = chapter.task_table("main")
    from mstl_lib.data.tables import image_array

    x = image_array(tuple(table["path"]), record["config"]["image_size"])[index : index + 1]
    assert float(model.predict(x, verbose=0)[0, 0]) == pytest.approx(record["predictions"]["y_score"][0], abs=1e-4)


def test_patch_frames_reads_the_source_frame_of_each_patch(tmp_path):
    pd.DataFrame({"path": ["a.png", "b.png", "c.png"], "label": ["x", "x", "y"],
                  "group": ["f1", "f1", "f2"]}).to_csv(tmp_path / "patches.csv", index=False)
    assert tasks.patch_frames(str(tmp_path / "patches.csv")).tolist() == ["f1", "f1", "f2"]
