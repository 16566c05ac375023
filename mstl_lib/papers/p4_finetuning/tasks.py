"""P4's engine task: fine-tune one (backbone, strategy) on one fold, then fit the linear SVM.

:func:`finetune_svm` has the engine's signature ``task(config, fold, context)``.
It reads the rows from ``context["data_source"]`` (decided by the run context)
and builds the backbone from the weights the run context resolved
(``context["weights_info"]``); the engine seeds every generator before it runs.

With the first ``k`` layers frozen, phase 1 runs the frozen prefix once per
image per fold and trains the suffix on the cached boundary activations
(:mod:`mstl_lib.nn.freeze_cache`); ``cache=False`` trains the naive full model.

Importing this module imports TensorFlow (quietly), so that the engine's
seeding, which runs after the import, reaches Keras too.
"""

from __future__ import annotations

import time

import numpy as np

from mstl_lib.data.tables import image_array
from mstl_lib.evaluation import metrics
from mstl_lib.nn import classifier, compiled, heads
from mstl_lib.nn.features import linear_svm_head
from mstl_lib.nn.weights import from_context, weights_fields
from mstl_lib.papers.p4_finetuning import protocol

import keras  # noqa: E402,I001 - mstl_lib.nn.classifier imported TensorFlow quietly first

__all__ = ["RECIPE_VERSION", "build_p4_model", "epoch_timer", "finetune_svm", "train_phase1"]

RECIPE_VERSION = "p4-13"
RECIPE_MODULES = ("mstl_lib.nn.calibration",)
"""Shared modules only some papers' records depend on (see :func:`mstl_lib.papers.recipe_fingerprint`)."""
"""The grids' ``code_version``: bump it whenever a change here changes results."""


def epoch_timer() -> keras.callbacks.Callback:
    """A Keras callback recording wall seconds per epoch in its ``seconds`` list."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def build_p4_model(backbone: str, image_size: int, trainable_pct: int, weights):
    """P4's phase-1 classifier with Table 2's frozen prefix.

    Parameters
    ----------
    backbone : str
        One of :data:`protocol.BACKBONES`.
    image_size : int
    trainable_pct : int
        One of :data:`protocol.STRATEGIES`.
    weights : WeightsInfo, its dict, or a ``weights`` request
        Tasks pass the run context's resolved :class:`~mstl_lib.nn.weights.WeightsInfo`
        (never resolved again); ``None`` builds from random initialisation.

    Returns
    -------
    model, n_frozen, info
        The uncompiled classifier (``image -> preprocessing -> "backbone" -> P4 head``),
        the number of frozen leading backbone layers, and the weights it started from.
    """
    model, info = classifier.build_classifier(backbone, (image_size, image_size, 3), heads.p4_head(),
                                              weights=weights)
    inner = model.get_layer("backbone")
    protocol.check_layer_count(inner, backbone)
    n_frozen = protocol.frozen_layers(backbone, trainable_pct)
    classifier.freeze_first(inner, n_frozen)
    return model, n_frozen, info


def train_phase1(model, n_frozen: int, images: np.ndarray, labels: np.ndarray, parts: dict, *,
                 epochs: int, batch_size: int, learning_rate: float, seed: int, cache: bool = True,
                 verbose: int = 0, run_eagerly: bool | str = "auto", random_init: bool = False,
                 class_weight: str | None = None, operating_point: str = "0.5") -> dict:
    """Train P4's phase 1 on ``parts["fit"]``, keep the best epoch on ``parts["val"]``.

    With ``cache`` and ``n_frozen >= 1`` the frozen prefix runs once over all rows
    of ``parts`` and the suffix trains on the cached activations. ``seed`` orders
    the shuffling of the training batches (it seeds no global generator).

    BatchNorm is settled (:mod:`mstl_lib.nn.batchnorm`): with ``random_init`` the
    frozen layers' statistics, meaningless without pretraining, are recomputed
    once on the training images before training; after training, the trainable
    layers' statistics are recomputed on the un-augmented training part with the
    kept weights, so that prediction and features use the function that was trained.

    ``class_weight="balanced"`` weighs the training loss by inverse class frequency
    (:func:`mstl_lib.nn.training.balanced_class_weights`); ``None`` is P4's plain loss.
    ``operating_point="validation"`` then, where the network's own argmax calls
    at least 95 % of ``parts["val"]`` one class, moves the output bias to the
    threshold that maximises their balanced accuracy
    (:func:`mstl_lib.nn.calibration.set_operating_point`); ``"0.5"`` is P4's argmax.

    Returns
    -------
    dict
        ``predict(rows) -> P(malignant)``, ``features(rows) -> 512-d features``,
        ``history``, ``epoch_seconds``, ``cache_seconds``, ``cache_bytes``,
        ``cached`` and ``boundary``.
    """
    from mstl_lib.nn import batchnorm, calibration, freeze_cache, training  # noqa: PLC0415

    labels = np.asarray(labels, dtype="int32")
    settled = []
    if random_init:  # before the prefix is cached: the cache holds what the settled prefix computes
        settled.append(batchnorm.settle_batchnorm(model, images[parts["fit"]],
                                                  layers=batchnorm.frozen_batchnorm_layers(model)))
    timer = epoch_timer()
    steps = training.steps_for(len(parts["fit"]), batch_size)
    use_cache = bool(cache) and n_frozen >= 1
    out = {"cached": use_cache, "cache_seconds": 0.0, "cache_bytes": 0, "boundary": []}
    if use_cache:
        split = freeze_cache.split_classifier(model, n_frozen, feature_layer="head_dense")
        cached = freeze_cache.cache_rows(split.prefix, images, parts)
        out["cache_seconds"], out["cache_bytes"] = cached.seconds, cached.nbytes
        out["boundary"] = [f"{n} {s}" for n, s in zip(split.boundary_names, split.boundary_shapes)]
        trained, feature_model = split.suffix, split.features
        train_ds = freeze_cache.activation_dataset(cached.take(parts["fit"]), labels[parts["fit"]], batch_size,
                                                   shuffle=True, seed=seed, repeat=True)
        val_ds = freeze_cache.activation_dataset(cached.take(parts["val"]), labels[parts["val"]], batch_size)
        inputs_of = cached.inputs
    else:
        trained = model
        feature_model = keras.Model(model.inputs[0], model.get_layer("head_dense").output)
        train_ds = training.make_dataset(images[parts["fit"]], labels[parts["fit"]], batch_size,
                                         shuffle=True, seed=seed, repeat=True)
        val_ds = training.make_dataset(images[parts["val"]], labels[parts["val"]], batch_size)

        def inputs_of(idx):
            return images[idx]

    if class_weight not in (None, "balanced"):
        raise ValueError(f"class_weight must be None or 'balanced', not {class_weight!r}")
    weights = training.balanced_class_weights(labels[parts["fit"]]) if class_weight == "balanced" else None
    out["offset"] = 0.0
    with compiled.compiled_once(trained, keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                                ["accuracy"]) as twin:  # traced once per worker; ``trained`` ends trained
        out["history"] = training.fit(twin, train_ds, val_ds, epochs=epochs, steps_per_epoch=steps,
                                      callbacks=[timer], restore_best=True, monitor="val_loss",
                                      verbose=verbose, run_eagerly=run_eagerly, class_weight=weights)
        out["epoch_seconds"] = list(timer.seconds)
        settled.append(batchnorm.settle_batchnorm(twin, inputs_of(parts["fit"])))
        out["batchnorm"] = " | ".join(step.sentence() for step in settled)
        if operating_point == "validation":
            rows = calibration.calibration_rows(parts, labels)
            point = calibration.set_operating_point(twin, inputs_of(rows), labels[rows])
            out["operating_point"], out["offset"] = point.sentence(), point.offset

    def predict(idx):
        return freeze_cache.predict_arrays(trained, inputs_of(idx))[:, 1]

    def features(idx):
        return freeze_cache.predict_arrays(feature_model, inputs_of(idx))

    out["predict"], out["features"] = predict, features
    return out


def _phase_metrics(phase: str, y_true, scores) -> dict:
    values = metrics.binary_metrics(y_true, scores)
    return {f"{phase}_{name}": values[name] for name in (*protocol.PHASE_METRICS, *protocol.DIAGNOSTICS)}


def finetune_svm(config: dict, fold: int, context: dict) -> dict:
    """P4's two phases for one (backbone, strategy) on one fold; an engine task.

    ``config`` keys: ``backbone``, ``trainable_pct`` (one of :data:`protocol.STRATEGIES`),
    ``image_size``, ``epochs``, ``batch_size``, ``learning_rate`` and optionally
    ``cache`` (default True) and ``class_weight`` (None or ``"balanced"``).

    ``context`` keys (from :meth:`mstl_lib.context.RunContext.task_context`):
    ``data_source``, ``weights_info``, ``seed``, ``grouping`` (one of
    :data:`protocol.GROUPINGS`), ``n_splits``, optional ``max_images``, ``svm_cv``
    and ``verbose``.

    Returns
    -------
    dict
        ``metrics``: ``ft_*`` and ``svm_*`` for :data:`protocol.PHASE_METRICS` and
        :data:`protocol.DIAGNOSTICS`, and ``svm_c``; ``predictions`` per test image (``row``, ``path``, ``y_true``,
        ``ft_score``, ``svm_score``); the phase-1 ``history``; ``weights`` and ``weights_used``
        (``WeightsInfo.describe()``); in ``extra`` the frozen count, the boundary
        tensors, part sizes and timings.
    """
    seed = int(context["seed"])
    grouping = context.get("grouping", "none")
    backbone, size = config["backbone"], int(config["image_size"])
    table = protocol.task_table(context["data_source"], grouping, context.get("max_images"), seed)
    parts = protocol.fold_parts(table, fold, int(context["n_splits"]), seed, grouping)
    images = image_array(tuple(table["path"]), size)
    labels = table["target"].to_numpy("int32")

    model, n_frozen, info = build_p4_model(backbone, size, int(config["trainable_pct"]),
                                           from_context(context, backbone))
    start = time.perf_counter()
    phase1 = train_phase1(model, n_frozen, images, labels, parts, epochs=int(config["epochs"]),
                          batch_size=int(config["batch_size"]), learning_rate=float(config["learning_rate"]),
                          seed=seed + fold, cache=bool(config.get("cache", True)),
                          verbose=int(context.get("verbose", 0)), random_init=info.used == "random",
                          class_weight=config.get("class_weight"),
                          operating_point=config.get("operating_point", "0.5"))
    phase1_seconds = time.perf_counter() - start

    test = parts["test"]
    y_test = labels[test]
    ft_scores = phase1["predict"](test)
    start = time.perf_counter()
    groups_train = None if grouping == "none" else table["fold_group"].to_numpy()[parts["train"]]
    search, svm_scores = linear_svm_head(phase1["features"](parts["train"]), labels[parts["train"]],
                                         phase1["features"](test), groups_train,
                                         inner_splits=int(context.get("svm_cv", 5)), seed=seed)
    svm_seconds = time.perf_counter() - start

    from mstl_lib.nn.calibration import logits_of  # noqa: PLC0415

    own = logits_of(ft_scores[:, None], "sigmoid") - phase1["offset"] >= 0  # the network's own argmax's calls
    return {
        "metrics": {**_phase_metrics("ft", y_test, ft_scores), **_phase_metrics("svm", y_test, svm_scores),
                    "svm_c": float(search.best_params_["svc__C"]),
                    "ft_pred_malignant_own_threshold": float(own.sum())},
        "predictions": {"row": test.tolist(), "path": table["path"].iloc[test].tolist(),
                        "y_true": y_test.tolist(), "ft_score": ft_scores.tolist(),
                        "svm_score": svm_scores.tolist()},
        "history": phase1["history"],
        **weights_fields({backbone: info}),
        "extra": {"n_frozen": n_frozen, "n_layers": len(model.get_layer("backbone").layers),
                  "cached": phase1["cached"], "boundary": phase1["boundary"],
                  "cache_seconds": phase1["cache_seconds"], "cache_bytes": phase1["cache_bytes"],
                  "epoch_seconds": phase1["epoch_seconds"], "phase1_seconds": phase1_seconds,
                  "svm_seconds": svm_seconds, "svm_cv_accuracy": float(search.best_score_),
                  "batchnorm": phase1["batchnorm"], "operating_point": phase1.get("operating_point", ""),
                  "n_fit": len(parts["fit"]), "n_val": len(parts["val"]), "n_train": len(parts["train"]),
                  "n_test": len(test), "data_kind": str(table["data_kind"].iloc[0])},
    }
