"""torchvision's AlexNet, ResNet-18 and SqueezeNet 1.0, layer for layer, in Keras 3.

keras.applications has none of the three, and P3 fine-tunes torchvision's
ImageNet checkpoints. These builders copy torchvision's layouts exactly, so a
converted checkpoint (:mod:`mstl_lib.nn.torch_weights`) computes the same
function:

- PyTorch's symmetric padding is an explicit ``ZeroPadding2D`` followed by a
  ``"valid"`` convolution or pooling, never ``padding="same"`` (which pads
  asymmetrically at stride 2). Max pooling with zero padding equals PyTorch's
  ``-inf`` padding here because every pooled tensor follows a ReLU (>= 0).
- SqueezeNet's ``ceil_mode=True`` max pooling pads the bottom/right edge with
  zeros (again exact after a ReLU).
- AlexNet's ``AdaptiveAvgPool2d((6, 6))`` is :class:`AdaptiveAveragePooling2D`,
  exact for every input size (PyTorch's bins: ``floor(i*H/6)`` to
  ``ceil((i+1)*H/6)``). AlexNet needs inputs of at least 63 px, where the last
  feature map is 1x1 and the pool repeats it 6x6.
- BatchNorm has ``epsilon=1e-5`` and ``momentum=0.9`` (PyTorch's 0.1).
- Layer names are torchvision's module names with ``.`` as ``_``
  (``features.0`` -> ``features_0``, ``layer1.0.conv1`` -> ``layer1_0_conv1``);
  padding layers add ``_pad``. A residual block's output (after its last ReLU)
  is named like the block (``layer4_1``).

``include_top=False`` follows keras.applications, with one deliberate
difference for AlexNet: P3 fine-tunes AlexNet's fully connected layers and
uses fc7's 4,096 outputs as features, so AlexNet's ``include_top=False`` keeps
``classifier.0``-``classifier.5`` (dropout, fc6, ReLU, dropout, fc7, ReLU) and
returns fc7's output as a ``1 x 1 x 4096`` map (``"penultimate"``), so every head
of :mod:`mstl_lib.nn.heads` applies. ResNet-18 and SqueezeNet return their last
feature maps (512 channels each).

Images enter in torchvision's normalisation (:func:`torch_preprocess_input`);
four-channel inputs (grey B-mode first, then the RGB strain image) are allowed
and get their stem from :mod:`mstl_lib.nn.stem`.
"""

from __future__ import annotations

import math

import numpy as np

from mstl_lib.downloads import WEIGHTS
from mstl_lib.nn.runtime import import_keras

keras = import_keras()

__all__ = [
    "AdaptiveAveragePooling2D",
    "AlexNet",
    "ResNet18",
    "SqueezeNet",
    "ARCHITECTURES",
    "STEM_LAYER",
    "GRADCAM_LAYER",
    "PENULTIMATE_WIDTH",
    "MIN_SIZE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "torch_preprocess_input",
    "n_layers_through",
    "weights_file_name",
]

BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9  # PyTorch's momentum=0.1 in Keras' convention

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GREY_MEAN = float(np.mean(IMAGENET_MEAN))
GREY_STD = float(np.mean(IMAGENET_STD))

STEM_LAYER = {"AlexNet": "features_0", "ResNet18": "conv1", "SqueezeNet": "features_0"}
"""The first convolution of each architecture (the one a 4-channel input changes)."""

GRADCAM_LAYER = {"AlexNet": "features_11", "ResNet18": "layer4_1", "SqueezeNet": "features_12"}
"""The last convolutional activation of each architecture: Grad-CAM's usual target."""

PENULTIMATE_WIDTH = {"AlexNet": 4096, "ResNet18": 512, "SqueezeNet": 512}
"""Width of the features the last (classification) layer sees."""

MIN_SIZE = {"AlexNet": 63, "ResNet18": 32, "SqueezeNet": 32}

TORCHVISION_NAMES = {"AlexNet": "alexnet", "ResNet18": "resnet18", "SqueezeNet": "squeezenet1_0"}
"""The ``torchvision.models`` builder of each architecture."""


def weights_file_name(arch: str) -> str:
    """File name of converted ImageNet weights in the Keras cache (``include_top=False``).

    With this file in ``~/.keras/models`` (or ``$KERAS_HOME/models``),
    ``weights="auto"`` and ``"imagenet"`` find it like any keras.applications file.
    """
    return WEIGHTS[arch].converted_file


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------


def normalisation_constants(channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (in ``[0, 1]`` units) of torchvision's ImageNet normalisation.

    Three channels: the RGB constants. Four channels (grey B-mode, then the
    RGB strain image): the grey channel uses the means of the RGB constants
    (0.449, 0.226), the others the RGB constants.
    """
    if channels == 3:
        return np.array(IMAGENET_MEAN, "float32"), np.array(IMAGENET_STD, "float32")
    if channels == 4:
        return (np.array((GREY_MEAN, *IMAGENET_MEAN), "float32"),
                np.array((GREY_STD, *IMAGENET_STD), "float32"))
    raise ValueError(f"torchvision normalisation is defined for 3 or 4 channels; got {channels}.")


def torch_preprocess_input(images: np.ndarray) -> np.ndarray:
    """``0..255`` images (3 or 4 channels, last axis) -> torchvision's normalised input."""
    images = np.asarray(images, dtype="float32") / 255.0
    mean, std = normalisation_constants(images.shape[-1])
    return (images - mean) / std


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------


def adaptive_bins(size: int, output_size: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling bins: ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    return [((i * size) // output_size, -((-(i + 1) * size) // output_size)) for i in range(output_size)]


def _pooling_matrix(size: int, output_size: int) -> np.ndarray:
    matrix = np.zeros((output_size, size), dtype="float32")
    for i, (start, end) in enumerate(adaptive_bins(size, output_size)):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


@keras.saving.register_keras_serializable(package="mstl_lib")
class AdaptiveAveragePooling2D(keras.layers.Layer):
    """PyTorch's ``AdaptiveAvgPool2d`` for inputs of static height and width (NHWC).

    Each output cell averages PyTorch's bin (see :func:`adaptive_bins`); the
    pool is two fixed averaging matrices, so it is exact for every input size
    (bins overlap or repeat a row when the input is smaller than the output).

    Parameters
    ----------
    output_size : int or (int, int)
    """

    def __init__(self, output_size=(6, 6), **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.output_size = tuple(int(s) for s in output_size)

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None:
            raise ValueError("AdaptiveAveragePooling2D needs a static input height and width.")
        self._rows = _pooling_matrix(height, self.output_size[0])
        self._cols = _pooling_matrix(width, self.output_size[1])

    def call(self, inputs):
        rows = keras.ops.convert_to_tensor(self._rows, dtype=inputs.dtype)
        cols = keras.ops.convert_to_tensor(self._cols, dtype=inputs.dtype)
        return keras.ops.einsum("ih,bhwc,jw->bijc", rows, inputs, cols)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.output_size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


def _conv(x, filters, kernel, name, stride=1, padding=0, bias=True):
    """PyTorch ``Conv2d``: explicit symmetric zero padding, then a valid convolution."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=bias, name=name)(x)


def _max_pool(x, name, kernel=3, stride=2, padding=0, ceil_mode=False):
    """PyTorch ``MaxPool2d`` on non-negative inputs (zero padding == -inf padding after a ReLU)."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
    if ceil_mode:
        extra = []
        for size in x.shape[1:3]:
            out = math.ceil((size - kernel) / stride) + 1
            if (out - 1) * stride >= size:  # PyTorch: the last window must start inside the input
                out -= 1
            extra.append(max((out - 1) * stride + kernel - size, 0))
        # always a layer (maybe of zero width), so the layer list does not depend on the input size
        x = keras.layers.ZeroPadding2D(((0, extra[0]), (0, extra[1])), name=f"{name}_ceil_pad")(x)
    return keras.layers.MaxPooling2D(kernel, strides=stride, padding="valid", name=name)(x)


def _bn(x, name):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def _relu(x, name):
    return keras.layers.ReLU(name=name)(x)


def _inputs(input_shape, input_tensor, name):
    if input_tensor is not None:
        return input_tensor
    return keras.Input(shape=tuple(input_shape), name=name)


def _check(arch, weights, input_shape):
    if weights not in (None, "imagenet"):
        raise ValueError(f"{arch}: weights must be None or 'imagenet' (a file is loaded by build_backbone); "
                         f"got {weights!r}.")
    if input_shape is None:
        input_shape = (224, 224, 3)
    height, width, channels = input_shape
    if min(height, width) < MIN_SIZE[arch]:
        raise ValueError(f"{arch} needs inputs of at least {MIN_SIZE[arch]}x{MIN_SIZE[arch]} pixels; "
                         f"got {height}x{width}.")
    if channels not in (3, 4):
        raise ValueError(f"{arch} takes 3 or 4 channels (grey B-mode + RGB strain); got {channels}.")
    return tuple(input_shape)


def _finish(arch, inputs, x, weights, include_top, pooling):
    if not include_top:
        if pooling == "avg":
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        elif pooling == "max":
            x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
        elif pooling is not None:
            raise ValueError(f"pooling must be None, 'avg' or 'max'; got {pooling!r}.")
    model = keras.Model(inputs, x, name=arch.lower())
    if weights == "imagenet":
        from mstl_lib.nn.stem import load_weights_into  # noqa: PLC0415
        from mstl_lib.nn.weights import cached_weights_path  # noqa: PLC0415

        path = cached_weights_path(arch)
        if path is None:
            raise FileNotFoundError(
                f"No converted torchvision weights for {arch} in the Keras cache; convert a checkpoint with "
                "mstl_lib.nn.torch_weights.convert_checkpoint and put it there.")
        load_weights_into(model, path, arch, include_top=include_top)
    return model


def _top(x, classifier_activation, name="predictions"):
    if classifier_activation is None:
        return x
    return keras.layers.Activation(classifier_activation, name=name, dtype="float32")(x)


# --------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------


def AlexNet(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
            classes=1000, classifier_activation="softmax"):
    """torchvision's ``alexnet`` (the one-GPU "OWT" variant), 61,100,840 parameters at 1,000 classes.

    ``include_top=False`` keeps fc6 and fc7 and returns fc7's ReLU output as a
    ``(1, 1, 4096)`` map named ``"penultimate"`` (see the module docstring).
    """
    input_shape = _check("AlexNet", weights, input_shape)
    inputs = _inputs(input_shape, input_tensor, "image")
    x = _conv(inputs, 64, 11, "features_0", stride=4, padding=2)
    x = _relu(x, "features_1")
    x = _max_pool(x, "features_2")
    x = _conv(x, 192, 5, "features_3", padding=2)
    x = _relu(x, "features_4")
    x = _max_pool(x, "features_5")
    x = _conv(x, 384, 3, "features_6", padding=1)
    x = _relu(x, "features_7")
    x = _conv(x, 256, 3, "features_8", padding=1)
    x = _relu(x, "features_9")
    x = _conv(x, 256, 3, "features_10", padding=1)
    x = _relu(x, "features_11")
    x = _max_pool(x, "features_12")
    x = AdaptiveAveragePooling2D((6, 6), name="avgpool")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # HWC order; the converter permutes fc6 from torch's CHW
    x = keras.layers.Dropout(0.5, name="classifier_0")(x)
    x = keras.layers.Dense(4096, name="classifier_1")(x)
    x = _relu(x, "classifier_2")
    x = keras.layers.Dropout(0.5, name="classifier_3")(x)
    x = keras.layers.Dense(4096, name="classifier_4")(x)
    x = _relu(x, "classifier_5")
    if include_top:
        x = keras.layers.Dense(classes, name="classifier_6")(x)
        x = _top(x, classifier_activation)
    else:
        x = keras.layers.Reshape((1, 1, 4096), name="penultimate")(x)
    return _finish("AlexNet", inputs, x, weights, include_top, pooling)


def _basic_block(x, filters, stride, name):
    shortcut = x
    y = _conv(x, filters, 3, f"{name}_conv1", stride=stride, padding=1, bias=False)
    y = _bn(y, f"{name}_bn1")
    y = _relu(y, f"{name}_relu1")
    y = _conv(y, filters, 3, f"{name}_conv2", padding=1, bias=False)
    y = _bn(y, f"{name}_bn2")
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv(x, filters, 1, f"{name}_downsample_0", stride=stride, bias=False)
        shortcut = _bn(shortcut, f"{name}_downsample_1")
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return _relu(y, name)


def ResNet18(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax"):
    """torchvision's ``resnet18``: BasicBlocks [2, 2, 2, 2], 11,689,512 parameters at 1,000 classes.

    Its first four child modules (``conv1``, ``bn1``, ``relu``, ``maxpool``) are
    the Keras layers up to ``"maxpool"`` (see :func:`n_layers_through`).
    """
    input_shape = _check("ResNet18", weights, input_shape)
    inputs = _inputs(input_shape, input_tensor, "image")
    x = _conv(inputs, 64, 7, "conv1", stride=2, padding=3, bias=False)
    x = _bn(x, "bn1")
    x = _relu(x, "relu")
    x = _max_pool(x, "maxpool", padding=1)
    for stage, filters in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"layer{stage}_{block}")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
        x = keras.layers.Dense(classes, name="fc")(x)
        x = _top(x, classifier_activation)
    return _finish("ResNet18", inputs, x, weights, include_top, pooling)


def _fire(x, squeeze, expand1x1, expand3x3, name):
    s = keras.layers.Conv2D(squeeze, 1, name=f"{name}_squeeze")(x)
    s = _relu(s, f"{name}_squeeze_activation")
    a = keras.layers.Conv2D(expand1x1, 1, name=f"{name}_expand1x1")(s)
    a = _relu(a, f"{name}_expand1x1_activation")
    b = _conv(s, expand3x3, 3, f"{name}_expand3x3", padding=1)
    b = _relu(b, f"{name}_expand3x3_activation")
    return keras.layers.Concatenate(axis=-1, name=name)([a, b])


def SqueezeNet(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax"):
    """torchvision's ``squeezenet1_0`` (eight Fire modules), 1,248,424 parameters at 1,000 classes.

    ``include_top=False`` returns ``features`` (512 channels); the top is
    dropout, a 1x1 convolution to ``classes``, ReLU and global average pooling.
    """
    input_shape = _check("SqueezeNet", weights, input_shape)
    inputs = _inputs(input_shape, input_tensor, "image")
    x = _conv(inputs, 96, 7, "features_0", stride=2)
    x = _relu(x, "features_1")
    x = _max_pool(x, "features_2", ceil_mode=True)
    x = _fire(x, 16, 64, 64, "features_3")
    x = _fire(x, 16, 64, 64, "features_4")
    x = _fire(x, 32, 128, 128, "features_5")
    x = _max_pool(x, "features_6", ceil_mode=True)
    x = _fire(x, 32, 128, 128, "features_7")
    x = _fire(x, 48, 192, 192, "features_8")
    x = _fire(x, 48, 192, 192, "features_9")
    x = _fire(x, 64, 256, 256, "features_10")
    x = _max_pool(x, "features_11", ceil_mode=True)
    x = _fire(x, 64, 256, 256, "features_12")
    if include_top:
        x = keras.layers.Dropout(0.5, name="classifier_0")(x)
        x = keras.layers.Conv2D(classes, 1, name="classifier_1")(x)
        x = _relu(x, "classifier_2")
        x = keras.layers.GlobalAveragePooling2D(name="classifier_3")(x)
        x = _top(x, classifier_activation)
    return _finish("SqueezeNet", inputs, x, weights, include_top, pooling)


ARCHITECTURES = {"AlexNet": AlexNet, "ResNet18": ResNet18, "SqueezeNet": SqueezeNet}


def n_layers_through(model: keras.Model, layer_name: str) -> int:
    """How many of ``model.layers`` come up to and including ``layer_name``.

    ``freeze_first(backbone, n_layers_through(backbone, "maxpool"))`` freezes
    ResNet-18's first four torchvision children (``conv1``, ``bn1``, ``relu``,
    ``maxpool``) with their padding layers and the input; ``"layer2_1"``
    freezes through ``layer2``; for AlexNet ``"features_12"`` freezes every
    convolution and leaves the three fully connected layers to train.
    """
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"{model.name} has no layer {layer_name!r}")
    return names.index(layer_name) + 1
