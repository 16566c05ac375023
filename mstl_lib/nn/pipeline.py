"""Input pipelines over NumPy arrays: ``tf.data`` where TensorFlow is installed, a ``PyDataset`` where not.

:func:`array_dataset` batches one array (or a tuple of arrays) and optional
labels, shuffled reproducibly from a seed, optionally repeated and augmented.
:func:`mstl_lib.nn.runtime.input_pipeline` picks the implementation:

``tf.data``
    Autotuning disabled and a fixed prefetch of :data:`PREFETCH_BATCHES` (measured
    faster on a 2-core CPU); memory-mapped arrays are gathered batch by batch.
``numpy``
    :class:`ArrayBatches`, a ``keras.utils.PyDataset`` that runs on every Keras
    backend without TensorFlow. It has the same semantics (reshuffle every epoch;
    ``repeat=True`` makes one endless stream of permutations cut into full
    batches, as ``shuffle().repeat().batch()`` does), but not the same order:
    the two pipelines draw their permutations from different generators.
"""

from __future__ import annotations

import sys

import numpy as np

from mstl_lib.nn.runtime import import_keras, import_tensorflow, input_pipeline

keras = import_keras()

__all__ = ["PREFETCH_BATCHES", "ArrayBatches", "array_dataset", "cardinality", "is_dataset"]

PREFETCH_BATCHES = 2


def _inputs(arrays):
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


# --------------------------------------------------------------------------- tf.data


def _pipeline_options():
    tf = import_tensorflow()
    options = tf.data.Options()
    options.autotune.enabled = False  # measured faster on small CPU machines
    options.deterministic = True
    return options


def _tf_dataset(arrays, labels, batch_size, shuffle, seed, repeat, augment):
    tf = import_tensorflow()
    n = len(arrays[0])
    on_disk = any(isinstance(a, np.memmap) for a in arrays)
    if on_disk:
        dataset = tf.data.Dataset.range(n)
    else:
        x = _inputs([np.asarray(a, dtype="float32") for a in arrays])
        dataset = tf.data.Dataset.from_tensor_slices(x if labels is None else (x, labels))
    if shuffle:
        dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size)
    if on_disk:
        def gather(index):
            out = [np.asarray(a[index], dtype="float32") for a in arrays]
            if labels is not None:
                out.append(labels[index])
            return tuple(out)

        dtypes = [tf.float32] * len(arrays) + ([] if labels is None else [tf.as_dtype(labels.dtype)])

        def load(index):
            out = tf.numpy_function(gather, [index], dtypes)
            xs = [tf.ensure_shape(t, (None, *a.shape[1:])) for t, a in zip(out, arrays)]
            x = _inputs(xs)
            return x if labels is None else (x, tf.ensure_shape(out[-1], (None,)))

        dataset = dataset.map(load)
    if augment is not None:
        if labels is None:
            dataset = dataset.map(lambda x: augment(x, training=True))
        else:
            dataset = dataset.map(lambda x, y: (augment(x, training=True), y))
    return dataset.prefetch(PREFETCH_BATCHES).with_options(_pipeline_options())


# --------------------------------------------------------------------------- NumPy


class ArrayBatches(keras.utils.PyDataset):
    """Batches of NumPy arrays for ``fit`` and ``predict`` on any Keras backend.

    Parameters
    ----------
    arrays : list of ndarray (or numpy.memmap)
        The inputs, each of length ``n``; one array gives single-input batches.
    labels : ndarray of shape (n, ...) or None
    batch_size : int
    shuffle : bool
        A new permutation every epoch, from ``numpy.random.default_rng(seed)``.
    seed : int
    repeat : bool
        One endless stream of permutations cut into full batches; an epoch is
        ``ceil(n / batch_size)`` of them (pass that as ``steps_per_epoch``).
        Every batch then has the same shape, so a jit-compiling backend traces once.
    augment : keras layer, optional
        Applied to each input batch with ``training=True``.
    """

    def __init__(self, arrays, labels, batch_size: int, shuffle: bool = False, seed: int = 0,
                 repeat: bool = False, augment=None):
        super().__init__()
        self.arrays, self.labels = list(arrays), labels
        self.n, self.batch_size = len(self.arrays[0]), int(batch_size)
        self.shuffle, self.repeat, self.augment = shuffle, repeat, augment
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.orders: list[np.ndarray] = []

    @property
    def num_batches(self) -> int:
        return max(1, -(-self.n // self.batch_size))

    def _order(self, k: int) -> np.ndarray:
        while len(self.orders) <= k:
            self.orders.append(self.rng.permutation(self.n) if self.shuffle else np.arange(self.n))
        return self.orders[k]

    def indices(self, index: int) -> np.ndarray:
        """Sample indices of batch ``index`` of the current epoch."""
        if not self.repeat:
            return self._order(self.epoch if self.shuffle else 0)[index * self.batch_size:(index + 1) * self.batch_size]
        start = (self.epoch * self.num_batches + index) * self.batch_size
        positions = np.arange(start, start + self.batch_size)
        first, last = positions[0] // self.n, positions[-1] // self.n
        stream = np.concatenate([self._order(k) for k in range(first, last + 1)])
        return stream[positions - first * self.n]

    def __getitem__(self, index: int):
        picked = self.indices(int(index))
        xs = [np.asarray(a[picked], dtype="float32") for a in self.arrays]
        if self.augment is not None:
            xs = [keras.ops.convert_to_numpy(self.augment(x, training=True)) for x in xs]
        x = _inputs(xs)
        return (x,) if self.labels is None else (x, self.labels[picked])

    def on_epoch_end(self):
        self.epoch += 1

    def __len__(self) -> int:
        return self.num_batches


# --------------------------------------------------------------------------- either


def array_dataset(arrays, labels, batch_size: int, shuffle: bool = False, seed: int = 0, repeat: bool = False,
                  augment=None):
    """Batched ``(inputs, labels)`` (or inputs only) over NumPy arrays, in the pipeline of this installation.

    Parameters
    ----------
    arrays : ndarray or list of ndarray
        One input, or one array per model input (cast to float32).
    labels : ndarray of shape (n, ...) or None
        None gives batches of inputs only (for prediction).
    batch_size : int
    shuffle, seed, repeat, augment
        See :class:`ArrayBatches`; ``tf.data`` behaves alike.

    Returns
    -------
    tf.data.Dataset or ArrayBatches
    """
    arrays = list(arrays) if isinstance(arrays, (list, tuple)) else [arrays]
    n = len(arrays[0])
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != n:
            raise ValueError(f"{n} images but {len(labels)} labels.")
    if input_pipeline() == "tf.data":
        return _tf_dataset(arrays, labels, batch_size, shuffle, seed, repeat, augment)
    arrays = [a if isinstance(a, np.memmap) else np.asarray(a, dtype="float32") for a in arrays]
    return ArrayBatches(arrays, labels, batch_size, shuffle=shuffle, seed=seed, repeat=repeat, augment=augment)


def is_dataset(data) -> bool:
    """Whether ``data`` is a pipeline (``tf.data.Dataset`` or ``PyDataset``) rather than an array."""
    if isinstance(data, keras.utils.PyDataset):
        return True
    tf = sys.modules.get("tensorflow")
    return tf is not None and hasattr(tf, "data") and isinstance(data, tf.data.Dataset)


def cardinality(dataset) -> int:
    """Batches in one pass over a finite dataset; 0 when unknown or infinite (a repeated ``tf.data``)."""
    if isinstance(dataset, keras.utils.PyDataset):
        return 0 if getattr(dataset, "repeat", False) else int(dataset.num_batches)
    n = int(dataset.cardinality())
    return n if n > 0 else 0
