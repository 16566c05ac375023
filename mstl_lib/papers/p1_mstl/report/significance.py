"""The significance test: the paper's t-test recomputed, ours, the control, and the verdict in words."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mstl_lib.data.sources import REAL
from mstl_lib.evaluation import stats
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.common import ALPHA
from mstl_lib.papers.p1_mstl.report.stage1 import stage1_table
from mstl_lib.papers.p1_mstl.report.table_one import table1
from mstl_lib.report.text import finished_only, join_words, plural


def paper_ttest(paper: pd.DataFrame | None = None, reported_p: float | None = None) -> pd.DataFrame:
    """Every candidate t-test on the paper's own Table 1, with ``matches`` (rounds to the reported p)."""
    ctl, mstl = protocol.ttest_candidates(paper)
    reported_p = protocol.paper_p_value() if reported_p is None else reported_p
    variants = stats.t_test_variants(ctl, mstl)
    variants["matches"] = np.round(variants["p_value"], 4) == np.round(reported_p, 4)
    return variants


def paper_ttest_sentence(variants: pd.DataFrame, reported_p: float | None = None) -> str:
    """Which test reproduces P1's p-value, and what the others give (from :func:`paper_ttest`)."""
    reported_p = protocol.paper_p_value() if reported_p is None else reported_p
    matches = variants[variants["matches"]]
    if matches.empty:
        return f"No candidate t-test on {protocol.TTEST_SAMPLE} reproduces the paper's p = {reported_p}."
    names = join_words([f"{m.test} {m.alternative}" for m in matches.itertuples()])
    others = variants[~variants["matches"] & (variants["alternative"] == "two-sided")]
    sentence = (f"Only the **{names} t-test** on {protocol.TTEST_SAMPLE} gives the paper's p = {reported_p} "
                f"(here p = {matches['p_value'].iloc[0]:.5f}).")
    unpaired = others[others["test"] != "paired"]
    if len(unpaired) and (unpaired["p_value"] >= ALPHA).all():
        sentence += (f" The two-sided unpaired tests give p = {unpaired['p_value'].min():.3f} or more, so the "
                     "paper's significance rests on pairing the configurations.")
    return sentence


def paired_accuracies(table: pd.DataFrame, by=("cnn", "optimizer"), value: str = "accuracy") -> pd.DataFrame:
    """CTL and MSTL ``value`` side by side for each (CNN, optimizer) present in both arms."""
    if table.empty:
        return pd.DataFrame(columns=[*by, "CTL", "MSTL"])
    wide = table.pivot_table(index=list(by), columns="tl", values=value, aggfunc="mean")
    for arm in protocol.ARMS:
        if arm not in wide.columns:
            wide[arm] = np.nan
    return wide.dropna(subset=list(protocol.ARMS)).reset_index()


def our_tests(records: pd.DataFrame) -> pd.DataFrame:
    """P1's test (paired, on configuration means) and a fold-level paired test on our records; rows need ≥ 2 pairs."""
    tests = []
    pairs = paired_accuracies(table1(records))
    if len(pairs) >= 2:
        tests.append({"level": "configuration means (as P1)", **stats.t_test(pairs["CTL"], pairs["MSTL"], "paired")})
    done = finished_only(records)
    done = done[done["tl"].isin(protocol.ARMS)] if "tl" in done.columns else done  # P1's two arms, not our control
    folds = stats.fold_pairs(done) if {"CTL", "MSTL"} <= set(done.get("tl", [])) else pd.DataFrame()
    if len(folds) >= 2:
        tests.append({"level": "folds", **stats.t_test(100 * folds["CTL"], 100 * folds["MSTL"], "paired")})
    return pd.DataFrame(tests, columns=["level", "test", "alternative", "n", "mean_difference", "statistic", "df",
                                        "p_value"])


def control_pairs(records: pd.DataFrame, metric: str = "auc") -> pd.DataFrame:
    """MSTL and the shuffled-label control per (backbone, optimizer, fold) where both ran."""
    done = finished_only(records)
    if done.empty or "tl" not in done.columns or not {"MSTL", protocol.CONTROL} <= set(done["tl"]):
        return pd.DataFrame(columns=["backbone", "optimizer", "fold", "MSTL", protocol.CONTROL])
    return stats.fold_pairs(done[done["tl"].isin(["MSTL", protocol.CONTROL])], metric)


def control_sentence(records: pd.DataFrame, alpha: float = ALPHA) -> str:
    """What the shuffled-label control says: does MSTL beat a stage 1 that saw the same patches without their labels?

    Fold-level AUC pairs (same test images); a paired t-test needs at least
    two pairs, and degenerate folds are reported, not tested.
    """
    pairs = control_pairs(records)
    if pairs.empty:
        return ("The shuffled-label control did not run in this profile, so MSTL's gain (if any) cannot be told apart "
                "from the effect of any extra training of the network.")
    difference = float((pairs["MSTL"] - pairs[protocol.CONTROL]).mean())
    lead = (f"MSTL against the shuffled-label control, {plural(len(pairs), 'fold pair')} (same test images): mean AUC "
            f"difference {difference:+.3f}.")
    degenerate = degenerate_arms(records)
    if degenerate.get("MSTL") or degenerate.get(protocol.CONTROL):
        return lead + " Degenerate folds in these arms: no test is run."
    if len(pairs) < 2:
        return lead + " One pair: a direction, not a test; cells cannot be credited with MSTL's result."
    test = stats.t_test(pairs[protocol.CONTROL], pairs["MSTL"], "paired")
    verdict = (f"MSTL beats the control (p = {test['p_value']:.3f}): the cell labels, not only the extra training, "
               "carry what stage 1 adds." if test["p_value"] < alpha and difference > 0 else
               f"MSTL does not beat the control (p = {test['p_value']:.3f}): what stage 1 adds here cannot be credited "
               "to the cell labels rather than to extra training of the network.")
    return lead + " " + verdict


def conclusion_limits(chapter) -> list[str]:
    """Why this run cannot test P1's claim as stated (empty when it follows the protocol in these respects)."""
    settings, plan = chapter.settings, chapter.plan
    limits = []
    if plan.ultrasound.kind != REAL:
        limits.append(f"the ultrasound images are {plan.ultrasound.kind}, not real")
    context = chapter.grids["main"].context
    random = sorted(name for name, info in context["weights_info"].items() if info["used"] != "imagenet")
    if random:
        limits.append(f"CTL starts {join_words(random)} from {context['weights_info'][random[0]]['used']} weights, "
                      "not ImageNet, so MSTL is random → cells → ultrasound and the comparison asks whether cell "
                      "pre-training helps an untrained network, not whether it adds to ImageNet features")
    if plan.cells_train.kind != REAL:
        limits.append("stage 1 trained on phantom cell lines, not on cancer-cell microscopy")
    stage1 = stage1_table(chapter.raw_records("stage1"))
    stage1 = stage1[stage1["labels"] == "true"]  # the shuffled-label control is meant to sit at chance
    if not stage1.empty and not stage1["learned"].fillna(False).astype(bool).all():
        limits.append("stage 1 did not beat chance in every configuration")
    if settings["epochs"] < protocol.EPOCHS:
        limits.append(f"stage 2 trained for {plural(settings['epochs'], 'epoch')} and stage 1 for "
                      f"{plural(settings['stage1_epochs'], 'epoch')}, where P1 trains {protocol.EPOCHS} each")
    return limits


def _verdict(tests: pd.DataFrame, alpha: float) -> str:
    significant = tests["p_value"] < alpha
    if significant.all() and (tests["mean_difference"] > 0).all():
        return "**survives** in this run: MSTL is significantly better at every level tested"
    if (significant & (tests["mean_difference"] < 0)).any():
        return "**does not survive** in this run: MSTL is significantly *worse* at some level"
    return "**does not survive** in this run: the difference is not significant at every level tested"


def degenerate_arms(records: pd.DataFrame) -> dict[str, int]:
    """Degenerate folds per arm (folds that put at least 95 % of their test images in one class)."""
    done = finished_only(records)
    if done.empty or "degenerate" not in done.columns:
        return {}
    counts = done.groupby("tl")["degenerate"].sum()
    return {arm: int(n) for arm, n in counts.items() if n > 0}


def significance_sentence(tests: pd.DataFrame, limits: list[str], alpha: float = ALPHA,
                          degenerate: Mapping[str, int] | None = None) -> str:
    """The verdict on P1's conclusion from :func:`our_tests`, and whether it bears on the claim.

    With degenerate folds in either arm (:func:`degenerate_arms`) no verdict is
    given: such a fold's accuracy is a class share, and a t-test on it compares
    class shares, not networks.
    """
    if degenerate:
        listed = join_words([f"{plural(n, 'degenerate fold')} in {arm}" for arm, n in sorted(degenerate.items())])
        return (f"**No verdict**: this run has {listed} (at least 95 % of the test images given one class), whose "
                "accuracy measures the class balance, not the network, so a t-test on them would compare class "
                "shares. The tests are not run; read the per-fold table, the AUCs and their confidence intervals.")
    if tests.empty:
        head = ("Too few CTL/MSTL pairs in this run for a t-test (a paired test needs at least two), so the paper's "
                "conclusion can be neither confirmed nor refuted here.")
    else:
        lines = [f"*{row['level']}*: {stats.summarize_test(row.to_dict(), alpha)}" for _, row in tests.iterrows()]
        undefined = tests["p_value"].isna().any()
        head = ("\n\n".join(lines) + "\n\nThe paper's conclusion (MSTL significantly better, p < 0.05) "
                + _verdict(tests, alpha) + "." + (" (A p-value is undefined where every pair differs by the "
                                                  "same amount.)" if undefined else ""))
    if limits:
        return head + " **This does not bear on P1's claim as stated**, because " + "; ".join(limits) + "."
    return head + (" The run has real data, ImageNet weights, a stage 1 that learned and P1's epochs, so the verdict "
                   "bears on the claim (for this run's ultrasound data).")
