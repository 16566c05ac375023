"""P4's own numbers checked: Table 1's counts, Table 2's frozen layers, Tables 3 and 4, and the text's numbers.

Every check is a shared one of :mod:`mstl_lib.evaluation.audit`, run on P4's tables in
:mod:`mstl_lib.paper_values` (``p4_table1`` ... ``p4_table4``, ``p4_text``). P4 averages
every metric over a 5-fold stratified cross-validation on all of a dataset's images
(section 2), so each test fold holds a fifth of Table 1's images, split as scikit-learn
splits them; a fold mean of a proportion must be attainable with those folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import audit
from mstl_lib.evaluation.audit import CANNOT_CHECK, Finding

PAPER = "P4"
N_FOLDS = 5
DECIMALS_TABLE4 = 4
DECIMALS_TABLE3 = 2
TWO_BEST = ("ResNet50", "InceptionV3")
LOADERS = {"BUSI": "busi", "DDTI": "ddti", "Mendeley": "mendeley"}
"""P4's datasets we have a loader for (the salivary-gland set comes from a website of cases: no loader)."""

# claim ids (see report.claims)
BEST_15, SVM_BEATS_MLP, SVM_SIGNIFICANT, SVM_GAIN = "15-best", "svm-beats-mlp", "svm-significant", "svm-gain-6pct"
TWO_BEST_MODELS, INCEPTION_CONSISTENT = "resnet50-inceptionv3-best", "inceptionv3-most-consistent"


def headline_id(dataset: str, backbone: str) -> str:
    """Claim id of P4's 15 % FT-SVM AUC for ``dataset`` and ``backbone``."""
    return f"auc-{dataset.lower().replace(' ', '-')}-{backbone.lower()}"


def class_counts() -> dict[str, tuple[int, int]]:
    """Table 1: ``{dataset: (benign, malignant)}``."""
    t1 = paper_values.load("p4_table1")
    return {r.dataset: (int(r.benign), int(r.malignant)) for r in t1.itertuples(index=False)}


def table1_findings(data_dir="auto") -> list[Finding]:
    """Table 1: each row's classes against its total, and against our copy of the dataset where we have one.

    DDTI: P4 does not say how it labelled the nodules; our loader's TIRADS rule (2-3 benign,
    4a-5 malignant) is the one the DDTI chapter uses, so a difference may be the rule, not an error.
    """
    out = []
    for row in paper_values.load("p4_table1").itertuples(index=False):
        where = f"Table 1, {row.dataset}"
        out.append(audit.check_sum([row.benign, row.malignant], row.total, paper=PAPER, location=where,
                                   what="classes vs total"))
        name = LOADERS.get(row.dataset)
        ours, source = (None, "no loader for this set (a website of cases)") if name is None else \
            audit.dataset_counts(name, data_dir)
        for label in ("benign", "malignant", "total"):
            finding = audit.check_count(int(getattr(row, label)), None if ours is None else ours[label], paper=PAPER,
                                        location=f"{where}, {label}", source=source)
            if name == "ddti" and finding.verdict != "consistent" and ours is not None:
                finding = Finding(**{**finding.__dict__, "detail": (finding.detail + "; P4 does not state its "
                                                                    "labelling rule; ours maps TIRADS 2-3 to benign, "
                                                                    "4a-5 to malignant").lstrip("; ")})
            out.append(finding)
    return out


def table2_findings() -> list[Finding]:
    """Table 2: each frozen-layer count against total x (1 - trainable %), rounded."""
    out = []
    for row in paper_values.load("p4_table2").itertuples(index=False):
        exact = row.total_layers * (1 - row.trainable_pct / 100)
        out.append(audit.check_rounding(exact, row.frozen_layers, 0, paper=PAPER,
                                        location=f"Table 2, {row.backbone} {row.trainable_pct} %",
                                        what=f"{row.total_layers} x (1 - {row.trainable_pct}/100)"))
    return [f if f.verdict == "consistent" else Finding(**{**f.__dict__, "detail": f.detail + "; the runs follow the "
                                                            "table, so this changes no result"}) for f in out]


def _table3_means(head: str) -> pd.Series:
    t3 = paper_values.load("p4_table3")
    complete = t3.groupby("dataset")["trainable_pct"].nunique()
    complete = complete[complete == complete.max()].index
    return t3[t3["dataset"].isin(complete)].groupby("trainable_pct")[f"{head}_auc"].mean()


def table3_findings() -> list[Finding]:
    """Table 3 against the text's reading of it: is 15 % the best strategy, and is FT-SVM above FT?"""
    t3 = paper_values.load("p4_table3")
    stated = int(paper_values.load("p4_text").set_index("statement").loc["best_strategy", "value"])
    svm = _table3_means("svm")
    best = int(svm.idxmax())
    ties = [int(p) for p, v in svm.items() if abs(v - svm.max()) < 1e-9]
    where = "Section 3 and Table 3, best strategy"
    computation = ("mean FT-SVM AUC per strategy over the datasets with all seven strategies: "
                   + ", ".join(f"{int(p)} %: {v:.3f}" for p, v in svm.items()))
    verdict = "consistent" if stated in ties else "inconsistent"
    detail = "" if stated in ties else f"the table's best is {best} % ({svm.max():.3f}), not {stated} % ({svm[stated]:.3f})"
    out = [Finding(PAPER, where, "stated conclusion vs own table", computation, verdict, detail, (BEST_15,))]
    diff = t3["svm_auc"] - t3["ft_auc"]
    out.append(Finding(PAPER, "Table 3, FT-SVM vs FT", "stated conclusion vs own table",
                       f"FT-SVM − FT AUC over the {len(t3)} printed cells: mean {diff.mean():+.3f}, "
                       f"{int((diff > 0).sum())} higher, {int((diff == 0).sum())} equal, {int((diff < 0).sum())} lower",
                       "consistent" if diff.mean() > 0 else "inconsistent", claims=(SVM_BEATS_MLP,)))
    chance = t3[(t3["ft_auc"] <= 0.5) & (t3["svm_auc"] <= 0.5)]
    out.append(Finding(PAPER, "Table 3, AUC 0.50", "chance-level cells",
                       f"{len(chance)} of {len(t3)} cells give AUC ≤ 0.50 with both heads "
                       f"({', '.join(sorted(set(chance['dataset'])))})", CANNOT_CHECK,
                       "an AUC of exactly 0.50 is what a model giving every image the same score gets; the paper does "
                       "not say whether these models are degenerate"))
    return out


def fold_size_options(benign: int, malignant: int) -> list[list[int]]:
    """Test-fold sizes a 5-fold stratified split of ``benign + malignant`` images may have.

    Per class the folds differ by at most one image; how the classes' larger folds line up
    is not stated, so every alignment of scikit-learn's sizes is an option.
    """
    b, m = audit.stratified_fold_sizes(benign, N_FOLDS), audit.stratified_fold_sizes(malignant, N_FOLDS)
    options = {tuple(sorted(x + y for x, y in zip(b, shifted, strict=True)))
               for shifted in (m[k:] + m[:k] for k in range(N_FOLDS))}
    options.add(tuple(sorted(audit.stratified_fold_sizes(benign + malignant, N_FOLDS))))
    return [list(o) for o in sorted(options)]


def _fold_mean(value: float, options: list[list[int]], where: str, what: str) -> Finding:
    """:func:`audit.check_fold_mean` under each fold-size option: consistent if any option attains the value."""
    found = [audit.check_fold_mean(value, sizes, DECIMALS_TABLE4, paper=PAPER, location=where, what=what)
             for sizes in options]
    for verdict in ("consistent", "inconsistent"):
        for finding in found:
            if finding.verdict == verdict and (verdict == "consistent" or "truncated" in finding.detail):
                return finding
    finding = found[0]
    if len(found) > 1:
        finding = Finding(**{**finding.__dict__, "detail": finding.detail + f" with any of {len(found)} fold-size "
                             "options of a stratified split"})
    return finding


def table4_findings() -> list[Finding]:
    """Table 4, per dataset, backbone and head: accuracy vs precision, sensitivity and Table 1's class counts;
    accuracy and sensitivity attainable as means over P4's stratified folds."""
    t4 = paper_values.load("p4_table4")
    counts = class_counts()
    wide = t4[t4["metric"] != "svm_c"].melt(id_vars=["dataset", "metric", "backbone"], value_vars=["ft", "svm"],
                                            var_name="head").pivot_table(index=["dataset", "backbone", "head"],
                                                                         columns="metric", values="value")
    out = []
    for (dataset, backbone, head), row in wide.iterrows():
        benign, malignant = counts[dataset]
        where = f"Table 4, {dataset} {backbone} {'FT-SVM' if head == 'svm' else 'FT'}"
        claims = ((SVM_GAIN, TWO_BEST_MODELS) if backbone in TWO_BEST else ()) + (SVM_BEATS_MLP,)
        out.append(audit.check_accuracy_from_precision(row["accuracy"], row["sensitivity"], row["precision"],
                                                       malignant, benign, paper=PAPER, location=where,
                                                       decimals=DECIMALS_TABLE4).with_claims(*claims))
        out.append(_fold_mean(row["accuracy"], fold_size_options(benign, malignant), where, "accuracy")
                   .with_claims(*claims))
        out.append(_fold_mean(row["sensitivity"], [audit.stratified_fold_sizes(malignant, N_FOLDS)], where,
                              "sensitivity").with_claims(*claims))
    return out


def text_findings() -> list[Finding]:
    """The text's sensitivity increases and the abstract's "6 %", recomputed from Table 4."""
    t4 = paper_values.load("p4_table4")
    text = paper_values.load("p4_text")
    sens = t4[t4["metric"] == "sensitivity"].set_index(["dataset", "backbone"])
    out = []
    for row in text[text["statement"] == "sensitivity_increase"].itertuples(index=False):
        ft, svm = sens.loc[(row.dataset, row.backbone), ["ft", "svm"]]
        points = 100 * (svm - ft)
        decimals = audit.decimals_of(audit_text_value(row.dataset, row.backbone))
        finding = audit.check_rounding(points, row.value, decimals, paper=PAPER,
                                       location=f"Section 3, {row.dataset} {row.backbone} sensitivity increase",
                                       what=f"100 x ({svm:.4f} − {ft:.4f}) points")
        if finding.verdict != "consistent" and audit.prints_as(svm - ft, row.value, decimals):
            finding = Finding(**{**finding.__dict__, "detail": f"the printed {row.value:g} % is the increase as a "
                                 f"fraction ({svm - ft:.4f}), i.e. {points:.1f} points"})
        out.append(finding.with_claims(SVM_GAIN))
    gains = {}
    for backbone in TWO_BEST:
        acc = t4[(t4["metric"] == "accuracy") & (t4["backbone"] == backbone)]
        gains[backbone] = 100 * float((acc["svm"] - acc["ft"]).mean())
    stated = float(text.set_index("statement").loc["svm_improvement", "value"])
    out.append(Finding(PAPER, "Abstract, SVM improves overall performance by 6 %", "recomputed from Table 4",
                       "mean FT-SVM − FT accuracy over the four datasets at 15 %: "
                       + ", ".join(f"{b} {g:+.2f} points" for b, g in gains.items()) + f"; stated {stated:g} %",
                       CANNOT_CHECK, "the abstract does not name the metric or the average; accuracy gives the "
                       "numbers shown", (SVM_GAIN,)))
    return out


def audit_text_value(dataset: str, backbone: str) -> str:
    """The sensitivity increase for ``dataset`` and ``backbone`` as typed (to read its printed decimals)."""
    raw = pd.read_csv(paper_values.FOLDER / "p4_text.csv", comment="#", dtype=str).fillna("")
    hit = raw[(raw["statement"] == "sensitivity_increase") & (raw["dataset"] == dataset) & (raw["backbone"] == backbone)]
    return str(hit["value"].iloc[0])


PAPER_TEXT = "balghaoui2023_finetuning_svm.txt"
"""The paper's text in :func:`mstl_lib.evaluation.audit.papers_text_dir` (not shipped with the project)."""


def bibliography_findings() -> list[Finding]:
    """The paper's ``references.bib`` entry against its own text (title, authors; venue and year where stated)."""
    return audit.check_bibliography("balghaoui2023finetuning", PAPER_TEXT, paper=PAPER)


def findings(data_dir="auto") -> list[Finding]:
    """Every check of P4's own numbers."""
    return [*table1_findings(data_dir), *table2_findings(), *table3_findings(), *table4_findings(), *text_findings(),
            *bibliography_findings()]


def svm_auc_at(dataset: str, backbone: str, strategy: int = 15) -> float:
    """P4's FT-SVM AUC at ``strategy`` for ``dataset`` and ``backbone`` (Table 3; NaN when the table lacks it)."""
    t3 = paper_values.load("p4_table3")
    hit = t3[(t3["dataset"] == dataset) & (t3["backbone"] == backbone) & (t3["trainable_pct"] == strategy)]
    return float(hit["svm_auc"].iloc[0]) if len(hit) else float(np.nan)
