"""Four-channel stems: ImageNet RGB weights for a grey B-mode + RGB strain input.

P3 stacks the grey B-mode image and the colour strain image into four
channels but does not say how four channels meet a three-channel ImageNet
stem. Our rule (:func:`four_channel_kernel`):

- the channel order is **[grey B-mode, strain R, strain G, strain B]**: grey first;
- the three RGB filters of the first convolution are kept as they are, so the
  strain image meets exactly the pretrained stem;
- the grey channel's filter is the **mean of the three RGB filters**. A grey
  image copied into R, G and B meets ``W_R + W_G + W_B``, so the grey channel
  contributes one third of what the pretrained network would compute for the
  B-mode image shown as RGB (its normalisation uses the mean ImageNet mean
  and std, see ``torchvision_models.normalisation_constants``);
- the bias is unchanged.

:func:`load_weights_into` loads a weights file made for a three-channel model
into a three- or four-channel one, applying the rule to the stem.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

GREY_CHANNEL = 0
"""Index of the grey B-mode channel in a four-channel input; 1..3 are the strain image's R, G, B."""


def four_channel_kernel(kernel: np.ndarray) -> np.ndarray:
    """Turn a three-channel first-convolution kernel into a four-channel one.

    Parameters
    ----------
    kernel : ndarray, shape (kh, kw, 3, filters)
        Keras layout; input channels R, G, B.

    Returns
    -------
    ndarray, shape (kh, kw, 4, filters)
        Channel 0 (grey B-mode) is the mean of the RGB filters; channels 1-3
        are the RGB filters unchanged.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"expected a (kh, kw, 3, filters) kernel; got shape {kernel.shape}")
    grey = kernel.mean(axis=2, keepdims=True)
    return np.concatenate([grey, kernel], axis=2).astype(kernel.dtype)


def copy_weights_expanding_stem(source, target, stem_layer: str) -> None:
    """Copy every layer's weights from ``source`` (3 channels) to ``target`` (3 or 4), by layer name.

    ``stem_layer``'s kernel goes through :func:`four_channel_kernel` when the
    target takes four channels. Layers of ``target`` missing in ``source`` raise.
    """
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise ValueError(f"layer {layer.name!r} of {target.name} has no counterpart in the weights")
        values = by_name[layer.name].get_weights()
        if layer.name == stem_layer and values[0].shape[2] != layer.weights[0].shape[2]:
            values = [four_channel_kernel(values[0]), *values[1:]]
        layer.set_weights(values)


def load_weights_into(model, path: str | os.PathLike, arch: str, include_top: bool = False) -> None:
    """Load a Keras weights file of a torchvision-layout model into ``model``.

    A file written for the same number of input channels loads directly. A
    file of a three-channel model loads into a four-channel ``model`` by way
    of a three-channel twin of the same input size, whose stem is widened by
    :func:`four_channel_kernel`.

    Parameters
    ----------
    model : keras.Model
        Built by one of :data:`mstl_lib.nn.torchvision_models.ARCHITECTURES`.
    path : path-like
        ``.weights.h5`` file (e.g. from :func:`mstl_lib.nn.torch_weights.convert_checkpoint`).
    arch : str
        ``"AlexNet"``, ``"ResNet18"`` or ``"SqueezeNet"``.
    include_top : bool
        Whether ``model`` has the 1000-class top.
    """
    from mstl_lib.nn.torchvision_models import ARCHITECTURES, STEM_LAYER  # noqa: PLC0415

    height, width, channels = model.input_shape[1:]
    if channels == 3:
        model.load_weights(path)
        return
    try:
        with warnings.catch_warnings():  # a 3-channel file fails here, after warning about what it skipped
            warnings.simplefilter("ignore", UserWarning)
            model.load_weights(path)
        return
    except ValueError as error:
        direct_error = error
    twin = ARCHITECTURES[arch](include_top=include_top, weights=None, input_shape=(height, width, 3))
    try:
        twin.load_weights(path)
    except ValueError as error:
        raise ValueError(f"{path} fits neither the {channels}-channel {arch} ({direct_error}) nor a "
                         f"3-channel one ({error})") from error
    copy_weights_expanding_stem(twin, model, STEM_LAYER[arch])
