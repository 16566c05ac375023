"""Chapter 02, the engine tour: its table and its note."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.nn.weights import weights_descriptions, weights_entries
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.papers.p1_mstl.report.common import STAGE2_METRICS
from mstl_lib.report.text import join_words, plural


def tour_table(records: pd.DataFrame) -> pd.DataFrame:
    """Chapter 02's per-task table: configuration, fold, status, the metrics and the wall time."""
    columns = ["backbone", "optimizer", "fold", "status", *STAGE2_METRICS, "wall_time_s"]
    return records[[c for c in columns if c in records.columns]]


def tour_note(raw_records: list[dict], paper: pd.DataFrame | None = None) -> str:
    """Chapter 02's result sentence: what the CTL tasks started from, how they did against the majority class, and why.

    A network that gives one class to every test image, or an accuracy within
    5 points of always answering the majority class, makes the numbers a test
    of the pipeline, and the sentence says so.
    """
    paper = protocol.paper_table1() if paper is None else paper
    done = [r for r in raw_records if r["status"] == "done"]
    if not done:
        return "No task of this grid finished, so there is no result to describe."
    weights = join_words(weights_descriptions(weights_entries(done)))
    epochs = sorted({int(r["config"]["epochs"]) for r in done})
    accuracy = np.mean([r["metrics"]["accuracy"] for r in done])
    majority, collapsed = [], 0
    for record in done:
        truth = np.asarray(record["predictions"]["y_true"])
        predicted = np.asarray(record["predictions"]["y_score"]) >= 0.5
        majority.append(max(truth.mean(), 1 - truth.mean()))
        collapsed += int(predicted.all() or not predicted.any())
    baseline = float(np.mean(majority))
    optimizers = sorted({r["config"]["optimizer"] for r in done})
    backbones = sorted({r["config"]["backbone"] for r in done})
    theirs = paper[(paper["tl"] == "CTL") & paper["cnn"].isin(backbones) & paper["optimizer"].isin(optimizers)]
    text = (f"The {plural(len(done), 'finished task')} started from {weights} and trained for "
            f"{join_words([str(e) for e in epochs])} epoch{'s' if epochs != [1] else ''} (P1: {protocol.EPOCHS}, from "
            f"ImageNet). Mean test accuracy {accuracy:.2f}, against {baseline:.2f} for always answering the majority "
            f"class of each test fold; {collapsed} of {len(done)} networks gave the same class to every test image.")
    if collapsed or accuracy < baseline + 0.05:
        text += " These numbers are at the level of chance: they show that the pipeline runs, not how well CTL works."
    else:
        text += f" The networks beat the majority class by {100 * (accuracy - baseline):.0f} points."
    if len(theirs):
        low, high = theirs["accuracy"].min(), theirs["accuracy"].max()
        reached = f"{low:.1f} %" if low == high else f"{low:.1f}–{high:.1f} %"
        text += (f" For comparison, P1's CTL {join_words(backbones)} reached {reached} with "
                 f"{'this optimizer' if len(theirs) == 1 else 'these optimizers'} (Table 1, Mendeley).")
    return text
