"""P4's report, ``layer_counts``: Table 2: the layers each strategy trains, counted in Keras, beside P4's counts."""

from __future__ import annotations

import pytest

from mstl_lib.papers.p4_finetuning import protocol, report


@pytest.fixture(scope="module")
def layer_counts():
    """Layer counts of the five built Keras backbones (random weights)."""
    pytest.importorskip("keras")
    return report.keras_layer_counts()


def test_keras_layer_counts_equal_table2_and_table2_matches(layer_counts):
    assert layer_counts == {b: protocol.total_layers(b) for b in protocol.BACKBONES}
    t2 = report.table2(layer_counts)
    assert t2["matches"].all() and len(t2) == 35
    assert (t2["engine_frozen"] == t2["frozen_layers"]).all()


def test_table2_raises_when_a_count_differs():
    counts = {b: protocol.total_layers(b) for b in protocol.BACKBONES}
    assert len(report.table2({"ResNet50": counts["ResNet50"]})) == 7  # only the backbones counted
    with pytest.raises(protocol.Table2Mismatch, match="ResNet50"):
        report.table2({**counts, "ResNet50": 176})


def test_table2_wide_and_rounding_misses():
    t2 = report.table2({b: protocol.total_layers(b) for b in protocol.BACKBONES})
    wide = report.table2_wide(t2)
    assert wide.shape == (7, 5) and list(wide.columns) == list(protocol.BACKBONES)
    assert wide.loc[15, "ResNet50"] == 149 and wide.loc[100].eq(0).all()
    misses = report.rounding_misses(t2)
    assert list(zip(misses["backbone"], misses["trainable_pct"])) == [("VGG19", 25), ("VGG19", 85)]
