"""What several of P3's report tests build: controls_records."""

from __future__ import annotations

import pandas as pd


def controls_records(low, high, separation=0.0):
    return pd.DataFrame([{"input": "SE", "separation": separation, "model": "ensemble", "auc": (low + high) / 2,
                          "auc_low": low, "auc_high": high, "vote_accuracy": 0.5, "vote_accuracy_low": 0.4,
                          "vote_accuracy_high": 0.6, "n_patients": 10}])
