"""P2's claims for the scorecard, filled in from stored records, and the audit notes beside its numbers."""

from __future__ import annotations

from mstl_lib import data as data_layer, engine, paper_values
from mstl_lib.context import start_run
from mstl_lib.evaluation.audit import audit_note_for
from mstl_lib.nn.weights import weights_kinds
from mstl_lib.papers.p2_breakhis import audit
from mstl_lib.papers.p2_breakhis.report.arms import arm_ci, collect, main_arm
from mstl_lib.papers.p2_breakhis.settings import CHAPTER
from mstl_lib.report import scorecard as sc
from mstl_lib.report.scorecard import Claim, evidence_link


NOTEBOOK = "05_breakhis"
SECTIONS = {"arms": "Arms A–D beside the majority-class baseline", "comparison": "P2's comparison table",
            "leak": "P2's split and its leak, from the release's counts"}
"""The chapter's sections that hold each claim's evidence (their headings)."""

MAGNIFICATION_LEAK = "every test patient is a training patient (train 100/200/400X, test 40X of the same patients)"
"""The protocol flaw behind P2's accuracy, as the scorecard names it."""


audit_note = audit_note_for(audit.findings, "P2")
"""The audit's inconsistent findings about P2's numbers at ``where``, as a note for the chapter."""


def paper_claims() -> list:
    """P2's claims with the paper's values and what decides each, before any result of ours."""

    comparison = paper_values.load("p2_comparison")
    best_other = comparison.iloc[:-1]["accuracy_pct"].max()
    return [
        Claim("P2", audit.ACCURACY_99, "ResNet-50 trained on 100X, 200X and 400X reaches 99 % accuracy on 40X",
              "99 % (99.1 %, 99.10 %)", "arm A test accuracy (P2's split), pooled, 95 % CI resampling patients",
              kind="value", paper_number=0.991, protocol_flaws=(MAGNIFICATION_LEAK,),
              evidence=evidence_link(NOTEBOOK, SECTIONS["arms"])),
        Claim("P2", audit.BEATS_OTHERS, "The model outperforms every method of the comparison table",
              f"99.10 % vs at most {best_other:.2f} %", "P2's accuracy minus the best compared method's, same protocol",
              kind="greater", unavailable=("the compared methods are not rerun here, and the table compares numbers "
                                           "from different splits; P2's own is not patient-disjoint"),
              protocol_flaws=(MAGNIFICATION_LEAK,), evidence=evidence_link(NOTEBOOK, SECTIONS["comparison"])),
    ]


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P2's claims (:func:`paper_claims`) filled in from the records chapter 05 stored under these parameters.

    Builds the chapter's grids without running them (the phantom folders are written if
    missing) and reads their records; a claim whose records are missing says so. Never trains.
    Our number for the 99 % claim is arm A's pooled accuracy on the real release when it
    was supplied, else on the phantom with the strongest patient effect (flagged synthetic).
    """
    from mstl_lib.papers.p2_breakhis import grids as p2_grids  # noqa: PLC0415 - the grids import the tasks, and TensorFlow

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chosen = p2_grids.sources(run)
        chapter_grids = p2_grids.build(run, chosen=chosen)
    except (data_layer.DatasetNotFoundError, FileNotFoundError, OSError) as error:
        return sc.cannot_run(base, profile, error)
    results = collect(engine.ResultsStore(store) if not isinstance(store, engine.ResultsStore) else store,
                      chapter_grids)
    real = chosen.real is not None
    data = "real" if real else (f"phantom{max(chosen.phantoms):g}" if chosen.phantoms else "")
    records = main_arm(results.records)
    records = records[records["data"] == data] if len(records) else records
    kinds = weights_kinds(results.weights)
    behind = {"profile": profile, "weights": ", ".join(kinds) or "none yet",
              "data": "BreakHis (real)" if real else f"histology phantom, patient effect {data[7:]} (synthetic)"}
    out = []
    for claim in base:
        if claim.unavailable:
            out.append(claim.with_result(None, None, **behind))
            continue
        arm = records[records["arm"] == "A"] if len(records) else records
        predictions = results.predictions
        if len(predictions):
            predictions = predictions[(predictions["data"] == data) & (predictions["arm"] == "A")
                                      & (predictions["sensitivity_arm"].fillna("") == "")]
        if arm is None or arm.empty or predictions.empty:
            out.append(claim.with_result(None, None, evidence_flags=(sc.NOT_RUN,), **behind))
            continue
        estimate, low, high = arm_ci(predictions, 1000)
        flags = sc.flags_for(True, ["real" if real else "phantom"], kinds, bool((arm["degenerate"] > 0).any()))
        baseline = float(arm["majority_accuracy"].mean())
        out.append(claim.with_result(estimate, (low, high), evidence_flags=flags,
                                     note=f"majority-class baseline {baseline:.3f} on the same test images",
                                     **behind))
    return out
