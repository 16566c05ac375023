"""Networks: runtime, backbone registry, initial weights, heads, classifiers, training, the freeze cache, features.

Importing a submodule other than :mod:`.weights` imports TensorFlow (quietly, see :mod:`.runtime`).
"""
