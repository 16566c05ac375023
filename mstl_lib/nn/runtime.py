"""Import TensorFlow without its start-up noise, and seed runs.

TensorFlow writes C++ log lines straight to file descriptor 2 when it is
imported, which neither ``warnings`` nor ``logging`` can catch. We point fd 2
at ``/dev/null`` for the duration of the import only.
"""

from __future__ import annotations

import contextlib
import os
import sys

from mstl_lib.seeding import seed_everything

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def silenced_stderr_fd():
    """Redirect the process-level stderr (fd 2) to /dev/null inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Return the ``tensorflow`` module, imported with fd 2 silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with silenced_stderr_fd():
        import tensorflow as tf  # noqa: PLC0415
        import keras  # noqa: F401, PLC0415

        tf.get_logger().setLevel("ERROR")
    return tf


def set_seed(seed: int) -> None:
    """Import TensorFlow quietly, then seed everything (:func:`mstl_lib.seeding.seed_everything`)."""
    import_tensorflow()
    seed_everything(seed)
