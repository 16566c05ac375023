"""What the datasets chapter shows: counts, duplicate scans and the sentences built from them.

Every function takes loaded tables (or the run context) and returns a table, a
figure or a Markdown sentence computed from them, so the page states nothing
by hand.
"""

from __future__ import annotations

import pandas as pd

from mstl_lib.data import near_duplicates
from mstl_lib.report.banner import markdown


def scan_subset(table: pd.DataFrame, limit: int | None, seed: int = 0) -> pd.DataFrame:
    """The rows a duplicate scan hashes: all of them, or a seeded random ``limit`` of them."""
    if limit is None or limit >= len(table):
        return table
    return table.sample(n=int(limit), random_state=seed)


def duplicate_scan(table: pd.DataFrame, limit: int | None, seed: int = 0,
                   name: str = "BUSI") -> tuple[pd.DataFrame, pd.Series]:
    """Near-duplicate clusters of (a subset of) ``table`` and their summary.

    Returns
    -------
    clusters : DataFrame
        :func:`near_duplicates.duplicate_clusters` with each image's ``label``.
    summary : Series
        :func:`near_duplicates.cluster_summary`, named ``name``, plus ``scanned`` and ``total``.
    """
    scanned = scan_subset(table, limit, seed)
    clusters = near_duplicates.duplicate_clusters(list(scanned["path"]))
    clusters = clusters.merge(scanned[["path", "label"]], on="path", how="left")
    summary = pd.Series(near_duplicates.cluster_summary(clusters, label_column="label"), name=name)
    summary["scanned"], summary["total"] = len(scanned), len(table)
    return clusters, summary


def scan_sentence(summary: pd.Series, profile: str) -> str:
    """How much of the dataset the duplicate scan covered, and at which distance."""
    scanned, total = int(summary["scanned"]), int(summary["total"])
    coverage = "all of them" if scanned == total else f"a random subset: profile {profile}"
    return (f"Scanned **{scanned}** of {total} {summary.name} images ({coverage}) at a Hamming distance of "
            f"at most {near_duplicates.DEFAULT_MAX_DISTANCE} bits.")


def tirads_table(ddti: pd.DataFrame) -> pd.DataFrame:
    """DDTI images per TIRADS score and the label it maps to."""
    return ddti.groupby(["tirads", "label"]).size().rename("images").reset_index()


def excluded_sentence(table: pd.DataFrame) -> str:
    """The images a loader left out, by reason (``table.attrs["excluded"]``)."""
    excluded = {reason: count for reason, count in table.attrs.get("excluded", {}).items() if count}
    if not excluded:
        return "The loader left no image out."
    return "Left out: " + ", ".join(f"{count} ({reason.replace('_', ' ')})" for reason, count in excluded.items()) + "."


def cross_case_duplicates(ddti: pd.DataFrame, limit: int | None, seed: int = 0) -> tuple[pd.Series, str]:
    """DDTI near-duplicate clusters that span several case numbers, and the sentence that says how many.

    Returns
    -------
    summary : Series
        The near-duplicate summary of the grouped table, plus ``cross_case_clusters``,
        ``groups`` (cases merged with clusters) and ``cases``.
    sentence : str
    """
    scanned = scan_subset(ddti, limit, seed)
    grouped = near_duplicates.group_by_duplicates(scanned)
    clustered = grouped[grouped["dup_cluster_size"] > 1]
    cross_case = int(clustered.groupby("dup_cluster")["case"].nunique().gt(1).sum())
    summary = pd.Series(grouped.attrs["near_duplicates"], name="DDTI")
    summary["cross_case_clusters"] = cross_case
    summary["groups"], summary["cases"] = grouped["group"].nunique(), scanned["group"].nunique()
    sentence = (f"Of {len(scanned)} DDTI images scanned, {len(clustered)} fall in "
                f"{clustered['dup_cluster'].nunique()} near-duplicate clusters; **{cross_case}** of those clusters "
                f"span more than one case number. Grouping by case and by cluster leaves {summary['groups']} groups, "
                f"against {summary['cases']} cases.")
    return summary, sentence


def breakhis_table(breakhis: pd.DataFrame) -> pd.DataFrame:
    """BreakHis images per class, subtype, patient and magnification."""
    return breakhis.groupby(["label", "subtype", "patient", "magnification"]).size().rename("images").reset_index()


def patients_sentence(breakhis: pd.DataFrame) -> str:
    """How many patients the BreakHis images come from."""
    return f"Patients: **{breakhis['patient'].nunique()}**, images: {len(breakhis)}."


def substitution_sentence(run, names=("mt_small", "mendeley")) -> str:
    """What serves each of ``names`` in this run, from the run context's decisions."""
    parts = []
    for name in names:
        uses = [use for (dataset, _), use in run.uses.items() if dataset == name]
        if not uses:
            parts.append(f"{name}: not asked for on this page.")
            continue
        use = uses[0]
        if use.kind == "missing":
            parts.append(f"{name}: not found; the chapters substitute for it (see their banners).")
        else:
            parts.append(f"{name}: **{use.kind}**" + (f" ({use.note})" if use.note else "") + ".")
    return " ".join(parts)


def show_missing(table, what: str):
    """A Markdown line for a dataset that was not found, else ``None``."""
    return markdown(f"{what} was not found; the chapters that use it substitute for it or skip it.") \
        if table is None else None
