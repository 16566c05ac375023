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

The gradients are taken with respect to zero *probes* added to each requested
activation (extra inputs of the exposing model): ``d y_c / d probe = d y_c / d A``.
That needs only the backend's gradient of a function of its inputs, so Grad-CAM runs
on TensorFlow, JAX and PyTorch alike (:func:`_value_and_grad`).

Examples
--------
>>> result = grad_cam(model, images, ["features_11", "layer4_1"])  # an AlexNet + ResNet-18 ensemble
>>> result.maps["layer4_1"].shape, result.combined.shape  # (n, H, W) each, in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mstl_lib.nn.runtime import backend, import_keras

keras = import_keras()

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


def _exposing(model, wanted: set, top: bool, probe: bool = False):
    """A model computing ``model``'s outputs plus the wanted activations it holds (nested ones included).

    Nested sub-models that hold a wanted layer become one call of their own
    exposing model, so layer names need only be unique within each sub-model
    (two backbones may both have a ``"relu"``). Returns ``(model, names,
    logits)``: the exposing model's outputs are ``[*outputs, *activations]`` in
    the order of ``names``; ``logits`` (top level only) is the pre-softmax
    score tensor's position among the outputs, or None. With ``probe``, each wanted activation
    gets a zero probe added (an extra input, after the model's own inputs, in the order of ``names``).
    """
    inputs = [keras.Input(shape=tuple(t.shape[1:]), name=f"{model.name}_input_{i}") for i, t in enumerate(model.inputs)]
    probes = []
    known = {id(t): x for t, x in zip(model.inputs, inputs)}
    output_ids = {id(t) for t in model.outputs}
    names, activations, logits = [], [], None
    for node in _nodes(model):
        operation = node.operation
        if operation is None or node.is_input:
            continue
        node_inputs = [known[id(t)] for t in node.input_tensors]
        if isinstance(operation, keras.Model) and wanted & _layer_names(operation):
            inner, inner_names, _ = _exposing(operation, wanted, top=False, probe=probe)
            inner_probes = [keras.Input(shape=tuple(t.shape[1:]), name=f"{model.name}_probe_{len(probes) + i}")
                            for i, t in enumerate(inner.inputs[len(node_inputs):])]
            probes += inner_probes
            arguments = [*node_inputs, *inner_probes]
            results = keras.tree.flatten(inner(arguments[0] if len(arguments) == 1 else arguments))
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
        if operation.name in wanted and not isinstance(operation, keras.Model):
            if probe:
                probes.append(keras.Input(shape=tuple(outputs[0].shape[1:]), name=f"{model.name}_probe_{len(probes)}"))
                outputs = [outputs[0] + probes[-1], *outputs[1:]]
            names.append(operation.name)
            activations.append(outputs[0])
        for original, new in zip(node.outputs, outputs):
            known[id(original)] = new
    outputs = [known[id(t)] for t in model.outputs]
    extra = [logits] if logits is not None else []
    all_inputs = [*inputs, *probes]
    exposed = keras.Model(all_inputs[0] if len(all_inputs) == 1 else all_inputs, [*outputs, *extra, *activations],
                          name=f"{model.name}_exposed")
    return exposed, names, (len(outputs) if extra else None)


def activation_model(model, layer_names, probe: bool = False) -> keras.Model:
    """``model.inputs -> [activation of each named layer..., class scores, outputs]``.

    The class scores are the pre-softmax logits when the output layer is a
    softmax ``Dense``, else the outputs. Layers are found by name in nested
    sub-models too, and the same layer objects (weights) are called. With ``probe``
    the model takes one zero probe per layer after the images (see the module docstring).
    """
    layer_names = list(layer_names)
    for name in layer_names:
        find_layer(model, name)  # raises with a clear message
    if len(model.outputs) != 1:
        raise ValueError(f"Grad-CAM needs a single-output classifier; {model.name} has {len(model.outputs)} outputs")
    exposed, names, logits_at = _exposing(model, set(layer_names), top=True, probe=probe)
    missing = [name for name in layer_names if name not in names]
    if missing:
        raise ValueError(f"layers {missing} are not on the path from {model.name}'s input to its output")
    results = keras.tree.flatten(exposed.outputs)
    n_head = 1 if logits_at is None else 2
    head, found = results[:n_head], dict(zip(names, results[n_head:]))
    scores = head[-1]
    if probe:  # the probes in the order of layer_names
        data = exposed.inputs[:len(model.inputs)]
        by_name = dict(zip(names, exposed.inputs[len(model.inputs):]))
        inputs = [*data, *(by_name[n] for n in layer_names)]
        exposed = keras.Model(inputs, exposed.outputs, name=f"{model.name}_probed")
        results = keras.tree.flatten(exposed.outputs)
        head, found = results[:n_head], dict(zip(names, results[n_head:]))
    inputs = exposed.inputs[0] if len(exposed.inputs) == 1 else exposed.inputs
    return keras.Model(inputs, [*(found[n] for n in layer_names), scores if not probe else head[-1], head[0]],
                       name=f"{model.name}_gradcam")


def _normalise(maps: np.ndarray) -> np.ndarray:
    peak = maps.reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0)
    return maps / scale[:, None, None]


def _resize(maps, size):
    return keras.ops.image.resize(maps[..., None], size, interpolation="bilinear")[..., 0]


def _value_and_grad(function, probes):
    """``(gradients of function(probes)[0] w.r.t. probes, function(probes)[1])`` on the Keras backend."""
    name = backend()
    if name == "jax":
        import jax  # noqa: PLC0415

        gradients, aux = jax.grad(lambda p: function(p), has_aux=True)(list(probes))
        return gradients, aux
    if name == "torch":
        import torch  # noqa: PLC0415

        tensors = [torch.tensor(p, requires_grad=True) for p in probes]
        value, aux = function(tensors)
        value.backward()
        return [t.grad for t in tensors], aux
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend

    tensors = [tf.constant(p) for p in probes]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value, aux = function(tensors)
    return tape.gradient(value, tensors), aux


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
    explainer = activation_model(model, layers, probe=True)
    probe_shapes = [tuple(t.shape[1:]) for t in explainer.inputs[len(explainer.inputs) - len(layers):]]
    size = images.shape[1:3]
    ops = keras.ops
    per_layer = {name: [] for name in layers}
    combined, classes, all_scores = [], [], []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        wanted = None if class_index is None else np.broadcast_to(
            np.asarray(class_index)[start:start + batch_size] if np.ndim(class_index) else class_index,
            (len(batch),)).astype("int32")

        def chosen_score(probes, batch=batch, wanted=wanted):
            *activations, scores, outputs = explainer([ops.convert_to_tensor(batch), *probes], training=False)
            target = ops.argmax(ops.stop_gradient(outputs), axis=-1) if wanted is None else ops.convert_to_tensor(wanted)
            chosen = ops.take_along_axis(scores, ops.expand_dims(ops.cast(target, "int32"), -1), axis=1)
            return ops.sum(chosen), (activations, outputs, target)

        zeros = [np.zeros((len(batch), *shape), "float32") for shape in probe_shapes]
        gradients, (activations, outputs, target) = _value_and_grad(chosen_score, zeros)
        weighted = []
        for name, activation, gradient in zip(layers, activations, gradients, strict=True):
            if gradient is None:
                raise ValueError(f"the class score does not depend on layer {name!r}")
            gradient = ops.convert_to_numpy(gradient).astype("float32")
            activation = ops.convert_to_numpy(activation).astype("float32")
            alpha = gradient.mean(axis=(1, 2), keepdims=True)
            weighted.append((alpha * activation).sum(axis=-1))
            per_layer[name].append(_normalise(np.asarray(_resize(np.maximum(weighted[-1], 0), size))))
        if len(layers) > 1:
            grid = min((tuple(w.shape[1:3]) for w in weighted), key=lambda s: s[0] * s[1])
            total = sum(ops.convert_to_numpy(_resize(w, grid)) for w in weighted)
            combined.append(_normalise(np.asarray(_resize(np.maximum(total, 0), size))))
        classes.append(ops.convert_to_numpy(target).astype("int64"))
        all_scores.append(ops.convert_to_numpy(outputs))
    return GradCAMResult(
        maps={name: np.concatenate(chunks) for name, chunks in per_layer.items()},
        combined=np.concatenate(combined) if combined else None,
        class_index=np.concatenate(classes),
        scores=np.concatenate(all_scores),
    )
