"""P4 (Bal-Ghaoui et al. 2023): fine-tuning depth and a linear-SVM head.

Phase 1 (FT)
    A backbone whose first layers are frozen (P4's Table 2 strategies: 0, 15,
    25, 50, 75, 85 or 100 % of the layers trainable), GlobalMaxPooling, Dense 512
    ReLU, Dropout 0.5, Dense 2 softmax; Adam 1e-4, cross-entropy. The best epoch
    of each fold (lowest validation loss on a validation part carved out of the
    training part) is kept.
Phase 2 (FT-SVM)
    The kept model's 512-d penultimate features of the training part feed a
    linear SVM whose C is chosen by ``GridSearchCV`` over {0.1, 1, 10, 100} with a
    stratified 5-fold CV **inside the training part**; the test part is scored once.

With the first ``k`` layers frozen the engine runs the frozen prefix once per
image per fold and trains the suffix on the cached boundary activations
(:mod:`mstl_lib.nn.freeze_cache`); ``cache=False`` trains the naive full model.

The task :func:`finetune_svm` has the experiment engine's signature.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from mstl_lib.evaluation import metrics

from mstl_lib import paper_values, protocols

from mstl_lib.data import splits

__all__ = [
    "STRATEGIES",
    "SVM_C_GRID",
    "GROUPINGS",
    "table2",
    "frozen_layers",
    "rounded_frozen_layers",
    "check_layer_count",
    "p4_table",
    "fold_parts",
    "svm_phase",
    "require_real_weights",
    "finetune_svm",
]

STRATEGIES = (0, 15, 25, 50, 75, 85, 100)
"""P4's fine-tuning strategies: percent of the backbone's layers that train."""

SVM_C_GRID = (0.1, 1.0, 10.0, 100.0)
"""P4's grid for the linear SVM's C."""

GROUPINGS = ("none", "case", "duplicates")
"""How folds group images: ``none`` = image-level folds (P4's protocol), ``case`` =
the dataset's own groups (DDTI cases), ``duplicates`` = those merged with
near-duplicate clusters (:func:`mstl_lib.data.near_duplicates.group_by_duplicates`)."""


# ----------------------------------------------------------------- Table 2


@functools.lru_cache(maxsize=1)
def table2() -> pd.DataFrame:
    """P4's Table 2 (frozen layers per backbone and strategy), from the paper-values CSV."""
    return paper_values.load("p4_table2")


def frozen_layers(backbone: str, trainable_pct: int) -> int:
    """Number of leading layers P4 freezes for ``backbone`` at ``trainable_pct`` % trainable.

    Read from P4's Table 2, which is the protocol's definition; see
    :func:`rounded_frozen_layers` for the rule it nearly follows.
    """
    table = table2()
    row = table[(table["backbone"] == backbone) & (table["trainable_pct"] == int(trainable_pct))]
    if len(row) != 1:
        raise ValueError(f"P4's Table 2 has no strategy {trainable_pct}% for {backbone!r}; "
                         f"strategies: {STRATEGIES}, backbones: {sorted(table['backbone'].unique())}")
    return int(row["frozen_layers"].iloc[0])


def rounded_frozen_layers(total: int, trainable_pct: int) -> int:
    """``total x (1 - trainable_pct / 100)`` rounded half up: Table 2's apparent rule.

    It reproduces 33 of the table's 35 cells; VGG19 at 25 % and 85 % differ by one.
    """
    return int(np.floor(total * (100 - trainable_pct) / 100 + 0.5))


def check_layer_count(backbone_model, backbone: str) -> int:
    """Assert the built backbone has the layer count of P4's Table 2; return it."""
    table = table2()
    expected = int(table.loc[table["backbone"] == backbone, "total_layers"].iloc[0])
    actual = len(backbone_model.layers)
    if actual != expected:
        raise AssertionError(f"{backbone} has {actual} layers; P4's Table 2 counts {expected}. "
                             "The frozen-layer counts would not mean what the paper says.")
    return actual


# ----------------------------------------------------------------- data and folds


@functools.lru_cache(maxsize=8)
def p4_table(dataset: str, data_dir: str, grouping: str = "none", max_images: int | None = None,
             seed: int = 0) -> pd.DataFrame:
    """Benign-vs-malignant rows of ``dataset`` with a ``fold_group`` column for ``grouping``.

    DDTI labels come from the foundation's loader (TIRADS 2-3 benign, 4a-5
    malignant, no TIRADS left out).
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}; got {grouping!r}")
    rows = protocols.binary_table(dataset, data_dir, "duplicates" if grouping == "duplicates" else "image",
                                  max_images, seed)
    table = rows.copy()
    table["fold_group"] = table["path"].astype(str) if grouping == "none" else table["group"].astype(str)
    return table


def fold_parts(table: pd.DataFrame, fold: int, n_splits: int, seed: int, grouping: str,
               val_splits: int = 5) -> dict[str, np.ndarray]:
    """Row indices ``train`` (= ``fit`` + ``val``) and ``test`` of fold ``fold``.

    The outer split is a stratified k-fold (``StratifiedGroupKFold`` unless
    ``grouping == "none"``); ``val`` is one fold of a ``val_splits``-fold split of the
    training part (same grouping), used only to pick the best epoch.
    """
    y = table["target"].to_numpy()
    groups = None if grouping == "none" else table["fold_group"].to_numpy()
    outer = splits.kfold(y, groups, n_splits=n_splits, seed=seed)[fold]
    train = outer.train
    inner_groups = None if groups is None else groups[train]
    inner = splits.kfold(y[train], inner_groups, n_splits=val_splits, seed=seed + 1)[0]
    return {"train": train, "fit": train[inner.train], "val": train[inner.test], "test": outer.test}


# ----------------------------------------------------------------- phase 2


def svm_phase(features_train: np.ndarray, y_train: np.ndarray, features_test: np.ndarray,
              groups_train: np.ndarray | None = None, c_grid=SVM_C_GRID, inner_splits: int = 5,
              seed: int = 0) -> tuple[GridSearchCV, np.ndarray]:
    """Linear SVM on features; C by grid search inside the training part only.

    Parameters
    ----------
    features_train, y_train : arrays of the training part
    features_test : array of the test part (scored once, never searched on)
    groups_train : optional groups; then the inner CV is ``StratifiedGroupKFold``
    c_grid : the values of C (P4: 0.1, 1, 10, 100)
    inner_splits : folds of the inner CV (P4: 5)

    Returns
    -------
    search : fitted ``GridSearchCV`` (standardise -> ``SVC(kernel="linear")``)
    scores : ndarray
        Logistic of the decision function on ``features_test`` (a score in
        (0, 1), > 0.5 exactly where the SVM predicts malignant).
    """
    if groups_train is None:
        cv = StratifiedKFold(n_splits=inner_splits, shuffle=True, random_state=seed)
    else:
        cv = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True, random_state=seed)
    pipeline = make_pipeline(StandardScaler(), SVC(kernel="linear"))
    search = GridSearchCV(pipeline, {"svc__C": list(c_grid)}, cv=cv, scoring="accuracy", n_jobs=1)
    search.fit(features_train, y_train, groups=groups_train)
    decision = search.decision_function(features_test)
    return search, 1.0 / (1.0 + np.exp(-np.clip(decision, -50, 50)))


# ----------------------------------------------------------------- weights


def require_real_weights(profile: str, weights, backbones) -> None:
    """Refuse a ``full`` run that would silently fall back to random initialisation.

    ``weights="auto"`` under the ``full`` profile must find ImageNet weights for
    every backbone; an explicit ``weights=None`` (or ``"random"``) is allowed.

    Raises
    ------
    mstl_lib.nn_weights.WeightsUnavailableError
    """
    if profile != "full" or weights is None or str(weights).lower() in ("none", "random"):
        return
    from mstl_lib.nn import weights as nn_weights  # noqa: PLC0415

    if str(weights).lower() not in ("auto", "imagenet"):
        return  # a weights file: build_backbone checks it exists
    availability = {name: nn_weights.imagenet_weights_available(name) for name in backbones}
    missing = {name: reason for name, (available, reason) in availability.items() if not available}
    if missing:
        raise nn_weights.WeightsUnavailableError(
            "The full profile reproduces P4's ImageNet fine-tuning and will not run on random "
            f"initialisation silently; no ImageNet weights for: {missing}. Put the *_notop.h5 files in "
            "the Keras cache, or pass weights=None explicitly to study fine-tuning depth from random init."
        )


# ----------------------------------------------------------------- the task


class _EpochTimer:
    """Keras callback factory recording wall seconds per epoch."""

    @staticmethod
    def make():
        import keras  # noqa: PLC0415

        class EpochTimer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return EpochTimer()


def build_p4_model(backbone: str, image_size: int, trainable_pct: int, weights="auto", seed: int = 0):
    """P4's phase-1 classifier with Table 2's frozen prefix; returns ``(model, n_frozen, info)``."""
    from mstl_lib.nn import classifier, heads
    from mstl_lib.nn.runtime import set_seed  # noqa: PLC0415

    set_seed(seed)
    model, info = classifier.build_classifier(backbone, (image_size, image_size, 3), heads.p4_head(), weights=weights)
    inner = model.get_layer("backbone")
    check_layer_count(inner, backbone)
    n_frozen = frozen_layers(backbone, trainable_pct)
    classifier.freeze_first(inner, n_frozen)
    return model, n_frozen, info


def train_phase1(model, n_frozen: int, images: np.ndarray, labels: np.ndarray, parts: dict, *,
                 epochs: int, batch_size: int, learning_rate: float, seed: int, cache: bool = True,
                 verbose: int = 0, run_eagerly: bool | str = "auto") -> dict:
    """Train P4's phase 1 on ``parts["fit"]``, keep the best epoch on ``parts["val"]``.

    With ``cache`` and ``n_frozen >= 1`` the frozen prefix runs once over all rows
    of ``parts`` and the suffix trains on the cached activations.

    Returns
    -------
    dict
        ``predict(rows) -> P(malignant)``, ``features(rows) -> 512-d features``,
        ``history``, ``epoch_seconds``, ``cache_seconds``, ``cache_bytes``,
        ``cached`` and ``boundary``.
    """
    import keras  # noqa: PLC0415

    from mstl_lib.nn import freeze_cache, training  # noqa: PLC0415

    labels = np.asarray(labels, dtype="int32")
    timer = _EpochTimer.make()
    steps = training.steps_for(len(parts["fit"]), batch_size)
    use_cache = bool(cache) and n_frozen >= 1
    out = {"cached": use_cache, "cache_seconds": 0.0, "cache_bytes": 0, "boundary": []}
    if use_cache:
        split = freeze_cache.split_classifier(model, n_frozen, feature_layer="head_dense")
        rows = np.unique(np.concatenate([parts[k] for k in ("fit", "val", "test")]))
        position = np.full(len(images), -1)
        position[rows] = np.arange(len(rows))
        start = time.perf_counter()
        cache_arrays = freeze_cache.compute_activations(split.prefix, images[rows], batch_size=32)
        out["cache_seconds"] = time.perf_counter() - start
        out["cache_bytes"] = int(sum(a.nbytes for a in cache_arrays))
        out["boundary"] = [f"{n} {s}" for n, s in zip(split.boundary_names, split.boundary_shapes)]

        def take(idx):
            return [a[position[idx]] for a in cache_arrays]

        trained, feature_model = split.suffix, split.features
        train_ds = freeze_cache.activation_dataset(take(parts["fit"]), labels[parts["fit"]], batch_size,
                                                   shuffle=True, seed=seed, repeat=True)
        val_ds = freeze_cache.activation_dataset(take(parts["val"]), labels[parts["val"]], batch_size)

        def inputs_of(idx):
            arrays = take(idx)
            return arrays[0] if len(arrays) == 1 else arrays
    else:
        trained = model
        feature_model = keras.Model(model.inputs[0], model.get_layer("head_dense").output)
        train_ds = training.make_dataset(images[parts["fit"]], labels[parts["fit"]], batch_size,
                                         shuffle=True, seed=seed, repeat=True)
        val_ds = training.make_dataset(images[parts["val"]], labels[parts["val"]], batch_size)

        def inputs_of(idx):
            return images[idx]

    trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    out["history"] = training.fit(trained, train_ds, val_ds, epochs=epochs, steps_per_epoch=steps,
                                  callbacks=[timer], restore_best=True, monitor="val_loss",
                                  verbose=verbose, run_eagerly=run_eagerly)
    out["epoch_seconds"] = list(timer.seconds)

    def predict(idx):
        return freeze_cache.predict_arrays(trained, inputs_of(idx))[:, 1]

    def features(idx):
        return freeze_cache.predict_arrays(feature_model, inputs_of(idx))

    out["predict"], out["features"] = predict, features
    return out


def _prefixed(prefix: str, values: dict) -> dict:
    return {f"{prefix}_{k}": v for k, v in values.items()}


def finetune_svm(config: dict, fold: int, context: dict) -> dict:
    """P4's two phases for one (backbone, strategy) on one fold; an engine task.

    ``config`` keys: ``backbone``, ``trainable_pct`` (one of :data:`STRATEGIES`),
    ``image_size``, ``epochs``, ``batch_size``, ``learning_rate`` and optionally
    ``cache`` (default True).

    ``context`` keys: ``dataset``, ``data_dir``, ``grouping`` (one of
    :data:`GROUPINGS`), ``n_splits``, ``seed``, ``weights``, ``profile``,
    optional ``max_images`` and ``verbose``.

    Returns metrics ``ft_*`` (phase 1, MLP head) and ``svm_*`` (phase 2), per-test-image
    scores of both, the phase-1 history, and in ``extra`` the frozen count, the
    chosen C, the boundary tensors and the timings.
    """
    from mstl_lib.protocols import image_array  # noqa: PLC0415

    seed = int(context["seed"])
    grouping = context.get("grouping", "none")
    require_real_weights(context.get("profile", "cpu"), context.get("weights", "auto"), [config["backbone"]])
    table = p4_table(context["dataset"], str(context["data_dir"]), grouping, context.get("max_images"), seed)
    parts = fold_parts(table, fold, int(context["n_splits"]), seed, grouping)
    size = int(config["image_size"])
    images = image_array(tuple(table["path"]), size)
    labels = table["target"].to_numpy(dtype="int32")

    model, n_frozen, info = build_p4_model(config["backbone"], size, int(config["trainable_pct"]),
                                           context.get("weights", "auto"), seed + fold)
    start = time.perf_counter()
    phase1 = train_phase1(model, n_frozen, images, labels, parts, epochs=int(config["epochs"]),
                          batch_size=int(config["batch_size"]), learning_rate=float(config["learning_rate"]),
                          seed=seed + fold, cache=bool(config.get("cache", True)),
                          verbose=int(context.get("verbose", 0)))
    phase1_seconds = time.perf_counter() - start

    test = parts["test"]
    y_test = labels[test]
    ft_scores = phase1["predict"](test)
    start = time.perf_counter()
    groups_train = None if grouping == "none" else table["fold_group"].to_numpy()[parts["train"]]
    search, svm_scores = svm_phase(phase1["features"](parts["train"]), labels[parts["train"]],
                                   phase1["features"](test), groups_train,
                                   inner_splits=int(context.get("svm_cv", 5)), seed=seed)
    svm_seconds = time.perf_counter() - start

    return {
        "metrics": {**_prefixed("ft", metrics.binary_metrics(y_test, ft_scores)),
                    **_prefixed("svm", metrics.binary_metrics(y_test, svm_scores)),
                    "svm_c": float(search.best_params_["svc__C"]), "n_frozen": n_frozen},
        "predictions": {"row": test.tolist(), "path": table["path"].iloc[test].tolist(),
                        "y_true": y_test.tolist(), "ft_score": ft_scores.tolist(),
                        "svm_score": svm_scores.tolist()},
        "history": phase1["history"],
        "weights_used": f"{info.used}: {info.detail}",
        "extra": {"n_frozen": n_frozen, "n_layers": len(model.get_layer("backbone").layers),
                  "cached": phase1["cached"], "boundary": phase1["boundary"],
                  "cache_seconds": phase1["cache_seconds"], "cache_bytes": phase1["cache_bytes"],
                  "epoch_seconds": phase1["epoch_seconds"], "phase1_seconds": phase1_seconds,
                  "svm_seconds": svm_seconds, "svm_cv_accuracy": float(search.best_score_),
                  "n_fit": len(parts["fit"]), "n_val": len(parts["val"]), "n_train": len(parts["train"]),
                  "n_test": len(test)},
    }


# ----------------------------------------------------------------- tables and figures

PAPER_DATASET = {"busi": "BUSI", "ddti": "DDTI", "mendeley": "Mendeley", "salivary": "Salivary glands"}
"""Our dataset names -> the names in P4's tables."""


def weights_caption(weights_used) -> str:
    """One line for the top of a table: which weights produced it, and what that means.

    ``weights_used``: the records' ``weights_used`` strings (``"random: ..."``).
    """
    used = sorted({str(w).split(":")[0] for w in weights_used if w})
    if used and all(u == "random" for u in used):
        return ("**Weights: random initialisation (no ImageNet weights on this machine).** These numbers "
                "measure fine-tuning depth *from random initialisation*, i.e. mostly the capacity of the "
                "trainable part, not transfer; P4's numbers come from ImageNet weights.")
    if "random" in used:
        return f"**Weights: mixed ({', '.join(used)}).** Rows differ in initialisation; compare with care."
    return f"Weights: {', '.join(used) or 'unknown'}."


def combined_records(frames: dict) -> pd.DataFrame:
    """Stack ``records_frame`` tables keyed by ``(dataset, protocol)``."""
    parts = []
    for (dataset, protocol), frame in frames.items():
        if len(frame):
            parts.append(frame.assign(dataset=dataset, protocol=protocol))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def table3(records: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """AUC per dataset, backbone and strategy: ours (FT, FT-SVM, mean over folds) beside P4's."""
    done = records[records["status"] == "done"]
    ours = (done.groupby(["dataset", "backbone", "trainable_pct"])
            .agg(folds=("fold", "nunique"), ft_auc=("ft_auc", "mean"), svm_auc=("svm_auc", "mean"))
            .reset_index())
    ours["paper_dataset"] = ours["dataset"].map(PAPER_DATASET)
    merged = ours.merge(paper.rename(columns={"dataset": "paper_dataset", "ft_auc": "paper_ft_auc",
                                              "svm_auc": "paper_svm_auc"}),
                        on=["paper_dataset", "backbone", "trainable_pct"], how="left")
    return merged.drop(columns="paper_dataset").set_index(["dataset", "backbone", "trainable_pct"]).round(3)


def table4(records: pd.DataFrame, paper: pd.DataFrame, strategy: int = 15) -> pd.DataFrame:
    """The 15 % strategy: accuracy, precision, sensitivity (FT, FT-SVM) and C, ours beside P4's."""
    done = records[(records["status"] == "done") & (records["trainable_pct"] == strategy)]
    rows = []
    for (dataset, backbone), group in done.groupby(["dataset", "backbone"]):
        paper_rows = paper[(paper["dataset"] == PAPER_DATASET.get(dataset)) & (paper["backbone"] == backbone)]
        for metric in ("accuracy", "precision", "sensitivity", "svm_c"):
            found = paper_rows[paper_rows["metric"] == metric]
            if metric == "svm_c":
                chosen = group["svm_c"].value_counts()
                ours_ft, ours_svm = np.nan, float(chosen.index[0])  # the C chosen most often over folds
            else:
                ours_ft, ours_svm = group[f"ft_{metric}"].mean(), group[f"svm_{metric}"].mean()
            rows.append({"dataset": dataset, "backbone": backbone, "metric": metric,
                         "ours_ft": ours_ft, "ours_svm": ours_svm,
                         "paper_ft": found["ft"].iloc[0] if len(found) else np.nan,
                         "paper_svm": found["svm"].iloc[0] if len(found) else np.nan})
    return pd.DataFrame(rows).set_index(["dataset", "backbone", "metric"]).round(4)


def grouping_comparison(records: pd.DataFrame, strategies) -> pd.DataFrame:
    """AUC and accuracy per protocol (image-level vs grouped folds) on the same folds run."""
    done = records[(records["status"] == "done") & records["trainable_pct"].isin(list(strategies))]
    table = (done.groupby(["dataset", "backbone", "trainable_pct", "protocol"])
             .agg(folds=("fold", "nunique"), ft_auc=("ft_auc", "mean"), svm_auc=("svm_auc", "mean"),
                  ft_accuracy=("ft_accuracy", "mean"), svm_accuracy=("svm_accuracy", "mean"))
             .round(3))
    return table


def confusion_and_roc(predictions: pd.DataFrame, title: str):
    """Confusion matrices (summed over folds) and ROC curves of FT and FT-SVM, one row per backbone."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from mstl_lib.report import finish, finish_roc_axes, plot_roc  # noqa: PLC0415

    backbones = list(dict.fromkeys(predictions["backbone"]))
    fig, axes = plt.subplots(len(backbones), 3, figsize=(10, 3.2 * len(backbones)), squeeze=False)
    for row, backbone in zip(axes, backbones):
        part = predictions[predictions["backbone"] == backbone]
        y = part["y_true"].to_numpy().astype(int)
        for ax, column, label in ((row[0], "ft_score", "FT"), (row[1], "svm_score", "FT-SVM")):
            matrix = metrics.confusion(y, (part[column].to_numpy() >= 0.5).astype(int))
            ax.imshow(matrix, cmap="Blues")
            for (i, j), value in np.ndenumerate(matrix):
                ax.text(j, i, str(value), ha="center", va="center")
            ax.set_xticks([0, 1], ["benign", "malignant"])
            ax.set_yticks([0, 1], ["benign", "malignant"])
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{backbone} {label}")
            plot_roc(row[2], y, part[column], label, digits=3)
        finish_roc_axes(row[2], f"{backbone} ROC", fontsize=8)
    fig.suptitle(title)
    return finish(fig)


def p4_grid(dataset: str, grouping: str, table: pd.DataFrame, data_dir, settings, backbones, strategies,
            profile: str, seed: int, weights, verbose: int = 0):
    """The experiment-engine grid of P4 on ``dataset`` under fold ``grouping``."""
    from mstl_lib import engine  # noqa: PLC0415
    from mstl_lib.engine.provenance import fingerprint_table  # noqa: PLC0415

    configs = [{"backbone": backbone, "trainable_pct": int(pct), "image_size": settings["image_size"],
                "epochs": settings["epochs"], "batch_size": settings["batch_size"],
                "learning_rate": settings["learning_rate"]}
               for backbone in backbones for pct in strategies]
    return engine.Grid(
        name=f"p4-{dataset}-{grouping}-{profile}",
        configs=configs,
        folds=list(range(settings["folds_run"])),
        task="mstl_lib.finetuning:finetune_svm",
        data_fingerprint=fingerprint_table(table, label_column="label"),
        context={"dataset": dataset, "data_dir": str(data_dir), "grouping": grouping,
                 "n_splits": settings["n_splits"], "max_images": settings["max_images"],
                 "svm_cv": settings["svm_cv"], "seed": seed, "weights": weights, "profile": profile,
                 "verbose": verbose},
    )


def timing_frame(records: list[dict]) -> pd.DataFrame:
    """Per task: frozen count, cached or not, caching cost, epoch times (first epoch traces)."""
    rows = []
    for record in records:
        if record.get("status") != "done":
            continue
        extra, config = record.get("extra") or {}, record["config"]
        epochs = extra.get("epoch_seconds") or []
        rows.append({"backbone": config["backbone"], "trainable_pct": config["trainable_pct"],
                     "fold": record["fold"], "n_frozen": extra.get("n_frozen"), "cached": extra.get("cached"),
                     "cache_s": extra.get("cache_seconds"), "cache_MB": (extra.get("cache_bytes") or 0) / 1e6,
                     "first_epoch_s": epochs[0] if epochs else np.nan,
                     "later_epoch_s": float(np.mean(epochs[1:])) if len(epochs) > 1 else np.nan,
                     "svm_s": extra.get("svm_seconds"), "task_s": record.get("wall_time_s")})
    return pd.DataFrame(rows)


BENCHMARK_FILE = "freeze_cache_benchmark.json"
"""Written by ``bench/freeze_cache.py`` into the results folder."""


def benchmark_path():
    """Where ``bench/freeze_cache.py`` writes its measurements (``build/bench/``, git-ignored)."""
    from mstl_lib.paths import build_dir  # noqa: PLC0415

    return build_dir() / "bench" / BENCHMARK_FILE


def load_benchmark() -> pd.DataFrame | None:
    """The last ``bench/freeze_cache.py`` measurements, or None when it was not run here."""
    import json  # noqa: PLC0415

    path = benchmark_path()
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    frame = pd.DataFrame(payload["rows"])
    frame.attrs["meta"] = payload.get("meta", {})
    return frame


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def closing_note(t3: pd.DataFrame, comparison: pd.DataFrame, bench: pd.DataFrame | None, weights_used) -> str:
    """The chapter's closing paragraph, written from the tables it summarises."""
    lines = [weights_caption(weights_used), ""]
    if len(t3):
        t = t3.reset_index()
        for (dataset, backbone), part in t.groupby(["dataset", "backbone"]):
            best_svm = part.loc[part["svm_auc"].idxmax()]
            best_ft = part.loc[part["ft_auc"].idxmax()]
            at15 = part[part["trainable_pct"] == 15]
            gain = float((part["svm_auc"] - part["ft_auc"]).mean())
            text = (f"- **{dataset}, {backbone}** ({int(part['folds'].max())} fold(s)): best FT AUC "
                    f"{_fmt(best_ft['ft_auc'])} at {int(best_ft['trainable_pct'])} %, best FT-SVM AUC "
                    f"{_fmt(best_svm['svm_auc'])} at {int(best_svm['trainable_pct'])} %; SVM minus MLP head, "
                    f"mean over strategies: {gain:+.3f}.")
            if len(at15) and np.isfinite(at15["paper_svm_auc"].iloc[0]):
                text += (f" At 15 %: ours FT {_fmt(at15['ft_auc'].iloc[0])} / FT-SVM {_fmt(at15['svm_auc'].iloc[0])}, "
                         f"P4 {_fmt(at15['paper_ft_auc'].iloc[0], 2)} / {_fmt(at15['paper_svm_auc'].iloc[0], 2)}.")
            lines.append(text)
        lines.append("")
        lines.append("P4's claims, checked on this run: 15 % trainable is "
                     + ("the best FT-SVM strategy for " + str(sum(
                         int(p.loc[p["svm_auc"].idxmax(), "trainable_pct"] == 15)
                         for _, p in t.groupby(["dataset", "backbone"])))
                        + f" of {t.groupby(['dataset', 'backbone']).ngroups} (dataset, backbone) pairs; ")
                     + "the SVM head beats the MLP head on average by "
                     + f"{float((t['svm_auc'] - t['ft_auc']).mean()):+.3f} AUC over these cells "
                     + f"(P4's Table 3, same cells: {float((t['paper_svm_auc'] - t['paper_ft_auc']).mean()):+.3f}).")
    if len(comparison):
        c = comparison.reset_index()
        base = c[c["protocol"] == "none"].set_index(["dataset", "backbone", "trainable_pct"])
        for protocol in sorted(set(c["protocol"]) - {"none"}):
            other = c[c["protocol"] == protocol].set_index(["dataset", "backbone", "trainable_pct"])
            joined = other.join(base, rsuffix="_none", how="inner")
            if len(joined):
                lines.append(f"- Grouped folds (`{protocol}`) minus image-level folds, FT-SVM AUC: "
                             + ", ".join(f"{d} {b} {p} %: {r.svm_auc - r.svm_auc_none:+.3f}"
                                         for (d, b, p), r in joined.iterrows()) + ".")
    if bench is not None and len(bench):
        lines.append("")
        lines.append("Benchmark (`bench/freeze_cache.py`, "
                     f"{bench.attrs.get('meta', {}).get('summary', 'this machine')}): time per epoch naive vs cached, "
                     "ratio, one-off caching cost:")
        for row in bench.itertuples():
            lines.append(f"- {row.backbone}, {row.trainable_pct} % trainable ({row.n_frozen} frozen): "
                         f"{row.naive_epoch_s:.2f} s vs {row.cached_epoch_s:.2f} s per epoch, "
                         f"{row.speedup:.1f}x; caching {row.cache_s:.1f} s; peak RSS naive "
                         f"{row.naive_peak_MB:.0f} MB, cached {row.cached_peak_MB:.0f} MB.")
        shallow = bench[bench["trainable_pct"] <= 15]
        if len(shallow):
            lines.append(f"The goal of at least 10x at 0-15 % trainable is "
                         f"{'met' if (shallow['speedup'] >= 10).all() else 'not met everywhere'}: "
                         f"speedups {', '.join(f'{s:.1f}x' for s in shallow['speedup'])}.")
    return "\n".join(lines)
