"""Where a backbone's initial weights come from: ImageNet, a named file, or random.

``"auto"`` uses ImageNet weights when they can be had and falls back to random
initialisation otherwise, recording why in a :class:`WeightsInfo`.

A run resolves the ``weights`` parameter once per backbone
(:func:`resolve_for_run`, called by the run context) before any training. The
resolved :class:`WeightsInfo` travels to the tasks as JSON; its
:meth:`WeightsInfo.identity` (ImageNet with the Keras file name, a file with its
SHA-256, or random) enters the results key, so records made from other
weights are never reused. A task builds from the resolved identity and never
resolves again.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse


def _backbones():
    """The backbone registry (imported on use: it imports TensorFlow)."""
    from mstl_lib.nn import backbones  # noqa: PLC0415

    return backbones

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
    sha256: str | None = None
    """SHA-256 of the weights file (``used == "file"``)."""
    file_name: str | None = None
    """The Keras cache file name of ImageNet weights (it names their version)."""

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
            return {"used": "imagenet", "file": self.file_name}
        return {"used": "random"}

    def describe(self) -> str:
        """One line for banners and tables."""
        if self.used == "file":
            return f"file {Path(self.source).name} (sha256 {str(self.sha256)[:12]}…)"
        if self.used == "imagenet":
            return f"ImageNet ({self.file_name})"
        return f"random initialisation ({self.detail})"


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
    file_name = _backbones().backbone_spec(name).weights_file
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
    if not _backbones().backbone_spec(name).weights_url:
        return False, "no ImageNet weights are known for this architecture"
    reachable, reason = _host_reachable(_backbones().backbone_spec(name).weights_url, timeout)
    if reachable:
        return True, f"not cached; {reason}"
    return False, f"not in the Keras cache and {reason}"


def unavailable_message(name: str, reason: str) -> str:
    spec = _backbones().backbone_spec(name)
    cache = keras_cache_dirs()[0]
    if not spec.weights_url:  # the torchvision layouts: weights come from a converted checkpoint
        return (
            f"ImageNet weights for {_backbones().canonical_name(name)} are unavailable: {reason}. "
            f"Convert torchvision's ImageNet checkpoint with mstl_lib.nn.torch_weights.convert_checkpoint, "
            f"which writes {cache / spec.weights_file}, or pass weights='auto' to fall back to random "
            "initialisation."
        )
    return (
        f"ImageNet weights for {_backbones().canonical_name(name)} are unavailable: {reason}. "
        f"Download {spec.weights_url} on a machine with internet access and copy it "
        f"to {cache / spec.weights_file} (set KERAS_HOME to use another cache "
        f"folder), or pass weights='auto' to fall back to random initialisation."
    )


def is_random_request(weights) -> bool:
    """Whether ``weights`` asks for random initialisation explicitly (``None``, ``"none"``, ``"random"``)."""
    return weights is None or (isinstance(weights, str) and weights.lower() in ("none", "random"))


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


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
    spec = _backbones().backbone_spec(name)
    requested = None if weights is None else str(weights)
    if is_random_request(weights):
        return None, WeightsInfo(requested, "random", "random initialisation", "random initialisation requested")

    if isinstance(weights, str) and weights.lower() in ("auto", "imagenet"):
        available, reason = imagenet_weights_available(name, timeout)
        cached = cached_weights_path(name)
        source = str(cached) if cached else spec.weights_url
        if available:
            return "imagenet", WeightsInfo(requested, "imagenet", source, f"ImageNet weights: {reason}",
                                           file_name=spec.weights_file)
        if weights.lower() == "imagenet":
            raise WeightsUnavailableError(unavailable_message(name, reason))
        detail = f"ImageNet weights unavailable: {reason}; random initialisation"
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
                f"initialisation silently: {info.detail} ({name}). Put the *_notop.h5 file in the Keras cache, "
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
