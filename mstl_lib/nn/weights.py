"""Where a backbone's initial weights come from: ImageNet, a named file, or random.

``"auto"`` uses ImageNet weights when they can be had and falls back to random
initialisation otherwise, recording why in a :class:`WeightsInfo`.

A run resolves the ``weights`` parameter once per backbone
(:func:`resolve_for_run`, called by the run context) before any training. The
resolved :class:`WeightsInfo` travels to the tasks as JSON; its
:meth:`WeightsInfo.identity` (ImageNet or a file, each with the file's SHA-256,
or random) enters the results key, so records made from other weights are never
reused. A task builds from the resolved identity and never resolves again.

ImageNet weights are files of the download registry (:mod:`mstl_lib.downloads`)
in the Keras cache: Keras's ``*_notop.h5`` files, and torchvision checkpoints
converted for the torchvision layouts. A file is used only when its checksum
matches the published one (:func:`weights_file_check`); where one is missing and
the host answers over HTTP, :func:`fetch_weights` downloads and checks it before
any training. ``python -m mstl_lib weights status | fetch`` does the same by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mstl_lib import downloads


def _backbones():
    """The backbone registry (imported on use: it imports TensorFlow)."""
    from mstl_lib.nn import backbones  # noqa: PLC0415

    return backbones

# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights were asked for explicitly but cannot be obtained; ``reason`` says why in a few words."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message

    def _render_traceback_(self) -> list[str]:  # a notebook shows the message, not a traceback
        return [f"{type(self).__name__}: {self}"]


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
    sha256: str | None = None
    """SHA-256 of the weights file (``used`` ``"file"`` or ``"imagenet"``)."""
    file_name: str | None = None
    """The Keras cache file name of ImageNet weights (it names their version)."""
    checksum: str = ""
    """How the file was checked (``"md5 … verified"``, ``"converted from … (sha256 prefix verified)"``)."""

    def to_dict(self) -> dict:
        """Plain ``dict`` for provenance records and task contexts."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> WeightsInfo:
        """The inverse of :meth:`to_dict`."""
        return cls(**values)

    def identity(self) -> dict:
        """What the weights *are*, independent of where they lie: the part that enters the results key."""
        if self.used == "file":
            return {"used": "file", "sha256": self.sha256}
        if self.used == "imagenet":
            return {"used": "imagenet", "file": self.file_name, "sha256": self.sha256}
        return {"used": "random"}

    def record(self) -> dict:
        """What a task record keeps of these weights: :meth:`identity` (its ``used`` is the kind: ``"imagenet"``,
        ``"file"`` or ``"random"``), what was ``requested`` and the ``description`` shown
        (:mod:`mstl_lib.report.weights` reads it back)."""
        return {**self.identity(), "requested": self.requested, "description": self.describe()}

    def describe(self) -> str:
        """One line for banners and tables."""
        if self.used == "file":
            return f"file {Path(self.source).name} (sha256 {str(self.sha256)[:12]}…)"
        if self.used == "imagenet":
            unpublished = "; checked against a manifest, not the publisher's checksum" if "manifest" in self.checksum else ""
            return f"ImageNet ({self.file_name}, sha256 {str(self.sha256)[:12]}…{unpublished})"
        return f"random initialisation ({self.detail})"


def weights_fields(infos: dict[str, WeightsInfo]) -> dict:
    """A task result's weights: ``weights`` (name -> :meth:`WeightsInfo.record`, the field reports read) and
    ``weights_used`` (the line shown; ``"name: ..."`` per network when there are several)."""
    lines = [info.describe() if len(infos) == 1 else f"{name}: {info.describe()}" for name, info in infos.items()]
    return {"weights": {name: info.record() for name, info in infos.items()}, "weights_used": "; ".join(lines)}


# --------------------------------------------------------------------------- records
# Every task record holds ``weights``: name -> entry, an entry being :meth:`WeightsInfo.record` (``used`` is the
# kind), or, for a task that returned none, the run's resolved identity. Reports read kinds and descriptions
# with the functions below; none parses the display line ``weights_used``.

WEIGHTS_KINDS = ("imagenet", "file", "random")
"""The kinds of initial weights (``WeightsInfo.used``)."""


def weights_entries(records: Iterable[Mapping]) -> list[dict]:
    """Every network's weights entry in ``records`` (raw store records), in order."""
    entries = []
    for record in records:
        found = record.get("weights")
        if isinstance(found, Mapping):
            entries.extend(dict(entry) for entry in found.values() if isinstance(entry, Mapping))
    return entries


def weights_kinds(entries: Iterable[Mapping]) -> list[str]:
    """The distinct kinds of ``entries``, sorted; an entry without a known kind counts as ``"unknown"``."""
    return sorted({entry.get("used") if entry.get("used") in WEIGHTS_KINDS else "unknown" for entry in entries})


def weights_descriptions(entries: Iterable[Mapping]) -> list[str]:
    """The distinct lines that describe ``entries`` (their kind where an entry has no description), sorted."""
    return sorted({str(entry.get("description") or entry.get("used") or "unknown") for entry in entries})


def random_requested(entries: Iterable[Mapping]) -> bool:
    """Whether every random entry was asked for (``weights=None``), rather than a fallback for missing ImageNet
    weights; False when there is no random entry or an entry does not say what was requested."""
    random = [entry for entry in entries if entry.get("used") == "random"]
    return bool(random) and all("requested" in entry and is_random_request(entry["requested"]) for entry in random)


def keras_cache_dirs() -> list[Path]:
    """Folders where Keras looks for downloaded model files.

    ``$KERAS_HOME/models`` (default ``~/.keras/models``), then
    ``/tmp/.keras/models``, which Keras uses when the home folder is not
    writable.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    dirs = [Path(home) / "models", Path("/tmp/.keras/models")]
    return list(dict.fromkeys(dirs))


def weights_file_name(name: str) -> str:
    """The file name ``name``'s ImageNet weights have in the Keras cache."""
    download = downloads.weights_download(name)
    if download is not None:
        return download.converted_file or download.file_name
    return _backbones().backbone_spec(name).weights_file  # a backbone registered at run time


def weights_file_check(name: str) -> downloads.FileCheck:
    """The ImageNet weights file of ``name`` in the Keras cache, checked against its published checksum.

    The first cache folder that holds the file decides (see :func:`keras_cache_dirs`);
    a file there whose checksum does not match is :data:`~mstl_lib.downloads.MISMATCH`,
    never skipped in favour of another.
    """
    file_name = weights_file_name(name)
    download = downloads.weights_download(name)
    for folder in keras_cache_dirs():
        candidate = folder / file_name
        if candidate.is_file():
            if download is None:
                return downloads.FileCheck(downloads.UNPUBLISHED, str(candidate), candidate.stat().st_size,
                                           downloads.file_digests(candidate)[1], "no checksum is registered")
            if download.converted_file:
                return downloads.check_converted(download, candidate)
            return downloads.check_file(download, candidate)
    return downloads.FileCheck(downloads.MISSING, str(keras_cache_dirs()[0] / file_name),
                               detail="not in " + " or ".join(str(d) for d in keras_cache_dirs()))


def cached_weights_path(name: str) -> Path | None:
    """Path of the cached ``include_top=False`` ImageNet weights of ``name`` that pass their check, or None."""
    found = weights_file_check(name)
    return Path(found.path) if found.usable else None


def imagenet_weights_available(name: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether ImageNet weights for ``name`` can be had, and why.

    True when a checked weights file is in the Keras cache (see :func:`weights_file_check`),
    or when none is there and the download host answers over HTTP (honouring
    ``HTTPS_PROXY``). A file whose checksum does not match makes it False: it is never
    used, nor overwritten.

    Returns
    -------
    available : bool
    reason : str
    """
    found = weights_file_check(name)
    if found.usable:
        return True, f"found in the Keras cache: {found.path} ({found.detail})"
    if found.status == downloads.MISMATCH:
        return False, f"{found.path} is not the published file: {found.detail}"
    download = downloads.weights_download(name)
    if download is None:
        return False, "no ImageNet weights are known for this architecture"
    reachable, reason = downloads.reachable(download.url, timeout)
    if reachable:
        return True, f"not cached; {reason}"
    return False, f"not in the Keras cache and {reason}"


def fetch_weights(name: str, timeout: float = 60.0) -> Path:
    """Download ``name``'s ImageNet weights into the Keras cache, checked; convert a torchvision checkpoint.

    Returns the path of the file :func:`weights_file_check` then finds.

    Raises
    ------
    mstl_lib.downloads.DownloadError, mstl_lib.downloads.ChecksumError
    ImportError
        A torchvision checkpoint and no PyTorch to read it.
    """
    download = downloads.weights_download(name)
    if download is None:
        raise WeightsUnavailableError(f"no ImageNet weights are registered for {name}")
    cache = keras_cache_dirs()[0]
    if not download.converted_file:
        return downloads.fetch(download, cache, timeout)
    checkpoint = downloads.fetch(download, cache / "torchvision", timeout)
    from mstl_lib.nn.torch_weights import convert_checkpoint  # noqa: PLC0415 - imports TensorFlow

    converted = convert_checkpoint(download.key, checkpoint, cache / download.converted_file)
    downloads.write_conversion_record(converted, checkpoint, download)
    return converted


def unavailable_message(name: str, reason: str) -> str:
    """What to do when ImageNet weights for ``name`` cannot be had."""
    download = downloads.weights_download(name)
    target = keras_cache_dirs()[0] / weights_file_name(name)
    fetch = "run `python -m mstl_lib weights fetch` where the network allows"
    if download is None:
        return (f"ImageNet weights for {name} are unavailable: {reason}. Put its weights file at {target}, "
                "or pass weights='auto' to fall back to random initialisation.")
    if download.converted_file:
        how = (f"{fetch} (it downloads {download.url}, checks its sha256 prefix {download.sha256_prefix} and "
               f"converts it to {target}), or convert the checkpoint with "
               "mstl_lib.nn.torch_weights.convert_checkpoint")
    else:
        how = (f"{fetch}, or download {download.url} on a machine with internet access and copy it to {target} "
               f"(its {download.published_checksum} is checked)")
    return (f"ImageNet weights for {name} are unavailable: {reason}. To use them, {how}; set KERAS_HOME to use "
            "another cache folder, or pass weights='auto' to fall back to random initialisation.")


def is_random_request(weights) -> bool:
    """Whether ``weights`` asks for random initialisation explicitly (``None``, ``"none"``, ``"random"``)."""
    return weights is None or (isinstance(weights, str) and weights.lower() in ("none", "random"))


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file (cached while the file is unchanged)."""
    return downloads.file_digests(path)[1]


def imagenet_info(name: str, requested: str | None, timeout: float = 5.0) -> WeightsInfo:
    """The checked ImageNet weights of ``name``, downloading them first where they are missing and can be had.

    Raises
    ------
    WeightsUnavailableError
        No usable file and no download: the message says why (missing, checksum mismatch,
        unreachable host, failed download) and what to do.
    """
    available, reason = imagenet_weights_available(name, timeout)
    if available and not cached_weights_path(name):
        try:
            fetch_weights(name, timeout=max(timeout, 60.0))
        except (downloads.DownloadError, downloads.ChecksumError, ImportError) as error:
            available, reason = False, f"download failed ({error})"
    found = weights_file_check(name)
    if available and not found.usable:
        available, reason = False, found.detail
    if not available:
        raise WeightsUnavailableError(unavailable_message(name, reason), reason)
    return WeightsInfo(requested, "imagenet", found.path, f"ImageNet weights: {reason}", sha256=found.sha256,
                       file_name=weights_file_name(name), checksum=found.detail)


def resolve_weights(weights, name: str, timeout: float = 5.0) -> tuple[str | None, WeightsInfo]:
    """Turn a ``weights`` argument into the weights a backbone starts from.

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
    keras_weights : None
        The ``keras.applications`` constructor's argument: always None, since
        :func:`build_backbone` loads ImageNet weights from the checked file itself
        (Keras's own downloader is never used).
    info : WeightsInfo
    """
    requested = None if weights is None else str(weights)
    if is_random_request(weights):
        return None, WeightsInfo(requested, "random", "random initialisation", "random initialisation requested")

    if isinstance(weights, str) and weights.lower() in ("auto", "imagenet"):
        try:
            return None, imagenet_info(name, requested, timeout)
        except WeightsUnavailableError as error:
            if weights.lower() == "imagenet":
                raise
            detail = f"ImageNet weights unavailable: {error.reason}; random initialisation"
            return None, WeightsInfo(requested, "random", "random initialisation", detail)

    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {str(path)!r} for {_backbones().canonical_name(name)} does not exist. "
            "Pass 'auto', 'imagenet', None or the path of an existing weights file."
        )
    return None, WeightsInfo(requested, "file", str(path.resolve()), f"weights loaded from {path}",
                             sha256=file_sha256(path))


def resolve_for_run(weights, backbones, profile: str, timeout: float = 5.0) -> dict[str, WeightsInfo]:
    """Resolve a run's ``weights`` parameter once for each backbone, before any training.

    Parameters
    ----------
    weights : {"auto", "imagenet", None, "none", "random"} or path
        See :func:`resolve_weights`.
    backbones : iterable of str
    profile : str
        Under ``"full"`` (the papers' protocols) ``"auto"`` must find ImageNet
        weights: falling back to random initialisation needs ``weights=None``
        passed explicitly.

    Raises
    ------
    WeightsUnavailableError
        ``"imagenet"`` (or ``"auto"`` under ``full``) that cannot be had.
    FileNotFoundError
        A weights file that does not exist.
    """
    resolved = {}
    for name in dict.fromkeys(backbones):
        _, info = resolve_weights(weights, name, timeout)
        if profile == "full" and info.used == "random" and not is_random_request(weights):
            raise WeightsUnavailableError(
                f"The full profile reproduces the papers' ImageNet protocols and will not fall back to random "
                f"initialisation silently: {info.detail} ({name}). Run `python -m mstl_lib weights fetch "
                "--profile full` (or put the files in the Keras cache), "
                "or pass weights=None explicitly to run the protocol from random initialisation "
                "(the banner then says so)."
            )
        resolved[name] = info
    return resolved



def from_context(context: dict, backbone: str) -> WeightsInfo:
    """The weights the run context resolved for ``backbone`` (see ``RunContext.task_context``).

    Raises
    ------
    KeyError
        The grid's context resolved no weights for ``backbone``: build the
        grid's context with every backbone it trains.
    """
    infos = context.get("weights_info") or {}
    if backbone not in infos:
        raise KeyError(f"the task context resolved no weights for {backbone!r} (resolved: {sorted(infos)}); "
                       "pass every backbone of the grid to RunContext.task_context")
    return WeightsInfo.from_dict(infos[backbone])
