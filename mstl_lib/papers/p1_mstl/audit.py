"""P1's own numbers checked: Table 1, the Fig. 5 averages, the MT-Small result, the stated counts, the p-value.

Every check is a shared one of :mod:`mstl_lib.evaluation.audit`, run on P1's tables
in :mod:`mstl_lib.paper_values` (``p1_table1``, ``p1_factors``, ``p1_mt_small``,
``p1_significance``, ``p1_counts``). The printed number of decimals is read from the
CSV text, so rounding is judged on what the paper printed.

Facts of the protocol the checks rest on (P1 section 2.3): 200 Mendeley images,
100 per class, a 6:2:2 split inside 5-fold cross-validation, so each test fold
holds 40 images, 20 per class; MT-Small the same on 400 images (80 per fold).
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import audit, stats
from mstl_lib.evaluation.audit import Finding

PAPER = "P1"
N_FOLDS = 5
TEST_SHARE = 0.2
"""The 6:2:2 split: the test part of each fold."""

# claim ids (see report.claims)
BEST_ACCURACY, BEST_AUC, MT_SMALL = "best-accuracy", "best-auc", "mt-small-accuracy"
MSTL_BEATS_CTL, MSTL_SIGNIFICANT = "mstl-beats-ctl", "mstl-significant"
RESNET50_BEST, ADAGRAD_BEST = "resnet50-best-cnn", "adagrad-best-optimizer"
BEST_ROW = ("MSTL", "ResNet50", "adagrad")


@cache
def printed(name: str) -> pd.DataFrame:
    """Table ``name`` of ``paper_values`` as the strings typed (to read the printed decimals)."""
    return pd.read_csv(paper_values.FOLDER / f"{name}.csv", comment="#", dtype=str)


def _decimals(name: str, row: int, column: str) -> int:
    return audit.decimals_of(printed(name).loc[row, column])


def counts() -> dict[tuple[str, str], int]:
    """P1's stated counts, ``{(group, quantity): value}``."""
    table = paper_values.load("p1_counts")
    return {(g, q): int(v) for g, q, v in table[["group", "quantity", "value"]].itertuples(index=False)}


def fold_test_size(total: int) -> int:
    """Test images per fold under P1's 6:2:2 split of ``total`` images."""
    return round(total * TEST_SHARE)


def _row_claims(row) -> tuple[str, ...]:
    claims = (MSTL_BEATS_CTL, MSTL_SIGNIFICANT)
    if (row.tl, row.cnn, row.optimizer) == BEST_ROW:
        claims += (BEST_ACCURACY, BEST_AUC)
    return claims


def table1_findings() -> list[Finding]:
    """Table 1, per row: accuracy vs sensitivity and specificity (balanced folds), F1 vs precision and recall,
    the mean ± SD attainable with 5 folds of 40, and the per-CNN average against its three rows."""
    table = paper_values.load("p1_table1")
    stated = counts()
    n_pos, n_neg = stated[("Mendeley used", "malignant")], stated[("Mendeley used", "benign")]
    fold = fold_test_size(stated[("Mendeley used", "total")])
    out = []
    for i, row in enumerate(table.itertuples(index=False)):
        where = f"Table 1, {row.tl} {row.cnn} {row.optimizer}"
        dec = {c: _decimals("p1_table1", i, c) for c in ("accuracy", "accuracy_sd", "sensitivity", "specificity",
                                                         "f1")}
        # a rate printed "1" is typed 1.0: judge it on two decimals, as the column prints
        rate_decimals = max(dec["sensitivity"], 2), max(dec["specificity"], 2)
        claims = _row_claims(row)
        out.append(audit.check_accuracy_identity(
            row.accuracy, row.sensitivity, row.specificity, n_pos, n_neg, paper=PAPER, location=where,
            decimals=(dec["accuracy"], *rate_decimals), scale=100).with_claims(*claims))
        precision = audit.precision_from(row.sensitivity, row.specificity, n_pos, n_neg)
        out.append(audit.check_f1_identity(row.f1, precision, row.sensitivity, paper=PAPER, location=where,
                                           decimals=(3, None, rate_decimals[0]), fold_averaged=True)
                   .with_claims(*claims))
        out.append(audit.check_fold_mean_sd(row.accuracy, row.accuracy_sd, fold, N_FOLDS,
                                            (dec["accuracy"], dec["accuracy_sd"]), paper=PAPER, location=where)
                   .with_claims(*claims))
    for (tl, cnn), rows in table.groupby(["tl", "cnn"], sort=False):
        mean = float(rows["accuracy"].mean())
        printed_avg = float(rows["avg_accuracy_cnn"].iloc[0])
        claims = (MSTL_BEATS_CTL,) + ((RESNET50_BEST,) if tl == "MSTL" else ())
        out.append(audit.check_rounding(mean, printed_avg, _decimals("p1_table1", rows.index[0], "avg_accuracy_cnn"),
                                        paper=PAPER, location=f"Table 1, {tl} {cnn} Avg. Test Acc.",
                                        what="mean of " + ", ".join(f"{v:g}" for v in rows["accuracy"]))
                   .with_claims(*claims))
    return out


def factor_findings() -> list[Finding]:
    """Section 3.3 (Fig. 5): each optimizer's and CNN's mean ± spread against Table 1's MSTL rows."""
    table = paper_values.load("p1_table1")
    mstl = table[table["tl"] == "MSTL"]
    factors = paper_values.load("p1_factors")
    out = []
    for i, row in enumerate(factors.itertuples(index=False)):
        column = "optimizer" if row.factor == "optimizer" else "cnn"
        values = mstl.loc[mstl[column] == row.level, "accuracy"].tolist()
        decimals = (_decimals("p1_factors", i, "accuracy"), _decimals("p1_factors", i, "accuracy_sd"))
        claim = ADAGRAD_BEST if row.factor == "optimizer" else RESNET50_BEST
        out.append(audit.check_mean_and_spread(values, row.accuracy, row.accuracy_sd, decimals, paper=PAPER,
                                               location=f"Section 3.3 (Fig. 5), {row.factor} {row.level}",
                                               what="mean ± spread of Table 1's MSTL rows").with_claims(claim))
    return out


def mt_small_findings() -> list[Finding]:
    """Section 3.5: MT-Small's accuracy against its sensitivity and specificity, F1, and the attainable mean ± SD."""
    row = paper_values.load("p1_mt_small").iloc[0]
    stated = counts()
    n_pos, n_neg = stated[("MT-Small", "malignant")], stated[("MT-Small", "benign")]
    where = "Section 3.5, MT-Small ResNet50 Adagrad"
    dec = {c: _decimals("p1_mt_small", 0, c) for c in ("accuracy", "accuracy_sd", "sensitivity", "specificity", "f1")}
    precision = audit.precision_from(row["sensitivity"], row["specificity"], n_pos, n_neg)
    return [f.with_claims(MT_SMALL) for f in (
        audit.check_accuracy_identity(row["accuracy"], row["sensitivity"], row["specificity"], n_pos, n_neg,
                                      paper=PAPER, location=where,
                                      decimals=(dec["accuracy"], dec["sensitivity"], dec["specificity"]), scale=100),
        audit.check_f1_identity(row["f1"], precision, row["sensitivity"], paper=PAPER, location=where,
                                decimals=(dec["f1"], None, dec["sensitivity"]), fold_averaged=True),
        audit.check_fold_mean_sd(row["accuracy"], row["accuracy_sd"], fold_test_size(stated[("MT-Small", "total")]),
                                 N_FOLDS, (dec["accuracy"], dec["accuracy_sd"]), paper=PAPER, location=where),
    )]


def count_findings(data_dir="auto") -> list[Finding]:
    """The counts the text states: sums, the cell-patch split against its 7:2:1 ratio, augmentation, and the
    Mendeley and MT-Small counts against our copies (when a data folder holds them)."""
    c = counts()
    out = [
        audit.check_sum([c[("cell frames", k)] for k in ("HeLa", "MCF-7", "NCI-H1299")], c[("cell frames", "total")],
                        paper=PAPER, location="Section 2.2, cell frames", what="per-line frames vs total"),
        audit.check_sum([c[("cell patches", "per cell line")]] * c[("cell patches", "cell lines")],
                        c[("cell patches", "total")], paper=PAPER, location="Section 2.2, cell patches",
                        what="patches per line x lines vs total"),
        audit.check_ratio_split(c[("cell patches", "total")],
                                [c[("cell patch split", k)] for k in ("training", "validation", "test")],
                                [c[("cell patch split", f"ratio {k}")] for k in ("training", "validation", "test")],
                                paper=PAPER, location="Section 2.2, cell-patch split", what="split vs stated 7:2:1"),
        audit.check_sum([c[("cell patch split", "training")]] * 2, c[("cell patch split", "augmented training")],
                        paper=PAPER, location="Section 2.2, cell-patch augmentation", what="training doubled"),
        audit.check_sum([c[("Mendeley release", k)] for k in ("benign", "malignant")], c[("Mendeley release", "total")],
                        paper=PAPER, location="Section 2.3, Mendeley release", what="class counts vs total"),
        audit.check_sum([c[("Mendeley used", k)] for k in ("benign", "malignant")], c[("Mendeley used", "total")],
                        paper=PAPER, location="Section 2.3, Mendeley used", what="class counts vs total"),
        audit.check_sum([c[("MT-Small", k)] for k in ("benign", "malignant")], c[("MT-Small", "total")],
                        paper=PAPER, location="Section 3.5, MT-Small", what="class counts vs total"),
    ]
    train = c[("Mendeley used", "total")] * c[("Mendeley split", "ratio training")] / sum(
        c[("Mendeley split", f"ratio {k}")] for k in ("training", "validation", "test"))
    out.append(audit.check_sum([train] * 3, c[("Mendeley split", "augmented training")], paper=PAPER,
                               location="Section 2.3, Mendeley augmentation",
                               what="6/10 of 200 training images, tripled (flip, rotation)"))
    for name, group in (("mendeley", "Mendeley release"), ("mt_small", "MT-Small")):
        ours, source = audit.dataset_counts(name, data_dir)
        for label in ("benign", "malignant", "total"):
            out.append(audit.check_count(c[(group, label)], None if ours is None else ours[label], paper=PAPER,
                                         location=f"{group}, {label}", source=source))
    return out


def p_value_findings() -> list[Finding]:
    """P1's p = 0.01191, recomputed by every candidate t-test on Table 1's nine CTL/MSTL accuracy pairs."""
    ctl, mstl = stats.paper_accuracy_pairs(paper_values.load("p1_table1"))
    reported = float(paper_values.load("p1_significance")["p_value"].iloc[0])
    decimals = audit.decimals_of(printed("p1_significance").loc[0, "p_value"])
    variants = stats.t_test_variants(ctl, mstl)
    return [audit.check_p_value(reported, variants, decimals, paper=PAPER,
                                location="Section 3.2 and abstract, p = 0.01191",
                                describe=lambda r: f"{r['test']} {r['alternative']}")
            .with_claims(MSTL_SIGNIFICANT)]


PAPER_TEXT = "ayana2022_multistage_transfer_learning.md"
"""The paper's text in :func:`mstl_lib.evaluation.audit.papers_text_dir` (not shipped with the project)."""


def bibliography_findings() -> list[Finding]:
    """The paper's ``references.bib`` entry against its own text (title, authors; venue and year where stated)."""
    return audit.check_bibliography("ayana2022mstl", PAPER_TEXT, paper=PAPER)


def findings(data_dir="auto") -> list[Finding]:
    """Every check of P1's own numbers."""
    return [*table1_findings(), *factor_findings(), *mt_small_findings(), *count_findings(data_dir),
            *p_value_findings(), *bibliography_findings()]
