"""P2's own numbers checked: Table I's sums and cells, the stated counts and split, the 99 % statements, the table labels.

Every check is a shared one of :mod:`mstl_lib.evaluation.audit` (or a
:class:`~mstl_lib.evaluation.audit.Finding` written out the same way), run on
P2's tables in :mod:`mstl_lib.paper_values` (``p2_table1``, ``p2_comparison``,
``p2_statements``) and, for the release's counts, on ``folder_counts.csv`` in the
BreakHis folder of the data folder (``cannot check`` when it is absent). P2
reports only accuracy, so no metric identity (accuracy from sensitivity and
specificity) can be checked; the attainability of its accuracy on its own test
set can.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import audit
from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT, Finding
from mstl_lib.papers.p2_breakhis import protocol

__all__ = ["ACCURACY_99", "BEATS_OTHERS", "PAPER", "PAPER_TEXT", "bibliography_findings", "findings",
           "release_long", "statement_findings", "table1_findings", "table_label_findings"]

PAPER = "P2"
PAPER_TEXT = "abualhaija_resnet50_breakhis.txt"
"""The paper's text in :func:`mstl_lib.evaluation.audit.papers_text_dir` (not shipped with the project)."""

# claim ids (see report.claims)
ACCURACY_99, BEATS_OTHERS = "accuracy-99", "beats-compared-methods"

MAGNIFICATIONS = [f"{m}X" for m in protocol.MAGNIFICATIONS]


def release_long(data_dir="auto") -> tuple[pd.DataFrame | None, str]:
    """The full release's per-folder counts (long) and where they come from, or ``(None, why not)``."""
    from mstl_lib import data  # noqa: PLC0415

    root, _ = data.locate_data_dir(data_dir)
    if root is None:
        return None, "no data folder here"
    try:
        folder = Path(data.dataset_root(root, "breakhis"))
    except (data.DatasetNotFoundError, FileNotFoundError):
        return None, "no BreakHis folder here"
    path = folder / "folder_counts.csv"
    if not path.is_file():
        return None, f"no folder_counts.csv in {folder}"
    return protocol.counts_long(protocol.read_folder_counts(path)), f"folder_counts.csv ({path})"


def _stated() -> pd.DataFrame:
    """``p2_statements`` with ``value`` as printed (text, so that ``99.10`` keeps its two decimals)."""
    return pd.read_csv(paper_values.FOLDER / "p2_statements.csv", comment="#", dtype={"value": str})


def _stated_value(quantity: str) -> float:
    rows = _stated()
    return float(rows.loc[rows["quantity"] == quantity, "value"].iloc[0])


def table1_findings(data_dir="auto") -> list[Finding]:
    """Table I: each row and column against its printed total, and each cell against the release's count."""
    paper = paper_values.load("p2_table1").set_index("category")
    out = []
    for category in paper.index:
        out.append(audit.check_sum(paper.loc[category, MAGNIFICATIONS].tolist(), paper.loc[category, "total"],
                                   paper=PAPER, location=f"Table I, row {category}", what="magnifications vs total"))
    for column in [*MAGNIFICATIONS, "total"]:
        out.append(audit.check_sum(paper.loc[["benign", "malignant"], column].tolist(), paper.loc["total", column],
                                   paper=PAPER, location=f"Table I, column {column}", what="classes vs total"))
    long, source = release_long(data_dir)
    ours = None if long is None else protocol.table1_counts(long)
    for category in paper.index:
        for column in [*MAGNIFICATIONS, "total"]:
            counted = None if ours is None else int(ours.loc[category, column])
            out.append(audit.check_count(int(paper.loc[category, column]), counted, paper=PAPER,
                                         location=f"Table I, {category} {column}", source=source))
    return out


def statement_findings(data_dir="auto") -> list[Finding]:
    """The text's numbers: images, patients, the split, the shares per magnification, the resize, the 99 % statements."""
    long, source = release_long(data_dir)
    out = []
    counts = None if long is None else protocol.table1_counts(long)
    images = None if counts is None else int(counts.loc["total", "total"])
    out.append(audit.check_count(int(_stated_value("images")), images, paper=PAPER, location="Section III.A",
                                 source=source, what="images"))
    if long is None:
        out.append(Finding(PAPER, "Section III.A", "patients", f"stated {int(_stated_value('patients'))}; ours: none",
                           CANNOT_CHECK, source))
    else:
        by = {d: long[f"patient_{d}"].nunique() for d in protocol.PATIENT_DEFINITIONS}
        stated = int(_stated_value("patients"))
        out.append(Finding(PAPER, "Section III.A", "patients",
                           f"stated {stated}; folders {by['folder']}, loader ids {by['loader']}, "
                           f"ids without letter suffix {by['number']}", CONSISTENT if stated == by["folder"] else
                           INCONSISTENT, "82 is the number of folders; one id is filed under two tumour types and "
                           "several ids share a number, so the distinct patients may be fewer"))
        sizes = protocol.split_sizes(long)
        train, test = int(sizes.loc["train (100/200/400X)", "total"]), int(sizes.loc["test (40X)", "total"])
        for part, n, quantity in (("train", train, "train_images"), ("test", test, "test_images")):
            stated = _stated_value(quantity)
            ok = abs(n - stated) <= 0.05 * stated
            out.append(Finding(PAPER, "Section IV", f"{part} images (stated as approximate)",
                               f"stated ~{stated:g}; release {n}", CONSISTENT if ok else INCONSISTENT,
                               "within 5 % of the approximate figure" if ok else "more than 5 % off"))
        share = test / (train + test)
        out.append(audit.check_rounding(100 * share, _stated_value("test_share"), 0, paper=PAPER,
                                        location="Section IV", what="test share (%) = 40X images / all images"))
        shares = long.groupby("magnification")["n"].sum() / long["n"].sum()
        off = {m: s for m, s in shares.items() if abs(s - 0.25) > 0.025}
        out.append(Finding(PAPER, "Section III.A", "~25 % per magnification",
                           ", ".join(f"{m}X {100 * s:.1f} %" for m, s in shares.items()),
                           CONSISTENT if not off else INCONSISTENT,
                           "" if not off else "more than 2.5 points from 25 %: " + ", ".join(f"{m}X" for m in off)))
    width, height = _stated_value("image_width"), _stated_value("image_height")
    new_width, new_height = _stated_value("input_width"), _stated_value("input_height")
    linear = (width / new_width, height / new_height)
    area = width * height / (new_width * new_height)
    factor = _stated_value("resize_factor")
    out.append(Finding(PAPER, "Section III.B", "resize factor",
                       f"{width:g}/{new_width:g} = {linear[0]:.2f}, {height:g}/{new_height:g} = {linear[1]:.2f} per "
                       f"side; {area:.1f} in area; stated {factor:g}",
                       CONSISTENT if all(abs(f - factor) < 0.5 for f in linear) else INCONSISTENT,
                       "a factor of 5 per side, not in area (the pixel count shrinks 23-fold)"))
    out.extend(_accuracy_findings(long))
    return out


def _accuracy_findings(long: pd.DataFrame | None) -> list[Finding]:
    rows = _stated()
    accuracies = rows[rows["quantity"] == "test_accuracy"]
    most = max(accuracies["value"], key=audit.decimals_of)
    precise = float(most)
    out = []
    for row in accuracies.itertuples(index=False):
        printed = float(row.value)
        decimals = audit.decimals_of(row.value)
        if row.value == most:
            continue
        out.append(audit.check_rounding(precise, printed, decimals, paper=PAPER, location=row.where,
                                        what=f"the most precise accuracy stated ({precise:.2f} %)").with_claims(ACCURACY_99))
    low, high = _stated_value("test_accuracy_low"), _stated_value("test_accuracy_high")
    out.append(Finding(PAPER, "Section IV", "stated range vs stated accuracy",
                       f"accuracy {precise:.2f} % within the stated range {low:g}-{high:g} % after epoch 100",
                       CONSISTENT if low <= precise <= high else INCONSISTENT, claims=(ACCURACY_99,)))
    if long is None:
        out.append(Finding(PAPER, "Section V and comparison table", "attainable on the test set",
                           f"{precise:.2f} % of the 40X images", CANNOT_CHECK, "the release's 40X count is not here",
                           (ACCURACY_99,)))
        return out
    n = int(long.loc[long["magnification"] == protocol.TEST_MAGNIFICATION, "n"].sum())
    correct = round(precise / 100 * n)
    attained = 100 * correct / n
    ok = audit.prints_as(attained, precise, 2)
    malignant = int(long.loc[(long["magnification"] == protocol.TEST_MAGNIFICATION) & (long["target"] == 1), "n"].sum())
    out.append(Finding(PAPER, "Section V and comparison table", "attainable on the test set",
                       f"{correct}/{n} = {attained:.3f} % prints as {precise:.2f} %", CONSISTENT if ok else INCONSISTENT,
                       f"the all-malignant classifier scores {100 * malignant / n:.1f} % on the same {n} images",
                       (ACCURACY_99,)))
    return out


def table_label_findings() -> list[Finding]:
    """The tables' labels and P2's own row of the comparison table."""
    comparison = paper_values.load("p2_comparison")
    own = comparison.iloc[-1]
    spanhol = comparison[comparison["research"].str.startswith("Spanhol")]
    same_reference = bool(len(spanhol)) and int(own["reference"]) == int(spanhol["reference"].iloc[0]) + 1
    return [
        Finding(PAPER, "Section III.A and section IV", "table labels",
                "the dataset table is printed as Table I and cited as Table 2; the comparison table is printed as "
                "Table I and cited as Table II", INCONSISTENT, "two tables carry the label Table I"),
        Finding(PAPER, "Comparison table, proposed method", "citation of P2's own row",
                f"the row cites [{int(own['reference'])}]; reference [{int(own['reference'])}] is Spanhol et al. 2016, "
                f"the same paper as [{int(spanhol['reference'].iloc[0])}]" if same_reference else
                f"the row cites [{int(own['reference'])}]", INCONSISTENT if same_reference else CANNOT_CHECK,
                "P2's own result is attributed to another paper", (BEATS_OTHERS,)),
        Finding(PAPER, "Comparison table", "like-for-like comparison",
                f"{len(comparison) - 1} methods with their own splits, magnifications and class definitions",
                CANNOT_CHECK, "P2 gives no protocol for the compared numbers; P2's own is not patient-disjoint",
                (BEATS_OTHERS,)),
    ]


def bibliography_findings() -> list[Finding]:
    """The paper's ``references.bib`` entry against its own text (title, authors; venue and year where stated)."""
    return audit.check_bibliography("abualhaija2020resnet50", PAPER_TEXT, paper=PAPER)


def findings(data_dir="auto") -> list[Finding]:
    """Every check of P2's own numbers."""
    return [*table1_findings(data_dir), *statement_findings(data_dir), *table_label_findings(),
            *bibliography_findings()]
