"""Benchmark: training throughput of ResNet50 at 75 px, batch 16, in one run, as ratios.

Variants, each on the same random images, each timed after one untimed warm-up epoch:

* ``naive``     Keras ``fit`` on NumPy arrays, as the papers' authors write it (the baseline);
* ``library``   the library's training path (``nn.training.make_dataset`` + ``nn.training.fit``);
* ``bfloat16``  the library's path under the ``mixed_bfloat16`` policy (the output layer
  and the loss stay float32; this CPU has AVX512-BF16);
* ``xla``       the library's path with the training step compiled by XLA (``jit_compile=True``).

It also measures this machine's float32 GEMM peak (a large matmul through
TensorFlow's oneDNN and through NumPy, the higher of the two), converts the best
variant into GFLOP/s (about 3.2 GFLOP per trained ResNet50 image at 75 px,
forward plus backward, scaling with the pixel count) and prints it as a share
of that roofline. Per-task fixed costs are printed too: building the model,
the first (tracing) epoch, and the stall between an epoch's start and its first
batch.

Only ratios measured in one run mean anything on these shared machines::

    python bench/train_throughput.py --images 256 --epochs 2

It runs on any Keras backend and prints which one it used; on a GPU machine with
JAX and no TensorFlow (NumPy input pipeline, GEMM peak through JAX)::

    KERAS_BACKEND=jax python bench/train_throughput.py --images 1024 --batch-size 64
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mstl_lib.nn import runtime  # noqa: E402
from mstl_lib.nn.runtime import set_seed  # noqa: E402

keras = runtime.import_keras()

from mstl_lib.nn.classifier import build_classifier  # noqa: E402
from mstl_lib.nn.heads import gap_dense_head  # noqa: E402
from mstl_lib.nn.training import fit, make_dataset, make_optimizer, steps_for  # noqa: E402

GFLOP_PER_IMAGE_75PX = 3.2
"""Forward + backward cost of one ResNet50 training image at 75 px (FACTS)."""

GOALS = {"speedup": 1.6, "roofline_share": 0.60}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=75)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--backbone", default="ResNet50")
    return parser.parse_args(argv)


def gemm_peak_gflops(n: int = 2048, repeats: int = 5) -> dict:
    """Best float32 matmul rate through the Keras backend and through NumPy, GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype="float32"), rng.random((n, n), dtype="float32")
    rates = {}
    ta, tb = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
    keras.ops.convert_to_numpy(keras.ops.matmul(ta, tb))
    backend_matmul = lambda: keras.ops.convert_to_numpy(keras.ops.matmul(ta, tb))  # noqa: E731
    for name, multiply in ((runtime.backend(), backend_matmul), ("numpy", lambda: a @ b)):
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - start)
        rates[name] = 2 * n**3 / best / 1e9
    return rates


class EpochClock(keras.callbacks.Callback):
    """Epoch wall times and the stall from each epoch's start to its first batch's end."""

    def __init__(self):
        super().__init__()
        self.epochs, self.stalls = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.first = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None:
            self.first = time.perf_counter() - self.start

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(time.perf_counter() - self.start)
        self.stalls.append(self.first or 0.0)


def run_variant(name, args, images, labels) -> dict:
    """Build, warm up one epoch, then time ``args.epochs`` epochs; returns rates and fixed costs."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if name == "bfloat16" else "float32")
    set_seed(0)
    start = time.perf_counter()
    model, _ = build_classifier(args.backbone, (args.size, args.size, 3), gap_dense_head(2), weights=None)
    model.compile(make_optimizer("adam", 1e-4), "sparse_categorical_crossentropy", jit_compile=name == "xla")
    build_s = time.perf_counter() - start
    steps = steps_for(len(images), args.batch_size)
    if name == "naive":
        def train(epochs, callbacks):
            model.fit(images, labels, batch_size=args.batch_size, epochs=epochs, shuffle=True,
                      callbacks=callbacks, verbose=0)
    else:
        dataset = make_dataset(images, labels, args.batch_size, shuffle=True, seed=0, repeat=True)

        def train(epochs, callbacks):
            fit(model, dataset, epochs=epochs, steps_per_epoch=steps, callbacks=callbacks, run_eagerly=False)
    warm = EpochClock()
    train(1, [warm])
    clock = EpochClock()
    train(args.epochs, [clock])
    keras.mixed_precision.set_global_policy("float32")
    seconds = sum(clock.epochs)
    return {"variant": name, "img_s": len(images) * args.epochs / seconds, "build_s": build_s,
            "first_epoch_s": warm.epochs[0], "stall_s": float(np.mean(clock.stalls)),
            "steady_epoch_s": float(np.mean(clock.epochs))}


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(0)
    images = rng.random((args.images, args.size, args.size, 3), dtype="float32")
    labels = rng.integers(0, 2, args.images)
    peak = gemm_peak_gflops()
    where = runtime.describe()
    print(f"Keras backend: {where['keras_backend']}, input pipeline: {where['input_pipeline']}, "
          f"devices: {', '.join(where.get('devices', [])) or 'unknown'}")
    threads = ""
    if where["keras_backend"] == "tensorflow":
        tf = runtime.import_tensorflow()
        threads = (f"; threads: intra {tf.config.threading.get_intra_op_parallelism_threads()}"
                   f", inter {tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores)")
    print(f"{args.backbone} at {args.size} px, batch {args.batch_size}, {args.images} random images, "
          f"{args.epochs} timed epochs after 1 warm-up epoch{threads}")
    print("float32 GEMM peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
    rows = [run_variant(name, args, images, labels) for name in ("naive", "library", "bfloat16", "xla")]
    base = rows[0]["img_s"]
    print(f"{'variant':<10} {'img/s':>7} {'x naive':>8} {'build s':>8} {'1st epoch s':>12} {'stall s':>8} {'epoch s':>8}")
    for row in rows:
        print(f"{row['variant']:<10} {row['img_s']:>7.1f} {row['img_s'] / base:>8.2f} {row['build_s']:>8.1f} "
              f"{row['first_epoch_s']:>12.1f} {row['stall_s']:>8.2f} {row['steady_epoch_s']:>8.1f}")
    best = max(rows[1:], key=lambda r: r["img_s"])
    gflop = GFLOP_PER_IMAGE_75PX * (args.size / 75) ** 2
    achieved = best["img_s"] * gflop
    roofline = max(peak.values())
    print(f"best library variant: {best['variant']}, {best['img_s'] / base:.2f}x the naive baseline "
          f"(goal {GOALS['speedup']}x: {'met' if best['img_s'] / base >= GOALS['speedup'] else 'not met'}); "
          f"{achieved:.0f} GFLOP/s = {achieved / roofline:.0%} of the float32 GEMM peak "
          f"(goal {GOALS['roofline_share']:.0%}: {'met' if achieved / roofline >= GOALS['roofline_share'] else 'not met'})")
    return rows


if __name__ == "__main__":
    main()
