"""Stage 1: what the cell-line classifier learned, and which weights each stage started from."""

from __future__ import annotations

import pandas as pd

from mstl_lib.evaluation import stats
from mstl_lib.nn.weights import weights_descriptions, weights_entries
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.common import ALPHA, STAGE1_METRICS
from mstl_lib.report.text import join_words


def stage1_table(raw_records: list[dict]) -> pd.DataFrame:
    """One row per stage-1 task: test accuracy and loss, chance level, and an exact binomial test against chance."""
    rows = []
    for record in raw_records:
        row = {"backbone": record["config"]["backbone"], "optimizer": record["config"]["optimizer"],
               "labels": record["config"].get("labels", "true"), "status": record["status"],
               "wall_time_s": record.get("wall_time_s")}
        if record["status"] == "done":
            extra = record["extra"]
            test = stats.above_chance(round(record["metrics"]["accuracy"] * extra["n_test"]), extra["n_test"],
                                      1 / len(extra["classes"]))
            row.update({name: record["metrics"][name] for name in STAGE1_METRICS})
            grouped = bool(extra.get("grouped_by_frame", False))
            row.update(n_test=test["n"], chance=test["chance"], p_value=test["p_value"], grouped_by_frame=grouped,
                       learned=test["above_chance"] and grouped)
        rows.append(row)
    columns = ["backbone", "optimizer", "labels", "status", *STAGE1_METRICS, "n_test", "chance", "p_value",
               "grouped_by_frame", "learned", "wall_time_s"]
    return pd.DataFrame(rows, columns=columns)


def stage1_sentence(table: pd.DataFrame) -> str:
    """Whether stage 1 learned to tell the cell lines apart, from :func:`stage1_table`.

    The shuffled-label control is declared to sit at chance: it is reported, never judged.
    """
    finished = table[table["status"] == "done"]
    control = finished[finished["labels"] == "shuffled"] if "labels" in finished.columns else finished.iloc[0:0]
    done = finished.drop(control.index)
    note = ""
    if len(control):
        note = (f" The control's stage 1 (shuffled labels, a declared control meant to sit at chance) reached "
                f"{control['accuracy'].min():.2f} to {control['accuracy'].max():.2f}.")
    if done.empty:
        return "**No stage-1 task finished**, so no MSTL network could be trained." + note
    learned = done[done["learned"].astype(bool)]
    span = (f"Stage-1 test accuracy on the held-out patches: {done['accuracy'].min():.2f} to "
            f"{done['accuracy'].max():.2f}, against {done['chance'].iloc[0]:.2f} by chance "
            f"({int(done['n_test'].iloc[0])} test patches per task; exact binomial test, one-sided, at {ALPHA}).")
    if not done["grouped_by_frame"].astype(bool).all():
        return (span + f" **A diagnostic only**: with fewer than {protocol.STAGE1_MIN_FRAMES} frames per cell line the "
                "patches could not be split by source frame, so neighbouring cells of one frame sit on both sides "
                "of the split; this accuracy is no evidence that stage 1 learned the lines." + note)
    if len(learned) == len(done):
        return span + " Stage 1 learned to tell the lines apart in every configuration." + note
    failed = join_words([f"{r.backbone}-{r.optimizer}" for r in done[~done["learned"].astype(bool)].itertuples()])
    return (span + f" **Stage 1 did not beat chance for {failed}**, so the MSTL networks built on it start from "
            "nearly untrained weights as well; for those, this run cannot test what cell pre-training adds." + note)


def weights_table(raw_records: list[dict]) -> pd.DataFrame:
    """Which weights the tasks actually started from, as their records state, one row per (arm, backbone, source)."""
    rows = [{"tl": r["config"].get("tl", "stage 1"), "backbone": r["config"]["backbone"],
             "weights_used": "; ".join(weights_descriptions(weights_entries([r]))), "started_from": (r.get("extra") or {}).get("started_from")}
            for r in raw_records if r["status"] == "done"]
    table = pd.DataFrame(rows, columns=["tl", "backbone", "weights_used", "started_from"])
    if table.empty:
        return table.assign(tasks=pd.Series(dtype=int))
    return table.groupby(["tl", "backbone", "weights_used", "started_from"], dropna=False, sort=False).size() \
        .rename("tasks").reset_index()
