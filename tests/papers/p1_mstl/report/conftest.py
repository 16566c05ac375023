"""P1's report tests, one file per report module; :mod:`p1_report_helpers` holds what several share."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # importlib mode adds no test folder
