"""Where a task's time goes: named phases, summed per task.

The engine starts a fresh tally for each task (:func:`reset`) and stores what
:func:`tally` returns in the task's record (``timings``). Library code marks
its phases with :func:`phase`::

    with phase("build"):
        model = build_classifier(...)

Phases nest without counting twice: while an inner phase runs, the outer one's
clock stops, so the phases of one task add up to at most its wall time and the
rest is the task's own code (``other`` in ``bench/time_profile.py``). The cost
is two ``perf_counter`` calls per phase.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator

PHASES = {
    "process_start": "starting the task's worker process and handing the task over (one worker at a time)",
    "imports": "importing the task's module and its framework",
    "data": "reading and resizing images",
    "build": "building the model (and loading its weights)",
    "tracing": "the first training step beyond a steady step: graph tracing or compilation",
    "steps": "training steps and per-epoch validation",
    "bn_settle": "recomputing BatchNorm statistics on the training images",
    "features": "the frozen layers' activations, computed once per fold (freeze cache)",
    "predict": "scoring images, or extracting features, with a model",
}
"""The phases the library marks, in the order a task meets them."""

_totals: dict[str, float] = {}
_stack: list[list] = []  # [name, start of its current slice]


def reset() -> None:
    """Start a new tally (the engine calls it before each task)."""
    _totals.clear()
    _stack.clear()


def add(name: str, seconds: float) -> None:
    """Credit ``seconds`` to phase ``name`` (for time measured by other means, e.g. a training callback)."""
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; the phases are {', '.join(PHASES)}")
    _totals[name] = _totals.get(name, 0.0) + max(0.0, float(seconds))


def move(source: str, target: str, seconds: float) -> None:
    """Move up to ``seconds`` of phase ``source`` to phase ``target`` (what a callback found inside it)."""
    moved = min(max(0.0, float(seconds)), _totals.get(source, 0.0))
    if moved:
        _totals[source] -= moved
        add(target, moved)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the time inside the block as phase ``name``, excluding phases nested in it."""
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; the phases are {', '.join(PHASES)}")
    now = time.perf_counter()
    if _stack:  # pause the enclosing phase
        outer = _stack[-1]
        add(outer[0], now - outer[1])
    _stack.append([name, now])
    try:
        yield
    finally:
        now = time.perf_counter()
        inner = _stack.pop() if _stack else [name, now]
        add(inner[0], now - inner[1])
        if _stack:
            _stack[-1][1] = now  # the enclosing phase runs again


def timed(name: str) -> Callable:
    """Decorator: every call of the function counts as phase ``name`` (see :func:`phase`)."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with phase(name):
                return func(*args, **kwargs)
        return wrapper
    return decorate


def tally() -> dict[str, float]:
    """Seconds per phase since the last :func:`reset`, rounded to milliseconds, in :data:`PHASES` order."""
    return {name: round(_totals[name], 3) for name in PHASES if _totals.get(name)}
