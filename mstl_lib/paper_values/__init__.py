"""The papers' published numbers, typed once into ``mstl_lib/paper_values/*.csv``.

Each CSV starts with ``#`` comment lines naming the paper, the table and how
the numbers were typed; :func:`load` returns the table with those lines in
``frame.attrs["source"]``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FOLDER = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the stored tables."""
    return sorted(p.stem for p in FOLDER.glob("*.csv"))


def load(name: str) -> pd.DataFrame:
    """The paper table ``name`` (e.g. ``"p1_table1"``), with its provenance in ``attrs["source"]``."""
    path = FOLDER / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no paper table {name!r} in {FOLDER}; available: {', '.join(available())}")
    lines = path.read_text(encoding="utf-8").splitlines()
    source = [line.lstrip("# ").rstrip() for line in lines if line.startswith("#")]
    frame = pd.read_csv(path, comment="#")
    frame.attrs["source"] = "\n".join(source)
    return frame
