"""torchvision state dicts -> Keras weights: the mapping on synthetic state dicts, and (with PyTorch) equal outputs."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from mstl_lib.nn import torch_weights, torchvision_models as tvm
from mstl_lib.nn.backbones import build_backbone
from mstl_lib.nn.stem import four_channel_kernel

# --------------------------------------------------------------------------
# torchvision's state-dict names and shapes, written out from its model definitions
# --------------------------------------------------------------------------


def _bn(prefix, channels):
    return {f"{prefix}.weight": (channels,), f"{prefix}.bias": (channels,), f"{prefix}.running_mean": (channels,),
            f"{prefix}.running_var": (channels,), f"{prefix}.num_batches_tracked": ()}


def alexnet_shapes():
    convs = {0: (64, 3, 11, 11), 3: (192, 64, 5, 5), 6: (384, 192, 3, 3), 8: (256, 384, 3, 3), 10: (256, 256, 3, 3)}
    shapes = {}
    for index, shape in convs.items():
        shapes |= {f"features.{index}.weight": shape, f"features.{index}.bias": shape[:1]}
    for index, shape in {1: (4096, 9216), 4: (4096, 4096), 6: (1000, 4096)}.items():
        shapes |= {f"classifier.{index}.weight": shape, f"classifier.{index}.bias": shape[:1]}
    return shapes


def resnet18_shapes():
    shapes = {"conv1.weight": (64, 3, 7, 7), **_bn("bn1", 64)}
    in_channels = 64
    for stage, channels in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            shapes |= {f"{p}.conv1.weight": (channels, in_channels, 3, 3), **_bn(f"{p}.bn1", channels),
                       f"{p}.conv2.weight": (channels, channels, 3, 3), **_bn(f"{p}.bn2", channels)}
            if stage > 1 and block == 0:
                shapes |= {f"{p}.downsample.0.weight": (channels, in_channels, 1, 1),
                           **_bn(f"{p}.downsample.1", channels)}
            in_channels = channels
    return shapes | {"fc.weight": (1000, 512), "fc.bias": (1000,)}


def squeezenet1_0_shapes():
    shapes = {"features.0.weight": (96, 3, 7, 7), "features.0.bias": (96,)}
    fires = {3: (96, 16, 64, 64), 4: (128, 16, 64, 64), 5: (128, 32, 128, 128), 7: (256, 32, 128, 128),
             8: (256, 48, 192, 192), 9: (384, 48, 192, 192), 10: (384, 64, 256, 256), 12: (512, 64, 256, 256)}
    for index, (inp, s, e1, e3) in fires.items():
        p = f"features.{index}"
        for name, shape in (("squeeze", (s, inp, 1, 1)), ("expand1x1", (e1, s, 1, 1)), ("expand3x3", (e3, s, 3, 3))):
            shapes |= {f"{p}.{name}.weight": shape, f"{p}.{name}.bias": shape[:1]}
    return shapes | {"classifier.1.weight": (1000, 512, 1, 1), "classifier.1.bias": (1000,)}


SHAPES = {"AlexNet": alexnet_shapes, "ResNet18": resnet18_shapes, "SqueezeNet": squeezenet1_0_shapes}


def synthetic_state_dict(arch, seed=0):
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in SHAPES[arch]().items():
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(7, dtype="int64")
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, shape).astype("float32")
        else:
            state[key] = (0.05 * rng.standard_normal(shape, dtype="float32"))
    return state


@pytest.mark.parametrize("arch", list(SHAPES))
def test_parameter_counts_of_the_written_out_shapes(arch):
    """The written-out shapes are torchvision's: their parameter counts are the published ones."""
    published = {"AlexNet": 61_100_840, "ResNet18": 11_689_512, "SqueezeNet": 1_248_424}
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    counted = sum(int(np.prod(s)) for k, s in SHAPES[arch]().items() if not k.endswith(buffers))
    assert counted == published[arch]


# --------------------------------------------------------------------------
# The mapping, without PyTorch
# --------------------------------------------------------------------------


@pytest.mark.parametrize("arch", list(SHAPES))
def test_synthetic_state_dict_maps_tensor_by_tensor(arch):
    state = synthetic_state_dict(arch)
    model = torch_weights.keras_model_from_state_dict(arch, state, include_top=True, input_shape=(64, 64, 3))
    stem = model.get_layer(tvm.STEM_LAYER[arch])
    torch_kernel = state[f"{torch_weights.torch_name(stem.name)}.weight"]
    np.testing.assert_array_equal(stem.kernel.numpy(), torch_kernel.transpose(2, 3, 1, 0))
    if arch == "ResNet18":
        bn = model.get_layer("layer3_0_downsample_1")
        for variable, suffix in zip(bn.weights, ("weight", "bias", "running_mean", "running_var"), strict=True):
            np.testing.assert_array_equal(variable.numpy(), state[f"layer3.0.downsample.1.{suffix}"])
        np.testing.assert_array_equal(model.get_layer("fc").kernel.numpy(), state["fc.weight"].T)
    if arch == "SqueezeNet":
        np.testing.assert_array_equal(model.get_layer("features_12_expand3x3").bias.numpy(),
                                      state["features.12.expand3x3.bias"])


def test_alexnet_fc6_reads_torchs_channel_major_flattening():
    """fc6 on Keras' (H, W, C) flattening equals torch's fc6 on its (C, H, W) flattening."""
    state = synthetic_state_dict("AlexNet")
    model = torch_weights.keras_model_from_state_dict("AlexNet", state, input_shape=(63, 63, 3))
    feature_map = np.random.default_rng(1).standard_normal((2, 6, 6, 256), dtype="float32")
    keras_out = model.get_layer("classifier_1")(feature_map.reshape(2, -1)).numpy()
    torch_flat = feature_map.transpose(0, 3, 1, 2).reshape(2, -1)
    expected = torch_flat @ state["classifier.1.weight"].T + state["classifier.1.bias"]
    np.testing.assert_allclose(keras_out, expected, rtol=1e-4, atol=1e-4)


def test_bad_state_dicts_are_named():
    state = synthetic_state_dict("ResNet18")
    missing = {k: v for k, v in state.items() if k != "layer2.1.conv2.weight"}
    with pytest.raises(ValueError, match=r"missing tensors \['layer2.1.conv2.weight'\]"):
        torch_weights.keras_model_from_state_dict("ResNet18", missing, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="tensors no ResNet18 layer uses"):
        torch_weights.keras_model_from_state_dict("ResNet18", {**state, "extra.weight": np.ones(3)},
                                                  input_shape=(32, 32, 3))
    wrong = {**state, "conv1.weight": np.zeros((64, 3, 5, 5), "float32")}
    with pytest.raises(ValueError, match="wrong shapes"):
        torch_weights.keras_model_from_state_dict("ResNet18", wrong, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="not a torchvision AlexNet"):
        torch_weights.keras_model_from_state_dict("AlexNet", state, input_shape=(63, 63, 3))


def test_converted_file_loads_into_three_and_four_channel_backbones(tmp_path):
    state = synthetic_state_dict("ResNet18")
    np.savez(tmp_path / "resnet18.npz", **state)
    path = torch_weights.convert_checkpoint("ResNet18", tmp_path / "resnet18.npz", tmp_path / "r18.weights.h5")
    three, info = build_backbone("ResNet18", (40, 40, 3), weights=path)
    assert info.used == "file"
    np.testing.assert_array_equal(three.get_layer("conv1").kernel.numpy(), state["conv1.weight"].transpose(2, 3, 1, 0))
    four, _ = build_backbone("ResNet18", (40, 40, 4), weights=path)
    np.testing.assert_allclose(four.get_layer("conv1").kernel.numpy(),
                               four_channel_kernel(three.get_layer("conv1").kernel.numpy()))
    np.testing.assert_array_equal(four.get_layer("layer4_1_bn2").moving_variance.numpy(),
                                  state["layer4.1.bn2.running_var"])
    # a four-channel file (a fine-tuned model) loads as it is
    four.save_weights(tmp_path / "four.weights.h5")
    again, _ = build_backbone("ResNet18", (40, 40, 4), weights=tmp_path / "four.weights.h5")
    np.testing.assert_array_equal(again.get_layer("conv1").kernel.numpy(), four.get_layer("conv1").kernel.numpy())


def test_cached_file_is_found_by_auto(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    state = synthetic_state_dict("SqueezeNet")
    path = torch_weights.convert_checkpoint("SqueezeNet", state)
    assert path == tmp_path / "models" / tvm.weights_file_name("SqueezeNet")
    backbone, info = build_backbone("SqueezeNet", (48, 48, 4), weights="auto")
    assert info.used == "imagenet" and info.file_name == tvm.weights_file_name("SqueezeNet")
    np.testing.assert_allclose(backbone.get_layer("features_0").kernel.numpy(),
                               four_channel_kernel(state["features.0.weight"].transpose(2, 3, 1, 0)))


def test_pth_without_torch_says_how(tmp_path, monkeypatch):
    (tmp_path / "x.pth").write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"mstl_lib\[torch\]"):
        torch_weights.load_state_dict(tmp_path / "x.pth")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        torch_weights.load_state_dict(tmp_path / "none.pth")


# --------------------------------------------------------------------------
# Numerical equivalence with torchvision (needs the `torch` extra)
# --------------------------------------------------------------------------


def import_torchvision():
    """torchvision, imported on a CPU-only PyTorch.

    PyPI's torchvision wheels carry C++ operators built against CUDA PyTorch;
    with a CPU build they do not load, and torchvision then fails at import
    registering fake kernels for two of them. Declaring those two operators
    (detection ops no test here uses) lets the model definitions import.
    """
    torch = pytest.importorskip("torch", reason="needs the torch extra: pip install -e .[torch]")
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
    for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
        del sys.modules[name]
    for op in ("nms", "qnms"):
        torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return importlib.import_module("torchvision")


TORCH_CASES = [("AlexNet", 63), ("AlexNet", 100), ("AlexNet", 224), ("ResNet18", 75), ("ResNet18", 224),
               ("SqueezeNet", 75), ("SqueezeNet", 224)]


@pytest.fixture(scope="module")
def torchvision():
    return import_torchvision()


def _random_torchvision_model(torchvision, arch, seed):
    import torch

    torch.manual_seed(seed)
    model = getattr(torchvision.models, tvm.TORCHVISION_NAMES[arch])(weights=None)
    with torch.no_grad():  # BN statistics and affine parameters away from their identity defaults
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize("arch", list(SHAPES))
def test_written_out_shapes_are_torchvisions(torchvision, arch):
    model = getattr(torchvision.models, tvm.TORCHVISION_NAMES[arch])(weights=None)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == SHAPES[arch]()


@pytest.mark.parametrize(("arch", "side"), TORCH_CASES, ids=[f"{a}-{s}" for a, s in TORCH_CASES])
def test_converted_model_computes_torchvisions_function(torchvision, tmp_path, arch, side):
    import torch

    model = _random_torchvision_model(torchvision, arch, seed=side)
    torch.save(model.state_dict(), tmp_path / "checkpoint.pth")
    path = torch_weights.convert_checkpoint(arch, tmp_path / "checkpoint.pth", tmp_path / "c.weights.h5",
                                            include_top=True)
    keras_model = tvm.ARCHITECTURES[arch](include_top=True, input_shape=(side, side, 3),
                                          classifier_activation=None)
    keras_model.load_weights(path)

    x = np.random.default_rng(side).standard_normal((2, 3, side, side), dtype="float32")
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = keras_model(x.transpose(0, 2, 3, 1), training=False).numpy()
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * scale)


def test_missing_converted_weights_say_how_to_make_them(tmp_path, monkeypatch):
    from mstl_lib.nn.weights import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="convert_checkpoint"):
        build_backbone("AlexNet", (64, 64, 3), weights="imagenet")
    _, info = build_backbone("AlexNet", (64, 64, 3), weights="auto")
    assert info.used == "random"
