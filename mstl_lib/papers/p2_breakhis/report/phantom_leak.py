"""The cheap classifier that finds patients, where the counts come from, and the histology phantom."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mstl_lib import paper_values
from mstl_lib.data import splits
from mstl_lib.data.images import read_image
from mstl_lib.data.sources import load_source
from mstl_lib.papers.p2_breakhis import protocol
from mstl_lib.papers.p2_breakhis.report.release_counts import table1_arithmetic
from mstl_lib.report.banner import markdown
from mstl_lib.report.figures import finish


def colour_statistics(images: np.ndarray) -> np.ndarray:
    """Per-image colour statistics: per-channel mean, SD and the 10/25/50/75/90 % quantiles (21 numbers)."""
    images = np.asarray(images, dtype=float)
    flat = images.reshape(len(images), -1, images.shape[-1])
    quantiles = np.quantile(flat, [0.1, 0.25, 0.5, 0.75, 0.9], axis=1).transpose(1, 0, 2).reshape(len(images), -1)
    return np.concatenate([flat.mean(axis=1), flat.std(axis=1), quantiles], axis=1)


def leak_check(features: np.ndarray, targets, patients, n_splits: int = 5, seed: int = 0) -> dict:
    """Cross-validated accuracy of a logistic regression on ``features``, with image-level and patient-grouped folds.

    Returns ``{"leaky": ..., "patient_disjoint": ...}``: mean accuracy over folds.
    A patient effect that a classifier can memorise shows as leaky > patient-disjoint.
    """


    targets, patients = np.asarray(targets), np.asarray(patients)
    out = {}
    for name, groups in (("leaky", None), ("patient_disjoint", patients)):
        scores = []
        for fold in splits.kfold(targets, groups, n_splits=n_splits, seed=seed):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=10.0, max_iter=5000))
            model.fit(features[fold.train], targets[fold.train])
            scores.append(float(np.mean(model.predict(features[fold.test]) == targets[fold.test])))
        out[name] = float(np.mean(scores))
    return out


# ----------------------------------------------------------------- where the counts come from


def counts_file(root) -> str | None:
    """``folder_counts.csv`` in a BreakHis dataset folder, when there is one."""

    if root is None:
        return None
    path = Path(root) / "folder_counts.csv"
    return str(path) if path.is_file() else None


def counts_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """The long per-folder counts (as :func:`release_counts`) of a loader table (a supplied release)."""
    folder = ("SOB_" + table["label"].str[0].str.upper() + "_" + table["tumor_type"].astype(str) + "_"
              + table["patient"].astype(str))
    wide = (table.assign(folder=folder, mag=table["magnification"].astype(str) + "X")
            .pivot_table(index=["subtype", "label", "folder"], columns="mag", values="path", aggfunc="count",
                         fill_value=0).reset_index().rename(columns={"label": "class"}))
    for m in protocol.MAGNIFICATIONS:
        if f"{m}X" not in wide.columns:
            wide[f"{m}X"] = 0
    wide.columns.name = None
    return protocol.counts_long(wide[["subtype", "class", "folder", *[f"{m}X" for m in protocol.MAGNIFICATIONS]]])


# ----------------------------------------------------------------- the phantom


def cheap_leak_table(phantoms: Mapping[float, object], n_splits: int = 3, seed: int = 0) -> pd.DataFrame:
    """:func:`leak_check` on colour statistics of every phantom source (patient effect -> DataSource).

    The classifier is a logistic regression, not a CNN: seconds, and enough to show
    whether a patient's look alone lets an image-level split reward memorising patients.
    """

    rows = []
    for effect, source in phantoms.items():
        table = load_source(source)
        images = np.stack([read_image(p, channels=3) for p in table["path"]])
        result = leak_check(colour_statistics(images), table["target"], table["patient"], n_splits, seed)
        rows.append({"patient effect": effect, "images": len(table), "patients": table["patient"].nunique(),
                     "leaky accuracy": result["leaky"], "patient-disjoint accuracy": result["patient_disjoint"],
                     "leaky - disjoint": result["leaky"] - result["patient_disjoint"]})
    return pd.DataFrame(rows).round(3)


def phantom_figure(phantoms: Mapping[float, object], patients_per_class: int = 1):
    """One benign and one malignant phantom patient at the four magnifications, per patient-effect strength."""


    if not phantoms:
        return markdown("No phantom is used in this run.")
    rows = []
    for effect, source in phantoms.items():
        table = load_source(source)
        for label in ("benign", "malignant"):
            for patient in sorted(table.loc[table["label"] == label, "patient"].unique())[:patients_per_class]:
                rows.append((effect, label, patient, table[table["patient"] == patient]))
    fig, axes = plt.subplots(len(rows), 4, figsize=(7.5, 1.3 * len(rows)), squeeze=False)
    for ax_row, (effect, label, patient, part) in zip(axes, rows, strict=True):
        for ax, m in zip(ax_row, protocol.MAGNIFICATIONS, strict=True):
            path = part.loc[part["magnification"] == m, "path"].iloc[0]
            ax.imshow(read_image(path, channels=3))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"effect {effect:g}, {label} {patient}, {m}X", fontsize=8)
    return finish(fig)


def table1_note(release: pd.DataFrame | None) -> str:
    """P2's Table I against the release and its own arithmetic, in words."""
    arithmetic = table1_arithmetic()
    wrong = arithmetic[~arithmetic["adds_up"]]
    sums = ("Every printed row and column of P2's Table I adds up." if wrong.empty else
            "In P2's Table I, " + "; ".join(f"the {r['line']} sums to {r['sum_of_parts']:,} but is printed "
                                            f"{r['printed_total']:,}" for _, r in wrong.iterrows()) + ".")
    if release is None:
        return sums
    paper = paper_values.load("p2_table1").set_index("category")
    ours = protocol.table1_counts(release).reindex(paper.index)
    cells = [(c, m, int(paper.loc[c, m]), int(ours.loc[c, m])) for c in paper.index for m in paper.columns
             if int(paper.loc[c, m]) != int(ours.loc[c, m])]
    if not cells:
        return sums + " Every printed cell equals the release's count."
    listed = "; ".join(f"{c} {m}: printed {p:,}, release {o:,}" for c, m, p, o in cells)
    digits = all(sorted(str(p)) == sorted(str(o)) for _, _, p, o in cells)
    return (sums + f" Cells that differ from the release: {listed}."
            + (" The printed digits are the release's in another order, and the printed totals equal the "
               "release's: a typing slip in print, not another version of the data." if digits else ""))
