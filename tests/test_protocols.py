"""The transfer-learning task, run through the engine on a tiny phantom set."""

import numpy as np
import pytest

from mstl_lib import engine, protocols

from mstl_lib.data import phantoms, splits


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    phantoms.write_ultrasound_phantoms(root / "busi", 12, 10, size=48, seed=1)
    return root


def test_binary_table_subsets_stratified_and_groups_duplicates(data_dir):
    table = protocols.binary_table("busi", str(data_dir), "image", 10, 0)
    assert len(table) == 10 and set(table["target"]) == {0, 1}
    grouped = protocols.binary_table("busi", str(data_dir), "duplicates", None, 0)
    assert "dup_cluster" in grouped


@pytest.mark.parametrize("fold", [0, 1])
def test_nested_fold_keeps_test_out_of_training(data_dir, fold):
    table = protocols.binary_table("busi", str(data_dir), "image", None, 0)
    part = protocols.nested_fold(table, fold, {"n_splits": 2, "seed": 0})
    splits.assert_disjoint([part], table["group"].to_numpy())
    assert not set(part.test) & (set(part.train) | set(part.val))


def test_transfer_task_through_the_engine(data_dir, tmp_path):
    config = {"backbone": "ResNet50", "optimizer": "adam", "image_size": 32, "epochs": 1,
              "batch_size": 8, "learning_rate": 1e-3, "decay_rate": 0.96, "augment_copies": 2}
    grid = engine.Grid("tiny", [config], [0], "mstl_lib.protocols:transfer_classification",
                            context={"dataset": "busi", "data_dir": str(data_dir), "n_splits": 2,
                                     "seed": 0, "weights": None, "profile": "smoke"})
    run = engine.run_grid(grid, tmp_path, progress=False)
    assert run.ok, run.failures
    record = engine.load_records(tmp_path, grid)[0]
    assert record["weights_used"].startswith("random")
    predictions = record["predictions"]
    assert len(predictions["y_score"]) == record["extra"]["n_test"]
    assert np.all((np.array(predictions["y_score"]) >= 0) & (np.array(predictions["y_score"]) <= 1))
    assert record["extra"]["n_train"] % 2 == 0  # threefold-style offline augmentation, here 2x
    assert 0 <= record["metrics"]["accuracy"] <= 1
