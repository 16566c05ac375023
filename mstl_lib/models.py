"""Backbone factory, ImageNet weight resolution and classification heads.

Conventions
-----------
* Images enter every model as float32 in ``[0, 1]``, NHWC, 3 channels (the
  library's image convention). Each classifier carries the preprocessing its
  backbone expects as its first layer (:class:`BackbonePreprocessing`), so
  saved models need no outside preprocessing step.
* A classifier is ``Input -> BackbonePreprocessing -> "backbone" -> head``,
  where ``"backbone"`` is a nested ``keras.Model`` (``keras.applications``
  with ``include_top=False``). :func:`replace_head` swaps the head and keeps
  the very same backbone sub-model, which is how stage-1 -> stage-2 transfer
  keeps its weights.
* ``weights`` is resolved by :func:`resolve_weights`: ``"auto"`` uses ImageNet
  weights when they can be had and falls back to random initialisation
  otherwise, recording why in a :class:`WeightsInfo`.

Examples
--------
>>> model, info = build_classifier("ResNet50", (75, 75, 3), gap_dense_head(3))
>>> info.used  # "imagenet", "random" or "file"
>>> stage_2 = replace_head(model, mlp_head())  # same "backbone" weights
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple
from urllib.parse import urlparse

import numpy as np

from mstl_lib.tf_runtime import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "BACKBONES",
    "EXPECTED_LAYER_COUNTS",
    "BackboneSpec",
    "BackbonePreprocessing",
    "WeightsInfo",
    "WeightsUnavailableError",
    "backbone_spec",
    "imagenet_weights_available",
    "resolve_weights",
    "build_backbone",
    "preprocess_for",
    "build_classifier",
    "replace_head",
    "gap_dense_head",
    "mlp_head",
    "p4_head",
    "count_layers",
    "freeze_first",
]

_APPS = keras.applications
_GCS = "https://storage.googleapis.com/"


class BackboneSpec(NamedTuple):
    """How to build one backbone and what it expects as input.

    The first three fields are ``(constructor, preprocess_input, min_size)``;
    ``mode`` names the preprocessing (``"caffe"``: 0..255 BGR minus the
    ImageNet mean, ``"tf"``: [-1, 1], ``"raw255"``: 0..255 with the model's
    own rescaling), ``weights_file`` and ``weights_url`` are the Keras cache
    file name and download address of the ``include_top=False`` weights.
    """

    constructor: Callable
    preprocess_input: Callable
    min_size: int
    mode: str
    weights_file: str
    weights_url: str


def _spec(constructor, preprocess_input, min_size, mode, url):
    return BackboneSpec(
        constructor, preprocess_input, min_size, mode, url.rsplit("/", 1)[-1], url
    )


_KA = _GCS + "tensorflow/keras-applications/"
BACKBONES: dict[str, BackboneSpec] = {
    "ResNet50": _spec(
        _APPS.ResNet50, _APPS.resnet.preprocess_input, 32, "caffe",
        _KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "ResNet101": _spec(
        _APPS.ResNet101, _APPS.resnet.preprocess_input, 32, "caffe",
        _KA + "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "InceptionV3": _spec(
        _APPS.InceptionV3, _APPS.inception_v3.preprocess_input, 75, "tf",
        _KA + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "EfficientNetB2": _spec(
        _APPS.EfficientNetB2, _APPS.efficientnet.preprocess_input, 32, "raw255",
        _GCS + "keras-applications/efficientnetb2_notop.h5",
    ),
    "VGG16": _spec(
        _APPS.VGG16, _APPS.vgg16.preprocess_input, 32, "caffe",
        _KA + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "VGG19": _spec(
        _APPS.VGG19, _APPS.vgg19.preprocess_input, 32, "caffe",
        _KA + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
}

# Layer counts with include_top=False, input layer included (P4, Table 2).
EXPECTED_LAYER_COUNTS = {
    "VGG16": 19,
    "VGG19": 22,
    "ResNet50": 175,
    "ResNet101": 345,
    "InceptionV3": 311,
}


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


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights were asked for explicitly but cannot be obtained."""


@dataclass
class WeightsInfo:
    """Which weights a backbone got, and why.

    Attributes
    ----------
    requested : str or None
        The ``weights`` argument as given (a path is stored as a string).
    used : str
        ``"imagenet"``, ``"random"`` or ``"file"``.
    source : str
        Where the weights came from: the cache file, the download URL, the
        weights file path, or ``"random initialisation"``.
    detail : str
        A sentence explaining the choice, e.g. why ImageNet weights were not
        used.
    """

    requested: str | None
    used: str
    source: str
    detail: str

    def to_dict(self) -> dict:
        """Plain ``dict`` for provenance records."""
        return asdict(self)


def keras_cache_dirs() -> list[Path]:
    """Folders where Keras looks for downloaded model files.

    ``$KERAS_HOME/models`` (default ``~/.keras/models``), then
    ``/tmp/.keras/models``, which Keras uses when the home folder is not
    writable.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    dirs = [Path(home) / "models", Path("/tmp/.keras/models")]
    return list(dict.fromkeys(dirs))


def cached_weights_path(name: str) -> Path | None:
    """Path of the cached ``include_top=False`` weights of ``name``, or None."""
    file_name = backbone_spec(name).weights_file
    for folder in keras_cache_dirs():
        candidate = folder / file_name
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def _host_reachable(url: str, timeout: float) -> tuple[bool, str]:
    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True, f"download host {host}:443 answered"
    except OSError as error:
        return False, f"download host {host}:443 unreachable ({error})"


def imagenet_weights_available(name: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether ImageNet weights for ``name`` can be had, and why.

    True when the weights file is in the Keras cache (see
    :func:`keras_cache_dirs`) or when the download host answers a TCP
    connection within ``timeout`` seconds. A reachable host does not
    guarantee the download succeeds; :func:`build_backbone` handles that.

    Returns
    -------
    available : bool
    reason : str
    """
    cached = cached_weights_path(name)
    if cached is not None:
        return True, f"found in the Keras cache: {cached}"
    reachable, reason = _host_reachable(backbone_spec(name).weights_url, timeout)
    if reachable:
        return True, f"not cached; {reason}"
    return False, f"not in the Keras cache and {reason}"


def _unavailable_message(name: str, reason: str) -> str:
    spec = backbone_spec(name)
    cache = keras_cache_dirs()[0]
    return (
        f"ImageNet weights for {canonical_name(name)} are unavailable: {reason}. "
        f"Download {spec.weights_url} on a machine with internet access and copy it "
        f"to {cache / spec.weights_file} (set KERAS_HOME to use another cache "
        f"folder), or pass weights='auto' to fall back to random initialisation."
    )


def _is_random(weights) -> bool:
    return weights is None or (isinstance(weights, str) and weights.lower() in ("none", "random"))


def resolve_weights(weights, name: str, timeout: float = 5.0) -> tuple[str | None, WeightsInfo]:
    """Turn a ``weights`` argument into what ``keras.applications`` takes.

    Parameters
    ----------
    weights : {"auto", "imagenet", "random", "none", None} or path-like
        ``"auto"``: ImageNet when available, else random (reason recorded).
        ``"imagenet"``: ImageNet or :class:`WeightsUnavailableError`.
        ``None``/``"none"``/``"random"``: random initialisation.
        A path: a weights file loaded after building (``.weights.h5``,
        ``.keras`` or a Keras ``*_notop.h5`` file); it must exist.
    name : str
        Backbone name.
    timeout : float
        Seconds to wait for the download host.

    Returns
    -------
    keras_weights : "imagenet" or None
        The argument for the ``keras.applications`` constructor (a file is
        loaded by :func:`build_backbone`, so it maps to None here).
    info : WeightsInfo
    """
    spec = backbone_spec(name)
    requested = None if weights is None else str(weights)
    if _is_random(weights):
        return None, WeightsInfo(requested, "random", "random initialisation", "random initialisation requested")

    if isinstance(weights, str) and weights.lower() in ("auto", "imagenet"):
        available, reason = imagenet_weights_available(name, timeout)
        cached = cached_weights_path(name)
        source = str(cached) if cached else spec.weights_url
        if available:
            return "imagenet", WeightsInfo(requested, "imagenet", source, f"ImageNet weights: {reason}")
        if weights.lower() == "imagenet":
            raise WeightsUnavailableError(_unavailable_message(name, reason))
        detail = f"ImageNet weights unavailable: {reason}; random initialisation"
        return None, WeightsInfo(requested, "random", "random initialisation", detail)

    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {str(path)!r} for {canonical_name(name)} does not exist. "
            "Pass 'auto', 'imagenet', None or the path of an existing weights file."
        )
    return None, WeightsInfo(requested, "file", str(path.resolve()), f"weights loaded from {path}")


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
    if channels != 3:
        raise ValueError(
            f"Backbones take 3-channel images; got {channels} channels. "
            "Repeat grayscale images to 3 channels first."
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
    weights : str, path-like or None
        See :func:`resolve_weights`.
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
    keras_weights, info = resolve_weights(weights, name, timeout)
    constructor = BACKBONES[name].constructor

    def construct(arg):
        return constructor(include_top=False, weights=arg, input_shape=input_shape, pooling=pooling)

    if keras_weights != "imagenet":
        backbone = construct(None)
    else:
        try:
            backbone = construct("imagenet")
        except Exception as error:  # the download failed (offline, proxy, bad hash)
            reason = f"download failed ({type(error).__name__}: {error})"
            if str(weights).lower() == "imagenet":
                raise WeightsUnavailableError(_unavailable_message(name, reason)) from error
            info = WeightsInfo(
                info.requested, "random", "random initialisation",
                f"ImageNet weights unavailable: {reason}; random initialisation",
            )
            backbone = construct(None)

    if info.used == "file":
        try:
            backbone.load_weights(info.source)
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
        if self.mode == "tf":
            return images * 2.0 - 1.0
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
# Heads: functions tensor -> tensor (functional API)
# --------------------------------------------------------------------------


def _pool(x, pooling: str | None, prefix: str):
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name=f"{prefix}_gmp")(x)
    if pooling == "flatten":
        return keras.layers.Flatten(name=f"{prefix}_flatten")(x)
    if pooling is None:
        return x
    raise ValueError(f"pooling must be 'avg', 'max', 'flatten' or None; got {pooling!r}.")


def gap_dense_head(n_classes: int, activation: str = "softmax") -> Callable:
    """GlobalAveragePooling -> Dense(``n_classes``) (P1, stage 1).

    Returns
    -------
    head : callable
        ``head(feature_map) -> output`` tensor.
    """

    def head(x):
        x = _pool(x, "avg", "head")
        return keras.layers.Dense(n_classes, activation=activation, name="head_output")(x)

    return head


def mlp_head(
    units=(256, 128),
    dropout: float = 0.5,
    n_outputs: int = 1,
    activation: str = "sigmoid",
    pooling: str | None = "avg",
) -> Callable:
    """Pooling -> Dense ReLU layers -> Dense output (P1, stage 2).

    With the defaults: GAP -> Dense 256 ReLU -> Dropout 0.5 -> Dense 128
    ReLU -> Dense 1 sigmoid, i.e. three dense layers, the first followed by
    dropout.

    Parameters
    ----------
    units : sequence of int
        Hidden layer widths.
    dropout : float
        Dropout rate after the first hidden layer (0 for none).
    n_outputs : int
    activation : str
        Output activation.
    pooling : {"avg", "max", "flatten", None}
    """

    def head(x):
        x = _pool(x, pooling, "head")
        for index, width in enumerate(units):
            x = keras.layers.Dense(width, activation="relu", name=f"head_dense_{index}")(x)
            if index == 0 and dropout:
                x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        return keras.layers.Dense(n_outputs, activation=activation, name="head_output")(x)

    return head


def p4_head(units: int = 512, dropout: float = 0.5, n_classes: int = 2) -> Callable:
    """GlobalMaxPooling -> Dense 512 ReLU -> Dropout 0.5 -> Dense 2 softmax (P4)."""

    def head(x):
        x = _pool(x, "max", "head")
        x = keras.layers.Dense(units, activation="relu", name="head_dense")(x)
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        return keras.layers.Dense(n_classes, activation="softmax", name="head_output")(x)

    return head


# --------------------------------------------------------------------------
# Classifiers
# --------------------------------------------------------------------------


def _assemble(inputs, preprocessing, backbone, head, name):
    features = backbone(preprocessing(inputs))
    return keras.Model(inputs, head(features), name=name)


def build_classifier(
    backbone_name: str,
    input_shape,
    head: Callable,
    weights="auto",
    name: str | None = None,
    timeout: float = 5.0,
) -> tuple[keras.Model, WeightsInfo]:
    """Input ``[0, 1]`` -> preprocessing -> ``"backbone"`` -> ``head``.

    Parameters
    ----------
    backbone_name : str
        One of ``BACKBONES``.
    input_shape : tuple of int
        ``(height, width, 3)``.
    head : callable or keras.layers.Layer
        Maps the backbone feature map ``(batch, h', w', c)`` to the output,
        e.g. :func:`gap_dense_head`, :func:`mlp_head` or :func:`p4_head`.
    weights : str, path-like or None
        See :func:`resolve_weights`.
    name : str, optional
        Model name; defaults to ``"<backbone>_classifier"``.

    Returns
    -------
    model : keras.Model
        Not compiled. Its layers are ``input``, ``"preprocessing"``
        (:class:`BackbonePreprocessing`), ``"backbone"`` (nested model) and
        the head's layers.
    info : WeightsInfo
    """
    backbone_name = canonical_name(backbone_name)
    backbone, info = build_backbone(backbone_name, input_shape, weights, timeout=timeout)
    backbone.name = "backbone"
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    preprocessing = BackbonePreprocessing(backbone_name, name="preprocessing")
    model = _assemble(inputs, preprocessing, backbone, head, name or f"{backbone_name.lower()}_classifier")
    return model, info


def replace_head(model: keras.Model, head: Callable, name: str | None = None) -> keras.Model:
    """New model sharing ``model``'s preprocessing and ``"backbone"`` layers.

    The backbone is the same object, not a copy, so its weights (and its
    ``trainable`` flags) carry over exactly; only the head is new.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build_classifier`.
    head : callable
        New head, as for :func:`build_classifier`.
    name : str, optional
        Name of the new model; defaults to ``model.name``.
    """
    inputs = keras.Input(shape=tuple(model.input_shape[1:]), name="image")
    return _assemble(
        inputs, model.get_layer("preprocessing"), model.get_layer("backbone"), head, name or model.name
    )


def count_layers(model: keras.Model, nested: bool = False) -> int:
    """Number of layers of ``model``, input layer included.

    With ``nested=True`` sub-models are expanded into their layers (the
    sub-model itself is not counted).
    """
    if not nested:
        return len(model.layers)
    total = 0
    for layer in model.layers:
        total += count_layers(layer, nested=True) if isinstance(layer, keras.Model) else 1
    return total


def freeze_first(backbone: keras.Model, n_layers: int) -> keras.Model:
    """Freeze the first ``n_layers`` layers of ``backbone``; the rest train.

    Frozen ``BatchNormalization`` layers run in inference mode (Keras 3
    semantics: ``trainable=False`` on BatchNorm uses the moving statistics).
    Recompile the model afterwards for the change to take effect.

    Returns
    -------
    backbone : keras.Model
        The same object, modified in place.
    """
    if not 0 <= n_layers <= len(backbone.layers):
        raise ValueError(f"n_layers must be in [0, {len(backbone.layers)}]; got {n_layers}.")
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= n_layers
    return backbone
