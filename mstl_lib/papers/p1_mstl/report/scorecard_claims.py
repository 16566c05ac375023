"""P1's claims for the scorecard, filled in from stored records, and the audit notes beside the paper's
numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib import data as data_layer
from mstl_lib.context import start_run
from mstl_lib.data.sources import PHANTOM, REAL, STANDIN
from mstl_lib.evaluation import stats
from mstl_lib.evaluation.audit import audit_note_for
from mstl_lib.evaluation.replication import se_from_spread
from mstl_lib.papers.p1_mstl import audit, protocol
from mstl_lib.papers.p1_mstl.report.significance import paired_accuracies
from mstl_lib.papers.p1_mstl.report.table_one import table1
from mstl_lib.papers.p1_mstl.settings import CHAPTER
from mstl_lib.report import scorecard as sc, tables as tables_report
from mstl_lib.report.scorecard import Claim, evidence_link
from mstl_lib.report.text import finished_only


NOTEBOOK = "03_multistage"
SECTIONS = {"table1": "Table 1, reproduced and beside the paper's", "significance": "The significance test",
            "factors": "Effect of the optimizer and of the CNN (Fig. 5)",
            "mt_small": "The MT-Small experiment (section 3.5)"}
"""The chapter's sections that hold each claim's evidence (their headings)."""


audit_note = audit_note_for(audit.findings, "P1")
"""The audit's inconsistent findings about P1's numbers at ``where``, as a note for the chapter."""


def paper_claims() -> list:
    """P1's claims with the paper's values and what decides each, before any result of ours."""

    t1 = protocol.paper_table1()
    best = t1[(t1["tl"] == "MSTL") & (t1["cnn"] == protocol.BEST["cnn"]) & (t1["optimizer"] == protocol.BEST["optimizer"])]
    best = best.iloc[0]
    mt = protocol.paper_mt_small().iloc[0]
    ctl, mstl = protocol.ttest_candidates(t1)
    auc_pairs = paired_accuracies(t1.rename(columns={}), value="auc")
    factors = protocol.paper_factors().set_index(["factor", "level"])["accuracy"]
    cnn_gap = factors[("cnn", "ResNet50")] - max(factors[("cnn", c)] for c in protocol.BACKBONES if c != "ResNet50")
    opt_gap = factors[("optimizer", "adagrad")] - max(factors[("optimizer", o)] for o in protocol.OPTIMIZERS
                                                      if o != "adagrad")
    selection = ("the best of 18 configurations is picked on the same test folds that report it",)
    folds = protocol.N_SPLITS
    link = lambda key: evidence_link(NOTEBOOK, SECTIONS[key])  # noqa: E731
    return [
        Claim("P1", audit.BEST_ACCURACY, "MSTL ResNet50 + Adagrad reaches 99 % test accuracy on Mendeley",
              f"{best['accuracy']:g} ± {best['accuracy_sd']:g} %", "pooled out-of-fold accuracy (%), MSTL ResNet50 "
              "Adagrad", paper_number=float(best["accuracy"]), paper_se=se_from_spread(best["accuracy_sd"], folds),
              protocol_flaws=selection, evidence=link("table1")),
        Claim("P1", audit.BEST_AUC, "MSTL ResNet50 + Adagrad reaches AUC 0.999 on Mendeley", f"{best['auc']:g}",
              "pooled out-of-fold AUC, MSTL ResNet50 Adagrad", paper_number=float(best["auc"]),
              protocol_flaws=selection, evidence=link("table1")),
        Claim("P1", audit.MT_SMALL, "MSTL ResNet50 + Adagrad reaches 98.7 % test accuracy on MT-Small",
              f"{mt['accuracy']:g} ± {mt['accuracy_sd']:g} %", "pooled out-of-fold accuracy (%), MSTL ResNet50 "
              "Adagrad, MT-Small", paper_number=float(mt["accuracy"]), paper_se=se_from_spread(mt["accuracy_sd"], folds),
              evidence=link("mt_small")),
        Claim("P1", audit.MSTL_BEATS_CTL, "MSTL classifies better than CTL (Table 1, Fig. 4)",
              f"MSTL − CTL AUC {float((auc_pairs['MSTL'] - auc_pairs['CTL']).mean()):+.3f} (mean of 9 pairs)",
              "MSTL − CTL AUC per (CNN, optimizer, fold), mean and 95 % t-interval", kind="greater",
              paper_number=float((auc_pairs["MSTL"] - auc_pairs["CTL"]).mean()), evidence=link("table1")),
        Claim("P1", audit.MSTL_SIGNIFICANT, "MSTL is significantly better than CTL (t-test, p = 0.01191)",
              f"p = {protocol.paper_p_value():g} (MSTL − CTL {float((mstl - ctl).mean()):+.2f} points)",
              "MSTL − CTL accuracy (points) over configuration means, as P1; its 95 % CI excludes 0 iff the paired "
              "t-test gives p < 0.05", kind="greater", paper_number=float((mstl - ctl).mean()),
              evidence=link("significance")),
        Claim("P1", audit.RESNET50_BEST, "ResNet50 is the best CNN for MSTL (98 ± 1 % vs 92 and 90.3 %)",
              f"ResNet50 − next CNN {cnn_gap:+.1f} points", "ResNet50 − best other CNN, MSTL accuracy (points) per "
              "(optimizer, fold)", kind="greater", paper_number=float(cnn_gap), evidence=link("factors")),
        Claim("P1", audit.ADAGRAD_BEST, "Adagrad is the best optimizer for MSTL (96.67 ± 1.8 % vs 95.83 and 87.83 %)",
              f"Adagrad − next optimizer {opt_gap:+.2f} points", "Adagrad − best other optimizer, MSTL accuracy "
              "(points) per (CNN, fold)", kind="greater", paper_number=float(opt_gap), evidence=link("factors")),
    ]


def _level_gap(records: pd.DataFrame, column: str, level: str, pair_on: list[str]) -> tuple[float, float, float]:
    """``level`` minus the best other level of ``column`` (MSTL accuracy in points), paired on ``pair_on``."""
    done = finished_only(records)
    done = done[done["tl"] == "MSTL"] if "tl" in done.columns else done.iloc[0:0]
    if done.empty or done[column].nunique() < 2 or level not in set(done[column]):
        return float("nan"), float("nan"), float("nan")
    wide = done.pivot_table(index=pair_on, columns=column, values="accuracy").dropna() * 100
    others = [c for c in wide.columns if c != level]
    if wide.empty or not others:
        return float("nan"), float("nan"), float("nan")
    runner_up = wide[others].mean().idxmax()
    return stats.mean_difference_ci(wide[level] - wide[runner_up])


def _pooled(predictions: pd.DataFrame, metric: str, scale: float = 1.0) -> tuple[float, tuple | None]:
    if predictions.empty:
        return float("nan"), None
    part = predictions[(predictions["tl"] == "MSTL") & (predictions["backbone"] == protocol.BEST["cnn"])
                       & (predictions["optimizer"] == protocol.BEST["optimizer"])]
    if part.empty:
        return float("nan"), None
    ci = tables_report.pooled_ci(part, ["tl"], metrics=(metric,)).iloc[0]
    return scale * float(ci[metric]), (scale * float(ci[f"{metric}_low"]), scale * float(ci[f"{metric}_high"]))


def evidence_flags(chapter, records: pd.DataFrame, source, arms=("CTL", "MSTL")) -> tuple[str, ...]:
    """What stands behind our numbers: synthetic data (phantom ultrasound, or phantom cell lines behind MSTL), a
    stand-in (BUSI for Mendeley), weights other than ImageNet, a degenerate fold, nothing stored."""

    done = finished_only(records)
    data_kinds = {source.kind}
    if "MSTL" in arms and chapter.plan.cells_train.kind != REAL:
        data_kinds.add(PHANTOM)
    if source.dataset == "busi" and chapter.plan.mendeley is None:
        data_kinds.add(STANDIN)
    weights = [info["used"] for info in chapter.grids["main"].context["weights_info"].values()]
    degenerate = "degenerate" in done.columns and done[done["tl"].isin(arms)]["degenerate"].astype(float).sum() > 0
    return sc.flags_for(not done.empty, data_kinds, weights, bool(degenerate))


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P1's claims (:func:`paper_claims`) filled in from the records chapter 03 stored under these parameters.

    Builds the chapter's grids without running them (``grids.stored``); a claim whose
    records are missing says so. Never trains.
    """
    from mstl_lib.papers.p1_mstl import grids as p1_grids  # noqa: PLC0415 - the grids import the tasks, and TensorFlow

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chapter = p1_grids.stored(run, store)
    except (data_layer.DatasetNotFoundError, FileNotFoundError) as error:
        return sc.cannot_run(base, profile, error)
    main, mt = chapter.records("main"), chapter.records("mt_small")
    main_pred, mt_pred = chapter.predictions("main"), chapter.predictions("mt_small")
    weights_used = ", ".join(sorted({info["used"] for info in chapter.grids["main"].context["weights_info"].values()}))
    cells = f"stage 1 on {chapter.plan.cells_train.kind} cell lines"
    behind = {"weights": weights_used, "profile": profile}
    private = ("" if chapter.plan.cells_train.kind == REAL else
               "P1's cancer-cell images are private: stage 1 ran on phantom cell lines")
    main_data = f"{chapter.plan.ultrasound.dataset} ({chapter.plan.ultrasound.kind}); {cells}"
    flags_main = evidence_flags(chapter, main, chapter.plan.ultrasound)
    flags_mt = evidence_flags(chapter, mt, chapter.plan.mt_small)
    out = []
    for claim in base:
        if claim.id == audit.BEST_ACCURACY:
            ours, ci = _pooled(main_pred, "accuracy", 100)
            out.append(claim.with_result(ours, ci, data=main_data, evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.BEST_AUC:
            ours, ci = _pooled(main_pred, "auc")
            out.append(claim.with_result(ours, ci, data=main_data, evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.MT_SMALL:
            ours, ci = _pooled(mt_pred, "accuracy", 100)
            mt_data = f"{chapter.plan.mt_small.dataset} ({chapter.plan.mt_small.kind}); {cells}"
            out.append(claim.with_result(ours, ci, data=mt_data, evidence_flags=flags_mt, note=private, **behind))
        elif claim.id == audit.MSTL_BEATS_CTL:
            done = finished_only(main)
            pairs = stats.fold_pairs(done[done["tl"].isin(protocol.ARMS)], "auc") if {"CTL", "MSTL"} <= set(
                done.get("tl", [])) else pd.DataFrame()
            mean, low, high = stats.mean_difference_ci(pairs["MSTL"] - pairs["CTL"]) if len(pairs) else (
                float("nan"),) * 3
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, note=private, **behind))
        elif claim.id == audit.MSTL_SIGNIFICANT:
            pairs = paired_accuracies(table1(main))
            mean, low, high = stats.mean_difference_ci(pairs["MSTL"] - pairs["CTL"]) if len(pairs) else (
                float("nan"),) * 3
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, **behind,
                                         note=private if len(pairs) >= 2 else "fewer than two configurations in both arms"))
        else:
            column, level, pair_on = (("backbone", "ResNet50", ["optimizer", "fold"]) if claim.id == audit.RESNET50_BEST
                                      else ("optimizer", "adagrad", ["backbone", "fold"]))
            mean, low, high = _level_gap(main, column, level, pair_on)
            levels = finished_only(main)[column].nunique() if len(finished_only(main)) else 0
            note = "" if np.isfinite(mean) else f"this profile runs {levels} {column} level(s): nothing to rank"
            out.append(claim.with_result(mean, (low, high) if np.isfinite(low) else None, data=main_data,
                                         evidence_flags=flags_main, note=note, **behind))
    return out
