"""P3's own numbers and arithmetic: its Table 1, the strain ratios it implies and its stated counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.data.phantoms import strain
from mstl_lib.papers.p3_elastography import protocol


def paper_table(name: str = "p3_table1") -> pd.DataFrame:
    """One of P3's stored tables (``paper_values``), as printed."""
    return paper_values.load(name)


def ratio_fit_table(separations=(0.0, 0.5, 1.0, 2.0)) -> pd.DataFrame:
    """P3's supplementary strain ratios per class (count, median) and the drawn distributions per separation."""
    ratios = paper_values.load("p3_strain_ratios")
    rows = []
    for label, part in ratios.groupby("label"):
        fit = strain.fit_lognormal(part["strain_ratio"])
        rows.append({"what": f"P3 {label} patients", "n": len(part), "median": float(part["strain_ratio"].median()),
                     "log_mean": fit.mu, "log_sd": fit.sigma})
    for separation in separations:
        for label, dist in protocol.strain_distributions(separation).items():
            rows.append({"what": f"drawn, separation {separation:g}, {'malignant' if label else 'benign'}",
                         "n": np.nan, "median": dist.median, "log_mean": dist.mu, "log_sd": dist.sigma})
    return pd.DataFrame(rows)


def paper_counts_check() -> pd.DataFrame:
    """P3's stated counts beside what its own tables imply (patients by class, train + test)."""
    counts = paper_values.load("p3_counts").set_index("quantity")["value"]
    ratios = paper_values.load("p3_strain_ratios")
    listed = ratios["label"].value_counts()
    rows = [
        ("patients = benign + malignant (text)", counts["patients"],
         counts["benign_patients"] + counts["malignant_patients"]),
        ("patients = train + test (text)", counts["patients"], counts["train_patients"] + counts["test_patients"]),
        ("benign patients: text vs Supplementary Table 1", counts["benign_patients"], int(listed.get("benign", 0))),
        ("malignant patients: text vs Supplementary Table 2", counts["malignant_patients"],
         int(listed.get("malignant", 0))),
        ("images = benign + malignant images (text)", counts["images_bmode"],
         counts["benign_images"] + counts["malignant_images"]),
    ]
    frame = pd.DataFrame(rows, columns=["check", "stated", "implied"])
    frame["consistent"] = frame["stated"] == frame["implied"]
    return frame
