"""Input pipelines, augmentation, schedules, optimizers and a checked ``fit``, on any Keras backend.

Images are float32 in ``[0, 1]``, NHWC (the library's convention); the
models carry their own preprocessing (see :mod:`mstl_lib.models`).

Input pipelines come from :mod:`mstl_lib.nn.pipeline`: ``tf.data`` with
autotuning disabled and a fixed prefetch of 2 batches where TensorFlow is
installed, a NumPy ``keras.utils.PyDataset`` where it is not (a JAX machine).
On a 2-core CPU machine ``tf.data`` was measured at ~60 images/s against ~35 for
``model.fit`` on NumPy arrays (ResNet50, 75 px), which also stalled at epoch
starts; on a busy shared machine the gap shrinks and varies from run to run.
``bench/input_pipeline.py`` measures it.

Seeding: call :func:`mstl_lib.runtime.set_seed` before building a model
for reproducible weights; :func:`fit` takes a ``seed`` too, which seeds
dropout and the other random ops of training.
"""

from __future__ import annotations

import math
import time
from typing import Iterable, Mapping, Sequence

import numpy as np

from mstl_lib import timing
from mstl_lib.nn import pipeline
from mstl_lib.nn.runtime import backend, import_keras, set_seed

keras = import_keras()

__all__ = [
    "make_dataset",
    "steps_for",
    "augmentation",
    "augment_offline",
    "exponential_decay",
    "make_optimizer",
    "NonFiniteLossError",
    "RaiseOnNonFiniteLoss",
    "BestWeights",
    "fit",
    "predict_scores",
]

EAGER_MAX_STEPS = 24
"""``fit(run_eagerly="auto")`` runs eagerly up to this many steps in all (see :func:`fit`)."""


# --------------------------------------------------------------------------
# Input pipelines
# --------------------------------------------------------------------------


def steps_for(n: int, batch_size: int) -> int:
    """Number of batches covering ``n`` samples once (last batch partial)."""
    return max(1, math.ceil(n / batch_size))


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None,
    batch_size: int,
    shuffle: bool = False,
    augment: keras.Layer | None = None,
    seed: int = 0,
    repeat: bool = False,
):
    """Batched ``(images, labels)`` from NumPy arrays, in this installation's input pipeline.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, channels)
        Float images in ``[0, 1]``; cast to float32.
    labels : ndarray of shape (n, ...) or None
        None gives a dataset of images only (for prediction).
    batch_size : int
    shuffle : bool
        Reshuffle every epoch, reproducibly from ``seed``.
    augment : keras layer or Sequential, optional
        Applied to each training batch with ``training=True``
        (e.g. :func:`augmentation`). Give it for training data only.
    seed : int
        Shuffle seed.
    repeat : bool
        Repeat forever; then pass ``steps_per_epoch=steps_for(n, batch_size)``
        to ``fit``. Avoids the pipeline restart at each epoch.

    Returns
    -------
    tf.data.Dataset or mstl_lib.nn.pipeline.ArrayBatches
        ``tf.data`` (autotuning disabled, batches prefetched) where TensorFlow
        is installed, a ``keras.utils.PyDataset`` where not
        (:func:`mstl_lib.nn.pipeline.array_dataset`).
    """
    return pipeline.array_dataset(np.asarray(images, dtype="float32"), labels, batch_size, shuffle=shuffle,
                                  seed=seed, repeat=repeat, augment=augment)


# --------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------


def augmentation(
    flips: Sequence[str] = ("horizontal",),
    rotation: float = 0.0,
    shift: float = 0.0,
    seed: int = 0,
    fill_mode: str = "reflect",
) -> keras.Sequential:
    """Random flips, rotations and shifts as a ``keras.Sequential``.

    Parameters
    ----------
    flips : sequence of {"horizontal", "vertical", "horizontal_and_vertical"}
        One ``RandomFlip`` layer per entry; empty for none.
    rotation : float
        Maximum rotation as a fraction of a full turn, as in
        ``keras.layers.RandomRotation`` (20 degrees -> ``20 / 360``).
        0 for none.
    shift : float
        Maximum translation as a fraction of height and width. 0 for none.
    seed : int
        Seeds the layers (each gets ``seed + index``).
    fill_mode : str
        How rotations and shifts fill new pixels.

    Returns
    -------
    keras.Sequential
        Call it with ``training=True`` to augment; it is the identity in
        inference mode.
    """
    if isinstance(flips, str):
        flips = (flips,)
    layers = [keras.layers.RandomFlip(mode, seed=seed + i) for i, mode in enumerate(flips)]
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode=fill_mode, seed=seed + len(layers)))
    if shift:
        layers.append(
            keras.layers.RandomTranslation(shift, shift, fill_mode=fill_mode, seed=seed + len(layers))
        )
    return keras.Sequential(layers, name="augmentation")


def augment_offline(
    images: np.ndarray,
    labels: np.ndarray,
    copies: int = 3,
    augmenter: keras.Layer | None = None,
    seed: int = 0,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Enlarge a training set ``copies``-fold with augmented copies.

    P1's "augmented threefold" is ``copies=3``: the originals plus two
    augmented copies of every image, so 3 x n images in all.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, channels)
    labels : ndarray of shape (n, ...)
    copies : int
        Total multiple of the data set size, originals included (>= 1).
    augmenter : keras layer, optional
        Defaults to ``augmentation(("horizontal",), rotation=0.05,
        shift=0.1, seed=seed)``.
    seed : int
    batch_size : int
        Images augmented per call.

    Returns
    -------
    images : ndarray of shape (copies * n, ...)
        The originals first, then copy 1 of every image, then copy 2, ...
    labels : ndarray of shape (copies * n, ...)
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1; got {copies}.")
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels)
    if augmenter is None:
        augmenter = augmentation(("horizontal",), rotation=0.05, shift=0.1, seed=seed)
    parts = [images]
    for _ in range(copies - 1):
        batches = [
            keras.ops.convert_to_numpy(augmenter(images[start : start + batch_size], training=True))
            for start in range(0, len(images), batch_size)
        ]
        parts.append(np.concatenate(batches).astype("float32"))
    return np.concatenate(parts), np.concatenate([labels] * copies)


# --------------------------------------------------------------------------
# Schedules and optimizers
# --------------------------------------------------------------------------


def exponential_decay(
    initial_lr: float = 1e-3,
    decay_steps: int = 1000,
    decay_rate: float = 0.96,
    staircase: bool = False,
) -> keras.optimizers.schedules.LearningRateSchedule:
    """``initial_lr * decay_rate ** (step / decay_steps)`` (floored if ``staircase``)."""
    return keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=initial_lr,
        decay_steps=decay_steps,
        decay_rate=decay_rate,
        staircase=staircase,
    )


_OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
}


def make_optimizer(name: str, learning_rate=1e-3, **kwargs) -> keras.optimizers.Optimizer:
    """Keras optimizer by name: "sgd", "adam", "adagrad" or "rmsprop".

    ``learning_rate`` may be a float or a schedule; ``kwargs`` go to the
    optimizer (e.g. ``momentum=0.9`` for SGD).
    """
    try:
        optimizer_class = _OPTIMIZERS[str(name).lower()]
    except KeyError:
        raise ValueError(f"Unknown optimizer {name!r}; valid names: {', '.join(_OPTIMIZERS)}.") from None
    return optimizer_class(learning_rate=learning_rate, **kwargs)


# --------------------------------------------------------------------------
# Callbacks and fit
# --------------------------------------------------------------------------


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite.

    Attributes
    ----------
    epoch, batch : int
        Zero-based position where it was seen.
    loss : float
    """

    def __init__(self, epoch: int, batch: int, loss: float):
        self.epoch, self.batch, self.loss = epoch, batch, loss
        super().__init__(f"Training loss became {loss} at epoch {epoch}, batch {batch}.")


class RaiseOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise :class:`NonFiniteLossError` as soon as the loss is NaN or inf."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLossError(self.epoch, batch, float(loss))


def _improves_when(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}.")
    higher_is_better = ("acc", "auc", "f1", "precision", "recall", "sensitivity", "specificity")
    return "max" if any(word in monitor for word in higher_is_better) else "min"


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the best epoch in memory; restore them at the end.

    Parameters
    ----------
    monitor : str
        Epoch log to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
    mode : {"auto", "min", "max"}
        "auto" maximises accuracy-like names and minimises the rest.

    Attributes
    ----------
    best : float
        Best monitored value (NaN before the first epoch).
    best_epoch : int
        Zero-based epoch of ``best`` (-1 before the first epoch).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto"):
        super().__init__()
        self.monitor = monitor
        self.mode = _improves_when(monitor, mode)
        self.best = math.nan
        self.best_epoch = -1
        self.best_weights = None

    def _better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_epoch < 0:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"BestWeights monitors {self.monitor!r}, not in the logs {sorted(logs)}.")
        value = float(logs[self.monitor])
        if self._better(value):
            self.best, self.best_epoch = value, epoch
            self.best_weights = [np.array(w) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class StepClock(keras.callbacks.Callback):
    """Times the first epoch's training batches and each epoch's validation pass.

    :meth:`tracing_s` estimates what tracing or compiling cost: the first batch's excess over a
    steady batch, plus the first validation pass's excess over a later one.
    """

    def __init__(self, batches: int = 6):
        super().__init__()
        self.batches, self.batch_s, self.val_s = batches, [], []
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch == 0 and len(self.batch_s) < self.batches:
            self.batch_s.append(time.perf_counter() - self._t)

    def on_test_begin(self, logs=None):
        self._v = time.perf_counter()

    def on_test_end(self, logs=None):
        self.val_s.append(time.perf_counter() - self._v)

    def tracing_s(self) -> float:
        traced = 0.0
        if len(self.batch_s) >= 2:
            traced += self.batch_s[0] - float(np.median(self.batch_s[1:]))
        elif self.batch_s:
            traced += self.batch_s[0]  # one step: all of it is the first
        if len(self.val_s) >= 2:
            traced += self.val_s[0] - float(np.median(self.val_s[1:]))
        return max(0.0, traced)


def _plain_history(history: dict) -> dict[str, list[float]]:
    return {key: [float(value) for value in values] for key, values in history.items()}


def fit(
    model: keras.Model,
    train_ds,
    val_ds=None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    verbose: int = 0,
    stop_on_nan: bool = True,
    restore_best: bool = False,
    monitor: str = "val_loss",
    mode: str = "auto",
    seed: int | None = None,
    validation_steps: int | None = None,
    run_eagerly: bool | str = "auto",
    class_weight: Mapping[int, float] | None = None,
) -> dict[str, list[float]]:
    """``model.fit`` that fails loudly on a non-finite loss.

    Parameters
    ----------
    model : keras.Model
        Compiled.
    train_ds, val_ds : tf.data.Dataset or keras.utils.PyDataset
        E.g. from :func:`make_dataset`. A repeated ``train_ds`` needs
        ``steps_per_epoch``.
    epochs : int
    steps_per_epoch : int, optional
    callbacks : iterable of keras callbacks
    verbose : int
    stop_on_nan : bool
        Raise :class:`NonFiniteLossError` when the training loss is NaN/inf.
    restore_best : bool
        Restore the weights of the epoch with the best ``monitor`` value
        (see :class:`BestWeights`).
    monitor, mode : str
        What ``restore_best`` watches; ``monitor`` "val_*" needs ``val_ds``.
    seed : int, optional
        If given, :func:`~mstl_lib.runtime.set_seed` is called first.
    validation_steps : int, optional
    run_eagerly : bool or "auto"
        ``"auto"`` runs eagerly on the TensorFlow backend when the whole fit is
        at most :data:`EAGER_MAX_STEPS` steps: tracing a large network's training
        graph costs about 20 s on 2 CPU cores (ResNet50), which only pays off over
        longer runs (graph steps are about 3.5x faster). Other backends always
        compile: eager JAX dispatches op by op and was slower even over 6 steps.
    class_weight : mapping of int to float, optional
        Weights of the training loss per class (e.g. :func:`balanced_class_weights`).

    Returns
    -------
    dict of str to list of float
        ``history.history`` with plain Python floats.

    Raises
    ------
    NonFiniteLossError
        ``stop_on_nan`` and the loss became NaN or infinite.
    """
    if seed is not None:
        set_seed(seed)
    callbacks = list(callbacks)
    if stop_on_nan:
        callbacks.insert(0, RaiseOnNonFiniteLoss())
    if restore_best:
        if monitor.startswith("val_") and val_ds is None:
            raise ValueError(f"restore_best monitors {monitor!r} but no val_ds was given.")
        callbacks.append(BestWeights(monitor, mode))
    if run_eagerly == "auto":
        planned = (steps_per_epoch or pipeline.cardinality(train_ds)) * epochs
        run_eagerly = backend() == "tensorflow" and 0 < planned <= EAGER_MAX_STEPS
    model.run_eagerly = bool(run_eagerly)
    clock = StepClock()
    callbacks.append(clock)
    with timing.phase("steps"):
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # datasets shuffle themselves (make_dataset)
            class_weight=None if class_weight is None else {int(k): float(v) for k, v in class_weight.items()},
        )
    timing.move("steps", "tracing", clock.tracing_s())
    return _plain_history(history.history)


def balanced_class_weights(labels) -> dict[int, float]:
    """``n / (k * n_c)`` per class ``c`` of integer ``labels``: every class weighs the same in the loss.

    Raises ``ValueError`` when ``labels`` hold fewer than two classes.
    """
    classes, counts = np.unique(np.asarray(labels).astype(int), return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"balanced class weights need at least two classes; the labels hold {classes.tolist()}")
    return {int(c): float(counts.sum() / (len(classes) * n)) for c, n in zip(classes, counts, strict=True)}


@timing.timed("predict")
def predict_scores(model: keras.Model, images, batch_size: int = 32) -> np.ndarray:
    """Probability of the positive class for each image.

    The model's output must be one sigmoid unit (returned as is) or a 2-way
    softmax (column 1 returned).

    Parameters
    ----------
    model : keras.Model
    images : ndarray of shape (n, height, width, channels) or a dataset of images
    batch_size : int

    Returns
    -------
    ndarray of shape (n,)
    """
    if pipeline.is_dataset(images):
        data = images
    else:
        data = make_dataset(images, None, batch_size)
    outputs = np.asarray(model.predict(data, verbose=0))
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        return outputs.reshape(-1)
    if outputs.ndim == 2 and outputs.shape[-1] == 2:
        return outputs[:, 1]
    raise ValueError(
        f"predict_scores needs one sigmoid output or a 2-way softmax; got outputs of shape {outputs.shape}."
    )
