"""Benchmark: the book's own training workloads on every Keras backend, as ratios from one run.

Each (backend, workload) runs in a process of its own, and the backends alternate
within each round, so that a machine's drift falls on all of them alike::

    python bench/backends.py                      # every installed backend, every workload, 2 rounds
    python bench/backends.py --backends tensorflow,jax --workloads p1-resnet50 --rounds 3

The workloads are the ``cpu`` book's (random images of the book's sizes; the
numbers of images are the bench's, small enough for a few minutes per cell):

* ``p1-resnet50``: ResNet50 at 75 px, every layer trained, batch 16 (P1, P4);
* ``p4-inceptionv3``: InceptionV3 at 75 px, every layer trained, batch 16 (P4);
* ``p3-alexnet`` and ``p3-resnet18``: torchvision's layouts at 64 px, batch 16 (P3);
* ``freeze-pass``: the frozen half of ResNet50 over the images once, as the freeze
  cache computes it (P3, P4).

For each it prints the process's Keras import, the model build, the first
(tracing) epoch, the steady training rate and the predict rate, then each
backend's steady and end-to-end time (import + build + first epoch + the book's
epochs) as a ratio to TensorFlow's. A backend that is not installed is skipped,
saying so. The input pipeline is the one ``make book BACKEND=...`` would use (tf.data
wherever TensorFlow is installed; ``MSTL_INPUT_PIPELINE`` overrides it). Only ratios
measured in one run mean anything on these shared machines.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
WORKLOADS = {
    # name: (backbone, size, batch, trained images per epoch, the book's epochs per task)
    "p1-resnet50": ("ResNet50", 75, 16, 128, 3),
    "p4-inceptionv3": ("InceptionV3", 75, 16, 128, 3),
    "p3-alexnet": ("AlexNet", 64, 16, 128, 10),
    "p3-resnet18": ("ResNet18", 64, 16, 128, 10),
    "freeze-pass": ("ResNet50", 75, 32, 256, 1),
}
BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
WIN_RATIO = 1.3
"""The margin at which another backend would become the cpu default (the issue's rule)."""


def child(workload: str, images_override: int | None = None) -> dict:
    """Run one workload in this process (its backend set by ``KERAS_BACKEND``); returns its times."""
    start = time.perf_counter()
    sys.path.insert(0, str(REPO))
    import numpy as np  # noqa: PLC0415

    from mstl_lib.nn import runtime  # noqa: PLC0415

    keras = runtime.import_keras()
    from mstl_lib.nn import torchvision_models  # noqa: F401, PLC0415 - registers AlexNet and ResNet18
    from mstl_lib.nn.classifier import build_classifier  # noqa: PLC0415
    from mstl_lib.nn.freeze_cache import compute_activations, split_classifier  # noqa: PLC0415
    from mstl_lib.nn.heads import gap_dense_head  # noqa: PLC0415
    from mstl_lib.nn.training import fit, make_dataset, make_optimizer, predict_scores, steps_for  # noqa: PLC0415

    import_s = time.perf_counter() - start
    backbone, size, batch, n, epochs = WORKLOADS[workload]
    n = images_override or n
    rng = np.random.default_rng(0)
    images = rng.random((n, size, size, 3), dtype="float32")
    labels = rng.integers(0, 2, n)
    runtime.set_seed(0)
    start = time.perf_counter()
    model, _ = build_classifier(backbone, (size, size, 3), gap_dense_head(2), weights=None)
    build_s = time.perf_counter() - start
    out = {"backend": keras.backend.backend(), "workload": workload, "import_s": import_s, "build_s": build_s,
           "book_epochs": epochs, "images": n}
    if workload == "freeze-pass":
        split = split_classifier(model, len(model.get_layer("backbone").layers) // 2)
        start = time.perf_counter()
        compute_activations(split.prefix, images[:batch], batch_size=batch)  # traces
        out["first_epoch_s"] = time.perf_counter() - start
        start = time.perf_counter()
        compute_activations(split.prefix, images, batch_size=batch)
        out["steady_epoch_s"] = time.perf_counter() - start
        out["predict_img_s"] = n / out["steady_epoch_s"]
        return out
    model.compile(make_optimizer("adam", 1e-4), "sparse_categorical_crossentropy")
    dataset = make_dataset(images, labels, batch, shuffle=True, seed=0, repeat=True)
    steps = steps_for(n, batch)
    start = time.perf_counter()
    fit(model, dataset, epochs=1, steps_per_epoch=steps, run_eagerly=False)
    out["first_epoch_s"] = time.perf_counter() - start
    start = time.perf_counter()
    fit(model, dataset, epochs=2, steps_per_epoch=steps, run_eagerly=False)
    out["steady_epoch_s"] = (time.perf_counter() - start) / 2
    predict_scores(model, images[:batch], batch_size=batch)
    start = time.perf_counter()
    predict_scores(model, images, batch_size=batch)
    out["predict_img_s"] = n / (time.perf_counter() - start)
    return out


def run_cell(backend: str, workload: str, timeout: float, images: int | None = None) -> dict:
    """One (backend, workload) in a fresh process; a failure is returned as ``{"error": ...}``."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}  # the input pipeline is the
    # library's default, as under make book BACKEND=<backend>: tf.data wherever TensorFlow is installed
    try:
        command = [sys.executable, __file__, "--child", workload] + (["--images", str(images)] if images else [])
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"backend": backend, "workload": workload, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"backend": backend, "workload": workload, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


def end_to_end_s(cell: dict) -> float:
    """One task's time on this workload: import, build, the first epoch, then the book's remaining epochs."""
    return cell["import_s"] + cell["build_s"] + cell["first_epoch_s"] + (cell["book_epochs"] - 1) * cell["steady_epoch_s"]


def summarise(cells: list[dict], backends: list[str], workloads: list[str]) -> list[str]:
    """The table of medians over rounds, with ratios to TensorFlow, and the verdict per workload."""
    lines = [f"{'workload':<15} {'backend':<11} {'import s':>8} {'build s':>8} {'1st epoch s':>11} {'epoch s':>8} "
             f"{'predict/s':>9} {'task s':>7} {'steady x':>8} {'task x':>7}"]
    verdicts = []
    for workload in workloads:
        medians = {}
        for backend in backends:
            runs = [c for c in cells if c["backend"] == backend and c["workload"] == workload and "error" not in c]
            failed = [c["error"] for c in cells if c["backend"] == backend and c["workload"] == workload and "error" in c]
            if not runs:
                lines.append(f"{workload:<15} {backend:<11} failed: {failed[0] if failed else 'not run'}")
                continue
            keys = ("import_s", "build_s", "first_epoch_s", "steady_epoch_s", "predict_img_s")
            medians[backend] = {k: statistics.median(r[k] for r in runs) for k in keys} | {
                "book_epochs": runs[0]["book_epochs"]}
        base = medians.get("tensorflow")
        for backend, m in medians.items():
            task = end_to_end_s(m)
            steady = base["steady_epoch_s"] / m["steady_epoch_s"] if base else float("nan")
            whole = end_to_end_s(base) / task if base else float("nan")
            lines.append(f"{workload:<15} {backend:<11} {m['import_s']:8.1f} {m['build_s']:8.1f} "
                         f"{m['first_epoch_s']:11.1f} {m['steady_epoch_s']:8.2f} {m['predict_img_s']:9.0f} "
                         f"{task:7.1f} {steady:8.2f} {whole:7.2f}")
            if base and backend != "tensorflow" and whole >= WIN_RATIO:
                verdicts.append(f"{backend} is {whole:.2f}x TensorFlow end to end on {workload}")
    lines.append("")
    lines.append("x: TensorFlow's time over the backend's (above 1: the backend is faster). "
                 + ("; ".join(verdicts) if verdicts else
                    f"No backend beats TensorFlow by {WIN_RATIO}x end to end on any workload here."))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--images", type=int, help="images per workload instead of the table's (a quick check)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.images)))
        return 0
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; the workloads are {', '.join(WORKLOADS)}")
    backends = []
    for backend in args.backends.split(","):
        if importlib.util.find_spec(BACKEND_MODULE.get(backend, backend)) is None:
            print(f"{backend}: not installed here, skipped")
        else:
            backends.append(backend)
    sys.path.insert(0, str(REPO))
    from mstl_lib.engine.provenance import cpu_model, usable_cpus  # noqa: PLC0415

    print(f"{cpu_model()}, {usable_cpus()} usable cores; {args.rounds} round(s), backends alternating")
    cells = []
    for round_ in range(args.rounds):
        for workload in workloads:
            order = backends if round_ % 2 == 0 else backends[::-1]
            for backend in order:
                cell = run_cell(backend, workload, args.timeout, args.images)
                cells.append(cell)
                state = cell.get("error") or f"epoch {cell['steady_epoch_s']:.2f} s"
                print(f"round {round_ + 1}: {workload} on {backend}: {state}", flush=True)
    print()
    print("\n".join(summarise(cells, backends, workloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
