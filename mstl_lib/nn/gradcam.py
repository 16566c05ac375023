"""Grad-CAM heatmaps for a classifier, and for a feature ensemble of two backbones (P3's Figs. 6-7).

Grad-CAM (Selvaraju et al., 2017): for a convolutional activation ``A`` (maps
``A_k``) and a class score ``y_c``, the weights are the spatially averaged
gradients ``alpha_k = mean(d y_c / d A_k)``, and the map is
``ReLU(sum_k alpha_k A_k)``, upsampled (bilinear) to the image and divided by
its maximum (a map with no positive evidence stays all zero).

``y_c`` is the pre-softmax score when the model's output layer is a ``Dense``
with a softmax activation (the heads of :mod:`mstl_lib.nn.heads`), as in the
Grad-CAM paper; otherwise the output itself.

Layers may sit inside nested sub-models (a classifier's ``"backbone"``, the
two constituents of an ensemble); they are found by name. For several layers,
:attr:`GradCAMResult.combined` follows P3: each layer's weighted sum
``sum_k alpha_k A_k`` is resized (bilinear) to the smallest of their grids
(P3 resizes AlexNet's maps to ResNet's), the sums are added, then ReLU,
upsampling and normalisation as above.

Examples
--------
>>> result = grad_cam(model, images, ["features_11", "layer4_1"])  # an AlexNet + ResNet-18 ensemble
>>> result.maps["layer4_1"].shape, result.combined.shape  # (n, H, W) each, in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mstl_lib.nn.runtime import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

__all__ = ["GradCAMResult", "grad_cam", "find_layer", "activation_model"]


@dataclass
class GradCAMResult:
    """Grad-CAM heatmaps of a batch.

    Attributes
    ----------
    maps : dict of str to ndarray (n, height, width)
        One heatmap per requested layer, upsampled to the image, in ``[0, 1]``.
    combined : ndarray (n, height, width) or None
        P3's combination of all requested layers (None for a single layer).
    class_index : ndarray of int (n,)
        The class each image's maps explain.
    scores : ndarray (n, classes)
        The model's outputs.
    """

    maps: dict
    combined: np.ndarray | None
    class_index: np.ndarray
    scores: np.ndarray


def _nodes(model):
    by_depth = model._nodes_by_depth  # noqa: SLF001 - Keras 3 functional graph
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _layer_names(model) -> set[str]:
    names = set()
    for layer in model.layers:
        names.add(layer.name)
        if isinstance(layer, keras.Model):
            names |= _layer_names(layer)
    return names


def find_layer(model, name: str):
    """The layer called ``name`` in ``model`` or any nested sub-model (depth first)."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except ValueError:
                pass
    raise ValueError(f"{model.name} has no layer {name!r}, nested sub-models included")


def _is_softmax_dense(layer) -> bool:
    return isinstance(layer, keras.layers.Dense) and layer.activation is keras.activations.softmax


def _exposing(model, wanted: set, top: bool):
    """A model computing ``model``'s outputs plus the wanted activations it holds (nested ones included).

    Nested sub-models that hold a wanted layer become one call of their own
    exposing model, so layer names need only be unique within each sub-model
    (two backbones may both have a ``"relu"``). Returns ``(model, names,
    logits)``: the exposing model's outputs are ``[*outputs, *activations]`` in
    the order of ``names``; ``logits`` (top level only) is the pre-softmax
    score tensor's position among the outputs, or None.
    """
    inputs = [keras.Input(shape=tuple(t.shape[1:]), name=f"{model.name}_input_{i}") for i, t in enumerate(model.inputs)]
    known = {id(t): x for t, x in zip(model.inputs, inputs)}
    output_ids = {id(t) for t in model.outputs}
    names, activations, logits = [], [], None
    for node in _nodes(model):
        operation = node.operation
        if operation is None or node.is_input:
            continue
        node_inputs = [known[id(t)] for t in node.input_tensors]
        if isinstance(operation, keras.Model) and wanted & _layer_names(operation):
            inner, inner_names, _ = _exposing(operation, wanted, top=False)
            results = keras.tree.flatten(inner(node_inputs[0] if len(node_inputs) == 1 else node_inputs))
            n_outputs = len(results) - len(inner_names)
            outputs = results[:n_outputs]
            names += inner_names
            activations += results[n_outputs:]
        elif top and _is_softmax_dense(operation) and any(id(t) in output_ids for t in node.outputs):
            z = keras.ops.matmul(node_inputs[0], operation.kernel)
            if operation.use_bias:
                z = z + operation.bias
            logits = keras.ops.cast(z, "float32")
            outputs = [keras.ops.softmax(logits, axis=-1)]
        else:
            args, kwargs = node.arguments.fill_in(known)
            outputs = keras.tree.flatten(operation(*args, **kwargs))
        for original, new in zip(node.outputs, outputs):
            known[id(original)] = new
        if operation.name in wanted and not isinstance(operation, keras.Model):
            names.append(operation.name)
            activations.append(outputs[0])
    outputs = [known[id(t)] for t in model.outputs]
    extra = [logits] if logits is not None else []
    exposed = keras.Model(inputs[0] if len(inputs) == 1 else inputs, [*outputs, *extra, *activations],
                          name=f"{model.name}_exposed")
    return exposed, names, (len(outputs) if extra else None)


def activation_model(model, layer_names) -> keras.Model:
    """``model.inputs -> [activation of each named layer..., class scores, outputs]``.

    The class scores are the pre-softmax logits when the output layer is a
    softmax ``Dense``, else the outputs. Layers are found by name in nested
    sub-models too, and the same layer objects (weights) are called.
    """
    layer_names = list(layer_names)
    for name in layer_names:
        find_layer(model, name)  # raises with a clear message
    if len(model.outputs) != 1:
        raise ValueError(f"Grad-CAM needs a single-output classifier; {model.name} has {len(model.outputs)} outputs")
    exposed, names, logits_at = _exposing(model, set(layer_names), top=True)
    missing = [name for name in layer_names if name not in names]
    if missing:
        raise ValueError(f"layers {missing} are not on the path from {model.name}'s input to its output")
    results = keras.tree.flatten(exposed.outputs)
    n_head = 1 if logits_at is None else 2
    head, found = results[:n_head], dict(zip(names, results[n_head:]))
    scores = head[-1]
    inputs = exposed.inputs[0] if len(exposed.inputs) == 1 else exposed.inputs
    return keras.Model(inputs, [*(found[n] for n in layer_names), scores, head[0]],
                       name=f"{model.name}_gradcam")


def _normalise(maps: np.ndarray) -> np.ndarray:
    peak = maps.reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0)
    return maps / scale[:, None, None]


def _resize(maps, size):
    return keras.ops.image.resize(maps[..., None], size, interpolation="bilinear")[..., 0]


def grad_cam(model, images, layers, class_index=None, batch_size: int = 16) -> GradCAMResult:
    """Grad-CAM heatmaps of ``images`` for one or several convolutional layers of ``model``.

    Parameters
    ----------
    model : keras.Model
        A single-output classifier, e.g. from ``build_classifier`` or a
        feature ensemble of two backbones.
    images : ndarray (n, height, width, channels)
        As the model takes them.
    layers : str or list of str
        Names of convolutional activations (see
        ``torchvision_models.GRADCAM_LAYER``), in nested sub-models or not.
    class_index : None, int or array of int
        The class to explain: None, each image's predicted class.
    batch_size : int

    Returns
    -------
    GradCAMResult
    """
    layers = [layers] if isinstance(layers, str) else list(layers)
    images = np.asarray(images, dtype="float32")
    explainer = activation_model(model, layers)
    size = images.shape[1:3]
    per_layer = {name: [] for name in layers}
    combined, classes, all_scores = [], [], []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start:start + batch_size])
        with tf.GradientTape() as tape:
            *activations, scores, outputs = explainer(batch, training=False)
            if class_index is None:
                target = tf.argmax(outputs, axis=-1, output_type=tf.int32)
            else:
                target = tf.broadcast_to(
                    tf.convert_to_tensor(np.asarray(class_index)[start:start + batch_size]
                                         if np.ndim(class_index) else class_index, dtype=tf.int32),
                    [len(batch)])
            chosen = tf.gather(scores, target, axis=1, batch_dims=1)
        gradients = tape.gradient(chosen, activations)
        weighted = []
        for name, activation, gradient in zip(layers, activations, gradients, strict=True):
            if gradient is None:
                raise ValueError(f"the class score does not depend on layer {name!r}")
            alpha = tf.reduce_mean(tf.cast(gradient, "float32"), axis=(1, 2), keepdims=True)
            weighted.append(tf.reduce_sum(alpha * tf.cast(activation, "float32"), axis=-1))
            per_layer[name].append(_normalise(np.asarray(_resize(tf.nn.relu(weighted[-1]), size))))
        if len(layers) > 1:
            grid = min((tuple(w.shape[1:3]) for w in weighted), key=lambda s: s[0] * s[1])
            total = sum(_resize(w, grid) for w in weighted)
            combined.append(_normalise(np.asarray(_resize(tf.nn.relu(total), size))))
        classes.append(target.numpy())
        all_scores.append(np.asarray(outputs))
    return GradCAMResult(
        maps={name: np.concatenate(chunks) for name, chunks in per_layer.items()},
        combined=np.concatenate(combined) if combined else None,
        class_index=np.concatenate(classes),
        scores=np.concatenate(all_scores),
    )
