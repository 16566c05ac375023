"""Benchmark: ``model.fit`` on NumPy arrays vs the library's tf.data pipeline.

Trains one randomly initialised classifier (default ResNet50 at 75 px) on
random images and reports training throughput for

* ``numpy``         ``model.fit(x, y)``, the naive baseline;
* ``tf.data``       ``fit`` on ``make_dataset(...)`` (autotune disabled);
* ``tf.data+repeat`` the same, repeated, with ``steps_per_epoch``.

Each variant gets one untimed warm-up epoch (tracing), then ``--epochs``
timed epochs. Example::

    python bench/input_pipeline.py --images 128 --epochs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mstl_lib.nn.runtime import import_tensorflow, set_seed  # noqa: E402

import_tensorflow()
import keras  # noqa: E402

from mstl_lib.nn.classifier import build_classifier

from mstl_lib.nn.heads import gap_dense_head
from mstl_lib.nn.training import fit, make_dataset, make_optimizer, steps_for  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=256, help="number of random images")
    parser.add_argument("--size", type=int, default=75, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per variant")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone", default="ResNet50")
    return parser.parse_args(argv)


def random_data(n, size, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, size, size, 3), dtype="float32")
    labels = rng.integers(0, 2, n)
    return images, labels


class BatchClock(keras.callbacks.Callback):
    """Seconds from epoch start to the end of its first batch, and per later batch.

    A large ``first`` shows a stall at epoch start (iterator creation).
    """

    def __init__(self):
        super().__init__()
        self.first, self.rest = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        if batch > 0:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self.started
        (self.first if batch == 0 else self.rest).append(elapsed)


def timed(train_epochs, n_images, epochs):
    """Run ``train_epochs`` for 1 untimed epoch, then time ``epochs`` epochs.

    ``train_epochs(epochs, callbacks)`` trains; returns images/s, seconds
    and the :class:`BatchClock` of the timed run.
    """
    start = time.perf_counter()
    train_epochs(1, [])
    warm_up = time.perf_counter() - start
    clock = BatchClock()
    start = time.perf_counter()
    train_epochs(epochs, [clock])
    seconds = time.perf_counter() - start
    return n_images * epochs / seconds, seconds, warm_up, clock


def main(argv=None):
    args = parse_args(argv)
    set_seed(0)
    images, labels = random_data(args.images, args.size)
    model, _ = build_classifier(args.backbone, (args.size, args.size, 3), gap_dense_head(2), weights=None)
    model.compile(make_optimizer("adam", 1e-4), "sparse_categorical_crossentropy")
    steps = steps_for(args.images, args.batch_size)

    def numpy_fit(epochs, callbacks):
        model.fit(
            images, labels, batch_size=args.batch_size, epochs=epochs, shuffle=True, callbacks=callbacks, verbose=0
        )

    dataset = make_dataset(images, labels, args.batch_size, shuffle=True)

    def dataset_fit(epochs, callbacks):
        fit(model, dataset, epochs=epochs, callbacks=callbacks)

    repeated = make_dataset(images, labels, args.batch_size, shuffle=True, repeat=True)

    def repeated_fit(epochs, callbacks):
        fit(model, repeated, epochs=epochs, steps_per_epoch=steps, callbacks=callbacks)

    print(
        f"{args.backbone}, {args.images} random images of {args.size} px, batch {args.batch_size}, "
        f"{args.epochs} timed epochs after 1 warm-up epoch"
    )
    results = {}
    variants = [("numpy", numpy_fit), ("tf.data", dataset_fit), ("tf.data+repeat", repeated_fit)]
    for label, train_epochs in variants:
        rate, seconds, warm_up, clock = timed(train_epochs, args.images, args.epochs)
        results[label] = rate
        print(
            f"  {label:<15} {rate:7.1f} img/s  ({seconds:.1f} s after a {warm_up:.1f} s warm-up; "
            f"epoch start to first batch end {np.mean(clock.first):.2f} s, "
            f"other batches {np.mean(clock.rest or [np.nan]):.2f} s)"
        )
    for label in ("tf.data", "tf.data+repeat"):
        print(f"  ratio {label} / numpy: {results[label] / results['numpy']:.2f}")
    return results


if __name__ == "__main__":
    main()
