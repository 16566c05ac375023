"""Classification heads: callables ``head(features) -> outputs`` put on top of a backbone.

Every output layer is float32, so that under a ``mixed_bfloat16`` policy the
scores and the loss stay in float32.
"""

from __future__ import annotations

from typing import Callable

from mstl_lib.nn.runtime import import_keras

keras = import_keras()

# --------------------------------------------------------------------------
# Heads: functions tensor -> tensor (functional API)
# --------------------------------------------------------------------------


def _pool(x, pooling: str | None, prefix: str):
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name=f"{prefix}_gmp")(x)
    if pooling == "flatten":
        return keras.layers.Flatten(name=f"{prefix}_flatten")(x)
    if pooling is None:
        return x
    raise ValueError(f"pooling must be 'avg', 'max', 'flatten' or None; got {pooling!r}.")


def gap_dense_head(n_classes: int, activation: str = "softmax") -> Callable:
    """GlobalAveragePooling -> Dense(``n_classes``) (P1, stage 1).

    Returns
    -------
    head : callable
        ``head(feature_map) -> output`` tensor.
    """

    def head(x):
        x = _pool(x, "avg", "head")
        return keras.layers.Dense(n_classes, activation=activation, name="head_output", dtype="float32")(x)

    return head


def mlp_head(
    units=(256, 128),
    dropout: float = 0.5,
    n_outputs: int = 1,
    activation: str = "sigmoid",
    pooling: str | None = "avg",
) -> Callable:
    """Pooling -> Dense ReLU layers -> Dense output (P1, stage 2).

    With the defaults: GAP -> Dense 256 ReLU -> Dropout 0.5 -> Dense 128
    ReLU -> Dense 1 sigmoid, i.e. three dense layers, the first followed by
    dropout.

    Parameters
    ----------
    units : sequence of int
        Hidden layer widths.
    dropout : float
        Dropout rate after the first hidden layer (0 for none).
    n_outputs : int
    activation : str
        Output activation.
    pooling : {"avg", "max", "flatten", None}
    """

    def head(x):
        x = _pool(x, pooling, "head")
        for index, width in enumerate(units):
            x = keras.layers.Dense(width, activation="relu", name=f"head_dense_{index}")(x)
            if index == 0 and dropout:
                x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        return keras.layers.Dense(n_outputs, activation=activation, name="head_output", dtype="float32")(x)

    return head


def p4_head(units: int = 512, dropout: float = 0.5, n_classes: int = 2) -> Callable:
    """GlobalMaxPooling -> Dense 512 ReLU -> Dropout 0.5 -> Dense 2 softmax (P4)."""

    def head(x):
        x = _pool(x, "max", "head")
        x = keras.layers.Dense(units, activation="relu", name="head_dense")(x)
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        return keras.layers.Dense(n_classes, activation="softmax", name="head_output", dtype="float32")(x)

    return head
