"""The one place where random generators are seeded.

The engine calls :func:`seed_everything` before every task with a seed derived
from the grid's seed and the task key, after importing the task's module, so a
task never inherits generator state from an earlier task and every executor
gives the same result. Scripts outside the engine call it once at the start.
"""

from __future__ import annotations

import random
import sys

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's global generators, and Keras' (hence TensorFlow's or JAX's) once imported.

    Keras is seeded only when already imported, so that seeding never pays for
    importing TensorFlow; import the networks' modules first.
    """
    seed = int(seed) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "utils"):
        keras.utils.set_random_seed(seed)
