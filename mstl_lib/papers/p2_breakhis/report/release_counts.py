"""The release's counts, offline: P2's Table 1 and its arithmetic, the split, the leak it makes and P2's
comparison table.
"""

from __future__ import annotations

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.papers.p2_breakhis import protocol


METRICS_READ = (
    *protocol.IMAGE_METRICS, *protocol.DIAGNOSTICS, "patient_recognition_rate", "patient_vote_accuracy",
    "n_patients", "n_ties", "majority_accuracy", "accuracy_40x", "accuracy_100x", "accuracy_200x", "accuracy_400x",
    "test_acc_final", "test_acc_mean_second_half", "test_acc_max", "kept_epoch", "patients_both",
    "share_test_seen",
)
"""The task metrics this module reads."""

METRICS_BY_TASK = {"mstl_lib.papers.p2_breakhis.tasks:train_arm": METRICS_READ}
"""The metrics this module reads from each task's records (the contract every paper declares)."""

COMPARISON_PROTOCOLS = {
    55: ("yes", "the dataset's authors' protocol: patient-wise 70/30 splits (Spanhol et al. 2016)"),
    56: ("no", "P2's own split: every patient's 100-400X images train, its 40X images test"),
}
"""Whether a row of P2's comparison table (by printed reference number) was patient-disjoint, where known here."""


# ----------------------------------------------------------------- the release's counts (offline)


def release_counts(path) -> pd.DataFrame:
    """``folder_counts.csv`` as long rows (folder x magnification), with every patient definition."""
    return protocol.counts_long(protocol.read_folder_counts(path))


def table1(long: pd.DataFrame | None) -> pd.DataFrame:
    """P2's Table I as printed beside the release's counts, and their difference (printed only without counts)."""
    paper = paper_values.load("p2_table1").set_index("category")
    if long is None:
        return pd.concat({"P2 (printed)": paper}, axis=1)
    ours = protocol.table1_counts(long).reindex(paper.index)
    out = pd.concat({"P2 (printed)": paper, "release": ours, "P2 - release": paper - ours}, axis=1)
    return out


def table1_arithmetic() -> pd.DataFrame:
    """Whether each printed row and column of P2's Table I adds up to its printed total.

    Returns
    -------
    DataFrame
        One row per line of the table: ``line``, ``printed_total``, ``sum_of_parts``, ``adds_up``.
    """
    paper = paper_values.load("p2_table1").set_index("category")
    magnifications = [f"{m}X" for m in protocol.MAGNIFICATIONS]
    rows = []
    for category in paper.index:
        parts = int(paper.loc[category, magnifications].sum())
        rows.append({"line": f"row {category}", "printed_total": int(paper.loc[category, "total"]),
                     "sum_of_parts": parts})
    for column in [*magnifications, "total"]:
        parts = int(paper.loc[["benign", "malignant"], column].sum())
        rows.append({"line": f"column {column}", "printed_total": int(paper.loc["total", column]),
                     "sum_of_parts": parts})
    out = pd.DataFrame(rows)
    out["adds_up"] = out["printed_total"] == out["sum_of_parts"]
    return out


def split_table(long: pd.DataFrame) -> pd.DataFrame:
    """P2's split sizes from the release's counts, beside P2's stated ~6000 / ~2000 and 75 % / 25 %."""
    sizes = protocol.split_sizes(long)
    stated = paper_values.load("p2_statements").set_index("quantity")["value"]
    sizes["P2 states (images)"] = [float(stated["test_images"]) if part.startswith("test") else
                                   float(stated["train_images"]) for part in sizes.index]
    sizes["P2 states (share)"] = [float(stated["test_share"]) / 100 if part.startswith("test") else
                                  float(stated["train_share"]) / 100 for part in sizes.index]
    return sizes


def leakage_table(long: pd.DataFrame) -> pd.DataFrame:
    """The leakage report of P2's split under each patient definition (rows), from the release's counts."""
    rows = {definition: protocol.leakage_report(long, f"patient_{definition}")
            for definition in protocol.PATIENT_DEFINITIONS}
    table = pd.DataFrame(rows).T.rename_axis("patient definition")
    counts = [c for c in table.columns if c != "share_test_seen"]
    return table.astype({**{c: int for c in counts}, "share_test_seen": float})


def patient_definitions_table(long: pd.DataFrame) -> pd.DataFrame:
    """Folders that share a patient under the ``loader`` or ``number`` definitions."""
    folders = long.drop_duplicates("folder")
    rows = []
    for definition in ("loader", "number"):
        for patient, group in folders.groupby(f"patient_{definition}"):
            if len(group) > 1:
                rows.append({"definition": definition, "patient": patient, "folders": ", ".join(group["folder"]),
                             "tumour types": ", ".join(sorted(set(group["subtype"])))})
    return pd.DataFrame(rows, columns=["definition", "patient", "folders", "tumour types"])


def leakage_paragraph(leakage: pd.DataFrame) -> str:
    """The leakage report in words, for every patient definition."""
    parts = []
    for definition, row in leakage.iterrows():
        parts.append(f"{int(row['patients_both'])} of {int(row['patients'])} patients ({definition} ids) have "
                     f"images on both sides")
    first = leakage.iloc[0]
    return (f"P2's split (train 100/200/400X, test 40X) puts the same patients on both sides: "
            + "; ".join(parts) + f". {int(first['test_images_seen'])} of {int(first['test_images'])} test images "
            f"({first['share_test_seen']:.1%}) come from a patient whose other images were trained on, under every "
            "definition. The test set measures recognition of patients already seen at other zoom levels, not "
            "generalisation to new patients.")


def statements_table() -> pd.DataFrame:
    """P2's stated numbers (``p2_statements``) as printed."""
    return paper_values.load("p2_statements")


def comparison_table() -> pd.DataFrame:
    """P2's comparison table as printed, with whether each protocol was patient-disjoint where known here."""
    table = paper_values.load("p2_comparison").copy()
    table["patient-disjoint"] = [COMPARISON_PROTOCOLS.get(int(r), ("not known here", ""))[0]
                                 for r in table["reference"]]
    table["why"] = [COMPARISON_PROTOCOLS.get(int(r), ("", "the protocol is not in P2; not checked here"))[1]
                    for r in table["reference"]]
    return table
