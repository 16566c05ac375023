"""P4's claims for the scorecard, filled in from stored records, and the audit notes beside P4's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib import data as data_layer, engine, paper_values
from mstl_lib.context import start_run
from mstl_lib.evaluation import stats
from mstl_lib.evaluation.audit import audit_note_for
from mstl_lib.nn.weights import weights_kinds
from mstl_lib.papers.p4_finetuning import audit, protocol
from mstl_lib.papers.p4_finetuning.report.auc_by_depth import paper_names
from mstl_lib.papers.p4_finetuning.report.records import collect
from mstl_lib.papers.p4_finetuning.settings import CHAPTER
from mstl_lib.report import scorecard as sc, tables as tables_report
from mstl_lib.report.scorecard import Claim, evidence_link
from mstl_lib.report.text import finished_only


NOTEBOOK = "04_finetuning_svm"
SECTIONS = {"table1": "Data: P4's Table 1 beside the loaders' counts", "table3": "Table 3: AUC per strategy, FT vs FT-SVM, beside P4's",
            "table4": "Table 4: the 15 % strategy", "grouping": "Image-level vs grouped folds"}
"""The chapter's sections that hold each claim's evidence (their headings)."""
HEADLINE_DATASETS = ("BUSI", "DDTI", "Mendeley", "Salivary glands")
LEAKS = {"BUSI": "P4's image-level folds let BUSI's near-duplicate images straddle train and test",
         "DDTI": "P4's image-level folds put images of one DDTI case on both sides of a split"}
SELECTION = "P4 saves the 'best model of each fold' without saying on which data it was picked"


audit_note = audit_note_for(audit.findings, "P4")
"""The audit's inconsistent findings about P4's numbers at ``where``, as a note for the chapter."""


def paper_claims() -> list:
    """P4's claims with the paper's values and what decides each, before any result of ours."""

    t3 = paper_values.load("p4_table3")
    svm_by_pct = audit._table3_means("svm")
    best_other = svm_by_pct.drop(15).max()
    t3_15 = t3[(t3["trainable_pct"] == 15) & t3["backbone"].isin(audit.TWO_BEST)]
    t4 = paper_values.load("p4_table4")
    acc = t4[(t4["metric"] == "accuracy") & t4["backbone"].isin(audit.TWO_BEST)]
    gain = 100 * float((acc["svm"] - acc["ft"]).mean())
    stated_gain = float(paper_values.load("p4_text").set_index("statement").loc["svm_improvement", "value"])
    by_backbone = t3[t3["trainable_pct"] == 15].groupby("backbone")["svm_auc"].mean()
    rank_gap = float(by_backbone[list(audit.TWO_BEST)].min() - by_backbone.drop(list(audit.TWO_BEST)).max())
    link = lambda key: evidence_link(NOTEBOOK, SECTIONS[key])  # noqa: E731
    flaws = (SELECTION,)
    out = [
        Claim("P4", audit.BEST_15, "Fine-tuning 15 % of the layers is the best strategy (by AUC, FT-SVM)",
              f"15 %: mean FT-SVM AUC {svm_by_pct[15]:.3f} vs {best_other:.3f} for the next strategy",
              "FT-SVM AUC at 15 % − the best other strategy, per (dataset, backbone, fold)", kind="greater",
              paper_number=float(svm_by_pct[15] - best_other), protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.SVM_BEATS_MLP, "A linear SVM on the fine-tuned features beats the MLP head (Table 3)",
              f"FT-SVM − FT AUC {float((t3['svm_auc'] - t3['ft_auc']).mean()):+.3f} (mean of Table 3)",
              "FT-SVM − FT AUC per (dataset, backbone, strategy, fold)", kind="greater",
              paper_number=float((t3["svm_auc"] - t3["ft_auc"]).mean()), protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.SVM_SIGNIFICANT, "With the SVM the two best models' performance 'increased significantly'",
              f"no test reported; FT-SVM − FT AUC at 15 % {float((t3_15['svm_auc'] - t3_15['ft_auc']).mean()):+.3f}",
              "FT-SVM − FT AUC at 15 %, ResNet50 and InceptionV3, per (dataset, backbone, fold); its 95 % CI excludes "
              "0 iff a paired t-test gives p < 0.05", kind="greater",
              paper_number=float((t3_15["svm_auc"] - t3_15["ft_auc"]).mean()), protocol_flaws=flaws,
              evidence=link("table4")),
        Claim("P4", audit.SVM_GAIN, "The SVM improves overall performance by 6 % for the two best models",
              f"{stated_gain:g} % (Table 4's accuracies give {gain:+.1f} points)", "FT-SVM − FT accuracy (points) at "
              "15 %, ResNet50 and InceptionV3, mean over (dataset, backbone, fold)", paper_number=stated_gain,
              protocol_flaws=flaws, evidence=link("table4")),
        Claim("P4", audit.TWO_BEST_MODELS, "ResNet50 and InceptionV3 are the two best models at 15 %",
              f"weaker of the two − best other: FT-SVM AUC {rank_gap:+.3f}", "FT-SVM AUC at 15 %: the weaker of "
              "ResNet50 / InceptionV3 − the best other backbone, per (dataset, fold)", kind="greater",
              paper_number=rank_gap, protocol_flaws=flaws, evidence=link("table3")),
        Claim("P4", audit.INCEPTION_CONSISTENT, "InceptionV3 is the most consistent model across strategies and datasets",
              "stated in words", "none: the paper defines no measure of consistency", kind="greater",
              unavailable="the paper defines no measure of consistency to test", evidence=link("table3")),
    ]
    for dataset in HEADLINE_DATASETS:
        for backbone in audit.TWO_BEST:
            value = audit.svm_auc_at(dataset, backbone)
            if not np.isfinite(value):
                continue
            out.append(Claim("P4", audit.headline_id(dataset, backbone),
                             f"{backbone} fine-tuned at 15 % with the SVM head reaches AUC {value:.2f} on {dataset}",
                             f"{value:.2f}", f"pooled out-of-fold FT-SVM AUC, {backbone}, 15 %, {dataset}",
                             paper_number=value, protocol_flaws=tuple(p for p in (LEAKS.get(dataset), SELECTION) if p),
                             evidence=link("table3")))
    return out


def _paired_ci(frame: pd.DataFrame, index: list[str], columns: str, a, b) -> tuple[float, float, float]:
    """Mean and t-interval of ``a`` − ``b`` (columns of a pivot on ``columns``), paired on ``index``."""
    if frame.empty:
        return (float("nan"),) * 3
    wide = frame.pivot_table(index=index, columns=columns, values="value").dropna()
    if wide.empty:
        return (float("nan"),) * 3
    left = wide[a] if not callable(a) else a(wide)
    right = wide[b] if not callable(b) else b(wide)
    return stats.mean_difference_ci(left - right)


def _ci_or_none(low: float, high: float):
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P4's claims (:func:`paper_claims`) filled in from the records chapter 04 stored under these parameters.

    Builds the chapter's grids without running them and reads their records (:func:`collect`);
    a claim whose records are missing says so. Never trains.
    """
    from mstl_lib.papers.p4_finetuning import grids as p4_grids  # noqa: PLC0415 - the grids import the tasks, and TensorFlow

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chapter_grids = p4_grids.build(run)
    except (data_layer.DatasetNotFoundError, FileNotFoundError) as error:
        return sc.cannot_run(base, profile, error)
    results = collect(engine.ResultsStore(store) if not isinstance(store, engine.ResultsStore) else store,
                      chapter_grids)
    records = paper_names(finished_only(results.image_level)) if len(results.records) else pd.DataFrame()
    kinds = weights_kinds(results.weights)
    sources = {protocol.PAPER_DATASET.get(k[0], k[0]): s for k, s in run.sources.items() if k[1] == "train"}
    data_text = "; ".join(f"{name} ({s.kind})" for name, s in sources.items())
    behind = {"weights": ", ".join(kinds) or "none yet", "profile": profile}

    def flags(part: pd.DataFrame, heads=("ft", "svm"), datasets=None) -> tuple[str, ...]:
        if part is None or part.empty:
            return sc.flags_for(False)
        used = [sources[d] for d in (datasets or set(part["dataset"])) if d in sources]
        degenerate = any(part.get(f"{h}_degenerate", pd.Series(dtype=float)).astype(float).sum() > 0 for h in heads)
        return sc.flags_for(True, [s.kind for s in used], kinds, degenerate)

    def long(metric_columns: dict[str, str], part: pd.DataFrame) -> pd.DataFrame:
        frames = [part[["dataset", "backbone", "trainable_pct", "fold", column]].rename(columns={column: "value"})
                  .assign(head=head) for head, column in metric_columns.items() if column in part.columns]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    out = []
    for claim in base:
        if claim.unavailable:
            out.append(claim.with_result(None, None, **behind))
            continue
        part = records
        note = ""
        mean = low = high = float("nan")
        if claim.id == audit.BEST_15 and len(part):
            svm = part[["dataset", "backbone", "trainable_pct", "fold", "svm_auc"]].rename(columns={"svm_auc": "value"})
            strategies = sorted(set(svm["trainable_pct"]))
            if 15 in strategies and len(strategies) > 1:
                others = [p for p in strategies if p != 15]
                runner_up = svm[svm["trainable_pct"].isin(others)].groupby("trainable_pct")["value"].mean().idxmax()
                mean, low, high = _paired_ci(svm, ["dataset", "backbone", "fold"], "trainable_pct", 15, runner_up)
                note = f"the next strategy in our run is {runner_up} %"
            else:
                note = "this run has no other strategy beside 15 %"
        elif claim.id == audit.SVM_BEATS_MLP and len(part):
            mean, low, high = stats.mean_difference_ci(part["svm_auc"] - part["ft_auc"])
        elif claim.id in (audit.SVM_SIGNIFICANT, audit.SVM_GAIN) and len(part):
            part = part[(part["trainable_pct"] == 15) & part["backbone"].isin(audit.TWO_BEST)]
            scale, metric = (1, "auc") if claim.id == audit.SVM_SIGNIFICANT else (100, "accuracy")
            if len(part):
                mean, low, high = (scale * v for v in stats.mean_difference_ci(part[f"svm_{metric}"]
                                                                                - part[f"ft_{metric}"]))
        elif claim.id == audit.TWO_BEST_MODELS and len(part):
            part = part[part["trainable_pct"] == 15]
            others = sorted(set(part["backbone"]) - set(audit.TWO_BEST))
            if others and set(audit.TWO_BEST) <= set(part["backbone"]):
                wide = part.pivot_table(index=["dataset", "fold"], columns="backbone", values="svm_auc").dropna()
                weaker = wide[list(audit.TWO_BEST)].mean().idxmin()
                best_other = wide[others].mean().idxmax()
                mean, low, high = stats.mean_difference_ci(wide[weaker] - wide[best_other])
            else:
                note = "this profile runs " + ", ".join(sorted(set(part["backbone"]))) + ": nothing to rank them against"
        elif claim.id.startswith("auc-"):
            dataset = next(d for d in HEADLINE_DATASETS if audit.headline_id(d, "x").rsplit("-", 1)[0]
                           == claim.id.rsplit("-", 1)[0])
            backbone = next(b for b in audit.TWO_BEST if claim.id.endswith(b.lower()))
            if dataset not in sources:
                why = ("no loader for the salivary-gland set (a website of cases)" if dataset == "Salivary glands"
                       else f"no copy of {dataset} here")
                out.append(claim.with_result(None, None, unavailable=why, **behind))
                continue
            part = part[(part["dataset"] == dataset) & (part["backbone"] == backbone)
                        & (part["trainable_pct"] == 15)] if len(part) else part
            predictions = results.predictions
            if len(predictions):
                predictions = paper_names(predictions[predictions["protocol"] == "none"])
                predictions = predictions[(predictions["dataset"] == dataset) & (predictions["backbone"] == backbone)
                                          & (predictions["trainable_pct"] == 15)]
            if len(predictions):
                ci = tables_report.pooled_ci(predictions, ["dataset"], score="svm_score", metrics=("auc",)).iloc[0]
                mean, low, high = float(ci["auc"]), float(ci["auc_low"]), float(ci["auc_high"])
            out.append(claim.with_result(mean if np.isfinite(mean) else None, _ci_or_none(low, high),
                                         data=f"{dataset} ({sources[dataset].kind})",
                                         evidence_flags=flags(part, heads=("svm",), datasets=[dataset]), **behind))
            continue
        out.append(claim.with_result(mean if np.isfinite(mean) else None, _ci_or_none(low, high), data=data_text,
                                     evidence_flags=flags(part), note=note, **behind))
    return out
