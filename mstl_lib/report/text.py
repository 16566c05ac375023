"""Small pieces of generated prose and number formatting that every chapter's report shares."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def finished_only(records: pd.DataFrame) -> pd.DataFrame:
    """The records whose task finished (``status == "done"``); a frame without a status is returned whole."""
    return records[records["status"] == "done"] if "status" in records.columns else records


def join_words(items: Iterable[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``; empty items are skipped."""
    items = [i for i in items if i]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str) -> str:
    """``"1 fold"``, ``"3 folds"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def number_text(value, digits: int = 3) -> str:
    """``value`` to ``digits`` decimals, or ``"n/a"`` for a missing or non-finite one."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def percent_text(value, digits: int = 1) -> str:
    """``value`` (already in percent) as ``"12.3 %"``, or ``"n/a"``."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f} %"
