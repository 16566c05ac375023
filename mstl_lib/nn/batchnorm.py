"""Settled BatchNorm: moving statistics recomputed on the training images ("precise BN").

Keras' BatchNormalization keeps moving averages with momentum 0.99. Over the few
hundred steps of a short training they stay far from the statistics of the data
the final weights produce, so ``predict`` computes another function than the one
that was trained (on BUSI after 2 epochs every model predicted one class).
:func:`settle_batchnorm` recomputes, without changing any weight, the moving
mean and variance of the chosen BN layers as the statistics of their inputs over
the un-augmented training images.

How: every chosen layer gets momentum 0 and the model runs once in training mode.
When the whole training set fits in one batch (:data:`MAX_BATCH_PIXELS`), each
layer then holds exactly the mean and (biased) variance of its inputs over the
training set, its inputs being produced by upstream layers normalised with their
own full-set statistics, which is what inference computes afterwards. Larger sets
run in chunks whose statistics are pooled (the law of total variance), the usual
precise-BN approximation; a second pass then runs the chunks in inference mode
with those statistics and records each layer's input moments, so that every
layer ends with the statistics of the inputs inference will give it, up to the
second-order change of its upstream layers in that pass. Chunks bound the
memory: one pass over 140 ResNet50 images at 75 px holds about 2.8 GB of
activations, over 35 about 0.7 GB. A chunk also holds at most
:data:`MAX_BATCH_IMAGES` inputs, since cached activations (few pixels, most of
the network still to run) would otherwise make large chunks: one P4 task
(ResNet50, 85 % trainable, BUSI at 75 px) peaked at 9.0 GB with chunks sized by
pixels alone, 3.6 GB with 32 inputs.

Frozen BN layers (``trainable=False``) keep their statistics: pretrained ones
belong to the pretrained weights. With random initialisation there are no
statistics worth keeping; :func:`frozen_batchnorm_layers` lists them so that a
task can settle them once on the training images before training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mstl_lib import timing
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

MAX_BATCH_PIXELS = 200_000
"""Images x height x width of one settling batch (about 35 images at 75 px, 4 at 224 px; see also
:data:`MAX_BATCH_IMAGES`).

Memory grows with the batch: settling 420 ResNet50 images at 75 px in chunks of
140 peaked 2.8 GB above the model, in chunks of 35 0.7 GB; larger training sets
are settled in chunks of this size and refined (:func:`settle_batchnorm`)."""


@dataclass(frozen=True)
class SettleReport:
    """What :func:`settle_batchnorm` did."""

    n_layers: int
    n_images: int
    n_batches: int
    exact: bool
    """One batch: the statistics are exactly those of the training set."""
    largest_shift: float
    """Largest relative change of a moving variance (how far the old statistics were off)."""
    refined: bool = False
    """Several batches, then the refining pass in inference mode."""

    def sentence(self) -> str:
        """One line for a chapter or a record."""
        if not self.n_layers:
            return "no BatchNorm layer to settle"
        how = ("in one batch (exact)" if self.exact else
               f"in {self.n_batches} batches (pooled{', then refined in inference mode' if self.refined else ''})")
        return (f"{self.n_layers} BatchNorm layers settled on {self.n_images} training images {how}; "
                f"the largest moving-variance change was x{self.largest_shift:.2f}")


def batchnorm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer of ``model``, nested models included, in order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def trainable_batchnorm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The BN layers that training updates (their statistics belong to the trained weights)."""
    return [layer for layer in batchnorm_layers(model) if layer.trainable]


def frozen_batchnorm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The frozen BN layers (meaningful statistics only when the weights are pretrained)."""
    return [layer for layer in batchnorm_layers(model) if not layer.trainable]


MAX_BATCH_IMAGES = 32
"""Images of one settling batch at most, whatever their size: the inputs may be cached activations
(:mod:`mstl_lib.nn.freeze_cache`) whose few pixels stand for a whole image's worth of network."""


def _batches(n: int, pixels_per_image: int, max_pixels: int, max_images: int) -> list[slice]:
    size = max(1, min(n, max_images, max_pixels // max(pixels_per_image, 1)))
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


@timing.timed("bn_settle")
def settle_batchnorm(model: keras.Model, images, layers=None,
                     max_batch_pixels: int = MAX_BATCH_PIXELS, max_batch_images: int = MAX_BATCH_IMAGES,
                     refine: bool = True) -> SettleReport:
    """Recompute the moving statistics of ``layers`` on ``images`` with the model's final weights.

    Parameters
    ----------
    model : keras.Model
        Any model whose input is ``images`` (a classifier, or the trainable suffix
        of a freeze-cache split fed its cached activations).
    images : ndarray or list of ndarray
        The un-augmented training inputs.
    layers : list of BatchNormalization, optional
        Default :func:`trainable_batchnorm_layers`. Frozen layers may be passed
        (random initialisation): they are settled too, and stay frozen.
    max_batch_pixels, max_batch_images : int
        Above this many image pixels, or images, the set runs in pooled chunks.
    refine : bool
        With several chunks, a second pass in inference mode replaces each
        layer's statistics by the moments of its inputs under the first pass's
        statistics (:func:`_input_moments`).

    Returns
    -------
    SettleReport
    """
    layers = trainable_batchnorm_layers(model) if layers is None else list(layers)
    arrays = images if isinstance(images, (list, tuple)) else [images]
    arrays = [np.asarray(a, dtype="float32") for a in arrays]
    n = len(arrays[0])
    if not layers or n == 0:
        return SettleReport(len(layers), n, 0, True, 1.0)
    targets = {id(layer) for layer in layers}
    everyone = batchnorm_layers(model)
    saved = [(layer, layer.trainable, layer.momentum) for layer in everyone]
    old_variance = [np.asarray(layer.moving_variance) for layer in layers]
    pixels = int(np.prod(arrays[0].shape[1:3])) if arrays[0].ndim >= 3 else 1
    chunks = _batches(n, pixels, max_batch_pixels, max_batch_images)
    sums = [[0.0, 0.0] for _ in layers]
    try:
        for layer in everyone:  # only the targets update; every other BN runs in inference mode
            layer.trainable = id(layer) in targets
            if layer.trainable:
                layer.momentum = 0.0
        for chunk in chunks:
            inputs = [a[chunk] for a in arrays]
            model(inputs[0] if len(inputs) == 1 else inputs, training=True)
            weight = chunk.stop - chunk.start
            for acc, layer in zip(sums, layers, strict=True):
                mean = np.asarray(layer.moving_mean, dtype="float64")
                variance = np.asarray(layer.moving_variance, dtype="float64")
                acc[0] = acc[0] + weight * mean
                acc[1] = acc[1] + weight * (variance + mean**2)
        for (mean_sum, square_sum), layer in zip(sums, layers, strict=True):
            _assign(layer, mean_sum / n, square_sum / n)
        if refine and len(chunks) > 1:
            for layer, (mean, square) in zip(layers, _input_moments(model, arrays, chunks, layers), strict=True):
                _assign(layer, mean, square)
    finally:
        for layer, trainable, momentum in saved:
            layer.trainable, layer.momentum = trainable, momentum
    shifts = [float(np.max(np.maximum(new, 1e-12) / np.maximum(old, 1e-12)))
              for new, old in zip((np.asarray(layer.moving_variance) for layer in layers), old_variance, strict=True)]
    return SettleReport(len(layers), n, len(chunks), len(chunks) == 1, max(shifts), refine and len(chunks) > 1)


def _assign(layer, mean, square) -> None:
    """Set ``layer``'s moving mean and (biased) variance from the first two moments of its inputs."""
    layer.moving_mean.assign(np.asarray(mean, "float32"))
    layer.moving_variance.assign(np.maximum(square - mean**2, 0.0).astype("float32"))


def _input_moments(model: keras.Model, arrays, chunks, layers) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-channel mean and mean square of each of ``layers``' inputs, the model run in inference mode by chunks.

    Each layer's ``call`` is wrapped for the pass (nested models included, since
    the layers are the same objects) and restored afterwards.
    """
    moments = {id(layer): [0.0, 0.0, 0] for layer in layers}

    def recording(layer, original):
        def call(inputs, *args, **kwargs):
            values = np.moveaxis(np.asarray(keras.ops.convert_to_numpy(inputs), dtype="float32"), layer.axis, -1)
            values = values.reshape(-1, values.shape[-1])
            entry = moments[id(layer)]
            entry[0] = entry[0] + values.sum(axis=0, dtype="float64")
            entry[1] = entry[1] + np.square(values).sum(axis=0, dtype="float64")
            entry[2] += len(values)
            return original(inputs, *args, **kwargs)
        return call

    wrapped = [(layer, layer.call) for layer in layers]
    try:
        for layer, original in wrapped:
            object.__setattr__(layer, "call", recording(layer, original))
        for chunk in chunks:
            inputs = [a[chunk] for a in arrays]
            model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    finally:
        for layer, _ in wrapped:
            object.__delattr__(layer, "call")
    return [(moments[id(layer)][0] / moments[id(layer)][2], moments[id(layer)][1] / moments[id(layer)][2])
            for layer in layers]


def input_statistics(model: keras.Model, layer: keras.layers.BatchNormalization, images) -> tuple:
    """Mean and biased variance of ``layer``'s inputs over ``images``, in inference mode (for checks)."""
    probe = keras.Model(model.inputs, layer.input)
    values = np.asarray(probe.predict(images, verbose=0), dtype="float64")
    axes = tuple(i for i in range(values.ndim) if i != values.ndim - 1)
    return values.mean(axis=axes), values.var(axis=axes)
