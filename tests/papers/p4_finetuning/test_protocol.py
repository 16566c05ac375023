"""P4's rules: Table 2's frozen counts, the layer-count check, the task table and the folds."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data.sources import REAL, DataSource
from mstl_lib.papers.p4_finetuning import protocol

TABLE2 = {  # P4, Table 2, typed here a second time on purpose: the test is the check
    "VGG16": (19, 16, 14, 10, 5, 3, 0), "VGG19": (22, 19, 16, 11, 6, 4, 0),
    "ResNet50": (175, 149, 131, 88, 44, 26, 0), "ResNet101": (345, 293, 259, 173, 86, 52, 0),
    "InceptionV3": (311, 264, 233, 156, 78, 47, 0),
}


def test_importing_the_protocol_imports_no_tensorflow():
    code = ("import sys; import mstl_lib.papers.p4_finetuning.protocol; "
            "sys.exit(int('tensorflow' in sys.modules or 'keras' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_constants():
    assert protocol.STRATEGIES == (0, 15, 25, 50, 75, 85, 100)
    assert protocol.BACKBONES == tuple(TABLE2)
    assert protocol.GROUPINGS == ("none", "case", "duplicates")
    assert protocol.SVM_C_GRID == (0.1, 1.0, 10.0, 100.0)
    assert protocol.PAPER_DATASET["busi"] == "BUSI" and protocol.PAPER_DATASET["ddti"] == "DDTI"
    assert protocol.PHASES == ("ft", "svm")


def test_table2_is_the_papers_long_table():
    table = protocol.table2()
    assert len(table) == len(protocol.BACKBONES) * len(protocol.STRATEGIES)
    assert set(table["backbone"]) == set(protocol.BACKBONES)
    assert protocol.table2() is table  # read once


@pytest.mark.parametrize("backbone", list(TABLE2))
@pytest.mark.parametrize("pct", protocol.STRATEGIES)
def test_frozen_counts_equal_table2(backbone, pct):
    assert protocol.frozen_layers(backbone, pct) == TABLE2[backbone][protocol.STRATEGIES.index(pct)]


@pytest.mark.parametrize("backbone", list(TABLE2))
def test_total_layers_is_the_zero_percent_count(backbone):
    assert protocol.total_layers(backbone) == TABLE2[backbone][0] == protocol.frozen_layers(backbone, 0)


def test_unknown_strategy_or_backbone_is_refused():
    with pytest.raises(ValueError, match="Table 2"):
        protocol.frozen_layers("ResNet50", 40)
    with pytest.raises(ValueError, match="Table 2"):
        protocol.total_layers("AlexNet")


@pytest.mark.parametrize("pct", protocol.STRATEGIES)
def test_rounding_rule_is_monotone_and_bounded(pct):
    for total in (19, 22, 175, 345, 311):
        frozen = protocol.rounded_frozen_layers(total, pct)
        assert 0 <= frozen <= total
        assert frozen >= protocol.rounded_frozen_layers(total, min(pct + 15, 100))


def test_rounding_rule_misses_only_vgg19():
    table = protocol.table2()
    rule = table.apply(lambda r: protocol.rounded_frozen_layers(r.total_layers, r.trainable_pct), axis=1)
    differ = table[rule != table["frozen_layers"]]
    assert set(differ["backbone"]) == {"VGG19"} and sorted(differ["trainable_pct"]) == [25, 85]


@pytest.mark.parametrize("backbone", list(TABLE2))
def test_layer_count_check_on_any_object_with_layers(backbone):
    class Fake:
        layers = [0] * TABLE2[backbone][0]

    assert protocol.check_layer_count(Fake(), backbone) == TABLE2[backbone][0]
    Fake.layers = Fake.layers + [0]
    with pytest.raises(protocol.Table2Mismatch, match="Table 2"):
        protocol.check_layer_count(Fake(), backbone)
    assert issubclass(protocol.Table2Mismatch, AssertionError)


@pytest.mark.parametrize(("text", "expected"), [("ddti:case", ("ddti", "case")),
                                                ("busi:duplicates", ("busi", "duplicates"))])
def test_parse_protocol(text, expected):
    assert protocol.parse_protocol(text) == expected


@pytest.mark.parametrize("text", ["ddti", "ddti:patient", ":case", "ddti-case"])
def test_parse_protocol_refuses_malformed(text):
    with pytest.raises(ValueError, match="grouping"):
        protocol.parse_protocol(text)


def _source(phantom_dir, name: str) -> DataSource:
    return DataSource(name, "train", REAL, str(phantom_dir / name))


@pytest.mark.parametrize("grouping", protocol.GROUPINGS)
def test_task_table_groups(phantom_dir, grouping):
    table = protocol.task_table(_source(phantom_dir, "ddti"), grouping)
    assert set(table["target"]) == {0, 1}
    if grouping == "none":
        assert table["fold_group"].is_unique  # every image its own group
    else:
        assert table["fold_group"].nunique() < len(table)  # cases hold several images
        cases = table.groupby("group")["fold_group"].nunique()
        assert (cases == 1).all()  # a case never spans two groups
    table["target"] = -1  # a copy: the cached table is not touched
    assert (protocol.task_table(_source(phantom_dir, "ddti"), grouping)["target"] >= 0).all()


def test_task_table_cap_is_stratified_and_refuses_unknown_grouping(phantom_dir):
    full = protocol.task_table(_source(phantom_dir, "busi"))
    capped = protocol.task_table(_source(phantom_dir, "busi"), max_images=20, seed=3)
    assert len(capped) == 20 and set(capped["path"]) <= set(full["path"])
    assert abs(capped["target"].mean() - full["target"].mean()) < 0.1
    with pytest.raises(ValueError, match="grouping"):
        protocol.task_table(_source(phantom_dir, "busi"), "patient")


def _ddti_like_table(n_cases=40, per_case=3):
    rows = [{"path": f"/x/{c}_{k}.jpg", "target": int(c % 4 != 0), "group": f"ddti:{c}"}
            for c in range(n_cases) for k in range(1 + c % per_case)]
    table = pd.DataFrame(rows)
    table["fold_group"] = table["group"]
    return table


@pytest.mark.parametrize("grouping", ["none", "case"])
@pytest.mark.parametrize("fold", range(5))
def test_fold_parts_partition_the_rows(fold, grouping):
    table = _ddti_like_table()
    parts = protocol.fold_parts(table, fold, n_splits=5, seed=0, grouping=grouping)
    assert sorted(np.concatenate([parts["fit"], parts["val"]])) == sorted(parts["train"])
    assert not set(parts["train"]) & set(parts["test"])
    assert len(parts["train"]) + len(parts["test"]) == len(table)
    if grouping == "case":
        cases = table["fold_group"].to_numpy()
        assert not set(cases[parts["train"]]) & set(cases[parts["test"]])
        assert not set(cases[parts["fit"]]) & set(cases[parts["val"]])


def test_every_row_is_tested_exactly_once():
    table = _ddti_like_table()
    tested = np.concatenate([protocol.fold_parts(table, f, 5, 0, "case")["test"] for f in range(5)])
    assert sorted(tested) == list(range(len(table)))


def test_image_level_folds_can_split_a_case():
    table = _ddti_like_table()
    split_cases = 0
    for fold in range(5):
        parts = protocol.fold_parts(table, fold, n_splits=5, seed=0, grouping="none")
        cases = table["group"].to_numpy()
        split_cases += len(set(cases[parts["train"]]) & set(cases[parts["test"]]))
    assert split_cases > 0  # P4's protocol leaks: the reason for the grouped comparison


@pytest.mark.realdata
def test_real_ddti_grouped_folds(shared_data):
    table = protocol.task_table(DataSource("ddti", "train", REAL, str(shared_data / "ddti")), "case")
    assert (table["target"] == 0).sum() == 102 and (table["target"] == 1).sum() == 368
    for fold in range(5):
        parts = protocol.fold_parts(table, fold, n_splits=5, seed=0, grouping="case")
        groups = table["fold_group"].to_numpy()
        assert not set(groups[parts["train"]]) & set(groups[parts["test"]])
