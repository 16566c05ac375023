"""Multistage transfer: stage-1 -> stage-2 weights, architectures, file names, splits, Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib import multistage, protocols

from mstl_lib.data import splits

SHAPE = (32, 32, 3)


@pytest.fixture
def weights_home(tmp_path, monkeypatch):
    """Saved weights go to a temporary build folder."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path / "build"


def _stage1_file(backbone="ResNet50", n_classes=3):
    """A saved stage-1 network with non-initial weights; its link and the network."""
    model, _ = multistage.stage1_architecture(backbone, SHAPE, n_classes, weights=None)
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in model.get_weights()])
    multistage.weights_dir().mkdir(parents=True, exist_ok=True)
    model.save_weights(multistage.weights_dir() / "stage1-test.weights.h5")
    link = {"key": "k", "weights_file": "stage1-test.weights.h5", "classes": list("abc")[:n_classes],
            "started_from": "random"}
    return model, link


def test_stage1_architecture_is_gap_and_dense_softmax(tf):
    model, _ = multistage.stage1_architecture("ResNet50", SHAPE, 3, weights=None)
    assert [layer.name for layer in model.layers[-2:]] == ["head_gap", "head_output"]
    assert model.get_layer("head_output").units == 3
    assert model.get_layer("head_output").get_config()["activation"] == "softmax"
    assert all(layer.trainable for layer in model.get_layer("backbone").layers)


def test_transfer_keeps_every_backbone_weight_and_only_the_head_is_new(tf, weights_home):
    stage1, link = _stage1_file()
    model, loaded, info = multistage.transfer_from_stage1("ResNet50", SHAPE, link)
    before, after = stage1.get_layer("backbone").get_weights(), model.get_layer("backbone").get_weights()
    assert len(before) == len(after)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    stage1_ids = {id(w) for w in loaded.weights}
    backbone_ids = {id(w) for w in model.get_layer("backbone").weights}
    assert backbone_ids <= stage1_ids  # the stage-1 backbone itself, not a copy
    head = [w for w in model.weights if id(w) not in backbone_ids]
    assert head and not {id(w) for w in head} & stage1_ids  # only the head is new
    assert info.used == "file"


def test_stage2_architecture_matches_p1(tf, weights_home):
    _, link = _stage1_file()
    model, _, _ = multistage.transfer_from_stage1("ResNet50", SHAPE, link)
    head = [layer for layer in model.layers if layer.name.startswith("head_")]
    assert [layer.__class__.__name__ for layer in head] == [
        "GlobalAveragePooling2D", "Dense", "Dropout", "Dense", "Dense"]
    dense = [layer for layer in head if layer.__class__.__name__ == "Dense"]
    assert len(dense) == 3  # three dense layers, one with dropout
    assert dense[-1].units == 1 and dense[-1].get_config()["activation"] == "sigmoid"
    assert model.input_shape[1:] == SHAPE
    # the CTL network has the same architecture
    ctl = multistage.stage2_architecture("ResNet50", SHAPE)
    assert [layer.__class__.__name__ for layer in ctl.layers] == [layer.__class__.__name__ for layer in model.layers]


def test_missing_stage1_weights_raise(tf, weights_home):
    with pytest.raises(FileNotFoundError, match="run_stage1"):
        multistage.transfer_from_stage1("ResNet50", SHAPE, {"weights_file": "nope.weights.h5", "classes": [1, 2]})


def test_task_file_name_ignores_unkeyed_context():
    config, context = {"backbone": "ResNet50"}, {"seed": 0, "verbose": 0, "patches_index": "/a/patches.csv"}
    name = multistage.task_file_name("stage1", config, 0, context)
    assert name == multistage.task_file_name("stage1", config, 0, {**context, "verbose": 2, "patches_index": "/b"})
    assert name != multistage.task_file_name("stage1", config, 0, {**context, "seed": 1})
    assert name != multistage.task_file_name("stage1", config, 1, context)
    assert name.startswith("stage1-") and name.endswith(".weights.h5")


def test_stage1_links_name_the_record_and_file():
    records = [
        {"status": "done", "key": "abc", "config": {"backbone": "ResNet50", "optimizer": "adam"},
         "extra": {"weights_file": "stage1-x.weights.h5", "classes": ["a", "b"], "started_from": "random"}},
        {"status": "failed", "key": "def", "config": {"backbone": "ResNet50", "optimizer": "sgd"}, "extra": None},
    ]
    links = multistage.stage1_links(records)
    assert list(links) == ["ResNet50/adam"]
    assert links["ResNet50/adam"]["key"] == "abc"


@pytest.mark.parametrize(("fold", "expected"), [(0, True), (1, False)])
def test_keeps_model(fold, expected):
    context = {"keep_models": [["ResNet50", "adagrad", 0]]}
    assert multistage.keeps_model({"backbone": "ResNet50", "optimizer": "adagrad"}, fold, context) is expected


@pytest.mark.parametrize("grouping", ["image", "duplicates"])
def test_nested_split_never_lets_a_test_image_into_training(grouping):
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame({"target": rng.integers(0, 2, n),
                          "group": [f"g{i // (3 if grouping == 'duplicates' else 1)}" for i in range(n)]})
    for fold in range(5):
        part = protocols.nested_fold(table, fold, {"n_splits": 5, "seed": 0})
        test = set(part.test)
        assert not test & (set(part.train) | set(part.val))
        assert not set(part.train) & set(part.val)
        test_groups = set(table["group"].iloc[part.test])
        assert not test_groups & set(table["group"].iloc[np.concatenate([part.train, part.val])])
    splits.assert_disjoint([protocols.nested_fold(table, f, {"n_splits": 5, "seed": 0}) for f in range(5)],
                           table["group"].to_numpy())


def _records():
    rows = []
    for tl, base in (("CTL", 0.6), ("MSTL", 0.8)):
        for optimizer in ("sgd", "adam"):
            for fold in range(2):
                rows.append({"tl": tl, "backbone": "ResNet50", "optimizer": optimizer, "fold": fold,
                             "status": "done", "auc": base, "f1": base, "specificity": base,
                             "sensitivity": base, "loss": 1 - base, "accuracy": base + 0.1 * fold})
    return pd.DataFrame(rows)


def test_table1_from_records():
    table = multistage.table1(_records())
    assert len(table) == 4
    row = table.query("tl == 'MSTL' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy"] == pytest.approx(85.0)
    assert row["accuracy_sd"] == pytest.approx(100 * np.std([0.8, 0.9], ddof=1))
    assert row["avg_accuracy_cnn"] == pytest.approx(85.0)


def test_compare_table1_differences():
    from mstl_lib import paper_values

    paper = paper_values.load("p1_table1")
    comparison = multistage.compare_table1(multistage.table1(_records()), paper)
    assert len(comparison) == len(paper)
    row = comparison.query("tl == 'MSTL' and cnn == 'ResNet50' and optimizer == 'sgd'").iloc[0]
    assert row["accuracy_diff"] == pytest.approx(85.0 - 98.5)
    assert comparison.query("cnn == 'InceptionV3'")["accuracy_ours"].isna().all()
    assert len(multistage.paired_accuracies(multistage.table1(_records()))) == 2


def test_balanced_subset_dir_links_n_per_class(tmp_path):
    from mstl_lib import data

    rows = []
    for label, n in (("benign", 4), ("malignant", 6)):
        folder = tmp_path / "src" / label
        folder.mkdir(parents=True)
        for i in range(n):
            path = folder / f"{label}_{i}.png"
            from PIL import Image
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
            rows.append({"path": str(path), "label": label})
    data_dir = multistage.balanced_subset_dir(pd.DataFrame(rows), "mendeley", 3, tmp_path / "out", seed=0)
    table = data.load_dataset("mendeley", data_dir)
    assert table["label"].value_counts().to_dict() == {"benign": 3, "malignant": 3}


def test_stored_runtime_sums_per_profile(tmp_path):
    from mstl_lib.engine.store import ResultsStore

    class FakeStore:
        def experiments(self):
            return ["multistage_a-cpu", "multistage_b-cpu", "multistage_a-smoke", "other-cpu"]

        def records(self, experiment):
            return [{"wall_time_s": 60.0}, {"wall_time_s": 120.0}]

    table = multistage.stored_runtime(FakeStore()).set_index("profile")
    assert table.loc["cpu", "tasks"] == 4 and table.loc["cpu", "training_min"] == pytest.approx(6.0)
    assert table.loc["smoke", "experiments"] == 1
    assert multistage.stored_runtime(ResultsStore(tmp_path)).empty


def test_save_model_weights_drops_optimizer_state(tf, weights_home):
    from mstl_lib.nn import training

    model, _ = multistage.stage1_architecture("ResNet50", SHAPE, 2, weights=None)
    model.compile(optimizer=training.make_optimizer("adam"), loss="categorical_crossentropy")
    model.fit(np.zeros((2, *SHAPE), np.float32), np.eye(2, dtype=np.float32), epochs=1, verbose=0)
    twin, _ = multistage.stage1_architecture("ResNet50", SHAPE, 2, weights=None)
    path = weights_home / "w.weights.h5"
    multistage.save_model_weights(model, twin, path)
    loaded, _ = multistage.stage1_architecture("ResNet50", SHAPE, 2, weights=None)
    loaded.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True))
    params = sum(w.size for w in model.get_weights())
    assert path.stat().st_size < 1.5 * 4 * params  # no Adam slots (they would triple it)
