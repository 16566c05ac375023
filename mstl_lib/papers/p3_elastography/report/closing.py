"""The closing note of the chapter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.evaluation.bootstrap import format_ci
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.papers.p3_elastography.report.beside_paper import degenerate_note
from mstl_lib.papers.p3_elastography.report.controls import negative_control_sentence


def _row(table: pd.DataFrame, **where) -> pd.Series | None:
    if table.empty:
        return None
    mask = np.ones(len(table), dtype=bool)
    for key, value in where.items():
        mask &= table[key].to_numpy() == value
    return table[mask].iloc[0] if mask.any() else None


def closing_note(controls: pd.DataFrame, ddti: pd.DataFrame, profile: str, runtime_seconds: float | None,
                 records: pd.DataFrame | None = None) -> str:
    """The chapter's closing paragraph: oracle, negative control, ensemble, DDTI, degenerate models, runtime,
    all from the results."""
    lines = [f"Profile `{profile}`. BUSI numbers come from simulated strain (see the banner)."]
    oracle = _row(controls, input="BSE", separation=1.0, model="oracle") if not controls.empty else None
    if oracle is None and not controls.empty:
        oracle = _row(controls, input="SE", separation=1.0, model="oracle")
    if oracle is not None:
        lines.append(f"The oracle, classifying from the drawn ratio alone (fitted separation), reaches image AUC "
                     f"{format_ci(oracle['auc'], oracle['auc_low'], oracle['auc_high'])} and patient vote accuracy "
                     f"{format_ci(oracle['vote_accuracy'], oracle['vote_accuracy_low'], oracle['vote_accuracy_high'])}"
                     ": the ceiling of what the simulation injected.")
    lines.append(negative_control_sentence(controls))
    for input_name in ("BSE", "SE", "B"):
        ensemble = _row(controls, input=input_name, separation=1.0, model="ensemble") if not controls.empty else None
        if ensemble is not None:
            lines.append(f"The feature ensemble on {input_name} (fitted separation, nested patient-grouped CV) reaches "
                         f"image AUC {format_ci(ensemble['auc'], ensemble['auc_low'], ensemble['auc_high'])} and "
                         f"patient vote accuracy {format_ci(ensemble['vote_accuracy'], ensemble['vote_accuracy_low'], ensemble['vote_accuracy_high'])}.")
    if not ddti.empty:
        parts = [f"{r['model']} vote accuracy {format_ci(r['vote_accuracy'], r['vote_accuracy_low'], r['vote_accuracy_high'])}"
                 f", recognition rate {format_ci(r['recognition_rate'], r['recognition_rate_low'], r['recognition_rate_high'])}"
                 for _, r in ddti.iterrows() if r["model"] in (*protocol.CONSTITUENTS, "ensemble")]
        lines.append(f"On real DDTI B-mode ({int(ddti['n_patients'].iloc[0])} cases as patients): " + "; ".join(parts) + ".")
    if records is not None:
        lines.append(degenerate_note(records))
    if runtime_seconds is not None:
        lines.append(f"This page's grids ran in {runtime_seconds:.0f} s (cached tasks count as their reading time).")
    return " ".join(lines)
