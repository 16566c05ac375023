"""P1's report, ``mt_small``: The MT-Small experiment and the leakage rerun: image-level against near-duplicate-grouped splits."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.data.sources import DataSource
from mstl_lib.papers.p1_mstl import report

from p1_report_helpers import arm_predictions


def test_mt_small_table_beside_the_paper(records_factory):
    table = report.mt_small_table(records_factory(optimizers=("adagrad",)))
    assert sorted(table[["tl", "accuracy_paper"]].fillna(-1).values.tolist()) == [["CTL", -1], ["MSTL", 98.7]]
    assert table.query("tl == 'MSTL'")["accuracy_diff"].iloc[0] == pytest.approx(85.0 - 98.7)
    with_ci = report.mt_small_table(records_factory(optimizers=("adagrad",)),
                                    ci=report.pooled_ci(arm_predictions(signal=2.0), n_boot=50))
    assert with_ci.set_index("tl").loc["MSTL", "auc_ours_95ci"].count("[") == 1


@pytest.mark.parametrize(("kind", "phrase"), [("real", "real dataset"), ("stand-in", "not an independent dataset")])
def test_mt_small_note(kind, phrase):
    source = DataSource("mt_small", "train", kind, "/x", "drawn from BUSI")
    assert phrase in report.mt_small_note(source)


def test_duplicate_sentence_counts_multi_image_groups():
    grouped = pd.DataFrame({"group": ["a", "a", "b", "c", "c", "c", "d"]})
    assert "Of the 7 images this profile uses, 5 fall in 2 groups" in report.duplicate_sentence(grouped)


def test_leakage_table_keeps_the_best_configuration(records_factory):
    image = records_factory(optimizers=("adagrad", "sgd"))
    grouped = records_factory(ctl=0.5, mstl=0.5, optimizers=("adagrad",))
    table = report.leakage_table(image, grouped)
    assert len(table) == 4 and set(table["optimizer"]) == {"adagrad"}
    assert table["split"].value_counts().to_dict() == {"image groups": 2, "duplicate clusters grouped": 2}


@pytest.mark.parametrize(("folds", "grouped_mean", "beyond"), [((0,), 0.5, False), ((0, 1, 2), 0.2, True),
                                                               ((0, 1, 2), 0.8, False)])
def test_leakage_sentence_says_when_noise_hides_the_effect(records_factory, folds, grouped_mean, beyond):
    image = records_factory(optimizers=("adagrad",), folds=folds, spread=0.0, jitter=0.02)
    grouped = records_factory(ctl=grouped_mean, mstl=grouped_mean, optimizers=("adagrad",), folds=folds, spread=0.0,
                              jitter=0.02, seed=3)
    sentence = report.leakage_sentence(image, grouped)
    assert ("beyond fold noise" in sentence) == beyond
    assert ("neither shows nor rules out" in sentence) == (not beyond)
    if len(folds) == 1:
        assert "one fold per split" in sentence


def test_leakage_sentence_without_records(records_factory):
    sentence = report.leakage_sentence(records_factory(), records_factory().iloc[0:0])
    assert "no finished tasks on both splits" in sentence and "neither shows nor rules out" in sentence
