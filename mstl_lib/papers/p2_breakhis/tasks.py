"""P2's engine task: train P2's ResNet-50 classifier on one arm and fold, with a per-epoch test curve.

:func:`train_arm` has the engine's signature ``task(config, fold, context)``.
It reads the rows from ``context["data_source"]``, builds ResNet-50 from the
weights the run context resolved, and trains P2's head with P2's loss and
optimiser. With ``base="frozen"`` the backbone runs once per image (the
freeze cache, :mod:`mstl_lib.nn.freeze_cache`) and only the head trains.

Every epoch the model is scored on the test part (P2 read its accuracy off
this curve, Figs. 7-8) and, in arms B-D, on the validation part, whose lowest
loss picks the kept epoch; arm A keeps the last epoch (P2 had no validation
set). BatchNorm is settled on the fitting images before the kept model is
evaluated. A training part too small to mean anything is refused
(:func:`protocol.check_trainable`).

Importing this module imports TensorFlow (quietly).
"""

from __future__ import annotations

import functools
import hashlib
import time

import numpy as np

from mstl_lib.data.images import read_image
from mstl_lib.evaluation import metrics
from mstl_lib.evaluation.patients import patient_metrics
from mstl_lib.nn import batchnorm, classifier, compiled, freeze_cache, training
from mstl_lib.nn.weights import from_context, weights_fields
from mstl_lib.papers.p2_breakhis import protocol

import keras  # noqa: E402,I001 - mstl_lib.nn.classifier imported TensorFlow quietly first

__all__ = ["BACKBONE", "PATIENT_TIE", "RECIPE_VERSION", "build_p2_model", "curve_summary", "image_array",
           "p2_head", "train_arm"]

RECIPE_VERSION = "p2-9"

RECIPE_MODULES = ("mstl_lib.evaluation.patients",)
"""Shared modules only P2's (and P3's) records depend on (see :func:`mstl_lib.papers.recipe_fingerprint`)."""
"""The grids' ``code_version``: bump it whenever a change here changes results."""

BACKBONE = protocol.BACKBONE
PATIENT_TIE = "malignant"
"""Majority votes that tie count as malignant (the cautious call; P3's rule too)."""

BASES = ("frozen", "finetune")
POOLINGS = ("avg", "flatten")
LOSSES = ("mse", "bce")
SCALINGS = ("backbone", "unit")


@functools.lru_cache(maxsize=4)
def image_array(paths: tuple[str, ...], shape: tuple[int, int]) -> np.ndarray:
    """Images of ``paths`` as one read-only float32 array ``(n, height, width, 3)`` in [0, 1]."""
    array = np.stack([read_image(path, channels=3, size=shape) for path in paths])
    array.setflags(write=False)
    return array


def p2_head(pooling: str = "avg", units: int = protocol.HEAD_UNITS, dropout: float = protocol.HEAD_DROPOUT):
    """Pooling -> Dense 1024 ReLU -> Dropout 0.4 -> Dense 1 sigmoid (P2's classification module).

    P2 puts the dropout before the ReLU; ReLU and dropout commute (dropout
    scales by a non-negative factor), so this is the same function.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")

    def head(x):
        x = (keras.layers.GlobalAveragePooling2D(name="head_gap") if pooling == "avg"
             else keras.layers.Flatten(name="head_flatten"))(x)
        x = keras.layers.Dense(units, activation="relu", name="head_dense")(x)
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        return keras.layers.Dense(1, activation="sigmoid", name="head_output", dtype="float32")(x)

    return head


def build_p2_model(image_shape, weights, pooling: str = "avg", scaling: str = "backbone"):
    """P2's classifier: ``image -> [preprocessing] -> "backbone" (ResNet-50, no top) -> P2's head``.

    Parameters
    ----------
    image_shape : (height, width)
    weights : WeightsInfo, its dict, a request, or None (random initialisation)
    pooling : {"avg", "flatten"}
    scaling : {"backbone", "unit"}
        ``backbone``: [0, 1] images mapped to ResNet-50's own input scaling;
        ``unit``: [0, 1] images fed as they are (the other reading of P2).

    Returns
    -------
    model, info
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}; got {scaling!r}")
    height, width = (int(v) for v in image_shape)
    model, info = classifier.build_classifier(BACKBONE, (height, width, 3), p2_head(pooling), weights=weights)
    if scaling == "unit":
        inputs = keras.Input(shape=(height, width, 3), name="image")
        backbone = model.get_layer("backbone")  # the same backbone, its head rebuilt without preprocessing
        model = keras.Model(inputs, p2_head(pooling)(backbone(inputs)), name="resnet50_unit_classifier")
    return model, info


def _weights_digest(model) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


_ACTIVATIONS: dict = {}
"""Cached backbone outputs of a frozen base, by (images, weights digest): the tasks of one
process (the ``local`` executor) compute the frozen part once per image set and weights."""


def _frozen_activations(split, images: np.ndarray, paths: tuple, prefix_digest: str) -> np.ndarray:
    key = (hash(paths), images.shape, prefix_digest)
    if key not in _ACTIVATIONS:
        _ACTIVATIONS.clear()  # one image set at a time
        _ACTIVATIONS[key] = freeze_cache.compute_activations(split.prefix, images, batch_size=32)[0]
    return _ACTIVATIONS[key]


def _scores(model, inputs) -> np.ndarray:
    return freeze_cache.predict_arrays(model, inputs).reshape(-1)


class EpochScores(keras.callbacks.Callback):
    """Scores the model on named parts at each epoch's end; writes ``<part>_loss`` and ``<part>_accuracy`` to the logs.

    The loss is the training loss's function (MSE or binary cross-entropy) on the
    part. Later callbacks (the kept-epoch selection) read these logs.
    """

    def __init__(self, parts: dict, loss: str):
        super().__init__()
        self.parts = {name: (x, np.asarray(y, dtype=float)) for name, (x, y) in parts.items() if len(y)}
        self.loss = loss

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for name, (x, y) in self.parts.items():
            score = _scores(self.model, x)
            logs[f"{name}_accuracy"] = float(np.mean((score >= 0.5) == y))
            if self.loss == "mse":
                logs[f"{name}_loss"] = float(np.mean((score - y) ** 2))
            else:
                clipped = np.clip(score, 1e-7, 1 - 1e-7)
                logs[f"{name}_loss"] = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


def curve_summary(values) -> dict:
    """Final, second-half mean and maximum of a per-epoch curve (P2: final, epochs 101-200, best).

    The second half is epochs ``n // 2 + 1 .. n`` (101-200 of 200).
    """
    values = np.asarray(values, dtype=float)
    if not len(values):
        return {"final": float("nan"), "mean_second_half": float("nan"), "max": float("nan")}
    return {"final": float(values[-1]), "mean_second_half": float(np.mean(values[len(values) // 2:])),
            "max": float(np.max(values))}


def _per_magnification(table, rows, y_true, scores) -> dict:
    out = {}
    magnification = table["magnification"].to_numpy()[rows]
    for m in protocol.MAGNIFICATIONS:
        chosen = magnification == m
        out[f"accuracy_{m}x"] = float(np.mean((scores[chosen] >= 0.5) == y_true[chosen])) if chosen.any() else float("nan")
    return out


def train_arm(config: dict, fold: int, context: dict) -> dict:
    """One arm (A-D) and fold of P2's chapter; an engine task.

    ``config`` keys: ``arm``, ``image_shape`` ([height, width]), ``base``
    (frozen / finetune), ``pooling``, ``loss`` (mse / bce), ``scaling``,
    ``epochs``, ``steps_per_epoch`` (None: one pass over the fitting part),
    ``batch_size``, ``learning_rate``.

    ``context`` keys: ``data_source``, ``weights_info``, ``seed``, ``n_splits``,
    ``patient_definition``, ``per_patient_magnification``, ``min_train``, optional ``verbose``.

    Returns
    -------
    dict
        ``metrics``: image metrics (:data:`protocol.IMAGE_METRICS`, :data:`protocol.DIAGNOSTICS`),
        patient metrics (:func:`mstl_lib.evaluation.patients.patient_metrics`, ties malignant),
        ``majority_accuracy``, ``accuracy_<m>x`` per magnification, the test curve's
        ``test_acc_final``, ``test_acc_mean_second_half``, ``test_acc_max``, ``kept_epoch``,
        and the split's leak (``patients_both``, ``share_test_seen``);
        ``predictions`` per test image; ``history`` (loss, test and validation curves);
        ``extra`` (part sizes, timings, BatchNorm, weights digest).
    """
    arm = config["arm"]
    seed = int(context["seed"])
    base, loss = config.get("base", "frozen"), config.get("loss", "mse")
    if base not in BASES or loss not in LOSSES:
        raise ValueError(f"base must be one of {BASES} and loss one of {LOSSES}; got {base!r}, {loss!r}")
    shape = tuple(int(v) for v in config["image_shape"])
    table = protocol.task_table(context["data_source"], context.get("patient_definition", "number"),
                                context.get("per_patient_magnification"), seed)
    parts = protocol.arm_parts(table, arm, fold, int(context.get("n_splits", 3)), seed)
    protocol.check_trainable(table, parts, arm, context.get("min_train"))
    labels = table["target"].to_numpy("float32")
    paths = tuple(table["path"])
    images = image_array(paths, shape)

    model, info = build_p2_model(shape, from_context(context, BACKBONE), config.get("pooling", "avg"),
                                 config.get("scaling", "backbone"))
    backbone = model.get_layer("backbone")
    settled = []
    start = time.perf_counter()
    if base == "frozen":
        classifier.freeze_first(backbone, len(backbone.layers))
        if info.used == "random":  # random BN statistics mean nothing: settle them on the fitting images first
            settled.append(batchnorm.settle_batchnorm(model, images[parts["fit"]],
                                                      layers=batchnorm.frozen_batchnorm_layers(model)))
        split = freeze_cache.split_classifier(model, len(backbone.layers))
        cache = _frozen_activations(split, images, paths, _weights_digest(split.prefix))
        trained, inputs = split.suffix, cache
    else:
        trained, inputs = model, images
    cache_seconds = time.perf_counter() - start

    fit, val, test = parts["fit"], parts["val"], parts["test"]
    batch_size = int(config["batch_size"])
    steps = config.get("steps_per_epoch") or training.steps_for(len(fit), batch_size)
    train_ds = training.make_dataset(inputs[fit], labels[fit], batch_size, shuffle=True, seed=seed + fold, repeat=True)
    scorer = EpochScores({"test": (inputs[test], labels[test]), "valid": (inputs[val], labels[val])}, loss)
    select = arm != "A" and len(val) > 0
    start = time.perf_counter()
    with compiled.compiled_once(trained, keras.optimizers.RMSprop(float(config["learning_rate"])),
                                "mean_squared_error" if loss == "mse" else "binary_crossentropy",
                                ["accuracy"]) as twin:  # traced once per process; ``trained`` ends trained
        history = training.fit(twin, train_ds, None, epochs=int(config["epochs"]), steps_per_epoch=int(steps),
                               callbacks=[scorer], restore_best=select, monitor="valid_loss", mode="min",
                               verbose=int(context.get("verbose", 0)), run_eagerly=False)
        train_seconds = time.perf_counter() - start
        settled.append(batchnorm.settle_batchnorm(twin, inputs[fit]))
    val_losses = history.get("valid_loss") or []
    kept_epoch = int(np.argmin(val_losses)) + 1 if select and val_losses else len(history.get("loss", []))

    y_test = labels[test].astype(int)
    scores = _scores(trained, inputs[test])
    image = metrics.binary_metrics(y_test, scores)
    patients = table["patient_id"].to_numpy()
    curve = curve_summary(history.get("test_accuracy", []))
    leak = protocol.leakage_report(table.assign(patient=patients), count_column=None,
                                   train_mask=np.isin(np.arange(len(table)), np.concatenate([fit, val])),
                                   test_mask=np.isin(np.arange(len(table)), test))
    result_metrics = {
        **{name: float(image[name]) for name in (*protocol.IMAGE_METRICS, *protocol.DIAGNOSTICS)},
        **patient_metrics(y_test, scores, patients[test], tie=PATIENT_TIE),
        **protocol.majority_baseline(labels[fit], y_test),
        **_per_magnification(table, test, y_test, scores),
        "test_acc_final": curve["final"], "test_acc_mean_second_half": curve["mean_second_half"],
        "test_acc_max": curve["max"], "kept_epoch": float(kept_epoch),
        "patients_both": float(leak["patients_both"]), "share_test_seen": float(leak["share_test_seen"]),
    }
    return {
        "metrics": result_metrics,
        "predictions": {"row": test.tolist(), "path": [paths[i] for i in test], "patient": patients[test].tolist(),
                        "magnification": table["magnification"].to_numpy()[test].tolist(),
                        "y_true": y_test.tolist(), "y_score": scores.tolist()},
        "history": history,
        **weights_fields({BACKBONE: info}),
        "extra": {"n_fit": len(fit), "n_val": len(val), "n_test": len(test),
                  "patients_fit": int(table.iloc[fit]["patient_id"].nunique()),
                  "patients_test": int(table.iloc[test]["patient_id"].nunique()),
                  "steps_per_epoch": int(steps), "cache_seconds": cache_seconds, "train_seconds": train_seconds,
                  "batchnorm": " | ".join(step.sentence() for step in settled),
                  "data_kind": str(table["data_kind"].iloc[0]), "leak": leak},
    }
