"""Benchmark: P1's stage-2 recipe over three folds in one worker, traced once against traced per fold.

``nn.compiled.compiled_once`` lets the folds after the first train a kept compiled
model, so they skip tracing. This runs P1's own ``train_recipe`` (ResNet50 at
75 px, the ``cpu`` profile's epochs, batch size, threefold augmentation and
learning-rate schedule) on random images the size of the ``cpu`` book's folds, in
one process per mode, the modes alternating, and prints each fold's time and
phases and the ratio of the two::

    python bench/trace_reuse.py                  # adam, 3 folds, 1 round
    python bench/trace_reuse.py --optimizer adagrad --rounds 2

Only ratios measured in one run mean anything on these shared machines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ("traced once", "traced per fold")


def child(mode: str, optimizer: str, folds: int, train_images: int) -> list[dict]:
    sys.path.insert(0, str(REPO))
    import numpy as np  # noqa: PLC0415

    from mstl_lib import timing  # noqa: PLC0415
    from mstl_lib.engine.task import release_framework_memory  # noqa: PLC0415
    from mstl_lib.nn import compiled  # noqa: PLC0415
    from mstl_lib.nn.runtime import set_seed  # noqa: PLC0415
    from mstl_lib.papers.p1_mstl import protocol, settings, tasks  # noqa: PLC0415

    config = {**settings.CHAPTER.by_profile["cpu"], "optimizer": optimizer}
    size = int(config["image_size"])
    rng = np.random.default_rng(0)
    out = []
    for fold in range(folds):
        release_framework_memory()  # what the engine does between tasks
        if mode == MODES[1]:
            compiled.forget()
        timing.reset()
        start = time.perf_counter()
        set_seed(fold)
        model, _ = tasks.stage2_architecture("ResNet50", (size, size, 3))  # random initialisation
        images = rng.random((train_images + 80, size, size, 3), dtype="float32")
        labels = rng.integers(0, 2, len(images)).astype("float32")
        train, val, test = slice(0, train_images), slice(train_images, train_images + 40), slice(train_images + 40, None)
        tasks.train_recipe(model, (images[train], labels[train]), (images[val], labels[val]), images[test], config,
                           loss="binary_crossentropy", augmentation=protocol.STAGE2_AUGMENTATION, seed=fold)
        out.append({"fold": fold, "seconds": time.perf_counter() - start, **timing.tally()})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizer", default="adam", choices=("sgd", "adam", "adagrad"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=120, help="per fold, before the threefold augmentation")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.optimizer, args.folds, args.train_images)))
        return 0
    sys.path.insert(0, str(REPO))
    from mstl_lib.engine.provenance import cpu_model, usable_cpus  # noqa: PLC0415

    print(f"{cpu_model()}, {usable_cpus()} usable cores; P1 stage 2, ResNet50 75 px, {args.optimizer}, "
          f"{args.folds} folds of {args.train_images} training images (x3 augmented), {args.rounds} round(s)")
    totals = {mode: [] for mode in MODES}
    for round_ in range(args.rounds):
        for mode in (MODES if round_ % 2 == 0 else MODES[::-1]):
            done = subprocess.run([sys.executable, __file__, "--child", mode, "--optimizer", args.optimizer,
                                   "--folds", str(args.folds), "--train-images", str(args.train_images)],
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
            if done.returncode != 0 or not lines:
                print(f"{mode}: failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
                return 1
            folds = json.loads(lines[-1])
            totals[mode].append(sum(f["seconds"] for f in folds))
            for f in folds:
                phases = ", ".join(f"{k} {v:.1f}" for k, v in f.items() if k not in ("fold", "seconds"))
                print(f"round {round_ + 1}, {mode}, fold {f['fold']}: {f['seconds']:.1f} s ({phases})")
    once, per_fold = (sum(totals[m]) / len(totals[m]) for m in MODES)
    print(f"\nall folds: traced once {once:.1f} s, traced per fold {per_fold:.1f} s: "
          f"{per_fold / once:.2f}x faster, {per_fold - once:.1f} s saved per {args.folds} folds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
