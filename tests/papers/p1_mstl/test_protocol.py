"""P1's rules: no TensorFlow, nested folds that never leak, the paper's numbers and its t-test samples."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data import splits
from mstl_lib.papers.p1_mstl import protocol


def test_importing_the_protocol_does_not_import_tensorflow():
    code = ("import sys, mstl_lib.papers.p1_mstl.protocol, mstl_lib.papers.p1_mstl.settings; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_constants_follow_the_paper():
    assert protocol.ARMS == ("CTL", "MSTL") and set(protocol.ARM_TITLES) == set(protocol.ALL_ARMS)
    assert sum(protocol.STAGE1_SPLIT) == pytest.approx(1)
    assert (1 - 1 / protocol.N_SPLITS) * protocol.VAL_SIZE == pytest.approx(0.2)  # 6:2:2
    assert protocol.STAGE2_AUGMENTATION["flips"] == ("vertical",)
    assert len(protocol.STAGE2_HEAD["units"]) + 1 == 3  # three dense layers
    assert len(protocol.RESNET50_STAGES) == 5
    assert set(protocol.STAGE1_METRICS) <= set(protocol.TABLE1_METRICS)


@pytest.mark.parametrize(("backbone", "optimizer"), [("ResNet50", "adagrad"), ("InceptionV3", "sgd")])
def test_link_key_is_unique_and_readable(backbone, optimizer):
    key = protocol.link_key(backbone, optimizer)
    assert key == f"{backbone}/{optimizer}" and key.split("/") == [backbone, optimizer]
    assert protocol.link_key(backbone, optimizer, "shuffled") == f"{key}/shuffled"
    assert set(protocol.STAGE1_LABELS) == set(protocol.ALL_ARMS) - {"CTL"}


@pytest.mark.parametrize("group_size", [1, 3])
def test_nested_fold_never_lets_a_test_image_into_training(group_size):
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame({"target": rng.integers(0, 2, n), "group": [f"g{i // group_size}" for i in range(n)]})
    context = {"n_splits": 5, "seed": 0}
    folds = [protocol.nested_fold(table, fold, context) for fold in range(5)]
    for part in folds:
        assert not set(part.test) & (set(part.train) | set(part.val)) and not set(part.train) & set(part.val)
        held = set(table["group"].iloc[part.test])
        assert not held & set(table["group"].iloc[np.concatenate([part.train, part.val])])
        assert len(part.train) + len(part.val) + len(part.test) == n
    splits.assert_disjoint(folds, table["group"].to_numpy())
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(n))  # every row tested once


def test_nested_fold_proportions_are_6_2_2():
    table = pd.DataFrame({"target": np.arange(100) % 2, "group": np.arange(100)})
    part = protocol.nested_fold(table, 0, {"n_splits": 5, "seed": 3})
    assert (len(part.train), len(part.val), len(part.test)) == (60, 20, 20)


def test_paper_values():
    table1 = protocol.paper_table1()
    assert len(table1) == 18 and set(table1["tl"]) == set(protocol.ARMS)
    assert set(table1["cnn"]) == set(protocol.BACKBONES) and set(table1["optimizer"]) == set(protocol.OPTIMIZERS)
    assert protocol.paper_p_value() == pytest.approx(0.01191)
    factors = protocol.paper_factors()
    assert sorted(factors["factor"].value_counts().to_dict().items()) == [("cnn", 3), ("optimizer", 3)]
    mt_small = protocol.paper_mt_small()
    assert mt_small[["tl", "cnn", "optimizer"]].values.tolist() == [["MSTL", "ResNet50", "adagrad"]]


def test_ttest_candidates_pair_the_nine_configurations():
    ctl, mstl = protocol.ttest_candidates()
    assert ctl.shape == mstl.shape == (9,)
    table1 = protocol.paper_table1()
    assert ctl.mean() == pytest.approx(table1[table1["tl"] == "CTL"]["accuracy"].mean())
    assert mstl.mean() == pytest.approx(table1[table1["tl"] == "MSTL"]["accuracy"].mean())
    best = table1.query("cnn == 'ResNet50' and optimizer == 'adagrad'").set_index("tl")["accuracy"]
    assert (best["CTL"], best["MSTL"]) in set(zip(ctl, mstl, strict=True))  # matched on (CNN, optimizer)


def test_ttest_candidates_of_another_table_drop_unpaired_rows():
    table = pd.DataFrame({"tl": ["CTL", "MSTL", "CTL"], "cnn": ["A", "A", "B"], "optimizer": ["x", "x", "x"],
                          "accuracy": [60.0, 70.0, 50.0]})
    ctl, mstl = protocol.ttest_candidates(table)
    assert ctl.tolist() == [60.0] and mstl.tolist() == [70.0]
