"""Fig. 5's PPV tests with Holm's correction, the misdiagnosis counts and Grad-CAM."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as st

from mstl_lib.evaluation import patients
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.papers.p3_elastography.report.patient_cis import long_predictions
from mstl_lib.papers.p3_elastography.report.records import Results
from mstl_lib.report.banner import markdown
from mstl_lib.report.figures import finish


def ppv(predictions: pd.DataFrame) -> pd.Series:
    """P3's predictive probability value of each row: the softmax probability of the image's actual class."""
    return predictions["y_score"].where(predictions["y_true"] == 1, 1 - predictions["y_score"])


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def ppv_tests(predictions: pd.DataFrame, pairs=(("ensemble", "AlexNet"), ("ensemble", "ResNet18"))) -> pd.DataFrame:
    """Fig. 5's comparison of PPVs between models, as P3 did it and at the patient level.

    ``predictions`` is :func:`long_predictions` output of one arm (one input and separation),
    pooled over folds. ``image t-test`` is Welch's t-test on the images' PPVs of the two
    models (P3 says "t-statistics" on the PPV distributions; the images of one patient are
    not independent, and both models score the same images). ``patient paired t-test``
    averages each patient's PPVs per model and pairs the models by patient; its p-values are
    Holm-adjusted over the pairs compared.
    """

    rows = []
    for first, second in pairs:
        a = predictions[predictions["model"] == first]
        b = predictions[predictions["model"] == second]
        if a.empty or b.empty:
            continue
        image = st.ttest_ind(ppv(a), ppv(b), equal_var=False)
        per_patient = pd.DataFrame({first: ppv(a).groupby(a["patient"]).mean(),
                                    second: ppv(b).groupby(b["patient"]).mean()}).dropna()
        paired = st.ttest_rel(per_patient[first], per_patient[second])
        rows.append({"comparison": f"{first} vs {second}", "mean PPV": f"{ppv(a).mean():.3f} vs {ppv(b).mean():.3f}",
                     "n_images": len(a), "n_patients": len(per_patient), "image t-test p": float(image.pvalue),
                     "patient paired t-test p": float(paired.pvalue)})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["patient p (Holm)"] = holm(frame["patient paired t-test p"])
    return frame


def fig5_tests(results: Results) -> pd.DataFrame:
    """:func:`ppv_tests` on the nested-CV BUSI arm with a strain channel at the fitted separation (B-SE when
    it ran, else SE), every patient tested once; an ``input`` column says which."""
    predictions = results.part("predictions", dataset="busi", protocol="nested")
    if predictions.empty:
        return pd.DataFrame()
    for input_name in ("BSE", "SE"):
        arm = predictions[(predictions["input"] == input_name) & (predictions["separation"] == 1.0)]
        if len(arm):
            return ppv_tests(long_predictions(arm)).assign(input=input_name)
    return pd.DataFrame()


def test_size_sentence(search: pd.DataFrame, stated: int = 20) -> str:
    """What :func:`audit.test_size_search` output says: the stated size's fit, the best size and its conventions."""
    if search.empty:
        return "No cell to check."
    cells = int(search["cells"].iloc[0])
    best = search.loc[search["mean attainable"].idxmax()]
    stated_row = search[search["test_size"] == stated]
    stated_n = int(stated_row["mean attainable"].iloc[0]) if len(stated_row) else 0
    conventions = [c for c in ("SD (n-1)", "SD (n)", "SE (n-1)", "SE (n)") if c in best]
    top = max(int(best[c]) for c in conventions)
    fits = " and ".join(c for c in conventions if int(best[c]) == top and top > 0) or "no convention"
    return (f"With the stated {stated} test patients, {stated_n} of P3's {cells} patient-wise accuracy means can "
            f"be a mean of 5 fold models at all. With {int(best['test_size'])} test patients, "
            f"{int(best['mean attainable'])} can, and their ± fits {fits} best ({top} cells). P3's patient-wise "
            "means are therefore not what 5 models tested on the same 20 patients give; our tables print SD (n − 1) "
            "over the folds run.")


def misdiagnosis_counts(results: Results, input_name: str = "BSE", view: str = "crop", model: str = "ensemble",
                        share: float = 0.6) -> pd.DataFrame:
    """Table 4's count: test patients the ``model`` misdiagnosed (eq. 1 vote) in at least ``share`` of the folds
    run under P3's protocol (P3: 3 of 5), with the drawn strain ratio beside each (simulated strain)."""
    predictions = results.part("predictions", dataset="busi", protocol="p3")
    columns = ["patient", "true class", "predicted class", "times misdiagnosed", "folds", "drawn ratio"]
    if predictions.empty:
        return pd.DataFrame(columns=columns)
    arm = predictions[(predictions["input"] == input_name) & (predictions["view"] == view)]
    score = f"score_{model}"
    if arm.empty or score not in arm:
        return pd.DataFrame(columns=columns)
    folds = arm["fold"].nunique()
    rows = {}
    for _, part in arm.groupby("fold"):
        ids, labels = patients.patient_labels(part["y_true"], part["patient"])
        _, votes = patients.majority_vote(part[score], part["patient"], tie=protocol.TIE_RULE)
        ratio = part.groupby("patient")["ratio"].first()
        for pid, label, vote in zip(ids, labels, votes, strict=True):
            entry = rows.setdefault(pid, {"patient": pid, "true class": "malignant" if label else "benign",
                                          "predicted class": "malignant" if not label else "benign",
                                          "times misdiagnosed": 0, "folds": folds,
                                          "drawn ratio": float(ratio.get(pid, np.nan))})
            entry["times misdiagnosed"] += int(vote != label)
    table = pd.DataFrame(list(rows.values()), columns=columns)
    needed = max(1, int(np.ceil(share * folds)))
    return table[table["times misdiagnosed"] >= needed].sort_values("times misdiagnosed", ascending=False,
                                                                     ignore_index=True)


def gradcam_record(results: Results) -> dict | None:
    """The Grad-CAM maps of the first finished B-SE task (P3's protocol first), with its config, or None."""
    for split in ("p3", "nested"):
        for record in results.raw:
            maps = (record.get("extra") or {}).get("gradcam")
            if maps and record.get("status") == "done" and record.get("context", {}).get("protocol", split) == split:
                return {"maps": maps, "config": record.get("config", {})}
    return None


def gradcam_figure(found: dict | None):
    """B-mode channel, each extractor's Grad-CAM and P3's combined map, for a benign and a malignant test image."""


    if not found:
        return markdown("No B-SE task stored Grad-CAM maps.")
    maps = found["maps"]
    columns = [("image", "B-mode channel"), *[(c, f"{c} Grad-CAM") for c in protocol.CONSTITUENTS if c in maps],
               ("combined", "combined (P3)")]
    fig, axes = plt.subplots(len(maps["rows"]), len(columns), figsize=(2.2 * len(columns), 2.3 * len(maps["rows"])),
                             squeeze=False)
    for i, label in enumerate(maps["label"]):
        for ax, (key, title) in zip(axes[i], columns):
            ax.imshow(np.asarray(maps["image"][i]), cmap="gray")
            if key != "image":
                ax.imshow(np.asarray(maps[key][i]), cmap="inferno", alpha=0.45, vmin=0, vmax=1)
            called = "malignant" if maps["class_index"][i] else "benign"
            ax.set_title(f"{'malignant' if label else 'benign'}, called {called}\n{title}" if key == "image" else title,
                         fontsize=8)
            ax.axis("off")
    return finish(fig)
