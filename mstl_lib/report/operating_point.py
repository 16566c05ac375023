"""The sentence that says what a moved operating point changed (:mod:`mstl_lib.nn.calibration`)."""

from __future__ import annotations

import numpy as np

from mstl_lib.evaluation.metrics import DEGENERATE_SHARE, is_degenerate

__all__ = ["operating_point_sentence"]


def operating_point_sentence(n_test, pred_malignant, own_malignant, unit: str = "fold") -> str:
    """How many ``unit``s the operating point changed, and how many its network's own threshold left degenerate.

    Parameters
    ----------
    n_test, pred_malignant, own_malignant : array-like, one entry per ``unit``
        Test images, those called malignant at the moved threshold, and those the
        network's own threshold (0.5, or the argmax) called malignant; NaN where a
        record does not say.

    Returns
    -------
    str
        ``""`` when no entry says what its own threshold called.
    """
    n_test, moved, own = (np.asarray(a, dtype=float) for a in (n_test, pred_malignant, own_malignant))
    known = ~np.isnan(own)
    if not known.any():
        return ""
    n = int(known.sum())
    changed = int((own[known] != moved[known]).sum())
    own_bad = sum(is_degenerate(int(t - m), int(m)) for t, m in zip(n_test[known], own[known], strict=True))
    units = unit if n == 1 else f"{unit}s"
    return (f"The operating point (a threshold chosen on each {unit}'s validation images, where the network's own "
            f"threshold called at least {DEGENERATE_SHARE:.0%} of them one class) changed the calls of "
            f"{changed} of {n} {units}; at the networks' own threshold, {own_bad} of {n} {units} would have been "
            "degenerate.")
