"""The files the book can download, with their published checksums, terms and citations.

One registry serves the ``weights`` command (``python -m mstl_lib weights``) and
the ``data`` command (``python -m mstl_lib data``, through :mod:`mstl_lib.data.acquire`): each :class:`Download` names its URL, the file name it
keeps, the checksum its publisher states (Keras's md5s, the sha256 prefix in a
torchvision checkpoint's name, a dataset's sha256) and its terms of use.

:func:`check_file` says whether a file on disk is the published one,
:func:`fetch` downloads it with pooch and checks it, and :func:`reachable`
asks, over HTTP and through any proxy the environment names, whether the host
answers. Nothing here imports TensorFlow.

A file whose checksum does not match is reported, and never used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mstl_lib import atomic

KERAS_WEIGHTS, TORCH_CHECKPOINT, DATASET = "Keras weights", "torchvision checkpoint", "dataset"
KINDS = (KERAS_WEIGHTS, TORCH_CHECKPOINT, DATASET)

VERIFIED, MISMATCH, UNPUBLISHED, MISSING = "verified", "checksum mismatch", "no published checksum", "missing"
"""What :func:`check_file` finds: the published checksum matches, does not, none is published, no file."""

MANIFEST_ENV = "MSTL_WEIGHTS_MANIFEST"
"""Names a JSON file ``{file name: md5 or sha256}`` whose checksums replace the published ones.

For weights that are not the published files but should be used under their names: the test
suite's architecture-correct stand-ins, or a lab's own mirror. Every check that uses it says so.
"""

IMAGENET_TERMS = ("trained on ImageNet (ILSVRC 2012), whose images are licensed for non-commercial research "
                  "and education only")

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
_TORCH_BASE = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Download:
    """One downloadable file.

    Attributes
    ----------
    key : str
        What it serves: a backbone name (``"ResNet50"``) or a dataset name.
    kind : str
        One of :data:`KINDS`.
    url : str
        Where the publisher serves it.
    md5, sha256, sha256_prefix : str
        The checksum the publisher states (at most one is set; empty: none published).
    terms : str
        The licence or terms of use, in one line.
    citation_key : str
        The book's bibliography key of the work that made it.
    converted_file : str
        For a checkpoint converted into Keras weights: the converted file's name in the Keras cache.
    by_hand : str
        For a file that cannot be fetched by a script (a sign-in, a form, a page of links): what
        the user does instead, in one sentence. ``url`` is then the page to start from.
    mirrors : tuple of str
        Other places known to serve the same release (not checked here).
    """

    key: str
    kind: str
    url: str
    md5: str = ""
    sha256: str = ""
    sha256_prefix: str = ""
    terms: str = ""
    citation_key: str = ""
    converted_file: str = ""
    by_hand: str = ""
    mirrors: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: kind must be one of {KINDS}, not {self.kind!r}")
        if sum(bool(v) for v in (self.md5, self.sha256, self.sha256_prefix)) > 1:
            raise ValueError(f"{self.key}: state one published checksum, not several")

    @property
    def file_name(self) -> str:
        """The file's name, as the URL gives it (and as Keras or torchvision cache it)."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def published_checksum(self) -> str:
        """The published checksum as text (``"md5 4d47…"``), or an empty string."""
        if self.md5:
            return f"md5 {self.md5}"
        if self.sha256:
            return f"sha256 {self.sha256}"
        return f"sha256 prefix {self.sha256_prefix}" if self.sha256_prefix else ""


def _keras(key: str, path: str, md5: str, citation_key: str, base: str = _KERAS_BASE) -> Download:
    return Download(key, KERAS_WEIGHTS, base + path, md5=md5, citation_key=citation_key,
                    terms="Keras Applications (Apache-2.0); " + IMAGENET_TERMS)


def _torch(key: str, file_name: str, citation_key: str, converted_name: str) -> Download:
    prefix = file_name.rsplit("-", 1)[-1].split(".", 1)[0]
    return Download(key, TORCH_CHECKPOINT, _TORCH_BASE + file_name, sha256_prefix=prefix, citation_key=citation_key,
                    terms="torchvision (BSD-3-Clause); " + IMAGENET_TERMS,
                    converted_file=f"{converted_name}_torchvision_notop.weights.h5")


WEIGHTS: dict[str, Download] = {d.key: d for d in (
    _keras("ResNet50", "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "4d473c1dd8becc155b73f8504c6f6626", "he2016resnet"),
    _keras("ResNet101", "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "88cf7a10940856eca736dc7b7e228a21", "he2016resnet"),
    _keras("InceptionV3", "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "bcbd6486424b2319ff4ef7d526e38f63", "szegedy2016inception"),
    _keras("EfficientNetB2", "efficientnetb2_notop.h5", "111f8e2ac8aa800a7a99e3239f7bfb39", "tan2019efficientnet",
           base="https://storage.googleapis.com/keras-applications/"),
    _keras("VGG16", "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "6d6bbae143d832006294945121d1f1fc", "simonyan2015vgg"),
    _keras("VGG19", "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "253f8cb515780f3b799900260a226db6", "simonyan2015vgg"),
    _keras("DenseNet121", "densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
           "30ee3e1110167f948a6b9946edeeb738", "huang2017densenet"),
    _torch("AlexNet", "alexnet-owt-7be5be79.pth", "krizhevsky2014alexnet", "alexnet"),
    _torch("ResNet18", "resnet18-f37072fd.pth", "he2016resnet", "resnet18"),
    _torch("SqueezeNet", "squeezenet1_0-b66bff10.pth", "iandola2016squeezenet", "squeezenet1_0"),
)}
"""ImageNet weights by backbone: Keras's ``include_top=False`` files (md5 as Keras checks it) and
torchvision's checkpoints (sha256 prefix from the file name), converted for the torchvision layouts."""


DATASET_DOWNLOADS: dict[str, Download] = {d.key: d for d in (
    Download("busi", DATASET, "https://scholar.cu.edu.eg/Dataset_BUSI.zip",
             sha256="b2ce09f6063a31a73f628b6a6ee1245187cbaec225e93e563735691d68654de7",
             citation_key="aldhabyani2020busi",
             mirrors=("https://www.kaggle.com/datasets/aryashah2k/breast-ultrasound-images-dataset",)),
    Download("breakhis", DATASET, "http://www.inf.ufpr.br/vri/databases/BreaKHis_v1.tar.gz",
             citation_key="spanhol2016breakhis"),
    Download("ddti", DATASET, "http://cimalab.intec.co/applications/thyroid/", citation_key="pedraza2015ddti",
             by_hand=("download every case (one XML per case and its JPGs) from the page into one folder, then run "
                      "`python -m mstl_lib data convert-ddti <that folder>`"),
             mirrors=("https://www.kaggle.com/datasets/dasmehdixtr/ddti-thyroid-ultrasound-images",)),
    Download("mendeley", DATASET, "https://data.mendeley.com/datasets/wmy84gzngw/1",
             citation_key="rodrigues2017mendeley",
             by_hand="download the archive from the page and unpack its benign and malignant folders"),
    Download("mt_small", DATASET, "https://www.kaggle.com/mohammedtgadallah/mt-small-dataset", citation_key="mtsmall",
             by_hand="sign in to Kaggle, download the archive and unpack it"),
)}
"""The datasets' archives: BUSI's with the sha256 torch-em publishes, BreakHis's with none published,
and the pages of those that a script cannot fetch (DDTI, Mendeley, MT-Small). Mirrors are not checked here."""


def weights_download(backbone: str) -> Download | None:
    """The registry entry of ``backbone``'s ImageNet weights (case-insensitive), or None."""
    by_lower = {key.lower(): value for key, value in WEIGHTS.items()}
    return by_lower.get(str(backbone).lower())


# --------------------------------------------------------------------------- checks


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and what to do instead."""


class ChecksumError(ValueError):
    """A file is not the published one: its checksum does not match."""


@dataclass(frozen=True)
class FileCheck:
    """What :func:`check_file` found."""

    status: str
    """:data:`VERIFIED`, :data:`MISMATCH`, :data:`UNPUBLISHED` or :data:`MISSING`."""
    path: str
    size: int = 0
    sha256: str = ""
    detail: str = ""

    @property
    def usable(self) -> bool:
        """A file is used unless it is missing or its checksum does not match."""
        return self.status in (VERIFIED, UNPUBLISHED)


def _digest(path: Path, algorithm: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _digests(path: str, size: int, mtime_ns: int) -> tuple[str, str]:
    """(md5, sha256) of a file, computed once per size and modification time."""
    return _digest(Path(path), "md5"), _digest(Path(path), "sha256")


def file_digests(path: str | os.PathLike) -> tuple[str, str]:
    """The md5 and sha256 of a file (cached while the file is unchanged)."""
    stat = Path(path).stat()
    return _digests(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def manifest() -> tuple[dict[str, str], str]:
    """The checksums of :data:`MANIFEST_ENV`'s file, and its path (empty when unset)."""
    location = os.environ.get(MANIFEST_ENV, "")
    if not location:
        return {}, ""
    path = Path(location).expanduser()
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{MANIFEST_ENV}={location}: cannot read a JSON object of checksums ({error})") from error
    if not isinstance(values, dict):
        raise ValueError(f"{MANIFEST_ENV}={location}: expected a JSON object {{file name: checksum}}")
    return {str(k): str(v).lower() for k, v in values.items()}, str(path)


def check_file(download: Download, path: str | os.PathLike, file_name: str | None = None) -> FileCheck:
    """Whether ``path`` is the file ``download`` publishes.

    ``file_name`` (default ``download.file_name``) is the name looked up in the manifest of
    :data:`MANIFEST_ENV`, whose checksum, when present, replaces the published one.
    """
    path = Path(path)
    if not path.is_file():
        return FileCheck(MISSING, str(path), detail=f"no file at {path}")
    size = path.stat().st_size
    md5, sha256 = file_digests(path)
    overrides, manifest_path = manifest()
    expected = overrides.get(file_name or download.file_name)
    if expected:
        ok = expected in (md5, sha256)
        return FileCheck(VERIFIED if ok else MISMATCH, str(path), size, sha256,
                         f"checksum {'matches' if ok else 'does not match'} the manifest {manifest_path} "
                         f"(not the publisher's)")
    if file_name and file_name != download.file_name:
        return FileCheck(UNPUBLISHED, str(path), size, sha256, "no checksum is published for this file")
    if download.md5 or download.sha256:
        algorithm, want, got = (("md5", download.md5, md5) if download.md5 else ("sha256", download.sha256, sha256))
        ok = got == want.lower()
        return FileCheck(VERIFIED if ok else MISMATCH, str(path), size, sha256,
                         f"{algorithm} {got}" + ("" if ok else f", published {want} (size {size:,} bytes: truncated "
                                                                 "or another file)"))
    if download.sha256_prefix:
        ok = sha256.startswith(download.sha256_prefix.lower())
        return FileCheck(VERIFIED if ok else MISMATCH, str(path), size, sha256,
                         f"sha256 {sha256[:16]}…" + ("" if ok else f", published prefix {download.sha256_prefix}"))
    return FileCheck(UNPUBLISHED, str(path), size, sha256, "no checksum is published for this file")


# --------------------------------------------------------------------------- network


def reachable(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether ``url``'s host answers an HTTP request, through any proxy the environment names.

    Uses ``urllib`` (which honours ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY``); any HTTP
    status, even an error, means the host answered.
    """
    request = urllib.request.Request(url, method="HEAD")
    try:
        opener = urllib.request.build_opener()  # reads the proxy variables now, not at the first request
        with opener.open(request, timeout=timeout) as response:
            return True, f"{url} answered HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return True, f"{url} answered HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return False, f"{url} unreachable ({reason})"


def pooch_hash(download: Download) -> str | None:
    """The checksum pooch checks a download against: the manifest's (:data:`MANIFEST_ENV`), else the published one.

    A sha256 prefix is checked after the download (pooch takes whole hashes only).
    """
    override = manifest()[0].get(download.file_name)
    if override:
        return f"{'md5' if len(override) == 32 else 'sha256'}:{override}"
    return f"md5:{download.md5}" if download.md5 else f"sha256:{download.sha256}" if download.sha256 else None


def fetch(download: Download, folder: str | os.PathLike, timeout: float = 60.0) -> Path:
    """Download ``download`` into ``folder`` (with pooch), check it, and return its path.

    A file already there that passes :func:`check_file` is kept as it is.

    Raises
    ------
    DownloadError
        The download failed; the message names the URL and where to put the file by hand.
    ChecksumError
        The downloaded file is not the published one (it is deleted).
    """
    import pooch  # noqa: PLC0415 - only where a download happens

    pooch.get_logger().setLevel("WARNING")

    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / download.file_name
    if check_file(download, target).status == VERIFIED:
        return target
    known = pooch_hash(download)
    try:
        path = Path(pooch.retrieve(download.url, known_hash=known, fname=download.file_name, path=folder,
                                   progressbar=False, downloader=pooch.HTTPDownloader(timeout=timeout)))
    except ValueError as error:  # pooch: the hash does not match
        raise ChecksumError(f"{download.url}: the downloaded file is not the published one ({error}); "
                            "it was deleted") from error
    except Exception as error:  # requests' errors: no network, proxy, HTTP status
        short = " ".join(str(error).split())
        short = short if len(short) <= 160 else short[:157] + "..."
        raise DownloadError(f"{download.url}: download failed ({type(error).__name__}: {short}). "
                            f"Download it where the network allows and put it at {target}") from error
    found = check_file(download, path)
    if found.status == MISMATCH:
        path.unlink(missing_ok=True)
        raise ChecksumError(f"{download.url}: the downloaded file is not the published one ({found.detail}); "
                            "it was deleted")
    return path


# --------------------------------------------------------------------------- converted checkpoints


def conversion_record_path(converted: str | os.PathLike) -> Path:
    """The JSON beside a converted weights file that records the checkpoint it came from."""
    return Path(f"{converted}.source.json")


def write_conversion_record(converted: str | os.PathLike, checkpoint: str | os.PathLike, download: Download) -> Path:
    """Record, beside ``converted``, the checked checkpoint it was made from and its own sha256."""
    source = check_file(download, checkpoint)
    if source.status != VERIFIED:
        raise ChecksumError(f"{checkpoint}: not the published {download.file_name} ({source.detail})")
    record = {"checkpoint": download.file_name, "url": download.url, "checkpoint_sha256": source.sha256,
              "sha256": file_digests(converted)[1]}
    return atomic.write_text(conversion_record_path(converted), json.dumps(record, indent=2) + "\n")


def check_converted(download: Download, path: str | os.PathLike) -> FileCheck:
    """Whether ``path`` is the converted form of ``download``'s checked checkpoint.

    :data:`VERIFIED` when the record written at conversion (:func:`write_conversion_record`) names a
    checkpoint with the published sha256 prefix and the file still has the sha256 recorded then;
    :data:`UNPUBLISHED` without a record (converted by hand); :data:`MISMATCH` otherwise. The manifest
    of :data:`MANIFEST_ENV` is consulted first, as in :func:`check_file`.
    """
    found = check_file(download, path, file_name=download.converted_file)
    if found.status != UNPUBLISHED:
        return found
    record_path = conversion_record_path(path)
    if not record_path.is_file():
        return FileCheck(UNPUBLISHED, found.path, found.size, found.sha256,
                         f"converted by hand: no record of its checkpoint ({record_path.name})")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        checkpoint_ok = str(record["checkpoint_sha256"]).startswith(download.sha256_prefix)
        same_file = record["sha256"] == found.sha256
    except (OSError, ValueError, KeyError, TypeError) as error:
        return FileCheck(MISMATCH, found.path, found.size, found.sha256, f"unreadable record {record_path} ({error})")
    if checkpoint_ok and same_file:
        return FileCheck(VERIFIED, found.path, found.size, found.sha256,
                         f"converted from {record['checkpoint']} (sha256 prefix {download.sha256_prefix} verified)")
    why = "the file changed since its conversion" if not same_file else "its checkpoint was not the published one"
    return FileCheck(MISMATCH, found.path, found.size, found.sha256, f"{why} ({record_path.name})")
