"""Compute a network's frozen part once: activation caching at the freeze boundary.

When the first ``k`` layers of a backbone are frozen, and training uses no
augmentation, the frozen prefix maps each image to the same tensors at every
epoch (frozen ``BatchNormalization`` runs in inference mode in Keras 3). So the
prefix can run once per image, its outputs be cached, and only the trainable
suffix plus the head be trained on the cache.

Layers are not a chain in ResNet or Inception (residual branches, concatenated
towers), so the cut is made at *tensors*: the boundary is the set of tensors
produced by prefix layers and consumed by suffix layers (or the backbone's output
itself when everything is frozen). The prefix model maps images to those
tensors; the suffix model takes one ``Input`` per boundary tensor and replays the
backbone's remaining graph and the head, calling the **same layer objects**, so
the two models share every weight with the original classifier.

Examples
--------
>>> split = split_classifier(model, n_frozen=149, feature_layer="head_dense")
>>> cache = compute_activations(split.prefix, images)       # once per fold
>>> split.suffix.compile(...); split.suffix.fit(activation_dataset(cache, y, 4, shuffle=True))
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mstl_lib import timing
from mstl_lib.paths import freeze_cache_dir
from mstl_lib.nn import pipeline
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

__all__ = [
    "FreezeSplit",
    "boundary_tensors",
    "split_classifier",
    "compute_activations",
    "activation_dataset",
    "cache_nbytes",
    "predict_arrays",
    "CachedRows",
    "cache_rows",
    "DEFAULT_MAX_MEMORY_BYTES",
]

DEFAULT_MAX_MEMORY_BYTES = 2 * 1024**3
"""Caches larger than this are written to memory-mapped ``.npy`` files."""


@dataclass
class FreezeSplit:
    """A classifier cut at its freeze boundary.

    Attributes
    ----------
    prefix : keras.Model
        ``image -> [boundary tensors]`` (preprocessing and the frozen layers).
    suffix : keras.Model
        ``[boundary tensors] -> classifier output`` (trainable layers and head).
    features : keras.Model or None
        ``[boundary tensors] -> feature_layer output`` when asked for.
    n_frozen : int
    boundary_names : list of str
        ``"<layer>:<output index>"`` of each boundary tensor, in input order.
    boundary_shapes : list of tuple
        Per-image shape of each boundary tensor.
    """

    prefix: keras.Model
    suffix: keras.Model
    features: keras.Model | None
    n_frozen: int
    boundary_names: list[str] = field(default_factory=list)
    boundary_shapes: list[tuple] = field(default_factory=list)


def _nodes(model: keras.Model) -> list:
    """The model's graph nodes, inputs first (a valid execution order)."""
    by_depth = model._nodes_by_depth  # noqa: SLF001 - Keras 3 functional graph
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _producer(tensor):
    return tensor._keras_history[0]  # noqa: SLF001 - (operation, node index, tensor index)


def boundary_tensors(backbone: keras.Model, n_frozen: int) -> list:
    """Tensors crossing from the first ``n_frozen`` layers of ``backbone`` to the rest.

    Parameters
    ----------
    backbone : keras.Model
        A functional model; ``backbone.layers[:n_frozen]`` is the prefix
        (the input layer counts, as in P4's Table 2).
    n_frozen : int
        1 to ``len(backbone.layers)``.

    Returns
    -------
    list of KerasTensor
        Outputs of prefix layers consumed by suffix layers, plus the backbone
        output when a prefix layer produces it; ordered by producing layer.

    Raises
    ------
    ValueError
        If ``n_frozen`` is out of range, or a prefix layer consumes a suffix
        layer's output (the layer order is then not topological).
    """
    layers = backbone.layers
    if not 1 <= n_frozen <= len(layers):
        raise ValueError(f"n_frozen must be in [1, {len(layers)}] to cut {backbone.name}; got {n_frozen}.")
    position = {id(layer): index for index, layer in enumerate(layers)}
    in_prefix = {id(layer) for layer in layers[:n_frozen]}
    crossing: dict[int, object] = {}
    for node in _nodes(backbone):
        if node.operation is None or node.is_input:
            continue
        consumer_frozen = id(node.operation) in in_prefix
        for tensor in node.input_tensors:
            producer_frozen = id(_producer(tensor)) in in_prefix
            if consumer_frozen and not producer_frozen:
                raise ValueError(
                    f"layer {node.operation.name} is among the first {n_frozen} layers but consumes "
                    f"the output of {_producer(tensor).name}, which is not: the layer order is not topological."
                )
            if producer_frozen and not consumer_frozen:
                crossing[id(tensor)] = tensor
    for tensor in backbone.outputs:
        if id(_producer(tensor)) in in_prefix:
            crossing[id(tensor)] = tensor

    def order(tensor):
        operation, _, tensor_index = tensor._keras_history  # noqa: SLF001
        return position[id(operation)], tensor_index

    return sorted(crossing.values(), key=order)


def _tensor_name(tensor) -> str:
    operation, _, tensor_index = tensor._keras_history  # noqa: SLF001
    return f"{operation.name}:{tensor_index}"


def _replay(model: keras.Model, known: dict, skip: set[int]) -> dict:
    """Run ``model``'s graph symbolically from the tensors in ``known``.

    ``known`` maps ``id(original tensor)`` to a new tensor; every node whose
    inputs are all known and whose operation is not in ``skip`` is called again
    (same layer object, so same weights). Returns the extended mapping.
    """
    known = dict(known)
    for node in _nodes(model):
        if node.operation is None or node.is_input or id(node.operation) in skip:
            continue
        if any(id(t) in known for t in node.outputs):
            continue
        if any(id(t) not in known for t in node.input_tensors):
            continue
        args, kwargs = node.arguments.fill_in(known)
        outputs = keras.tree.flatten(node.operation(*args, **kwargs))
        for original, new in zip(node.outputs, outputs):
            known[id(original)] = new
    return known


def _backbone_call_node(model: keras.Model, backbone: keras.Model):
    for node in _nodes(model):
        if node.operation is backbone:
            return node
    raise ValueError(f"{model.name} does not call its backbone sub-model {backbone.name!r}.")


def split_classifier(
    model: keras.Model,
    n_frozen: int,
    backbone_layer: str = "backbone",
    feature_layer: str | None = None,
) -> FreezeSplit:
    """Cut a classifier of :func:`mstl_lib.classifier.build_classifier` after ``n_frozen`` backbone layers.

    Parameters
    ----------
    model : keras.Model
        ``image -> preprocessing -> backbone -> head``.
    n_frozen : int
        Number of leading backbone layers (input layer included) that are
        frozen; at least 1 (with 0 there is nothing to cache).
    backbone_layer : str
        Name of the nested backbone model.
    feature_layer : str, optional
        A head layer (e.g. ``"head_dense"``) whose output the ``features``
        model returns, for a classifier trained on the features (P4's SVM).

    Returns
    -------
    FreezeSplit
        Prefix and suffix share the layers (and weights) of ``model``.
    """
    backbone = model.get_layer(backbone_layer)
    boundary = boundary_tensors(backbone, n_frozen)
    prefix_backbone = keras.Model(backbone.inputs, boundary, name=f"{backbone.name}_prefix")
    backbone_node = _backbone_call_node(model, backbone)
    preprocessed = backbone_node.input_tensors[0]

    # prefix: image -> (everything before the backbone) -> frozen backbone layers
    image = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="image")
    known = _replay(model, {id(model.inputs[0]): image}, skip={id(backbone)})
    prefix_outputs = keras.tree.flatten(prefix_backbone(known[id(preprocessed)]))
    prefix = keras.Model(image, prefix_outputs, name=f"{model.name}_prefix_{n_frozen}")

    # suffix: boundary inputs -> remaining backbone layers -> head
    inputs = [keras.Input(shape=tuple(t.shape[1:]), name=f"boundary_{i}") for i, t in enumerate(boundary)]
    frozen_ids = {id(layer) for layer in backbone.layers[:n_frozen]}
    inner = _replay(backbone, {id(t): x for t, x in zip(boundary, inputs)}, skip=frozen_ids)
    backbone_features = inner[id(backbone.outputs[0])]
    outer = _replay(model, {id(backbone_node.outputs[0]): backbone_features}, skip={id(backbone)})
    suffix_inputs = inputs if len(inputs) > 1 else inputs[0]
    suffix = keras.Model(suffix_inputs, outer[id(model.outputs[0])], name=f"{model.name}_suffix_{n_frozen}")
    features = None
    if feature_layer is not None:
        original = model.get_layer(feature_layer).output
        features = keras.Model(suffix_inputs, outer[id(original)], name=f"{model.name}_features_{n_frozen}")
    return FreezeSplit(
        prefix=prefix, suffix=suffix, features=features, n_frozen=n_frozen,
        boundary_names=[_tensor_name(t) for t in boundary],
        boundary_shapes=[tuple(int(d) for d in t.shape[1:]) for t in boundary],
    )


def cache_nbytes(split: FreezeSplit, n_images: int, dtype="float32") -> int:
    """Bytes the boundary activations of ``n_images`` images take."""
    per_image = sum(math.prod(shape) for shape in split.boundary_shapes)
    return int(per_image * n_images * np.dtype(dtype).itemsize)


@timing.timed("features")
def compute_activations(
    prefix: keras.Model,
    images: np.ndarray,
    batch_size: int = 32,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    cache_dir: str | Path | None = None,
) -> list[np.ndarray]:
    """Run ``prefix`` once over ``images``; return one array per boundary tensor.

    Parameters
    ----------
    prefix : keras.Model
        ``FreezeSplit.prefix``.
    images : ndarray of shape (n, height, width, 3)
    batch_size : int
    max_memory_bytes : int
        Above this size the arrays are memory-mapped ``.npy`` files under
        ``cache_dir`` (default ``mstl_lib.paths.freeze_cache_dir()``), which the caller
        may delete after training.
    cache_dir : path, optional

    Returns
    -------
    list of ndarray (or numpy.memmap), float32, shape ``(n, *boundary shape)``
    """
    images = np.asarray(images, dtype="float32")
    n = len(images)
    shapes = [tuple(int(d) for d in t.shape[1:]) for t in prefix.outputs]
    nbytes = sum(math.prod(s) for s in shapes) * n * 4
    if nbytes > max_memory_bytes:
        folder = Path(cache_dir or freeze_cache_dir())
        folder.mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex[:12]
        arrays = [np.lib.format.open_memmap(folder / f"{stem}_{i}.npy", mode="w+", dtype="float32",
                                            shape=(n, *s)) for i, s in enumerate(shapes)]
    else:
        arrays = [np.empty((n, *s), dtype="float32") for s in shapes]
    for start, outputs in _batched_outputs(prefix, images, batch_size):
        for array, output in zip(arrays, outputs):
            array[start:start + len(output)] = output
    for array in arrays:
        if isinstance(array, np.memmap):
            array.flush()
    return arrays


@dataclass
class CachedRows:
    """The prefix's boundary activations of some rows of a dataset, addressed by those rows.

    Attributes
    ----------
    arrays : list of ndarray
        One array per boundary tensor, in the order of ``rows``.
    position : ndarray of int
        Dataset row -> index into ``arrays`` (-1 for a row not cached).
    seconds : float
        Time the prefix took.
    """

    arrays: list
    position: np.ndarray
    seconds: float

    def take(self, rows) -> list[np.ndarray]:
        """Every boundary array's entries of dataset ``rows``.

        Raises
        ------
        KeyError
            A row that was not cached.
        """
        index = self.position[np.asarray(rows, dtype=int)]
        if (index < 0).any():
            raise KeyError(f"rows {np.asarray(rows)[index < 0][:5].tolist()} were not cached")
        return [array[index] for array in self.arrays]

    def inputs(self, rows):
        """The suffix's input for ``rows``: one array, or a list where the boundary has several tensors."""
        arrays = self.take(rows)
        return arrays[0] if len(arrays) == 1 else arrays

    @property
    def nbytes(self) -> int:
        return int(sum(array.nbytes for array in self.arrays))


def cache_rows(prefix: keras.Model, images: np.ndarray, parts: dict, keys=("fit", "val", "test"),
               batch_size: int = 32) -> CachedRows:
    """Run ``prefix`` once over every row of ``parts[key]`` for ``keys`` (rows of ``images``).

    Parameters
    ----------
    prefix : keras.Model
        ``FreezeSplit.prefix``.
    images : ndarray
        The whole dataset's images; only the rows named in ``parts`` are run.
    parts : dict
        ``{part name: row indices}``.
    """
    rows = np.unique(np.concatenate([np.asarray(parts[key], dtype=int) for key in keys]))
    position = np.full(len(images), -1)
    position[rows] = np.arange(len(rows))
    start = time.perf_counter()
    arrays = compute_activations(prefix, images[rows], batch_size=batch_size)
    return CachedRows(arrays, position, time.perf_counter() - start)


def _batched_outputs(model: keras.Model, inputs, batch_size: int):
    """Yield ``(start, [output arrays])`` of ``model`` over ``inputs`` in batches.

    Eager calls in inference mode: tracing a large network for ``predict``
    costs seconds, more than one pass over a few hundred small images.
    """
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    n = len(inputs[0])
    for start in range(0, n, batch_size):
        batch = [np.asarray(x[start:start + batch_size], dtype="float32") for x in inputs]
        outputs = model(batch[0] if len(batch) == 1 else batch, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        yield start, [np.asarray(o) for o in outputs]


@timing.timed("predict")
def predict_arrays(model: keras.Model, inputs, batch_size: int = 64) -> np.ndarray:
    """``model``'s (single) output over ``inputs`` (an array or a list of arrays), eagerly."""
    parts = [outputs[0] for _, outputs in _batched_outputs(model, inputs, batch_size)]
    return np.concatenate(parts) if parts else np.empty((0,))


def activation_dataset(
    arrays: list[np.ndarray],
    labels: np.ndarray | None,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
):
    """Batches of cached boundary activations (and labels) for the suffix model.

    Mirrors :func:`mstl_lib.nn.training.make_dataset` (same shuffle, repeat and
    batch order, so a fixed seed visits the images in the same order as the
    naive pipeline): :func:`mstl_lib.nn.pipeline.array_dataset` over the arrays.
    Under ``tf.data``, in-memory arrays are sliced by ``tf.data`` and memory-mapped
    ones gathered batch by batch from disk.
    """
    return pipeline.array_dataset(list(arrays), None if labels is None else np.asarray(labels), batch_size,
                                  shuffle=shuffle, seed=seed, repeat=repeat)
