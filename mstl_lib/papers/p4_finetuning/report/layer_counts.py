"""Table 2: the layers each strategy trains, counted in Keras, beside P4's counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from mstl_lib.papers.p4_finetuning import protocol


def keras_layer_counts(backbones: Iterable[str] = protocol.BACKBONES, size: int = 75) -> dict[str, int]:
    """Layer counts of the Keras backbones (``include_top=False``, random weights, input layer included)."""
    from mstl_lib.nn import backbones as nn_backbones  # noqa: PLC0415 - imports TensorFlow

    counts = {}
    for name in backbones:
        side = max(size, nn_backbones.backbone_spec(name).min_size)
        model, _ = nn_backbones.build_backbone(name, (side, side, 3), weights=None)
        counts[name] = len(model.layers)
    return counts


def table2(counts: Mapping[str, int]) -> pd.DataFrame:
    """P4's Table 2 (long) with the built totals, the engine's frozen counts and the rounding rule.

    Columns ``keras_total`` (from ``counts``), ``engine_frozen`` (what the tasks
    freeze), ``rounding_rule`` (:func:`protocol.rounded_frozen_layers`) and
    ``matches`` (the built total equals P4's and the engine freezes Table 2's count).
    Only the backbones in ``counts`` are kept.

    Raises
    ------
    protocol.Table2Mismatch
        Some row does not match: the frozen-layer counts would not mean what P4 says.
    """
    t2 = protocol.table2()
    t2 = t2[t2["backbone"].isin(list(counts))].copy()
    t2["keras_total"] = t2["backbone"].map(dict(counts))
    t2["engine_frozen"] = [protocol.frozen_layers(b, p) for b, p in zip(t2["backbone"], t2["trainable_pct"])]
    t2["rounding_rule"] = [protocol.rounded_frozen_layers(n, p)
                           for n, p in zip(t2["total_layers"], t2["trainable_pct"])]
    t2["matches"] = (t2["keras_total"] == t2["total_layers"]) & (t2["engine_frozen"] == t2["frozen_layers"])
    if not t2["matches"].all():
        bad = t2.loc[~t2["matches"], ["backbone", "trainable_pct", "total_layers", "keras_total"]]
        raise protocol.Table2Mismatch(
            "The built networks do not match P4's Table 2, so the strategies would not freeze what P4 "
            f"froze:\n{bad.to_string(index=False)}")
    return t2.reset_index(drop=True)


def table2_wide(t2: pd.DataFrame) -> pd.DataFrame:
    """Frozen layers, one row per strategy and one column per backbone (P4's layout)."""
    order = [b for b in protocol.BACKBONES if b in set(t2["backbone"])]
    return t2.pivot(index="trainable_pct", columns="backbone", values="frozen_layers")[order]


def rounding_misses(t2: pd.DataFrame) -> pd.DataFrame:
    """The rows of Table 2 that ``total x (1 - trainable %)`` rounded half up does not give."""
    return t2.loc[t2["rounding_rule"] != t2["frozen_layers"],
                  ["backbone", "trainable_pct", "total_layers", "frozen_layers", "rounding_rule"]]
