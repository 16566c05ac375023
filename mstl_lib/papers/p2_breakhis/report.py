"""Everything P2's chapter shows, built from the release's counts and stored records.

Offline, from ``folder_counts.csv`` (the full release's per-folder counts): P2's
Table I beside the release, the arithmetic of P2's printed numbers, the split
sizes and the leakage report under each patient definition. On the real
12-image sample: the split logic and the refusal to train on it. From the
records: the arms A-D beside the majority-class baseline, patient-level
metrics, patient-cluster bootstrap CIs, the paired A - B difference, the
test curves (P2's Figs. 7-8) and the sentences that state the results.

A difference "follows" when its 95 % bootstrap CI over patients excludes zero
and no fold of either arm is degenerate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mstl_lib import engine, paper_values
from mstl_lib.evaluation.bootstrap import bootstrap_ci, format_ci, mean_ci
from mstl_lib.papers.p2_breakhis import protocol
from mstl_lib.nn.weights import weights_descriptions, weights_entries, weights_kinds

__all__ = [
    "COMPARISON_PROTOCOLS", "METRICS_BY_TASK", "METRICS_READ", "Results", "a_minus_b", "arms_table",
    "arms_paragraph", "closing_note", "collect", "colour_statistics", "comparison_table", "curve_table",
    "curves_figure", "failures_table", "leakage_paragraph", "leakage_table", "leak_check", "magnification_table",
    "patient_definitions_table", "release_counts", "sample_refusal", "sample_split", "split_table",
    "statements_table", "table1", "table1_arithmetic", "counts_file", "counts_from_table", "cheap_leak_table", "phantom_figure", "table1_note", "audit_note", "claims", "paper_claims", "sensitivity_table",
]

METRICS_READ = (
    *protocol.IMAGE_METRICS, *protocol.DIAGNOSTICS, "patient_recognition_rate", "patient_vote_accuracy",
    "n_patients", "n_ties", "majority_accuracy", "accuracy_40x", "accuracy_100x", "accuracy_200x", "accuracy_400x",
    "test_acc_final", "test_acc_mean_second_half", "test_acc_max", "kept_epoch", "patients_both",
    "share_test_seen",
)
"""The task metrics this module reads."""

METRICS_BY_TASK = {"mstl_lib.papers.p2_breakhis.tasks:train_arm": METRICS_READ}
"""The metrics this module reads from each task's records (the contract every paper declares)."""

COMPARISON_PROTOCOLS = {
    55: ("yes", "the dataset's authors' protocol: patient-wise 70/30 splits (Spanhol et al. 2016)"),
    56: ("no", "P2's own split: every patient's 100-400X images train, its 40X images test"),
}
"""Whether a row of P2's comparison table (by printed reference number) was patient-disjoint, where known here."""


def _markdown(text: str):
    from mstl_lib.report import markdown  # noqa: PLC0415

    return markdown(text)


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


# ----------------------------------------------------------------- the release's counts (offline)


def release_counts(path) -> pd.DataFrame:
    """``folder_counts.csv`` as long rows (folder x magnification), with every patient definition."""
    return protocol.counts_long(protocol.read_folder_counts(path))


def table1(long: pd.DataFrame | None) -> pd.DataFrame:
    """P2's Table I as printed beside the release's counts, and their difference (printed only without counts)."""
    paper = paper_values.load("p2_table1").set_index("category")
    if long is None:
        return pd.concat({"P2 (printed)": paper}, axis=1)
    ours = protocol.table1_counts(long).reindex(paper.index)
    out = pd.concat({"P2 (printed)": paper, "release": ours, "P2 - release": paper - ours}, axis=1)
    return out


def table1_arithmetic() -> pd.DataFrame:
    """Whether each printed row and column of P2's Table I adds up to its printed total.

    Returns
    -------
    DataFrame
        One row per line of the table: ``line``, ``printed_total``, ``sum_of_parts``, ``adds_up``.
    """
    paper = paper_values.load("p2_table1").set_index("category")
    magnifications = [f"{m}X" for m in protocol.MAGNIFICATIONS]
    rows = []
    for category in paper.index:
        parts = int(paper.loc[category, magnifications].sum())
        rows.append({"line": f"row {category}", "printed_total": int(paper.loc[category, "total"]),
                     "sum_of_parts": parts})
    for column in [*magnifications, "total"]:
        parts = int(paper.loc[["benign", "malignant"], column].sum())
        rows.append({"line": f"column {column}", "printed_total": int(paper.loc["total", column]),
                     "sum_of_parts": parts})
    out = pd.DataFrame(rows)
    out["adds_up"] = out["printed_total"] == out["sum_of_parts"]
    return out


def split_table(long: pd.DataFrame) -> pd.DataFrame:
    """P2's split sizes from the release's counts, beside P2's stated ~6000 / ~2000 and 75 % / 25 %."""
    sizes = protocol.split_sizes(long)
    stated = paper_values.load("p2_statements").set_index("quantity")["value"]
    sizes["P2 states (images)"] = [float(stated["test_images"]) if part.startswith("test") else
                                   float(stated["train_images"]) for part in sizes.index]
    sizes["P2 states (share)"] = [float(stated["test_share"]) / 100 if part.startswith("test") else
                                  float(stated["train_share"]) / 100 for part in sizes.index]
    return sizes


def leakage_table(long: pd.DataFrame) -> pd.DataFrame:
    """The leakage report of P2's split under each patient definition (rows), from the release's counts."""
    rows = {definition: protocol.leakage_report(long, f"patient_{definition}")
            for definition in protocol.PATIENT_DEFINITIONS}
    table = pd.DataFrame(rows).T.rename_axis("patient definition")
    counts = [c for c in table.columns if c != "share_test_seen"]
    return table.astype({**{c: int for c in counts}, "share_test_seen": float})


def patient_definitions_table(long: pd.DataFrame) -> pd.DataFrame:
    """Folders that share a patient under the ``loader`` or ``number`` definitions."""
    folders = long.drop_duplicates("folder")
    rows = []
    for definition in ("loader", "number"):
        for patient, group in folders.groupby(f"patient_{definition}"):
            if len(group) > 1:
                rows.append({"definition": definition, "patient": patient, "folders": ", ".join(group["folder"]),
                             "tumour types": ", ".join(sorted(set(group["subtype"])))})
    return pd.DataFrame(rows, columns=["definition", "patient", "folders", "tumour types"])


def leakage_paragraph(leakage: pd.DataFrame) -> str:
    """The leakage report in words, for every patient definition."""
    parts = []
    for definition, row in leakage.iterrows():
        parts.append(f"{int(row['patients_both'])} of {int(row['patients'])} patients ({definition} ids) have "
                     f"images on both sides")
    first = leakage.iloc[0]
    return (f"P2's split (train 100/200/400X, test 40X) puts the same patients on both sides: "
            + "; ".join(parts) + f". {int(first['test_images_seen'])} of {int(first['test_images'])} test images "
            f"({first['share_test_seen']:.1%}) come from a patient whose other images were trained on, under every "
            "definition. The test set measures recognition of patients already seen at other zoom levels, not "
            "generalisation to new patients.")


def statements_table() -> pd.DataFrame:
    """P2's stated numbers (``p2_statements``) as printed."""
    return paper_values.load("p2_statements")


def comparison_table() -> pd.DataFrame:
    """P2's comparison table as printed, with whether each protocol was patient-disjoint where known here."""
    table = paper_values.load("p2_comparison").copy()
    table["patient-disjoint"] = [COMPARISON_PROTOCOLS.get(int(r), ("not known here", ""))[0]
                                 for r in table["reference"]]
    table["why"] = [COMPARISON_PROTOCOLS.get(int(r), ("", "the protocol is not in P2; not checked here"))[1]
                    for r in table["reference"]]
    return table


# ----------------------------------------------------------------- the real sample


def sample_split(sample: pd.DataFrame | None, definition: str = "number") -> pd.DataFrame:
    """Arm A's split on a loader table (the 12-image sample): each image, its patient and its side."""
    columns = ["file", "label", "magnification", "patient", "side"]
    if sample is None or sample.empty:
        return pd.DataFrame(columns=columns)
    table = sample.assign(patient_id=protocol.patient_ids(sample, definition)).reset_index(drop=True)
    parts = protocol.magnification_split(table)
    side = np.full(len(table), "unused", dtype=object)
    side[parts["fit"]], side[parts["test"]] = "train", "test"
    return pd.DataFrame({"file": table["path"].map(lambda p: str(p).rsplit("/", 1)[-1]), "label": table["label"],
                         "magnification": table["magnification"], "patient": table["patient_id"], "side": side})


def sample_refusal(sample: pd.DataFrame | None, arm: str = "A", definition: str = "number") -> str:
    """The message the training step gives on ``sample`` (it refuses the 12-image sample)."""
    if sample is None or sample.empty:
        return "No BreakHis images are on this machine, so the refusal is not shown."
    table = sample.assign(patient_id=protocol.patient_ids(sample, definition)).reset_index(drop=True)
    parts = protocol.magnification_split(table)
    try:
        protocol.check_trainable(table, parts, arm)
    except protocol.TooSmallTrainingSet as error:
        return f"`TooSmallTrainingSet`: {error}"
    return f"arm {arm}: this BreakHis table is large enough to train on ({len(table)} images)."


# ----------------------------------------------------------------- records


@dataclass
class Results:
    """The chapter's stored records, read back once.

    ``records``: one row per task with ``data`` (``real`` / ``phantom<s>``),
    ``patient_effect`` and ``sensitivity_arm`` (the changed setting of a sensitivity arm, empty for the main arms); ``predictions`` per test image;
    ``history`` long (epoch, metric, value); ``failures``.
    """

    records: pd.DataFrame
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    weights: list[dict] = field(default_factory=list)
    """Every task's weights entries (:func:`mstl_lib.report.weights.weights_entries`)."""


def collect(store, grids: Mapping[str, engine.Grid]) -> Results:
    """Read every grid's records from ``store`` into one :class:`Results`."""
    found = engine.gather(store, grids, lambda grid: {
        "data": grid.context.get("data"), "patient_effect": grid.context.get("patient_effect", math.nan),
        "sensitivity_arm": grid.context.get("sensitivity", "")}, frames=("records", "predictions", "history", "failures"))
    return Results(found["records"], found["predictions"], found["history"], found["failures"],
                   weights_entries(found["raw"]))


def failures_table(results: Results):
    """The failed tasks, or a sentence saying none failed."""
    if results.failures.empty:
        return _markdown("No task failed.")
    columns = ["data", "arm", "fold", "error_kind", "error_type", "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]


def _main(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty:
        return records
    done = records[records["status"] == "done"]
    return done[done["sensitivity_arm"].fillna("") == ""]


POOLED_METRICS = ("accuracy", "balanced_accuracy", "auc")
"""The metrics :func:`arms_table` pools over an arm's folds, each with a patient-bootstrap CI."""


def _arm_ci(predictions: pd.DataFrame, n_boot: int, metric: str = "accuracy") -> tuple[float, float, float]:
    if predictions.empty:
        return math.nan, math.nan, math.nan
    return bootstrap_ci(predictions["y_true"], predictions["y_score"], metric, groups=predictions["patient"],
                        n_boot=n_boot, seed=0)


def arms_table(results: Results, n_boot: int = 300) -> pd.DataFrame:
    """Every arm on every data source: means over folds beside the majority-class baseline, and pooled CIs.

    Columns: ``data``, ``arm``, ``folds``, ``accuracy`` (mean over folds),
    ``majority baseline``, ``balanced_accuracy``, ``sensitivity``,
    ``specificity``, ``auc``, ``patient score`` (the BreakHis authors'
    recognition rate), ``patient vote accuracy``, ``pooled accuracy [95 % CI,
    patients]`` (and likewise pooled balanced accuracy and AUC), ``degenerate
    folds`` and ``share_test_seen`` (test images whose patient was trained on).
    """
    records = _main(results.records)
    if records.empty:
        return pd.DataFrame()
    rows = []
    for (data, arm), group in records.groupby(["data", "arm"], sort=True):
        chosen = results.predictions
        if not chosen.empty:
            chosen = chosen[(chosen["data"] == data) & (chosen["arm"] == arm) & (chosen["sensitivity_arm"].fillna("") == "")]
        pooled = {metric: format_ci(*_arm_ci(chosen, n_boot, metric)) for metric in POOLED_METRICS}
        rows.append({
            "data": data, "arm": arm, "folds": len(group), "accuracy": group["accuracy"].mean(),
            "majority baseline": group["majority_accuracy"].mean(),
            "balanced_accuracy": group["balanced_accuracy"].mean(), "sensitivity": group["sensitivity"].mean(),
            "specificity": group["specificity"].mean(), "auc": group["auc"].mean(),
            "patient score": group["patient_recognition_rate"].mean(),
            "patient vote accuracy": group["patient_vote_accuracy"].mean(),
            **{f"pooled {metric.replace('_', ' ')} [95 % CI, patients]": text for metric, text in pooled.items()},
            "degenerate folds": int((group["degenerate"] > 0).sum()),
            "share_test_seen": group["share_test_seen"].mean(),
        })
    return pd.DataFrame(rows).round(3)


def a_minus_b(results: Results, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """A - B on the same 40X test images, paired, with a 95 % bootstrap CI over patients, per data source.

    Arm A tests every 40X image once; arm B's folds together test every 40X
    image of the folds run once. Both are matched on the image's path; patients
    are resampled with all their images. ``follows``: the CI excludes zero and
    no fold of A or B is degenerate.
    """
    columns = ["data", "images", "patients", "A accuracy", "B accuracy", "A - B", "low", "high", "degenerate",
               "follows"]
    records, predictions = _main(results.records), results.predictions
    if records.empty or predictions.empty:
        return pd.DataFrame(columns=columns)
    predictions = predictions[predictions["sensitivity_arm"].fillna("") == ""]
    rows = []
    for data, group in predictions.groupby("data", sort=True):
        a = group[group["arm"] == "A"].set_index("path")
        b = group[group["arm"] == "B"].set_index("path")
        common = a.index.intersection(b.index)
        if not len(common):
            continue
        right_a = ((a.loc[common, "y_score"] >= 0.5).astype(int) == a.loc[common, "y_true"]).to_numpy(float)
        right_b = ((b.loc[common, "y_score"] >= 0.5).astype(int) == b.loc[common, "y_true"]).to_numpy(float)
        patients = a.loc[common, "patient"].to_numpy()
        difference = right_a - right_b
        _, low, high = mean_ci(difference, groups=patients, n_boot=n_boot, seed=seed)
        arms = records[(records["data"] == data) & records["arm"].isin(["A", "B"])]
        degenerate = bool((arms["degenerate"] > 0).any())
        rows.append({"data": data, "images": len(common), "patients": len(np.unique(patients)),
                     "A accuracy": right_a.mean(),
                     "B accuracy": right_b.mean(), "A - B": difference.mean(), "low": float(low), "high": float(high),
                     "degenerate": degenerate, "follows": bool((low > 0 or high < 0) and not degenerate)})
    return pd.DataFrame(rows, columns=columns)


def magnification_table(results: Results) -> pd.DataFrame:
    """Accuracy per test magnification of the arms that test every magnification (C and D), mean over folds."""
    records = _main(results.records)
    if records.empty:
        return pd.DataFrame()
    columns = [f"accuracy_{m}x" for m in protocol.MAGNIFICATIONS]
    chosen = records[records["arm"].isin(["C", "D"])]
    return chosen.groupby(["data", "arm"])[columns].mean().round(3)


def curve_table(results: Results) -> pd.DataFrame:
    """Test accuracy read off the per-epoch curve three ways (final, mean over the second half, best), and the kept epoch."""
    records = _main(results.records)
    if records.empty:
        return pd.DataFrame()
    columns = ["test_acc_final", "test_acc_mean_second_half", "test_acc_max", "accuracy", "majority_accuracy",
               "kept_epoch"]
    table = records.groupby(["data", "arm"])[columns].mean().round(3)
    return table.rename(columns={"majority_accuracy": "majority baseline"})


def sensitivity_table(results: Results) -> pd.DataFrame:
    """The sensitivity arms (one setting of P2's unstated or contradictory points changed; ``full`` only) beside the main arms.

    Rows: (changed setting, arm); ``main`` is the chapter's reading. Columns: accuracy
    and the majority baseline (means over folds), the test curve's final and best
    values, and degenerate folds.
    """
    records = results.records
    if records.empty or "sensitivity_arm" not in records.columns:
        return pd.DataFrame()
    done = records[(records["status"] == "done") & (records["data"] == "real") & records["arm"].isin(["A", "B"])]
    if done.empty or not (done["sensitivity_arm"].fillna("") != "").any():
        return pd.DataFrame()
    done = done.assign(setting=done["sensitivity_arm"].fillna("").replace("", "main"))
    grouped = done.groupby(["setting", "arm"])
    table = grouped[["accuracy", "majority_accuracy", "test_acc_final", "test_acc_max"]].mean()
    table["degenerate folds"] = grouped["degenerate"].apply(lambda d: int((d > 0).sum()))
    return table.rename(columns={"majority_accuracy": "majority baseline"}).round(3)


def curves_figure(results: Results, arm: str = "A"):
    """P2's Figs. 7-8 for ``arm``: training and test loss, training and test accuracy per epoch, one row per data source."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report.figures import finish  # noqa: PLC0415

    history = results.history
    if history.empty:
        return _markdown("No finished task has a training history yet.")
    history = history[(history["arm"] == arm) & (history["sensitivity_arm"].fillna("") == "")]
    datas = sorted(history["data"].unique())
    if not datas:
        return _markdown(f"No finished task of arm {arm}.")
    fig, axes = plt.subplots(len(datas), 2, figsize=(7.5, 2.6 * len(datas)), squeeze=False)
    for row, data in zip(axes, datas, strict=True):
        part = history[history["data"] == data]
        for ax, (train_metric, test_metric, title) in zip(row, (("loss", "test_loss", "loss"),
                                                                ("accuracy", "test_accuracy", "accuracy"))):
            for metric, style in ((train_metric, "-"), (test_metric, "--")):
                curve = part[part["metric"] == metric].groupby("epoch")["value"].mean()
                ax.plot(curve.index, curve.values, style, label=f"{'test' if metric.startswith('test') else 'train'}")
            ax.set_title(f"{data}, arm {arm}: {title}", fontsize=9)
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
    return finish(fig)


def _label(data: str) -> str:
    return "the real release" if data == "real" else f"the phantom (synthetic; patient effect {data[7:]})"


def arms_paragraph(arms: pd.DataFrame, differences: pd.DataFrame) -> str:
    """What the arms show, per data source, in words (every number from the tables above)."""
    if arms.empty:
        return "No arm has finished yet."
    sentences = []
    for data, group in arms.groupby("data", sort=True):
        parts = [f"{row['arm']} {row['accuracy']:.3f} (majority {row['majority baseline']:.3f}"
                 + (f", {int(row['degenerate folds'])} degenerate fold(s)" if row["degenerate folds"] else "") + ")"
                 for _, row in group.iterrows()]
        sentence = f"On {_label(data)}, image accuracy by arm: " + "; ".join(parts) + "."
        diff = differences[differences["data"] == data] if not differences.empty else differences
        if len(diff):
            d = diff.iloc[0]
            if d["degenerate"]:
                verdict = "some folds of A or B are degenerate, so no verdict on the difference is given"
            elif d["follows"]:
                verdict = ("the CI excludes zero: on these data the magnification split "
                           + ("inflates" if d["A - B"] > 0 else "deflates") + " accuracy")
            else:
                verdict = "the CI includes zero: no difference follows from this run"
            sentence += (f" On the same {int(d['images'])} 40X images, A - B = {d['A - B']:+.3f} "
                         f"[{d['low']:+.3f}, {d['high']:+.3f}] (95 % bootstrap over {int(d['patients'])} patients); "
                         f"{verdict}.")
        sentences.append(sentence)
    return " ".join(sentences)


def closing_note(results: Results, leakage: pd.DataFrame | None, arms: pd.DataFrame, differences: pd.DataFrame,
                 profile: str) -> str:
    """The chapter's closing note: the leakage report, arms A vs B vs C, and what follows for P2's claim."""
    lines = []
    if leakage is not None and len(leakage):
        lines.append("- **Leakage of P2's split (real release counts):** " + leakage_paragraph(leakage))
    if arms.empty:
        lines.append("- No arm has finished, so nothing is said about accuracies.")
    else:
        for data, group in arms.groupby("data", sort=True):
            by_arm = group.set_index("arm")["accuracy"]
            text = ", ".join(f"{arm} {by_arm[arm]:.3f}" for arm in ("A", "B", "C") if arm in by_arm.index)
            lines.append(f"- **Arms on {_label(data)}** (`{profile}` profile): {text}.")
        lines.append("- " + arms_paragraph(arms, differences))
    if not results.records.empty and "wall_time_s" in results.records.columns:
        seconds = float(results.records["wall_time_s"].fillna(0).sum())
        lines.append(f"- **Runtime**: the {len(results.records)} tasks behind this page took {seconds:.0f} s when they "
                     f"ran (`{profile}` profile; a rebuild reads them from the store); the whole chapter's time is "
                     "what the notebook runner reports.")
    real = not arms.empty and (arms["data"] == "real").any()
    weights = "; ".join(weights_descriptions(results.weights)) or "none"
    lines.append(f"- **Weights**: {weights}. P2's 99 % comes from ImageNet weights "
                 + ("and the full release." if real else "and the full release, neither of which is used here: "
                    "every trained number on this page is synthetic and tests the pipeline and the leak, not P2's "
                    "number."))
    return "\n".join(lines)


# ----------------------------------------------------------------- the cheap classifier


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
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    from mstl_lib.data import splits  # noqa: PLC0415

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
    from pathlib import Path  # noqa: PLC0415

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
    from mstl_lib.data.images import read_image  # noqa: PLC0415
    from mstl_lib.data.sources import load_source  # noqa: PLC0415

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
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.data.images import read_image  # noqa: PLC0415
    from mstl_lib.data.sources import load_source  # noqa: PLC0415
    from mstl_lib.report.figures import finish  # noqa: PLC0415

    if not phantoms:
        return _markdown("No phantom is used in this run.")
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


# ----------------------------------------------------------------- claims and the audit


NOTEBOOK = "05_breakhis"
SECTIONS = {"arms": "Arms A–D beside the majority-class baseline", "comparison": "P2's comparison table",
            "leak": "P2's split and its leak, from the release's counts"}
"""The chapter's sections that hold each claim's evidence (their headings)."""

MAGNIFICATION_LEAK = "every test patient is a training patient (train 100/200/400X, test 40X of the same patients)"
"""The protocol flaw behind P2's accuracy, as the scorecard names it."""


def audit_note(where: str | None = None, data_dir="auto") -> str:
    """The audit's inconsistent findings about P2's numbers at ``where`` (``"Table I"``...)."""
    from mstl_lib.evaluation.audit import paper_note  # noqa: PLC0415
    from mstl_lib.papers.p2_breakhis import audit  # noqa: PLC0415

    return paper_note(audit.findings, where, data_dir)


def paper_claims() -> list:
    """P2's claims with the paper's values and what decides each, before any result of ours."""
    from mstl_lib.papers.p2_breakhis import audit  # noqa: PLC0415
    from mstl_lib.report.scorecard import Claim, evidence_link  # noqa: PLC0415

    comparison = paper_values.load("p2_comparison")
    best_other = comparison.iloc[:-1]["accuracy_pct"].max()
    return [
        Claim("P2", audit.ACCURACY_99, "ResNet-50 trained on 100X, 200X and 400X reaches 99 % accuracy on 40X",
              "99 % (99.1 %, 99.10 %)", "arm A test accuracy (P2's split), pooled, 95 % CI resampling patients",
              kind="value", paper_number=0.991, protocol_flaws=(MAGNIFICATION_LEAK,),
              evidence=evidence_link(NOTEBOOK, SECTIONS["arms"])),
        Claim("P2", audit.BEATS_OTHERS, "The model outperforms every method of the comparison table",
              f"99.10 % vs at most {best_other:.2f} %", "P2's accuracy minus the best compared method's, same protocol",
              kind="greater", unavailable=("the compared methods are not rerun here, and the table compares numbers "
                                           "from different splits; P2's own is not patient-disjoint"),
              protocol_flaws=(MAGNIFICATION_LEAK,), evidence=evidence_link(NOTEBOOK, SECTIONS["comparison"])),
    ]


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P2's claims (:func:`paper_claims`) filled in from the records chapter 05 stored under these parameters.

    Builds the chapter's grids without running them (the phantom folders are written if
    missing) and reads their records; a claim whose records are missing says so. Never trains.
    Our number for the 99 % claim is arm A's pooled accuracy on the real release when it
    was supplied, else on the phantom with the strongest patient effect (flagged synthetic).
    """
    from mstl_lib import data as data_layer  # noqa: PLC0415
    from mstl_lib.context import start_run  # noqa: PLC0415
    from mstl_lib.papers.p2_breakhis import grids as p2_grids  # noqa: PLC0415
    from mstl_lib.papers.p2_breakhis.settings import CHAPTER  # noqa: PLC0415
    from mstl_lib.report import scorecard as sc  # noqa: PLC0415

    base = paper_claims()
    try:
        run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
        chosen = p2_grids.sources(run)
        chapter_grids = p2_grids.build(run, chosen=chosen)
    except (data_layer.DatasetNotFoundError, FileNotFoundError, OSError) as error:
        return [c if c.unavailable else c.with_result(None, None, profile=profile, evidence_flags=(sc.NOT_RUN,),
                                                      note=f"the chapter cannot run here: {error}".splitlines()[0])
                for c in base]
    results = collect(engine.ResultsStore(store) if not isinstance(store, engine.ResultsStore) else store,
                      chapter_grids)
    real = chosen.real is not None
    data = "real" if real else (f"phantom{max(chosen.phantoms):g}" if chosen.phantoms else "")
    records = _main(results.records)
    records = records[records["data"] == data] if len(records) else records
    kinds = weights_kinds(results.weights)
    behind = {"profile": profile, "weights": ", ".join(kinds) or "none yet",
              "data": "BreakHis (real)" if real else f"histology phantom, patient effect {data[7:]} (synthetic)"}
    out = []
    for claim in base:
        if claim.unavailable:
            out.append(claim.with_result(None, None, **behind))
            continue
        arm = records[records["arm"] == "A"] if len(records) else records
        predictions = results.predictions
        if len(predictions):
            predictions = predictions[(predictions["data"] == data) & (predictions["arm"] == "A")
                                      & (predictions["sensitivity_arm"].fillna("") == "")]
        if arm is None or arm.empty or predictions.empty:
            out.append(claim.with_result(None, None, evidence_flags=(sc.NOT_RUN,), **behind))
            continue
        estimate, low, high = _arm_ci(predictions, 1000)
        flags = []
        if not real:
            flags.append(sc.SYNTHETIC)
        if "random" in kinds or not kinds:
            flags.append(sc.RANDOM_WEIGHTS)
        if (arm["degenerate"] > 0).any():
            flags.append(sc.DEGENERATE)
        baseline = float(arm["majority_accuracy"].mean())
        out.append(claim.with_result(estimate, (low, high), evidence_flags=tuple(flags),
                                     note=f"majority-class baseline {baseline:.3f} on the same test images",
                                     **behind))
    return out
