"""Naive vs cached training at P4's freeze depths (not a test; prints and saves timings).

For each backbone and strategy (percent of layers trainable) one subprocess builds
P4's classifier (random weights: only the time matters), then

1. *cached*: runs the frozen prefix once over the images (the one-off caching cost),
   trains the suffix + head on the cached boundary activations;
2. *naive*: trains the full model (frozen layers recomputed every step).

Each is warmed up for one epoch (which traces the training graph) and then timed over
``--epochs`` epochs. Peak memory is the subprocess's maximum resident set size
(``ru_maxrss``) after the cached run and after the naive one (the second includes the
first, so it is an upper bound for naive). Results go to stdout and to
``build/bench/freeze_cache_benchmark.json``, which the P4 chapter shows.

Usage (from the repository root; takes several minutes, so use the CPU lock)::

    flock /tmp/mstl_cpu.lock python bench/freeze_cache.py
    python bench/freeze_cache.py --backbones ResNet50 --strategies 0 15 --images 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _images(n: int, size: int):
    """The first ``n`` BUSI images (benign vs malignant) at ``size``, or random ones without data."""
    import numpy as np

    from mstl_lib.data import dataset_root, locate_data_dir
    from mstl_lib.data.sources import REAL, DataSource
    from mstl_lib.data.tables import image_array
    from mstl_lib.papers.p4_finetuning import protocol

    root, _ = locate_data_dir("auto")
    try:
        source = DataSource("busi", "train", REAL, str(dataset_root(root, "busi")))
        table = protocol.task_table(source, "none").iloc[:n]
        return image_array(tuple(table["path"]), size), table["target"].to_numpy("int32"), "BUSI"
    except Exception:  # noqa: BLE001 - no data: random images time the same
        rng = np.random.default_rng(0)
        return rng.random((n, size, size, 3), dtype="float32"), (np.arange(n) % 2).astype("int32"), "random"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_fit(model, dataset, steps: int, epochs: int) -> float:
    """Seconds per epoch over ``epochs`` epochs, after one warm-up epoch that traces."""
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - start) / epochs


def measure_one(backbone: str, pct: int, n_images: int, size: int, batch: int, epochs: int) -> dict:
    """Both paths for one (backbone, strategy), in this process."""
    import keras

    from mstl_lib.nn import freeze_cache, training
    from mstl_lib.papers.p4_finetuning import tasks
    from mstl_lib.seeding import seed_everything

    images, labels, source = _images(n_images, size)
    steps = training.steps_for(len(images), batch)
    seed_everything(0)
    model, n_frozen, _ = tasks.build_p4_model(backbone, size, pct, weights=None)

    def compiled(m):
        m.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
        return m

    row = {"backbone": backbone, "trainable_pct": pct, "n_frozen": n_frozen, "images": len(images),
           "image_size": size, "batch_size": batch, "data": source}
    if n_frozen >= 1:
        split = freeze_cache.split_classifier(model, n_frozen)
        start = time.perf_counter()
        cache = freeze_cache.compute_activations(split.prefix, images, batch_size=32)
        row["cache_s"] = time.perf_counter() - start
        row["cache_MB"] = sum(a.nbytes for a in cache) / 1e6
        row["boundary_tensors"] = len(cache)
        dataset = freeze_cache.activation_dataset(cache, labels, batch, shuffle=True, repeat=True)
        row["cached_epoch_s"] = _time_fit(compiled(split.suffix), dataset, steps, epochs)
        row["cached_peak_MB"] = _peak_mb()
    dataset = training.make_dataset(images, labels, batch, shuffle=True, repeat=True)
    row["naive_epoch_s"] = _time_fit(compiled(model), dataset, steps, epochs)
    row["naive_peak_MB"] = _peak_mb()
    if n_frozen >= 1:
        row["speedup"] = row["naive_epoch_s"] / row["cached_epoch_s"]
        row["epochs_to_repay_cache"] = row["cache_s"] / max(row["naive_epoch_s"] - row["cached_epoch_s"], 1e-9)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["ResNet50", "InceptionV3"])
    parser.add_argument("--strategies", nargs="+", type=int, default=[0, 15, 50, 85],
                        help="percent of layers trainable (P4's strategies)")
    parser.add_argument("--images", type=int, default=160)
    parser.add_argument("--size", type=int, default=75)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    parser.add_argument("--one", nargs=2, metavar=("BACKBONE", "PCT"), help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    if args.one:
        row = measure_one(args.one[0], int(args.one[1]), args.images, args.size, args.batch, args.epochs)
        print("ROW " + json.dumps(row))
        return 0

    rows = []
    header = (f"{'backbone':12} {'train%':>6} {'frozen':>6} {'naive s/ep':>10} {'cached s/ep':>11} {'ratio':>6} "
              f"{'cache s':>7} {'cache MB':>8} {'peak MB naive/cached':>21}")
    print(header)
    for backbone in args.backbones:
        for pct in args.strategies:
            command = [sys.executable, __file__, "--one", backbone, str(pct), "--images", str(args.images),
                       "--size", str(args.size), "--batch", str(args.batch), "--epochs", str(args.epochs)]
            out = subprocess.run(command, capture_output=True, text=True, check=False,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            found = [line[4:] for line in out.stdout.splitlines() if line.startswith("ROW ")]
            if not found:
                print(f"{backbone} {pct}% failed:\n{out.stderr[-2000:]}")
                continue
            row = json.loads(found[0])
            rows.append(row)
            print(f"{backbone:12} {pct:>6} {row['n_frozen']:>6} {row['naive_epoch_s']:>10.2f} "
                  f"{row.get('cached_epoch_s', float('nan')):>11.3f} {row.get('speedup', float('nan')):>6.1f} "
                  f"{row.get('cache_s', float('nan')):>7.2f} {row.get('cache_MB', 0):>8.1f} "
                  f"{row['naive_peak_MB']:>10.0f}/{row.get('cached_peak_MB', float('nan')):<10.0f}", flush=True)
    if rows and not args.no_save:
        from mstl_lib.papers.p4_finetuning.report import benchmark_path

        path = benchmark_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"summary": f"{args.images} BUSI images at {args.size} px, batch {args.batch}, "
                           f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
                           f"{args.epochs} timed epochs after a warm-up",
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(args)}
        path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
