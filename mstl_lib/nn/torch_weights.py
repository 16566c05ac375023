"""torchvision ImageNet checkpoints -> Keras weights files for AlexNet, ResNet-18 and SqueezeNet 1.0.

P3 starts from torchvision's ImageNet weights. With a checkpoint at hand
(``alexnet-owt-7be5be79.pth``, ``resnet18-f37072fd.pth``,
``squeezenet1_0-b66bff10.pth`` from torchvision's model zoo, or any
``model.state_dict()``), :func:`convert_checkpoint` writes a ``.weights.h5``
file; ``build_backbone(name, input_shape, weights=<that file>)`` then gives the
paper's starting point, for three- or four-channel inputs (see
:mod:`mstl_lib.nn.stem`). Written to the Keras cache under
:func:`~mstl_lib.nn.torchvision_models.weights_file_name`, it is what
``weights="auto"``/``"imagenet"`` find.

Reading a ``.pth`` file needs PyTorch (``pip install mstl_lib[torch]``); a
``.npz`` of the state dict's arrays, or a ``dict`` of arrays, needs nothing
more. The mapping:

- a Keras layer named ``a_b_c`` holds torchvision's ``a.b.c.*`` tensors;
- convolution kernels ``(out, in, kh, kw)`` -> ``(kh, kw, in, out)``;
  dense kernels ``(out, in)`` -> ``(in, out)``;
- AlexNet's ``classifier.1`` reads torch's channel-major flattening of the
  ``256 x 6 x 6`` map, Keras flattens height-major: its rows are permuted;
- BatchNorm ``weight, bias, running_mean, running_var`` -> ``gamma, beta,
  moving_mean, moving_variance``; ``num_batches_tracked`` is dropped.

Examples
--------
>>> convert_checkpoint("ResNet18", "resnet18-f37072fd.pth")  # into the Keras cache
>>> backbone, info = build_backbone("ResNet18", (224, 224, 4), weights="auto")
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mstl_lib import atomic
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

from mstl_lib.nn import torchvision_models as tvm  # noqa: E402

__all__ = ["load_state_dict", "keras_model_from_state_dict", "convert_checkpoint", "torch_name"]

_TOP_LAYERS = {"AlexNet": ("classifier_6",), "ResNet18": ("fc",), "SqueezeNet": ("classifier_1",)}
"""The 1000-class layers, dropped with ``include_top=False``."""

_IGNORED_SUFFIXES = (".num_batches_tracked",)


def torch_name(layer_name: str) -> str:
    """torchvision's module name of a Keras layer: ``layer1_0_conv1`` -> ``layer1.0.conv1``."""
    return layer_name.replace("_", ".")


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def load_state_dict(source) -> dict[str, np.ndarray]:
    """A state dict as NumPy arrays, from a ``dict``, a ``.npz`` file or a ``.pth``/``.pt`` file.

    A ``.pth`` file is read with ``torch.load(..., weights_only=True)`` (PyTorch
    needed); a checkpoint that wraps its weights in ``{"state_dict": ...}`` or
    ``{"model": ...}`` is unwrapped.

    Raises
    ------
    FileNotFoundError
        ``source`` is a path that does not exist.
    ImportError
        A ``.pth`` file and no PyTorch; the message says how to proceed.
    """
    if isinstance(source, dict):
        state = source
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"state dict file {str(path)!r} does not exist")
        if path.suffix == ".npz":
            with np.load(path) as archive:
                state = {key: archive[key] for key in archive.files}
        else:
            try:
                import torch  # noqa: PLC0415
            except ImportError as error:
                raise ImportError(
                    f"reading {path.name} needs PyTorch: `pip install mstl_lib[torch]`, or save the state dict "
                    "as .npz elsewhere (np.savez(f, **{k: v.numpy() for k, v in sd.items()}))") from error
            state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if key in state and isinstance(state[key], dict):
            state = state[key]
    return {str(key): _to_numpy(value) for key, value in state.items()}


def _keras_values(arch: str, layer, state: dict, used: set) -> list[np.ndarray]:
    prefix = torch_name(layer.name)

    def take(suffix):
        key = f"{prefix}.{suffix}"
        if key not in state:
            raise KeyError(key)
        used.add(key)
        return state[key]

    if isinstance(layer, keras.layers.BatchNormalization):
        return [take("weight"), take("bias"), take("running_mean"), take("running_var")]
    if isinstance(layer, keras.layers.Conv2D):
        values = [take("weight").transpose(2, 3, 1, 0)]
    elif isinstance(layer, keras.layers.Dense):
        weight = take("weight")
        if arch == "AlexNet" and layer.name == "classifier_1":  # torch flattens (C, H, W), Keras (H, W, C)
            channels = 256
            side = int(round((weight.shape[1] / channels) ** 0.5))
            weight = weight.reshape(weight.shape[0], channels, side, side).transpose(0, 2, 3, 1)
            weight = weight.reshape(weight.shape[0], -1)
        values = [weight.T]
    else:
        raise TypeError(f"no torchvision mapping for layer {layer.name!r} ({type(layer).__name__})")
    if layer.use_bias:
        values.append(take("bias"))
    return values


def keras_model_from_state_dict(arch: str, state_dict, include_top: bool = False,
                                input_shape=(224, 224, 3)) -> keras.Model:
    """Build ``arch`` and fill it with a torchvision state dict.

    Parameters
    ----------
    arch : {"AlexNet", "ResNet18", "SqueezeNet"}
    state_dict : dict or path
        See :func:`load_state_dict`.
    include_top : bool
        Keep the classification layer (its class count is read from the
        state dict; the model then outputs logits, as torchvision's do).
    input_shape : tuple
        Three channels (a four-channel model loads the result through
        :func:`mstl_lib.nn.stem.load_weights_into`).

    Raises
    ------
    ValueError
        A tensor is missing, has the wrong shape, or is left over; the message names them.
    """
    if arch not in tvm.ARCHITECTURES:
        raise ValueError(f"no torchvision layout for {arch!r}; one of {sorted(tvm.ARCHITECTURES)}")
    state = load_state_dict(state_dict)
    top_keys = {key for key in state if key.rsplit(".", 1)[0] in {torch_name(n) for n in _TOP_LAYERS[arch]}}
    kwargs = {}
    if include_top:
        if not top_keys:
            raise ValueError(f"include_top=True but the state dict has no {_TOP_LAYERS[arch]} tensors")
        kwargs = {"classes": int(state[f"{torch_name(_TOP_LAYERS[arch][0])}.bias"].shape[0]),
                  "classifier_activation": None}
    model = tvm.ARCHITECTURES[arch](include_top=include_top, weights=None, input_shape=tuple(input_shape), **kwargs)
    used: set[str] = set()
    missing, wrong_shape = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        try:
            values = _keras_values(arch, layer, state, used)
        except KeyError as error:
            missing.append(error.args[0])
            continue
        expected = [tuple(w.shape) for w in layer.weights]
        if [tuple(v.shape) for v in values] != expected:
            wrong_shape.append(f"{torch_name(layer.name)}: {[v.shape for v in values]} for Keras {expected}")
            continue
        layer.set_weights([v.astype("float32") for v in values])
    leftover = sorted(key for key in set(state) - used
                      if not key.endswith(_IGNORED_SUFFIXES) and (include_top or key not in top_keys))
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:8]}{' …' if len(missing) > 8 else ''}")
    if wrong_shape:
        problems.append(f"wrong shapes {wrong_shape[:4]}")
    if leftover:
        problems.append(f"tensors no {arch} layer uses {leftover[:8]}")
    if problems:
        raise ValueError(f"not a torchvision {arch} state dict: " + "; ".join(problems))
    return model


def convert_checkpoint(arch: str, source, destination: str | os.PathLike | None = None,
                       include_top: bool = False) -> Path:
    """Convert a torchvision checkpoint into a Keras ``.weights.h5`` file.

    Parameters
    ----------
    arch : {"AlexNet", "ResNet18", "SqueezeNet"}
    source : path or dict
        ``.pth``/``.pt`` (needs PyTorch), ``.npz`` or a state dict.
    destination : path, optional
        Default: the Keras cache (``$KERAS_HOME/models``, else ``~/.keras/models``)
        under :func:`~mstl_lib.nn.torchvision_models.weights_file_name`, where
        ``weights="auto"`` finds it. Must end in ``.weights.h5``.
    include_top : bool
        Keep the 1000-class layer (a file for ``include_top=True`` models).

    Returns
    -------
    Path of the written file (written to a temporary name, then renamed).
    """
    from mstl_lib.nn.weights import keras_cache_dirs  # noqa: PLC0415

    if destination is None:
        name = tvm.weights_file_name(arch)
        if include_top:
            name = name.replace("_notop", "")
        destination = keras_cache_dirs()[0] / name
    destination = Path(destination).expanduser()
    if not destination.name.endswith(".weights.h5"):
        raise ValueError(f"Keras weights files end in .weights.h5; got {destination.name!r}")
    model = keras_model_from_state_dict(arch, source, include_top=include_top)
    with atomic.replacing(destination, suffix=".weights.h5") as partial:
        model.save_weights(partial)
    return destination
