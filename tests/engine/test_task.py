"""Task execution helpers: which kind of failure an exception is."""

from __future__ import annotations

import engine_tasks

from mstl_lib.engine.task import classify_error


def test_classify_error_kinds():
    class ResourceExhaustedError(Exception):
        pass

    class ImageReadError(ValueError):
        pass

    assert classify_error(engine_tasks.NonFiniteLossError("x")) == "nan_loss"
    assert classify_error(ResourceExhaustedError("OOM when allocating")) == "out_of_memory"
    assert classify_error(RuntimeError("CUDA out of memory")) == "out_of_memory"
    assert classify_error(ImageReadError("bad.png")) == "unreadable_image"
    try:
        try:
            raise OSError("cannot identify image file 'a.png'")
        except OSError as inner:
            raise RuntimeError("loading failed") from inner
    except RuntimeError as outer:
        assert classify_error(outer) == "unreadable_image"
    assert classify_error(KeyError("x")) == "error"
