"""Run a script or module as if TensorFlow were not installed (a GPU machine with JAX only).

    KERAS_BACKEND=jax python tests/without_tensorflow.py -m pytest tests/nn -q
    KERAS_BACKEND=jax python tests/without_tensorflow.py bench/train_throughput.py --images 64

A finder at the head of ``sys.meta_path`` makes ``import tensorflow`` (and every
``tensorflow.*``) raise ``ModuleNotFoundError``, so ``importlib.util.find_spec``
fails as it would without the package. (``sys.modules["tensorflow"] = None`` is no
substitute: Keras takes a ``"tensorflow"`` key in ``sys.modules`` to mean it is
imported, and its preprocessing layers then try to use it.)
"""

from __future__ import annotations

import runpy
import sys


class NoTensorFlow:
    """Meta-path finder that refuses TensorFlow."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: running without TensorFlow)", name=name)
        return None


def block_tensorflow() -> None:
    """Refuse every later import of TensorFlow in this process."""
    if any(name == "tensorflow" or name.startswith("tensorflow.") for name in sys.modules):
        raise RuntimeError("TensorFlow is already imported; block it before anything imports it")
    if not any(isinstance(finder, NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, NoTensorFlow())


if __name__ == "__main__":
    block_tensorflow()
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    if args[0] == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
