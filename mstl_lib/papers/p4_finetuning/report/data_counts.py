"""Data: P4's Table 1 beside the loaders' counts, and the TIRADS labels of DDTI."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data.sources import DataSource, load_source
from mstl_lib.papers.p4_finetuning import protocol


def table1(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Benign and malignant counts of the rows the tasks draw from, beside P4's Table 1.

    ``tables``: ``{dataset: task table}`` (e.g. :func:`grids.train_tables`).
    """
    paper = paper_values.load("p4_table1").rename(columns={"benign": "paper_benign",
                                                           "malignant": "paper_malignant",
                                                           "total": "paper_total"})
    rows = []
    for name, table in tables.items():
        benign, malignant = int((table["target"] == 0).sum()), int((table["target"] == 1).sum())
        kind = str(table["data_kind"].iloc[0]) if "data_kind" in table.columns and len(table) else "unknown"
        rows.append({"dataset": protocol.PAPER_DATASET.get(name, name), "data": kind, "ours_benign": benign,
                     "ours_malignant": malignant, "ours_total": benign + malignant,
                     "ours_malignant_share": round(malignant / max(benign + malignant, 1), 3)})
    ours = pd.DataFrame(rows, columns=["dataset", "data", "ours_benign", "ours_malignant", "ours_total",
                                       "ours_malignant_share"])
    merged = ours.merge(paper, on="dataset", how="left")
    merged["paper_malignant_share"] = (merged["paper_malignant"] / merged["paper_total"]).round(3)
    return merged.set_index("dataset")


TIRADS_ORDER = ("2", "3", "4a", "4b", "4c", "5")


def tirads_table(source) -> pd.DataFrame | None:
    """DDTI images and cases per TIRADS score (``none`` = no score, left out), or None for another dataset.

    ``source``: the :class:`~mstl_lib.data.sources.DataSource` that serves DDTI.
    """
    source = None if source is None else DataSource.from_dict(source)
    if source is None or source.dataset != "ddti":
        return None
    table = load_source(source, include_unlabelled=True)
    if "tirads" not in table.columns:
        return None
    table = table.assign(tirads=table["tirads"].fillna("none").astype(str))
    out = table.groupby("tirads").agg(images=("path", "size"), cases=("group", "nunique"),
                                      label=("label", "first"))
    order = [t for t in TIRADS_ORDER if t in out.index] + [t for t in out.index if t not in TIRADS_ORDER]
    return out.loc[order]


def ddti_note(tirads: pd.DataFrame | None) -> str:
    """Whether any TIRADS threshold reproduces P4's DDTI counts, and how skewed each version is."""
    paper = paper_values.load("p4_table1").set_index("dataset")
    if "DDTI" not in paper.index:
        return ""
    p_benign, p_malignant = int(paper.loc["DDTI", "benign"]), int(paper.loc["DDTI", "malignant"])
    p_share = p_malignant / (p_benign + p_malignant)
    if tirads is None or tirads.empty:
        return f"DDTI is not used on this page; P4's DDTI has {p_benign} benign / {p_malignant} malignant images."
    scored = [t for t in TIRADS_ORDER if t in tirads.index]
    counts = tirads.loc[scored, "images"].astype(int)
    cuts = [(int(counts.iloc[:k].sum()), int(counts.iloc[k:].sum())) for k in range(1, len(scored))]
    ours = tirads[tirads["label"].isin(["benign", "malignant"])].groupby("label")["images"].sum()
    o_benign, o_malignant = int(ours.get("benign", 0)), int(ours.get("malignant", 0))
    o_share = o_malignant / max(o_benign + o_malignant, 1)
    if (p_benign, p_malignant) in cuts:
        fit = "One TIRADS threshold of this copy reproduces P4's counts exactly."
    else:
        smallest = counts.iloc[0] if len(counts) else 0
        fit = (f"No TIRADS threshold of this copy reproduces P4's {p_benign} / {p_malignant} (the thresholds give "
               + ", ".join(f"{b} / {m}" for b, m in cuts) + ")"
               + (f"; even TIRADS {scored[0]} alone has {smallest} images, more than {p_benign}" if
                  smallest > p_benign else "")
               + ", so P4 most likely used one of the re-distributed, re-cut versions of DDTI.")
    skew = (f"P4's DDTI is {p_share:.0%} malignant, ours {o_share:.0%}: "
            + ("P4's is the more skewed, so its accuracies have the higher floor (the all-malignant classifier's "
               "accuracy is the malignant share)." if p_share > o_share else
               "ours is at least as skewed as P4's."))
    return f"{fit} {skew}"
