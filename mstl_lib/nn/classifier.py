"""A classifier is ``Input -> BackbonePreprocessing -> "backbone" -> head``.

``"backbone"`` is a nested ``keras.Model``; :func:`replace_head` swaps the head
and keeps the very same backbone sub-model, which is how stage-1 -> stage-2
transfer keeps its weights.

Examples
--------
>>> model, info = build_classifier("ResNet50", (75, 75, 3), gap_dense_head(3))
>>> info.used  # "imagenet", "random" or "file"
>>> stage_2 = replace_head(model, mlp_head())  # same "backbone" weights
"""

from __future__ import annotations

from typing import Callable

from mstl_lib import timing
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

from mstl_lib.nn.backbones import BackbonePreprocessing, build_backbone, canonical_name  # noqa: E402
from mstl_lib.nn.weights import WeightsInfo  # noqa: E402

# --------------------------------------------------------------------------
# Classifiers
# --------------------------------------------------------------------------


def _assemble(inputs, preprocessing, backbone, head, name):
    features = backbone(preprocessing(inputs))
    return keras.Model(inputs, head(features), name=name)


@timing.timed("build")
def build_classifier(
    backbone_name: str,
    input_shape,
    head: Callable,
    weights="auto",
    name: str | None = None,
    timeout: float = 5.0,
) -> tuple[keras.Model, WeightsInfo]:
    """Input ``[0, 1]`` -> preprocessing -> ``"backbone"`` -> ``head``.

    Parameters
    ----------
    backbone_name : str
        One of ``BACKBONES``.
    input_shape : tuple of int
        ``(height, width, 3)``.
    head : callable or keras.layers.Layer
        Maps the backbone feature map ``(batch, h', w', c)`` to the output,
        e.g. :func:`gap_dense_head`, :func:`mlp_head` or :func:`p4_head`.
    weights : str, path-like or None
        See :func:`resolve_weights`.
    name : str, optional
        Model name; defaults to ``"<backbone>_classifier"``.

    Returns
    -------
    model : keras.Model
        Not compiled. Its layers are ``input``, ``"preprocessing"``
        (:class:`BackbonePreprocessing`), ``"backbone"`` (nested model) and
        the head's layers.
    info : WeightsInfo
    """
    backbone_name = canonical_name(backbone_name)
    backbone, info = build_backbone(backbone_name, input_shape, weights, timeout=timeout)
    backbone.name = "backbone"
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    preprocessing = BackbonePreprocessing(backbone_name, name="preprocessing")
    model = _assemble(inputs, preprocessing, backbone, head, name or f"{backbone_name.lower()}_classifier")
    return model, info


def replace_head(model: keras.Model, head: Callable, name: str | None = None) -> keras.Model:
    """New model sharing ``model``'s preprocessing and ``"backbone"`` layers.

    The backbone is the same object, not a copy, so its weights (and its
    ``trainable`` flags) carry over exactly; only the head is new.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build_classifier`.
    head : callable
        New head, as for :func:`build_classifier`.
    name : str, optional
        Name of the new model; defaults to ``model.name``.
    """
    inputs = keras.Input(shape=tuple(model.input_shape[1:]), name="image")
    return _assemble(
        inputs, model.get_layer("preprocessing"), model.get_layer("backbone"), head, name or model.name
    )


def count_layers(model: keras.Model, nested: bool = False) -> int:
    """Number of layers of ``model``, input layer included.

    With ``nested=True`` sub-models are expanded into their layers (the
    sub-model itself is not counted).
    """
    if not nested:
        return len(model.layers)
    total = 0
    for layer in model.layers:
        total += count_layers(layer, nested=True) if isinstance(layer, keras.Model) else 1
    return total


def freeze_first(backbone: keras.Model, n_layers: int) -> keras.Model:
    """Freeze the first ``n_layers`` layers of ``backbone``; the rest train.

    Frozen ``BatchNormalization`` layers run in inference mode (Keras 3
    semantics: ``trainable=False`` on BatchNorm uses the moving statistics).
    Recompile the model afterwards for the change to take effect.

    Returns
    -------
    backbone : keras.Model
        The same object, modified in place.
    """
    if not 0 <= n_layers <= len(backbone.layers):
        raise ValueError(f"n_layers must be in [0, {len(backbone.layers)}]; got {n_layers}.")
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= n_layers
    return backbone
