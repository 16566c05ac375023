"""The closing note and the stored runtime of chapter 03."""

from __future__ import annotations

import time

import pandas as pd

from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.table_one import table1
from mstl_lib.report.text import percent_text


def stored_runtime(store, prefix: str = "multistage_") -> pd.DataFrame:
    """Training time of every stored record of P1's experiments, per profile (from the experiment names).

    One row per profile: ``experiments``, ``tasks`` and ``training_min`` (sum of
    the records' ``wall_time_s``). Counts every record in the store, including
    those of earlier settings and chapter 02's (which share the main grid's
    experiment), so it is an upper bound on one run's training time.
    """
    rows = []
    for experiment in store.experiments():
        if not experiment.startswith(prefix):
            continue
        records = store.records(experiment)
        rows.append({"profile": experiment.rsplit("-", 1)[-1], "experiment": experiment, "tasks": len(records),
                     "training_min": sum(float(r.get("wall_time_s") or 0) for r in records) / 60})
    table = pd.DataFrame(rows, columns=["profile", "experiment", "tasks", "training_min"])
    return (table.groupby("profile", sort=False)
            .agg(experiments=("experiment", "size"), tasks=("tasks", "sum"), training_min=("training_min", "sum"))
            .reset_index())


def best_comparison(ours: pd.DataFrame, best: dict | None = None, paper: pd.DataFrame | None = None) -> str:
    """The best configuration, MSTL and CTL, ours beside the paper's, and the direction of MSTL − CTL."""
    best = best or protocol.BEST
    paper = protocol.paper_table1() if paper is None else paper
    name = f"{best['cnn']}-{best['optimizer']}"

    def row(table, arm):
        found = table[(table["tl"] == arm) & (table["cnn"] == best["cnn"]) & (table["optimizer"] == best["optimizer"])]
        return None if found.empty else found.iloc[0]

    theirs = row(paper, "MSTL")
    text = (f"**Best configuration, {name}.** Paper (Mendeley): MSTL {theirs['accuracy']:.2f} ± "
            f"{theirs['accuracy_sd']:.3f} %, AUC {theirs['auc']:.3f}.")
    mstl, ctl = row(ours, "MSTL"), row(ours, "CTL")
    if mstl is None or ctl is None:
        return text + " This run has no finished MSTL and CTL tasks for it to compare."
    folds = int(min(mstl["n_folds"], ctl["n_folds"]))
    difference = mstl["accuracy"] - ctl["accuracy"]
    direction = "above" if difference > 0 else "below" if difference < 0 else "level with"
    return (text + f" Ours ({folds} fold{'s' if folds != 1 else ''}): MSTL {percent_text(mstl['accuracy'], 2)}, AUC "
            f"{mstl['auc']:.3f}; CTL {percent_text(ctl['accuracy'], 2)}, AUC {ctl['auc']:.3f}. MSTL is "
            f"{abs(difference):.1f} points {direction} CTL here; one configuration over {folds} fold"
            f"{'s' if folds != 1 else ''} is a direction, not a test (see the significance section).")


def closing_note(chapter) -> str:
    """The best configuration beside the paper, and how long the chapter's training took."""
    seen, seconds = set(), 0.0
    for name in chapter.grids:
        for record in chapter.raw_records(name):
            if record["key"] not in seen:
                seen.add(record["key"])
                seconds += float(record.get("wall_time_s") or 0)
    best = {"cnn": chapter.settings["best_backbone"], "optimizer": chapter.settings["best_optimizer"]}
    elapsed = (time.perf_counter() - chapter.started) / 60
    return (best_comparison(table1(chapter.records("main")), best) + "\n\n"
            f"Runtime: the {len(seen)} tasks of this chapter's grids trained for {seconds / 60:.1f} min in all "
            f"(stored in their records); running the grids took {elapsed:.1f} min in this execution of the page "
            "(finished tasks are read from the store, not retrained).")
