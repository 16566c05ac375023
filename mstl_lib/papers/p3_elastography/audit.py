"""P3's own numbers checked: its stated counts, Tables 1 and 2 (F1 identity, which spread convention), the abstract.

Every check is a shared one of :mod:`mstl_lib.evaluation.audit`, run on P3's tables in
:mod:`mstl_lib.paper_values` (``p3_table1``, ``p3_table2``, ``p3_counts``,
``p3_strain_ratios``). Facts of the protocol the checks rest on (P3 section III):
20 test patients, the same for every one of the 5 fold models, and "a pool of 56
test images" image-wise; the ± of Tables 1 and 2 is a spread over the 5 fold
models. A patient-wise accuracy of one model is k / 20, an image-wise one k / 56;
:func:`mstl_lib.evaluation.audit.check_fold_mean_sd` asks which spread convention
(SD or SE, n or n - 1) makes a printed mean ± spread attainable.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import audit
from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT, Finding

PAPER = "P3"
N_FOLDS = 5
TEST_PATIENTS = 20
TEST_IMAGES = 56

# claim ids (see report.claims)
SENSITIVITY, SPECIFICITY = "ensemble-sensitivity", "ensemble-specificity"
ENSEMBLE_BEST, BSE_BEATS_B, PATIENT_BEATS_IMAGE = "ensemble-best", "bse-beats-b", "patient-beats-image"
PPV_TESTS = "ppv-t-tests"


@cache
def printed(name: str) -> pd.DataFrame:
    """Table ``name`` of ``paper_values`` as the strings typed (to read the printed decimals)."""
    return pd.read_csv(paper_values.FOLDER / f"{name}.csv", comment="#", dtype=str)


def count_findings() -> list[Finding]:
    """The text's counts against each other and against the supplementary patient lists."""
    counts = paper_values.load("p3_counts").set_index("quantity")["value"]
    listed = paper_values.load("p3_strain_ratios")["label"].value_counts()
    claims = (SENSITIVITY, SPECIFICITY)
    out = [
        audit.check_sum([counts["benign_patients"], counts["malignant_patients"]], counts["patients"], paper=PAPER,
                        location="Abstract and II.A, patients", what="benign + malignant patients"),
        audit.check_sum([counts["train_patients"], counts["test_patients"]], counts["patients"], paper=PAPER,
                        location="III, patients", what="training + test patients"),
        audit.check_sum([counts["benign_images"], counts["malignant_images"]], counts["images_bmode"], paper=PAPER,
                        location="II.A, images", what="benign + malignant images"),
    ]
    for label in ("benign", "malignant"):
        out.append(audit.check_count(int(counts[f"{label}_patients"]), int(listed.get(label, 0)), paper=PAPER,
                                     location=f"Supplementary Table {1 if label == 'benign' else 2}, {label} patients",
                                     source="patients listed in P3's supplementary table").with_claims(*claims))
    return out


def _cells(table: str) -> pd.DataFrame:
    frame = printed(table)
    return frame[frame["accuracy_sd"].notna()] if "accuracy_sd" in frame else frame


def _where(row, table: str) -> str:
    level = f"{row['level']}-wise, " if "level" in row else ""
    inp = f"{row['input']} " if "input" in row else ""
    return f"{table}, {level}{inp}{row['model']} {row['view']}"


def f1_findings() -> list[Finding]:
    """F1 = 2PR / (P + R) for every printed row of Tables 1 and 2 (means over folds, so within averaging slack)."""
    out = []
    for table, name in (("Table 1", "p3_table1"), ("Table 2", "p3_table2")):
        for _, row in printed(name).iterrows():
            values = [row["f1_mean"], row["precision_mean"], row["sensitivity_mean"]]
            decimals = [audit.decimals_of(v) for v in values]
            finding = audit.check_f1_identity(*(float(v) / 100 for v in values), paper=PAPER,
                                              location=_where(row, table), decimals=[d + 2 for d in decimals],
                                              fold_averaged=pd.notna(row.get("f1_sd")))
            out.append(finding.with_claims(SENSITIVITY, SPECIFICITY) if (
                row.get("model") == "ensemble" and row.get("view") == "crop" and row.get("level", "patient") == "patient"
                and row.get("input", "BSE") == "BSE") else finding)
    return out


def spread_findings() -> list[Finding]:
    """Accuracy mean ± spread of Table 1 attainable with 5 folds of 20 test patients (patient-wise)
    or 56 test images (image-wise), under some spread convention?"""
    out = []
    for _, row in _cells("p3_table1").iterrows():
        size = TEST_PATIENTS if row["level"] == "patient" else TEST_IMAGES
        finding = audit.check_fold_mean_sd(float(row["accuracy_mean"]), float(row["accuracy_sd"]), size, N_FOLDS,
                                           (audit.decimals_of(row["accuracy_mean"]), audit.decimals_of(row["accuracy_sd"])),
                                           paper=PAPER, location=_where(row, "Table 1") + ", accuracy")
        out.append(finding)
    return out


def convention_summary(findings: list[Finding] | None = None) -> pd.DataFrame:
    """How many of Table 1's accuracy cells each verdict covers, per level (from :func:`spread_findings`)."""
    frame = audit.findings_frame(spread_findings() if findings is None else findings)
    if frame.empty:
        return frame
    frame["level"] = frame["location"].str.extract(r"Table 1, (\w+)-wise")[0]
    return pd.crosstab(frame["level"], frame["verdict"])


def abstract_findings() -> list[Finding]:
    """The abstract's sensitivity and specificity are Table 1's cropped B-SE ensemble, patient-wise."""
    t1 = paper_values.load("p3_table1")
    row = t1[(t1["level"] == "patient") & (t1["input"] == "BSE") & (t1["view"] == "crop")
             & (t1["model"] == "ensemble")].iloc[0]
    out = []
    for metric, stated, claim in (("sensitivity", 88.89, SENSITIVITY), ("specificity", 91.10, SPECIFICITY)):
        same = abs(row[f"{metric}_mean"] - stated) < 1e-9
        out.append(Finding(PAPER, "Abstract vs Table 1", f"{metric} as stated",
                           f"abstract {stated:.2f} %; Table 1 {row[f'{metric}_mean']:.2f} %",
                           CONSISTENT if same else INCONSISTENT, claims=(claim,)))
    out.append(Finding(PAPER, "Fig. 5", "PPV t-tests", "P3 prints p-values, not the PPV distributions they test",
                       CANNOT_CHECK, "no per-image PPVs are published; the test cannot be redone", (PPV_TESTS,)))
    return out


def bibliography_findings() -> list[Finding]:
    """The bibliography entry against the paper's text.

    The stored text of P3 starts at its abstract: it has no title block, so a title or an
    author missing from it is a gap of the copy, not evidence against the entry (which
    follows the arXiv listing of 2102.08567); such findings are ``cannot check``.
    """
    found = audit.check_bibliography("misra2021ensemble", "ensemble_bmode_strain_elastography.txt", paper=PAPER)
    no_header = ("the stored text starts at the abstract, without P3's title block; the entry follows the arXiv "
                 "listing of 2102.08567")
    return [Finding(**{**f.__dict__, "verdict": CANNOT_CHECK, "detail": f"{f.detail}; {no_header}"})
            if f.verdict == INCONSISTENT and f.check in ("title vs paper text", "author vs paper text") else f
            for f in found]


def findings(data_dir="auto") -> list[Finding]:
    """Every check of P3's own numbers (``data_dir`` unused: P3's data are private)."""
    return [*count_findings(), *abstract_findings(), *f1_findings(), *spread_findings(), *bibliography_findings()]


def test_size_search(level: str = "patient", sizes=range(5, 31)) -> pd.DataFrame:
    """For each test-set size, how many of Table 1's ``level``-wise accuracy cells are attainable as a mean
    ± spread of 5 fold models on that many test items, and under which spread convention.

    P3 states 20 test patients and 56 test images; this search shows which sizes (and
    conventions) its printed numbers actually allow.
    """
    cells = _cells("p3_table1")
    cells = cells[cells["level"] == level]
    rows = []
    for size in sizes:
        row = {"test_size": int(size), "cells": len(cells), "mean attainable": 0}
        row.update({convention: 0 for convention in audit.SPREAD_CONVENTIONS})
        for _, cell in cells.iterrows():
            finding = audit.check_fold_mean_sd(float(cell["accuracy_mean"]), float(cell["accuracy_sd"]), int(size),
                                               N_FOLDS, (audit.decimals_of(cell["accuracy_mean"]),
                                                         audit.decimals_of(cell["accuracy_sd"])),
                                               paper=PAPER, location="")
            if "not attainable" in finding.detail or "truncated" in finding.detail:
                continue
            row["mean attainable"] += 1
            for convention in audit.SPREAD_CONVENTIONS:
                row[convention] += f"fits {convention}" in finding.detail or f"or {convention}" in finding.detail
        rows.append(row)
    return pd.DataFrame(rows)
