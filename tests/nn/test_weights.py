"""Weight resolution: random on request, ImageNet with a helpful error or fallback offline, files."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib import downloads
from mstl_lib.nn import weights as nn_weights
from mstl_lib.nn.backbones import BACKBONES, build_backbone
from mstl_lib.nn.classifier import build_classifier, count_layers
from mstl_lib.nn.heads import gap_dense_head
from mstl_lib.nn.weights import (
    WeightsInfo,
    WeightsUnavailableError,
    random_requested,
    resolve_weights,
    weights_descriptions,
    weights_entries,
    weights_fields,
    weights_kinds,
)


@pytest.mark.parametrize("request_", [None, "none", "Random"])
def test_random_weights_requested(request_):
    keras_weights, info = resolve_weights(request_, "VGG16")
    assert keras_weights is None and info.used == "random"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache and no network: what our machines and CI have."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    monkeypatch.delenv(downloads.MANIFEST_ENV, raising=False)
    monkeypatch.setattr(downloads, "reachable", lambda url, timeout=5.0: (False, f"{url} unreachable (offline)"))


def test_explicit_imagenet_offline_raises_helpfully(offline):
    with pytest.raises(WeightsUnavailableError) as caught:
        build_backbone("VGG16", (32, 32, 3), weights="imagenet", timeout=2.0)
    message = str(caught.value)
    assert BACKBONES["VGG16"].weights_url in message
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "KERAS_HOME" in message and "weights fetch" in message


def test_auto_falls_back_to_random_with_reason(offline):
    backbone, info = build_backbone("VGG16", (32, 32, 3), weights="auto", timeout=2.0)
    assert info.requested == "auto" and info.used == "random"
    assert info.detail.startswith("ImageNet weights unavailable:") and "unreachable" in info.detail
    assert count_layers(backbone) == 19


def test_auto_falls_back_when_download_fails(offline, monkeypatch):
    """The host answers but the download itself fails."""
    monkeypatch.setattr(downloads, "reachable", lambda url, timeout=5.0: (True, "pretend reachable"))

    def failing(download, folder, timeout=60.0):
        raise downloads.DownloadError(f"{download.url}: download failed (offline)")

    monkeypatch.setattr(downloads, "fetch", failing)
    _, info = build_backbone("VGG16", (32, 32, 3), weights="auto")
    assert info.used == "random" and "download failed" in info.detail
    with pytest.raises(WeightsUnavailableError, match="download failed"):
        build_backbone("VGG16", (32, 32, 3), weights="imagenet")


def test_a_reachable_host_downloads_through_the_registry(offline, monkeypatch, standin_imagenet, tmp_path):
    """"auto" with a reachable host fetches the file once, checked, before any building."""
    served = standin_imagenet(["VGG16"])  # the "server's" copy, accepted by the manifest
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache_home"))
    monkeypatch.setattr(downloads, "reachable", lambda url, timeout=5.0: (True, "pretend reachable"))
    fetched = []

    def fetch(download, folder, timeout=60.0):
        fetched.append(download.file_name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / download.file_name).write_bytes((served / download.file_name).read_bytes())
        return folder / download.file_name

    monkeypatch.setattr(downloads, "fetch", fetch)
    _, info = resolve_weights("auto", "VGG16")
    assert info.used == "imagenet" and fetched == [info.file_name]
    assert str(tmp_path / "cache_home") in info.source


@pytest.mark.parametrize("backbone", sorted(downloads.WEIGHTS))
def test_standin_imagenet_files_load_by_name(backbone, standin_imagenet):
    """Every registered ImageNet file, written as a stand-in under its exact name, is found, checked and loaded."""
    import h5py

    import mstl_lib.papers.p3_elastography.tasks  # noqa: F401 - registers DenseNet121

    folder = standin_imagenet([backbone])
    size = max(BACKBONES[backbone].min_size, 75)
    model, info = build_backbone(backbone, (size, size, 3), weights="imagenet")
    assert info.used == "imagenet" and info.identity()["sha256"] == info.sha256
    assert "manifest" in info.checksum and info.describe().startswith("ImageNet (")
    path = folder / info.file_name
    assert info.source == str(path)
    kernel = next(w for w in model.weights if len(w.shape) == 4)
    with h5py.File(path, "r") as handle:
        stored = []
        handle.visititems(lambda name, item: stored.append(item[()]) if isinstance(item, h5py.Dataset)
                          and item.ndim == 4 else None)
    assert any(a.shape == tuple(kernel.shape) and np.array_equal(a, np.asarray(kernel)) for a in stored)


def test_a_file_that_fails_its_checksum_is_never_used(standin_imagenet, monkeypatch):
    folder = standin_imagenet(["VGG16"])
    monkeypatch.delenv(downloads.MANIFEST_ENV)  # the stand-in is not the published file
    monkeypatch.setattr(downloads, "reachable", lambda url, timeout=5.0: (True, "pretend reachable"))
    with pytest.raises(WeightsUnavailableError, match="not the published file") as caught:
        resolve_weights("imagenet", "VGG16")
    assert "md5" in str(caught.value)
    _, info = resolve_weights("auto", "VGG16")
    assert info.used == "random" and "not the published file" in info.detail
    truncated = folder / BACKBONES["VGG16"].weights_file
    truncated.write_bytes(truncated.read_bytes()[:1000])
    with pytest.raises(WeightsUnavailableError, match="truncated"):
        resolve_weights("imagenet", "VGG16")


def test_weights_identity_holds_the_files_sha256(standin_imagenet):
    standin_imagenet(["VGG16"])
    _, first = resolve_weights("imagenet", "VGG16")
    assert first.identity() == {"used": "imagenet", "file": BACKBONES["VGG16"].weights_file, "sha256": first.sha256}
    assert nn_weights.WeightsInfo.from_dict(first.to_dict()) == first


def test_weights_file_round_trip(tmp_path):
    original, _ = build_backbone("VGG16", (32, 32, 3), weights=None)
    path = tmp_path / "vgg16_backbone.weights.h5"
    original.save_weights(path)

    loaded, info = build_backbone("VGG16", (32, 32, 3), weights=str(path))
    assert info.used == "file" and info.source == str(path.resolve())
    for a, b in zip(original.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    model, info = build_classifier("vgg16", (32, 32, 3), gap_dense_head(2), weights=path)
    assert info.used == "file"
    np.testing.assert_array_equal(model.get_layer("backbone").get_weights()[0], original.get_weights()[0])


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        build_backbone("VGG16", (32, 32, 3), weights=str(missing))


# ----------------------------------------------------------------- what records say of their weights

REQUESTED = WeightsInfo(None, "random", "random initialisation", "random initialisation requested")
FALLBACK = WeightsInfo("auto", "random", "random initialisation", "ImageNet weights unavailable: offline")
IMAGENET = WeightsInfo("auto", "imagenet", "/k/r.h5", "checked", sha256="ab" * 32, file_name="r.h5", checksum="md5")
FILE = WeightsInfo("w.h5", "file", "/x/w.h5", "weights loaded", sha256="cd" * 32)


def records(*infos_per_task):
    """Store-like records whose ``weights`` a task returned through :func:`weights_fields`."""
    return [{"status": "done", **weights_fields(infos)} for infos in infos_per_task]


def test_weights_fields_keep_identity_kind_request_and_line():
    fields = weights_fields({"AlexNet": FALLBACK, "ResNet18": IMAGENET})
    assert fields["weights"]["ResNet18"] == {**IMAGENET.identity(), "requested": "auto",
                                             "description": IMAGENET.describe()}
    assert fields["weights_used"] == f"AlexNet: {FALLBACK.describe()}; ResNet18: {IMAGENET.describe()}"
    assert weights_fields({"ResNet50": FILE})["weights_used"] == FILE.describe()  # one network: no name


@pytest.mark.parametrize(("tasks", "kinds", "asked"), [
    ([{"ResNet50": REQUESTED}], ["random"], True),
    ([{"ResNet50": FALLBACK}], ["random"], False),
    ([{"ResNet50": REQUESTED}, {"ResNet50": FALLBACK}], ["random"], False),
    ([{"a": IMAGENET, "b": FILE}], ["file", "imagenet"], False),
    ([{"ResNet50": IMAGENET}, {"ResNet50": REQUESTED}], ["imagenet", "random"], True),
    ([], [], False),
])
def test_kinds_and_requests_come_from_the_entries(tasks, kinds, asked):
    entries = weights_entries(records(*tasks))
    assert weights_kinds(entries) == kinds
    assert random_requested(entries) is asked
    assert weights_descriptions(entries) == sorted({info.describe() for task in tasks for info in task.values()})


def test_an_entry_of_the_run_context_or_of_no_known_kind():
    context_only = [{"weights": {"ResNet50": {"used": "imagenet", "file": "r.h5", "sha256": "ab"}}},
                    {"weights": {"x": {"used": "odd"}}}, {"weights": None}, {}]
    entries = weights_entries(context_only)
    assert weights_kinds(entries) == ["imagenet", "unknown"]
    assert weights_descriptions(entries) == ["imagenet", "odd"]
    assert not random_requested([{"used": "random"}])  # it does not say what was asked for
