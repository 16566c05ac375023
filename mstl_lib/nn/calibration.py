"""Operating point: put a short-trained network's decision threshold where held-out images say it belongs.

A network trained for a few epochs learns with the BatchNorm statistics of each
mini-batch and predicts with the settled statistics of the whole training part
(:mod:`mstl_lib.nn.batchnorm`). The two functions rank images almost alike, but
their output can move as a whole: on BUSI after 2 epochs one network ranked the
test images with AUC 0.82 while every score sat below 0.5, so it called every
image benign.

:func:`set_operating_point` moves only the output layer's bias, and only to undo
such a collapse. It scores the calibration images (the validation part, never
the test part) with the final network. Where the network's own threshold puts
fewer than :data:`~mstl_lib.evaluation.metrics.DEGENERATE_SHARE` of them in one
class, the threshold stays: on a few dozen images, moving a threshold that
already separates them fits their noise (one P4 network went from 30 to 92 of
its 94 test images called malignant that way). Otherwise it picks the logit
offset that maximises their balanced accuracy among the thresholds that do not
themselves collapse them (:func:`balanced_offset`). The ranking of every image,
hence the AUC, is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mstl_lib import timing
from mstl_lib.evaluation.metrics import DEGENERATE_SHARE
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

OUTPUT_LAYER = "head_output"
"""Name of the output layer every head of :mod:`mstl_lib.nn.heads` builds."""

_CLIP = 1e-7


@dataclass(frozen=True)
class OperatingPoint:
    """What :func:`set_operating_point` did."""

    offset: float
    """Logit offset added to the output (0: the threshold stayed)."""
    n_images: int
    """Calibration images."""
    balanced_before: float
    """Their balanced accuracy at the network's own threshold."""
    balanced_after: float
    """Their balanced accuracy at the chosen one."""
    own_positive: int = -1
    """Calibration images the network's own threshold called positive (-1: not recorded)."""
    collapsed: bool = True
    """Whether those calls put at least the degenerate share of the images in one class (only then it moves)."""

    def sentence(self) -> str:
        """One line for a chapter or a record."""
        if not self.collapsed:
            return (f"operating point kept: the network's own threshold called {self.own_positive} of "
                    f"{self.n_images} validation images malignant, not one class (balanced accuracy "
                    f"{self.balanced_before:.3f})")
        return (f"operating point set on {self.n_images} validation images (the network's own threshold called "
                f"{self.own_positive} of them malignant): logit offset {self.offset:+.3f}, "
                f"their balanced accuracy {self.balanced_before:.3f} -> {self.balanced_after:.3f}")


def logits_of(scores, activation: str) -> np.ndarray:
    """Logits of the positive class from the output ``scores`` (n, 1) sigmoid or (n, 2) softmax."""
    scores = np.clip(np.asarray(scores, dtype="float64"), _CLIP, 1 - _CLIP)
    if activation == "sigmoid" and scores.shape[-1] == 1:
        return np.log(scores[:, 0]) - np.log1p(-scores[:, 0])
    if activation == "softmax" and scores.shape[-1] == 2:
        return np.log(scores[:, 1]) - np.log(scores[:, 0])
    raise ValueError(f"the output must be 1 sigmoid or 2 softmax units; got {scores.shape[-1]} {activation} units")


def balanced_offset(logits, labels, max_share: float | None = DEGENERATE_SHARE) -> float:
    """The logit offset ``b`` that maximises the balanced accuracy of ``logit + b >= 0`` on ``labels``.

    Candidate thresholds lie midway between consecutive distinct logits (and
    beyond both ends); among the best, the one nearest the current threshold
    (offset 0) wins, so the threshold moves only where that helps, and as little
    as possible. Both classes must be present.

    Parameters
    ----------
    logits, labels : array-like of shape (n,)
    max_share : float or None
        Thresholds that call at least this share of the images one class are
        not candidates (a chosen threshold never collapses the calls itself),
        unless every threshold does; ``None`` allows them all.
    """
    logits = np.asarray(logits, dtype="float64").reshape(-1)
    labels = np.asarray(labels).astype(int).reshape(-1)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"choosing a threshold needs both classes; the labels hold {np.unique(labels).tolist()}")
    values = np.unique(logits)
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0], [0.0]])
    called = logits[None, :] >= cuts[:, None]
    positives, negatives = labels == 1, labels == 0
    balanced = (called[:, positives].mean(axis=1) + (~called[:, negatives]).mean(axis=1)) / 2
    if max_share is not None:
        share = called.mean(axis=1)
        collapsing = np.maximum(share, 1 - share) >= max_share
        if not collapsing.all():
            balanced = np.where(collapsing, -np.inf, balanced)
    best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
    return float(-cuts[best[np.argmin(np.abs(cuts[best]))]])


def calibration_rows(parts: dict, labels) -> np.ndarray:
    """The rows an operating point is set on: ``parts["val"]`` when it holds both classes, else ``parts["fit"]``."""
    labels = np.asarray(labels)
    val = np.asarray(parts.get("val", []), dtype=int)
    return val if len(np.unique(labels[val])) == 2 else np.asarray(parts["fit"], dtype=int)


def set_operating_point(model: keras.Model, images, labels, batch_size: int = 32,
                        layer: str = OUTPUT_LAYER, collapsed_share: float | None = DEGENERATE_SHARE) -> OperatingPoint:
    """Where ``model``'s own threshold collapses ``images`` onto one class, move its output bias to the threshold
    that maximises their balanced accuracy (in place).

    Parameters
    ----------
    model : keras.Model
        Its output layer is a Dense named ``layer`` with 1 sigmoid or 2 softmax units.
    images : ndarray or list of ndarray
        Calibration inputs (the validation part), after BatchNorm was settled.
    labels : array-like of int (n,)
        Their 0/1 labels (the positive class is 1); both classes must be present.
    batch_size : int
    layer : str
    collapsed_share : float or None
        The threshold moves only when the network's own calls put at least this
        share of ``images`` in one class; ``None`` moves it whenever that raises
        their balanced accuracy. Also the bound of :func:`balanced_offset`.

    Returns
    -------
    OperatingPoint
    """
    layer = model.get_layer(layer)
    activation = str(keras.activations.serialize(layer.activation))
    labels = np.asarray(labels).astype(int).reshape(-1)
    inputs = [np.asarray(a, "float32") for a in images] if isinstance(images, (list, tuple)) else \
        np.asarray(images, "float32")
    with timing.phase("predict"):
        scores = np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
    logits = logits_of(scores.reshape(len(labels), -1), activation)
    own = logits >= 0
    collapsed = collapsed_share is None or max(own.mean(), 1 - own.mean()) >= collapsed_share
    offset = balanced_offset(logits, labels, max_share=collapsed_share) if collapsed else 0.0
    bias = np.asarray(layer.bias)
    if bias.shape[-1] == 1:
        bias = bias + offset
    else:  # softmax: the logit difference moves by `offset`
        bias = bias + np.array([-offset / 2, offset / 2])
    layer.bias.assign(bias.astype("float32"))
    return OperatingPoint(float(offset), len(labels), _balanced_accuracy(own, labels),
                          _balanced_accuracy(logits + offset >= 0, labels), int(own.sum()), bool(collapsed))


def _balanced_accuracy(called, labels) -> float:
    return float((called[labels == 1].mean() + (~called[labels == 0]).mean()) / 2)
