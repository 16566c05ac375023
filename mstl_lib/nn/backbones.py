"""The backbone registry: keras.applications networks and custom architectures, built by name.

Images enter every model as float32 in ``[0, 1]``, NHWC, 3 channels (the
torchvision layouts also take 4: grey B-mode + RGB strain, see
:mod:`mstl_lib.nn.stem`). Each
classifier carries its backbone's preprocessing as its first layer
(:class:`BackbonePreprocessing`), so saved models need no outside step.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from mstl_lib.downloads import WEIGHTS
from mstl_lib.nn.runtime import import_keras
from mstl_lib.nn.weights import WeightsInfo, file_sha256, resolve_weights

keras = import_keras()

_APPS = keras.applications


class BackboneSpec(NamedTuple):
    """How to build one backbone and what it expects as input.

    The first three fields are ``(constructor, preprocess_input, min_size)``;
    ``mode`` names the preprocessing (``"caffe"``: 0..255 BGR minus the
    ImageNet mean, ``"tf"``: [-1, 1], ``"raw255"``: 0..255 with the model's
    own rescaling, ``"torch"``: torchvision's mean/std normalisation),
    ``weights_file`` and ``weights_url`` are the Keras cache file name and
    download address of the ``include_top=False`` weights, ``channels`` the
    input channel counts it accepts, and ``load_weights(model, path)``, when
    set, loads a weights file instead of ``model.load_weights``.
    """

    constructor: Callable
    preprocess_input: Callable
    min_size: int
    mode: str
    weights_file: str
    weights_url: str
    channels: tuple = (3,)
    load_weights: Callable | None = None


def _spec(name, constructor, preprocess_input, min_size, mode):
    download = WEIGHTS[name]
    return BackboneSpec(constructor, preprocess_input, min_size, mode, download.file_name, download.url)


BACKBONES: dict[str, BackboneSpec] = {
    "ResNet50": _spec("ResNet50", _APPS.ResNet50, _APPS.resnet.preprocess_input, 32, "caffe"),
    "ResNet101": _spec("ResNet101", _APPS.ResNet101, _APPS.resnet.preprocess_input, 32, "caffe"),
    "InceptionV3": _spec("InceptionV3", _APPS.InceptionV3, _APPS.inception_v3.preprocess_input, 75, "tf"),
    "EfficientNetB2": _spec("EfficientNetB2", _APPS.EfficientNetB2, _APPS.efficientnet.preprocess_input, 32, "raw255"),
    "VGG16": _spec("VGG16", _APPS.VGG16, _APPS.vgg16.preprocess_input, 32, "caffe"),
    "VGG19": _spec("VGG19", _APPS.VGG19, _APPS.vgg19.preprocess_input, 32, "caffe"),
}
"""keras.applications backbones; their ImageNet files, URLs and checksums are :data:`mstl_lib.downloads.WEIGHTS`."""

# Layer counts with include_top=False, input layer included (P4, Table 2).
EXPECTED_LAYER_COUNTS = {
    "VGG16": 19,
    "VGG19": 22,
    "ResNet50": 175,
    "ResNet101": 345,
    "InceptionV3": 311,
}


def register_backbone(name: str, constructor: Callable, preprocess_input: Callable | None = None,
                      min_size: int = 32, mode: str = "unit", weights_url: str = "",
                      weights_file: str = "", channels=(3,), load_weights: Callable | None = None) -> BackboneSpec:
    """Add a custom architecture to the registry, so every task and test can build it by name.

    Parameters
    ----------
    name : str
        Registry key (must be new).
    constructor : callable
        ``constructor(include_top=False, weights=None, input_shape=..., pooling=...) -> keras.Model``,
        the ``keras.applications`` signature. With no ImageNet weights to offer,
        ``weights`` is always ``None`` (``"auto"`` resolves to random initialisation).
    preprocess_input : callable, optional
        Maps ``0..255`` images to the network's input; default: scale to ``[0, 1]``.
    min_size : int
        Smallest input side in pixels.
    mode : {"unit", "caffe", "tf", "raw255", "torch"}
        The preprocessing layer of its classifiers: ``"unit"`` feeds the ``[0, 1]``
        images as they are (see :class:`BackbonePreprocessing`).
    weights_url : str
        Download address of ImageNet ``include_top=False`` weights, if any.
    weights_file : str
        Their file name in the Keras cache; default: the URL's last part, or
        ``<name>_notop.h5``.
    channels : tuple of int
        Input channel counts the constructor accepts.
    load_weights : callable, optional
        ``load_weights(model, path)`` for weights files (default ``model.load_weights``).

    Returns
    -------
    BackboneSpec
    """
    if name.lower() in {key.lower() for key in BACKBONES}:
        raise ValueError(f"backbone {name!r} is already registered")
    preprocess = preprocess_input or (lambda x: x / 255.0)
    file_name = weights_file or (weights_url.rsplit("/", 1)[-1] if weights_url else f"{name.lower()}_notop.h5")
    BACKBONES[name] = BackboneSpec(constructor, preprocess, int(min_size), mode, file_name, weights_url,
                                   tuple(channels), load_weights)
    return BACKBONES[name]


def canonical_name(name: str) -> str:
    """Return the ``BACKBONES`` key matching ``name`` case-insensitively."""
    by_lower = {key.lower(): key for key in BACKBONES}
    try:
        return by_lower[str(name).lower()]
    except KeyError:
        valid = ", ".join(BACKBONES)
        raise ValueError(f"Unknown backbone {name!r}; valid names: {valid}.") from None


def backbone_spec(name: str) -> BackboneSpec:
    """Return the :class:`BackboneSpec` of ``name`` (case-insensitive).

    Raises
    ------
    ValueError
        If ``name`` is not one of ``BACKBONES``; the message lists them.
    """
    return BACKBONES[canonical_name(name)]


def _check_input_shape(name: str, input_shape) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); got {input_shape!r}.")
    height, width, channels = input_shape
    spec = backbone_spec(name)
    if min(height, width) < spec.min_size:
        raise ValueError(
            f"{canonical_name(name)} needs inputs of at least {spec.min_size}x{spec.min_size} "
            f"pixels; got {height}x{width}."
        )
    if channels not in spec.channels:
        raise ValueError(
            f"{canonical_name(name)} takes {' or '.join(map(str, spec.channels))}-channel images; "
            f"got {channels} channels. Repeat grayscale images to 3 channels first."
        )
    return tuple(input_shape)


def build_backbone(
    name: str,
    input_shape=(75, 75, 3),
    weights="auto",
    pooling: str | None = None,
    timeout: float = 5.0,
) -> tuple[keras.Model, WeightsInfo]:
    """Build ``keras.applications.<name>`` with ``include_top=False``.

    Parameters
    ----------
    name : str
        One of ``BACKBONES`` (case-insensitive).
    input_shape : tuple of int
        ``(height, width, 3)``; both sides at least the backbone's minimum.
        The torchvision layouts (AlexNet, ResNet18, SqueezeNet) also take
        ``(height, width, 4)``: a three-channel weights file then gets the
        four-channel stem of :func:`mstl_lib.nn.stem.four_channel_kernel`.
    weights : str, path-like, None, WeightsInfo or its dict
        See :func:`resolve_weights`; a :class:`WeightsInfo` (or its
        ``to_dict()``) resolved earlier is used as it is, without resolving again.
    pooling : {None, "avg", "max"}
        Passed to the constructor.
    timeout : float
        Seconds to wait for the download host.

    Returns
    -------
    backbone : keras.Model
        Expects the backbone's own input scaling (see :func:`preprocess_for`).
    info : WeightsInfo

    Raises
    ------
    WeightsUnavailableError
        ``weights="imagenet"`` and the weights cannot be obtained.
    ValueError
        Unknown name or invalid input shape.
    FileNotFoundError
        ``weights`` is a path that does not exist.
    """
    name = canonical_name(name)
    input_shape = _check_input_shape(name, input_shape)
    if isinstance(weights, (WeightsInfo, dict)):  # resolved once by the run context: use as is
        info = weights if isinstance(weights, WeightsInfo) else WeightsInfo.from_dict(weights)
    else:
        _, info = resolve_weights(weights, name, timeout)
    backbone = BACKBONES[name].constructor(include_top=False, weights=None, input_shape=input_shape, pooling=pooling)

    if info.used in ("file", "imagenet"):
        if not Path(info.source).is_file():
            raise FileNotFoundError(f"weights file {info.source!r} for {name} is gone since the run resolved it; "
                                    "start the run again")
        if info.sha256 and file_sha256(info.source) != info.sha256:
            raise ValueError(f"weights file {info.source!r} changed since the run resolved it "
                             f"(sha256 {info.sha256[:12]}…); start the run again")
        # ImageNet weights load like any file: Keras's own downloader is never used
        load = BACKBONES[name].load_weights or type(backbone).load_weights
        try:
            load(backbone, info.source)
        except Exception as error:
            raise ValueError(
                f"Could not load weights file {info.source!r} into {name} "
                f"with input shape {input_shape}: {error}"
            ) from error
    return backbone, info


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocess_for(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Function mapping ``[0, 1]`` images to what backbone ``name`` expects.

    Uses the backbone's own ``keras.applications`` ``preprocess_input`` on
    ``255 * images``: caffe style (BGR minus the ImageNet mean) for ResNet
    and VGG, ``[-1, 1]`` for InceptionV3, and ``0..255`` for EfficientNet,
    which rescales inside the network.

    Classifiers from :func:`build_classifier` already contain this step as
    a :class:`BackbonePreprocessing` layer; use this function only to feed a
    bare backbone from :func:`build_backbone`.
    """
    preprocess_input = backbone_spec(name).preprocess_input

    def preprocess(images):
        return preprocess_input(np.asarray(images, dtype="float32") * 255.0)

    return preprocess


@keras.saving.register_keras_serializable(package="mstl_lib")
class BackbonePreprocessing(keras.layers.Layer):
    """Map ``[0, 1]`` images to the input scaling of a backbone.

    Serialisable stand-in for ``preprocess_for(backbone)`` inside a model.

    Parameters
    ----------
    backbone : str
        Backbone name (one of ``BACKBONES``).
    """

    def __init__(self, backbone: str, **kwargs):
        kwargs.setdefault("name", "preprocessing")
        super().__init__(**kwargs)
        self.backbone = canonical_name(backbone)
        self.mode = BACKBONES[self.backbone].mode

    def call(self, images):
        images = keras.ops.cast(images, self.compute_dtype)
        if self.mode == "unit":  # custom architectures take [0, 1] images as they are
            return images
        if self.mode == "tf":
            return images * 2.0 - 1.0
        if self.mode == "torch":  # torchvision: (x - mean) / std per channel, grey first when 4
            mean, std = _tv.normalisation_constants(int(images.shape[-1]))
            return (images - keras.ops.convert_to_tensor(mean, dtype=self.compute_dtype)) / \
                keras.ops.convert_to_tensor(std, dtype=self.compute_dtype)
        images = images * 255.0
        if self.mode == "caffe":
            bgr = keras.ops.flip(images, axis=-1)
            return bgr - keras.ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=self.compute_dtype)
        return images  # raw255: the backbone rescales itself

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}


# --------------------------------------------------------------------------
# torchvision layouts (P3): ImageNet weights are converted torchvision
# checkpoints (mstl_lib.nn.torch_weights), found in the Keras cache or passed as a file.
# --------------------------------------------------------------------------

from mstl_lib.nn import torchvision_models as _tv  # noqa: E402
from mstl_lib.nn.stem import load_weights_into as _load_torchvision_weights  # noqa: E402

for _name, _constructor in _tv.ARCHITECTURES.items():
    register_backbone(
        _name, _constructor, _tv.torch_preprocess_input, min_size=_tv.MIN_SIZE[_name], mode="torch",
        weights_file=_tv.weights_file_name(_name), channels=(3, 4),
        load_weights=functools.partial(_load_torchvision_weights, arch=_name),
    )
