"""Tiny, importable task functions for the experiment-engine tests and benchmark.

Subprocesses and dask workers import this module by name (``engine_tasks:...``),
so callers put its folder (``tests/engine``) on ``sys.path`` / ``PYTHONPATH``
(``tests/engine/conftest.py`` does both for the tests).

Every task appends ``<key-ish id>\\n`` to ``context["counter_file"]`` when given,
so a test can count how often each task really ran.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


class NonFiniteLossError(FloatingPointError):
    """Stand-in for ``mstl_lib.nn.training.NonFiniteLossError``."""


class UnreadableImageError(OSError):
    """Stand-in for an image reader's error."""


def _count(context: dict, config: dict, fold: int) -> None:
    """Append one line per run to the counter file (O_APPEND writes of one line are atomic)."""
    path = context.get("counter_file")
    if path:
        line = f"{config.get('name', config.get('mode', config))}|{fold}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def count_runs(counter_file: str | os.PathLike) -> dict[str, int]:
    """How many times each ``name|fold`` ran, from a counter file."""
    path = Path(counter_file)
    if not path.exists():
        return {}
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        counts[line] = counts.get(line, 0) + 1
    return counts


def _data(seed: int, n: int = 120):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (x @ np.array([1.0, -0.5, 0.25, 0.0]) + 0.5 * rng.normal(size=n) > 0).astype(int)
    return x, y


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties get average ranks."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for value in np.unique(score):
        tied = score == value
        ranks[tied] = ranks[tied].mean()
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ridge_task(config: dict, fold: int, context: dict) -> dict:
    """Ridge classifier (NumPy only, so workers start fast) on a seeded synthetic set.

    ``config["C"]`` is the inverse regularisation strength; the context gives
    ``seed``, ``n_folds`` and an optional ``sleep`` (seconds) to make the task slow.
    """
    time.sleep(float(context.get("sleep") or 0.0))
    x, y = _data(int(context.get("seed", 0)))
    n_folds = int(context.get("n_folds", 3))
    test = np.sort(np.random.default_rng(0).permutation(len(y)).reshape(n_folds, -1)[fold])
    train = np.setdiff1d(np.arange(len(y)), test)
    xt = np.c_[x[train], np.ones(len(train))]
    weights = np.linalg.solve(xt.T @ xt + np.eye(xt.shape[1]) / float(config["C"]), xt.T @ (2.0 * y[train] - 1))
    score = 1 / (1 + np.exp(-(np.c_[x[test], np.ones(len(test))] @ weights)))
    _count(context, config, fold)
    return {
        "metrics": {"auc": _auc(y[test], score), "accuracy": float(np.mean((score > 0.5) == y[test]))},
        "predictions": {"row": test, "y_true": y[test], "y_score": score},
        "history": {"loss": [1.0 / (e + 1 + config["C"]) for e in range(3)]},
        "extra": {"n_train": len(train)},
        "weights_used": "none",
    }


def random_task(config: dict, fold: int, context: dict) -> dict:
    """Metric drawn from NumPy's global generator: deterministic only if the engine seeds it."""
    _count(context, config, fold)
    return {"metrics": {"score": float(np.random.random())}}


def faulty_task(config: dict, fold: int, context: dict) -> dict:
    """Behaves as ``config["mode"]`` says: ok, raise, nan (exception), nan_history, oom, image."""
    mode = config["mode"]
    _count(context, config, fold)
    if mode == "raise":
        raise ValueError("deliberate failure")
    if mode == "nan":
        raise NonFiniteLossError("loss became nan at epoch 2")
    if mode == "oom":
        raise MemoryError("cannot allocate tensor")
    if mode == "image":
        try:
            raise OSError("cannot identify image file 'x.png'")
        except OSError as exc:
            raise UnreadableImageError("unreadable image x.png") from exc
    history = {"loss": [0.7, float("nan")]} if mode == "nan_history" else {"loss": [0.7, 0.5]}
    return {"metrics": {"score": 1.0 + fold}, "history": history}


def keras_task(config: dict, fold: int, context: dict) -> dict:
    """A few epochs of a tiny Keras linear regression (a huge ``lr`` makes the loss diverge)."""
    from mstl_lib.nn.runtime import import_tensorflow, set_seed

    import_tensorflow()
    import keras

    set_seed(int(context.get("seed", 0)) + fold)
    x, y = _data(int(context.get("seed", 0)), n=64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(float(config["lr"])), loss="mse")
    history = model.fit(x, y.astype("float32"), epochs=4, batch_size=16, verbose=context.get("verbose", 0))
    return {"metrics": {"final_loss": history.history["loss"][-1]}, "history": history.history}


def exploding_task(config: dict, fold: int, context: dict) -> dict:
    """Returns a loss history that reaches infinity (no exception raised)."""
    return {"metrics": {"score": 0.0}, "history": {"loss": [1.0, 1e30, float("inf")]}}


def demo_grid(counter_file=None, sleep: float = 0.0, name: str = "demo", n_configs: int = 4):
    """``n_configs`` ridge-classifier configurations x 3 folds (12 tasks by default).

    ``counter_file`` and ``sleep`` go in the context but not in the task key,
    so runs with and without them share records.
    """
    from mstl_lib.engine import DEFAULT_UNKEYED_CONTEXT, Grid

    return Grid(
        name=name,
        configs=[{"name": f"c{i}", "C": 10.0 ** (i - 2)} for i in range(n_configs)],
        folds=3,
        task="engine_tasks:ridge_task",
        data_fingerprint="synthetic-v1",
        context={"seed": 7, "n_folds": 3, "profile": "smoke", "counter_file": str(counter_file or ""),
                 "sleep": sleep},
        unkeyed=(*DEFAULT_UNKEYED_CONTEXT, "counter_file", "sleep"),
    )


def metrics_table(frame):
    """Ids and metrics only (no timings) of a records frame, in grid order, to compare runs."""
    return frame.sort_values("index")[["key", "fold", "name", "auc", "accuracy"]].reset_index(drop=True)


def dying_task(config: dict, fold: int, context: dict) -> dict:
    """Ends its own process when ``config["die"]`` (a segfault or the OOM killer, as a worker sees it)."""
    if config.get("die"):
        os._exit(3)
    return {"metrics": {"pid": os.getpid()}}
