"""Trace each training recipe once per process, not once per task.

Keras traces a model's training, evaluation and prediction steps into graphs the
first time it fits, evaluates or predicts, and again after every ``compile``. For
ResNet50 at 75 px on 2 CPU cores that cost 12–31 s per task in the ``cpu`` book
(``bench/time_profile.py``: the ``tracing`` phase), a quarter of a task's time,
and every fold of a configuration traced the same graphs again.

:func:`compiled_once` compiles a model the first time a process meets its
architecture and compile settings, and keeps it. A later model of the same
architecture and settings is not compiled: its variables (weights, BatchNorm
statistics, dropout seeds) are copied into the kept model, whose optimizer state
is reset to a fresh optimizer's, and the kept model trains, with the graphs it
has already traced. When the block ends the trained variables are copied back,
so the caller's model ends as if it had been trained itself. The numbers are the
same as a freshly compiled model's (``tests/nn/test_compiled.py`` checks the
histories and predictions are identical).

The key is the model's architecture (its JSON, which holds which layers are
frozen), the optimizer's full configuration (its learning-rate schedule
included: the schedule's constants are part of the traced step), the loss and
the metrics. A process keeps :data:`KEPT_MODELS` models, the most recently used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from mstl_lib.nn.runtime import import_keras

keras = import_keras()

KEPT_MODELS = 2
"""Compiled models a process keeps (a grid runs its folds one after the other, so one recipe at a time)."""

_kept: OrderedDict[str, keras.Model] = OrderedDict()


def _anonymous(value, names: dict):
    """``value`` (a model's JSON) with every layer name replaced by its position, so that two builds of one
    architecture agree whatever names Keras gave their layers."""
    if isinstance(value, dict):
        return {k: _anonymous(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_anonymous(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def recipe_key(model: keras.Model, optimizer, loss, metrics: Sequence = ()) -> str:
    """A digest of what a traced training step depends on: architecture, optimizer (with schedule), loss, metrics."""
    names = {layer.name: f"layer {i}" for i, layer in enumerate(model.layers)} | {model.name: "model"}
    parts = {
        "model": _anonymous(json.loads(model.to_json()), names),
        "trainable": [bool(v.trainable) for v in model.variables],
        "optimizer": {k: v for k, v in keras.saving.serialize_keras_object(optimizer)["config"].items() if k != "name"}
        | {"class": type(optimizer).__name__},
        "loss": keras.saving.serialize_keras_object(loss),
        "metrics": [keras.saving.serialize_keras_object(m) for m in metrics],
        "backend": keras.backend.backend(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def copy_variables(source: keras.Model, target: keras.Model) -> None:
    """Assign every variable of ``source`` (weights, BatchNorm statistics, seed states) to ``target``'s."""
    pairs = list(zip(source.variables, target.variables, strict=True))
    for a, b in pairs:
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"copy_variables: {a.path} has shape {tuple(a.shape)}, {b.path} {tuple(b.shape)}")
    for a, b in pairs:
        b.assign(a)


def reset_optimizer(model: keras.Model, optimizer) -> None:
    """Give ``model``'s optimizer the state ``optimizer`` has when freshly built (step 0, initial accumulators)."""
    optimizer.build(model.trainable_variables)
    for kept, fresh in zip(model.optimizer.variables, optimizer.variables, strict=True):
        kept.assign(fresh)


def forget() -> None:
    """Drop every kept model (the next compile of each recipe traces again)."""
    _kept.clear()


@contextlib.contextmanager
def compiled_once(model: keras.Model, optimizer, loss, metrics: Sequence = ()) -> Iterator[keras.Model]:
    """Yield the model to train: ``model`` compiled, or a kept model of the same recipe holding ``model``'s state.

    Parameters
    ----------
    model : keras.Model
        Built and not compiled; it holds the trained variables when the block ends.
    optimizer : keras.optimizers.Optimizer
        A fresh optimizer (not built). On a kept model only its configuration and initial state are used.
    loss, metrics
        As for ``model.compile``.

    Everything inside the block (fit, BatchNorm settling, predict) must use the yielded model.
    """
    metrics = list(metrics)
    key = recipe_key(model, optimizer, loss, metrics)
    kept = _kept.get(key)
    if kept is None:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        yield model
        _kept[key] = model
        while len(_kept) > KEPT_MODELS:
            _kept.popitem(last=False)
        return
    _kept.move_to_end(key)
    copy_variables(model, kept)
    reset_optimizer(kept, optimizer)
    yield kept
    copy_variables(kept, model)
