"""Where a backbone's initial weights come from: ImageNet, a named file, or random.

``"auto"`` uses ImageNet weights when they can be had and falls back to random
initialisation otherwise, recording why in a :class:`WeightsInfo`.
"""

from __future__ import annotations

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
    reachable, reason = _host_reachable(_backbones().backbone_spec(name).weights_url, timeout)
    if reachable:
        return True, f"not cached; {reason}"
    return False, f"not in the Keras cache and {reason}"


def unavailable_message(name: str, reason: str) -> str:
    spec = _backbones().backbone_spec(name)
    cache = keras_cache_dirs()[0]
    return (
        f"ImageNet weights for {_backbones().canonical_name(name)} are unavailable: {reason}. "
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
    spec = _backbones().backbone_spec(name)
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
            raise WeightsUnavailableError(unavailable_message(name, reason))
        detail = f"ImageNet weights unavailable: {reason}; random initialisation"
        return None, WeightsInfo(requested, "random", "random initialisation", detail)

    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {str(path)!r} for {_backbones().canonical_name(name)} does not exist. "
            "Pass 'auto', 'imagenet', None or the path of an existing weights file."
        )
    return None, WeightsInfo(requested, "file", str(path.resolve()), f"weights loaded from {path}")
