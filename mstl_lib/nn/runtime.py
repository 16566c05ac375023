"""Which Keras backend and which input pipeline: the one place that knows about TensorFlow.

Keras 3 runs the library's networks on TensorFlow, JAX or PyTorch; the backend is
chosen by ``KERAS_BACKEND`` before Keras is imported. When it is not set, this
module sets it to ``"tensorflow"`` if TensorFlow is installed and to ``"jax"``
otherwise (GPU machines often have JAX and no TensorFlow).

The input pipeline follows TensorFlow's presence, not the backend: ``tf.data``
wherever TensorFlow is installed (measured faster on the CPU than ``fit`` on
NumPy arrays), a NumPy ``keras.utils.PyDataset`` where it is not
(:mod:`mstl_lib.nn.pipeline`). ``MSTL_INPUT_PIPELINE=numpy`` (or ``tf.data``)
overrides the choice.

TensorFlow writes C++ log lines straight to file descriptor 2 when it is
imported, which neither ``warnings`` nor ``logging`` can catch. We point fd 2
at ``/dev/null`` for the duration of the import only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

from mstl_lib.seeding import seed_everything

PIPELINES = ("tf.data", "numpy")


def tensorflow_available() -> bool:
    """Whether TensorFlow can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # a blocked or broken entry in sys.modules
        return False


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow" if tensorflow_available() else "jax")


def backend() -> str:
    """The Keras backend in force (``"tensorflow"``, ``"jax"``, ``"torch"`` ...)."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return os.environ["KERAS_BACKEND"]


def input_pipeline() -> str:
    """``"tf.data"`` when TensorFlow is installed, ``"numpy"`` otherwise, unless ``MSTL_INPUT_PIPELINE`` says."""
    chosen = os.environ.get("MSTL_INPUT_PIPELINE", "").strip().lower()
    if chosen:
        if chosen not in PIPELINES:
            raise ValueError(f"MSTL_INPUT_PIPELINE must be one of {PIPELINES}, not {chosen!r}")
        if chosen == "tf.data" and not tensorflow_available():
            raise ModuleNotFoundError("MSTL_INPUT_PIPELINE=tf.data needs TensorFlow, which is not installed")
        return chosen
    return "tf.data" if tensorflow_available() else "numpy"


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
    """Return the ``tensorflow`` module, imported with fd 2 silenced (Keras too)."""
    if sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"]
    with silenced_stderr_fd():
        import tensorflow as tf  # noqa: PLC0415
        import keras  # noqa: F401, PLC0415

        tf.get_logger().setLevel("ERROR")
    return tf


def import_keras():
    """Return ``keras``, imported quietly; TensorFlow is imported first when the backend or the pipeline uses it."""
    if os.environ["KERAS_BACKEND"] == "tensorflow" or input_pipeline() == "tf.data":
        import_tensorflow()
    with silenced_stderr_fd():
        import keras  # noqa: PLC0415
    return keras


def describe() -> dict:
    """The backend, the input pipeline and the accelerator devices of the backend, for records and benches."""
    keras = import_keras()
    info = {"keras_backend": keras.backend.backend(), "input_pipeline": input_pipeline()}
    if info["keras_backend"] == "jax":
        import jax  # noqa: PLC0415

        info["devices"] = [str(device) for device in jax.devices()]
    elif info["keras_backend"] == "tensorflow":
        tf = import_tensorflow()
        info["devices"] = [device.name for device in tf.config.list_logical_devices()]
    return info


def set_seed(seed: int) -> None:
    """Import Keras quietly, then seed everything (:func:`mstl_lib.seeding.seed_everything`)."""
    import_keras()
    seed_everything(seed)
