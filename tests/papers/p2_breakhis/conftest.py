"""Shared set-up of P2's tests: a BreakHis-like fixture tree and phantom folders."""

from __future__ import annotations

import pandas as pd
import pytest

from mstl_lib.data.phantoms.histology import write_histology_phantoms


def breakhis_rows(spec) -> pd.DataFrame:
    """Loader-like rows from ``[(label, tumor_type, patient, {magnification: n})]``."""
    rows = []
    for label, tumor_type, patient, counts in spec:
        for magnification, n in counts.items():
            for seq in range(n):
                rows.append({"path": f"{patient}-{magnification}-{seq}.png", "label": label,
                             "target": int(label == "malignant"), "tumor_type": tumor_type, "patient": patient,
                             "magnification": magnification, "subtype": tumor_type, "data_kind": "real"})
    return pd.DataFrame(rows)


@pytest.fixture
def fixture_rows():
    """Six patients, two of them slides of one number (``14-1A``, ``14-1B``), images at every magnification."""
    every = {40: 2, 100: 2, 200: 1, 400: 1}
    return breakhis_rows([
        ("benign", "F", "14-1A", every), ("benign", "F", "14-1B", every), ("benign", "A", "14-2", every),
        ("malignant", "DC", "14-3", every), ("malignant", "LC", "14-4", every), ("malignant", "DC", "14-5", every),
    ])


@pytest.fixture(scope="session")
def phantom_breakhis(tmp_path_factory):
    """The small histology phantom (patient effect 1) in BreakHis's tree."""
    return write_histology_phantoms(tmp_path_factory.mktemp("p2") / "breakhis", 1.0, seed=0, scale="small")
