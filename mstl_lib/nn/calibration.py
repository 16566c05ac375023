"""Operating point: put a short-trained network's decision threshold where held-out images say it belongs.

A network trained for a few epochs learns with the BatchNorm statistics of each
mini-batch and predicts with the settled statistics of the whole training part
(:mod:`mstl_lib.nn.batchnorm`). The two functions rank images almost alike, but
their output can move as a whole: on BUSI after 2 epochs one network ranked the
test images with AUC 0.82 while every score sat below 0.5, so it called every
image benign.

:func:`set_operating_point` moves only the output layer's bias. It scores the
calibration images (the validation part, never the test part) with the final
network and picks the logit offset that maximises their balanced accuracy
(:func:`balanced_offset`). The ranking of every image, hence the AUC, is
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    def sentence(self) -> str:
        """One line for a chapter or a record."""
        return (f"operating point set on {self.n_images} validation images: logit offset {self.offset:+.3f}, "
                f"their balanced accuracy {self.balanced_before:.3f} -> {self.balanced_after:.3f}")


def logits_of(scores, activation: str) -> np.ndarray:
    """Logits of the positive class from the output ``scores`` (n, 1) sigmoid or (n, 2) softmax."""
    scores = np.clip(np.asarray(scores, dtype="float64"), _CLIP, 1 - _CLIP)
    if activation == "sigmoid" and scores.shape[-1] == 1:
        return np.log(scores[:, 0]) - np.log1p(-scores[:, 0])
    if activation == "softmax" and scores.shape[-1] == 2:
        return np.log(scores[:, 1]) - np.log(scores[:, 0])
    raise ValueError(f"the output must be 1 sigmoid or 2 softmax units; got {scores.shape[-1]} {activation} units")


def balanced_offset(logits, labels) -> float:
    """The logit offset ``b`` that maximises the balanced accuracy of ``logit + b >= 0`` on ``labels``.

    Candidate thresholds lie midway between consecutive distinct logits (and
    beyond both ends); among the best, the one nearest the current threshold
    (offset 0) wins, so the threshold moves only where that helps, and as little
    as possible. Both classes must be present.

    Parameters
    ----------
    logits, labels : array-like of shape (n,)
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
    best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
    return float(-cuts[best[np.argmin(np.abs(cuts[best]))]])


def calibration_rows(parts: dict, labels) -> np.ndarray:
    """The rows an operating point is set on: ``parts["val"]`` when it holds both classes, else ``parts["fit"]``."""
    labels = np.asarray(labels)
    val = np.asarray(parts.get("val", []), dtype=int)
    return val if len(np.unique(labels[val])) == 2 else np.asarray(parts["fit"], dtype=int)


def set_operating_point(model: keras.Model, images, labels, batch_size: int = 32,
                        layer: str = OUTPUT_LAYER) -> OperatingPoint:
    """Move ``model``'s output bias so that its threshold maximises balanced accuracy on ``images`` (in place).

    Parameters
    ----------
    model : keras.Model
        Its output layer is a Dense named ``layer`` with 1 sigmoid or 2 softmax units.
    images : ndarray or list of ndarray
        Calibration inputs (the validation part), after BatchNorm was settled.
    labels : array-like of int (n,)
        Their 0/1 labels (the positive class is 1); both classes must be present.

    Returns
    -------
    OperatingPoint
    """
    layer = model.get_layer(layer)
    activation = str(keras.activations.serialize(layer.activation))
    labels = np.asarray(labels).astype(int).reshape(-1)
    inputs = [np.asarray(a, "float32") for a in images] if isinstance(images, (list, tuple)) else \
        np.asarray(images, "float32")
    scores = np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
    logits = logits_of(scores.reshape(len(labels), -1), activation)
    offset = balanced_offset(logits, labels)
    bias = np.asarray(layer.bias)
    if bias.shape[-1] == 1:
        bias = bias + offset
    else:  # softmax: the logit difference moves by `offset`
        bias = bias + np.array([-offset / 2, offset / 2])
    layer.bias.assign(bias.astype("float32"))
    return OperatingPoint(float(offset), len(labels), _balanced_accuracy(logits >= 0, labels),
                          _balanced_accuracy(logits + offset >= 0, labels))


def _balanced_accuracy(called, labels) -> float:
    return float((called[labels == 1].mean() + (~called[labels == 0]).mean()) / 2)
