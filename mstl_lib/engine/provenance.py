"""What produced a result: library versions, the device, the data and the configuration.

Everything here is cheap and never imports TensorFlow by itself: versions are
read from the installed package metadata, and TensorFlow's thread and GPU
settings are reported only once some code has imported it (a task that trains
a network has, by the time its record is written).

``jsonable`` and ``config_hash`` give every configuration one canonical JSON
form, so that the same settings always hash to the same key.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np

import mstl_lib

# Distribution names tried, in order, for each reported package.
_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly"),
    "keras": ("keras",),
    "jax": ("jax",),
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scikit-learn": ("scikit-learn",),
    "dask": ("dask",),
    "distributed": ("distributed",),
}


# --------------------------------------------------------------------------- JSON


def jsonable(obj: Any, *, strict: bool = True) -> Any:
    """Convert ``obj`` into plain JSON types (dict, list, str, int, float, bool, None).

    Parameters
    ----------
    obj
        Nested mappings, sequences, NumPy scalars and arrays, paths, dataclasses.
    strict
        When true, an object with no JSON form raises ``TypeError``; when false
        it is replaced by its ``repr`` (used for free-form record fields).

    Returns
    -------
    object
        The converted value. Mapping keys become strings; sets become sorted lists;
        NaN and infinities stay floats (Python's ``json`` writes them as ``NaN``).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
        return obj
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), strict=strict)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, strict=strict) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((jsonable(v, strict=strict) for v in obj), key=repr)
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj), strict=strict)
    if hasattr(obj, "tolist"):  # pandas / tensors exposing a NumPy-like API
        return jsonable(obj.tolist(), strict=strict)
    if strict:
        raise TypeError(f"{type(obj).__name__} has no canonical JSON form: {obj!r}")
    return repr(obj)


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj``: sorted keys, no spaces, NumPy values converted."""
    return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=True)


def config_hash(obj: Any, length: int = 16) -> str:
    """Short hex SHA-256 of the canonical JSON of ``obj``.

    Parameters
    ----------
    obj
        Any configuration ``jsonable`` accepts. ``{"a": 1, "b": 2}`` and
        ``{"b": 2, "a": 1}`` hash alike; ``1`` and ``1.0`` do not.
    length
        Number of hex characters kept (16 = 64 bits).

    Returns
    -------
    str
    """
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


# --------------------------------------------------------------------------- versions


@functools.lru_cache(maxsize=None)
def _installed_version(names: tuple[str, ...]) -> str | None:
    """Version of the first installed distribution among ``names`` (cached: metadata scans cost ms)."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def environment_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that shape a result.

    Read from the installed package metadata, so TensorFlow is not imported;
    a package already imported reports its own ``__version__`` (what actually ran).

    Returns
    -------
    dict
        ``python``, ``tensorflow``, ``keras``, ``numpy``, ``pandas``,
        ``scikit-learn``, ``dask``, ``distributed``, ``mstl_lib``; ``None`` when absent.
    """
    out: dict[str, str | None] = {"python": platform.python_version()}
    modules = {"scikit-learn": "sklearn"}
    for name, dists in _DISTRIBUTIONS.items():
        module = sys.modules.get(modules.get(name, name))
        out[name] = getattr(module, "__version__", None) or _installed_version(dists)
    out["mstl_lib"] = mstl_lib.__version__
    return out


# --------------------------------------------------------------------------- device


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """Cores this process may run on (CPU affinity / cgroup-pinned set), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _tensorflow_device(tf) -> dict[str, Any]:
    """Thread pools and GPUs of an already imported TensorFlow."""
    info: dict[str, Any] = {
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except Exception:  # noqa: BLE001 - details are best effort
            details = {}
        gpus.append(details.get("device_name") or device.name)
    info["gpus"] = gpus
    return info


def device_info(import_tensorflow: bool = False) -> dict[str, Any]:
    """Where a computation runs: platform, CPU, thread settings and GPUs.

    Parameters
    ----------
    import_tensorflow
        Import TensorFlow (about 5 s) to list GPUs even when no code used it
        yet. By default TensorFlow details are given only if it is imported.

    Returns
    -------
    dict
        ``platform``, ``machine``, ``cpu_model``, ``cpu_count``, ``usable_cpus``,
        the thread environment variables, ``tensorflow_imported`` and, when it is,
        ``tf_intra_op_threads`` / ``tf_inter_op_threads`` (0 = TensorFlow's
        default: all cores) and ``gpus`` (names; empty on CPU); ``keras_backend``
        once Keras is imported, and ``jax_devices`` under the JAX backend.
    """
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
    }
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        info[var] = os.environ.get(var)
    if import_tensorflow:
        from mstl_lib.nn.runtime import import_tensorflow as _import_tf, tensorflow_available  # noqa: PLC0415

        if tensorflow_available():
            _import_tf()
    tf = sys.modules.get("tensorflow")
    info["tensorflow_imported"] = tf is not None and hasattr(tf, "config")
    if info["tensorflow_imported"]:
        info.update(_tensorflow_device(tf))
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        info["keras_backend"] = keras.backend.backend()
    jax = sys.modules.get("jax")
    if jax is not None and hasattr(jax, "devices") and info.get("keras_backend") == "jax":
        info["jax_devices"] = [str(device) for device in jax.devices()]
    return info


# --------------------------------------------------------------------------- data


def _file_digest(path: Path) -> str:
    sha1 = hashlib.sha1(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha1.update(block)
    return sha1.hexdigest()


def _expand(paths: str | os.PathLike | Iterable, root: Path | None) -> tuple[list[Path], Path | None]:
    """Full paths of the files to fingerprint, and the root they are relative to.

    A single directory means every file under it (and is the root unless one is given);
    relative paths in a list are taken relative to ``root`` when it is given.
    """
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths)
        if path.is_dir():
            return sorted(p for p in path.rglob("*") if p.is_file()), root if root is not None else path
        paths = [path]
    files = [Path(p) for p in paths]
    if root is not None:
        return [p if p.is_absolute() else root / p for p in files], root
    if not files:
        return files, None
    try:  # the files' common folder, so moving the data set changes nothing
        return files, Path(os.path.commonpath([p.absolute().parent for p in files]))
    except ValueError:  # different drives
        return files, None


def _relative(path: Path, root: Path | None) -> str:
    if root is None:
        return path.as_posix()
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.as_posix()


def data_fingerprint(
    paths: str | os.PathLike | Iterable,
    root: str | os.PathLike | None = None,
    hash_contents: bool = False,
    labels: Iterable | None = None,
    length: int = 16,
) -> str:
    """Fingerprint a data set from its file list and sizes (and optionally contents).

    Modification times are left out on purpose: copying a data set to another
    machine changes them, not the data.

    Parameters
    ----------
    paths
        Image files, or one directory (every file under it is taken).
    root
        Relative paths are taken relative to it, and all paths are recorded
        relative to it, so the same data under another folder gives the same
        fingerprint. Defaults to the directory when one is given, else to the
        files' common folder.
    hash_contents
        Also SHA-1 every file (reads all bytes; a stat-only fingerprint of
        ~1000 files takes milliseconds).
    labels
        Optional per-file values (e.g. class labels) folded in, in the order of ``paths``.
    length
        Hex characters returned.

    Returns
    -------
    str
        Hex digest, independent of the order of ``paths``.

    Raises
    ------
    FileNotFoundError
        When a listed file is missing.
    """
    files, base = _expand(paths, Path(root) if root is not None else None)
    label_list = [None] * len(files) if labels is None else list(labels)
    if len(label_list) != len(files):
        raise ValueError(f"{len(label_list)} labels for {len(files)} files")
    lines = []
    for full, label in zip(files, label_list, strict=True):
        fields = [_relative(full, base), str(full.stat().st_size)]
        if hash_contents:
            fields.append(_file_digest(full))
        if labels is not None:
            fields.append(canonical_json(label))
        lines.append("\t".join(fields))
    digest = hashlib.sha256("\n".join(sorted(lines)).encode())
    return digest.hexdigest()[:length]


def fingerprint_table(
    table,
    path_column: str = "path",
    root: str | os.PathLike | None = None,
    hash_contents: bool = False,
    label_column: str | None = None,
) -> str:
    """``data_fingerprint`` of a data-set table (a DataFrame with one file per row).

    Parameters
    ----------
    table
        ``pandas.DataFrame`` with a column of file paths.
    path_column
        Column holding the paths.
    root, hash_contents
        As in ``data_fingerprint``.
    label_column
        Column whose values are folded in (relabelled data then changes the fingerprint).

    Returns
    -------
    str
    """
    labels = table[label_column].tolist() if label_column is not None else None
    return data_fingerprint(table[path_column].tolist(), root=root, hash_contents=hash_contents, labels=labels)


# --------------------------------------------------------------------------- code


def _strip_docstrings(tree):
    import ast  # noqa: PLC0415

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_fingerprint(modules: Iterable[str]) -> str:
    """SHA-256 of the code of ``modules`` (dotted names), blind to comments, docstrings and layout.

    Each module's source is parsed and dumped as an AST without docstrings, so
    only a change that can alter what the code does changes the fingerprint.
    The tests hold each paper's recipe fingerprint beside its ``RECIPE_VERSION``
    and fail when the code changed but the version did not.
    """
    import ast  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no module {name!r}")
        tree = _strip_docstrings(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))
        digest.update(name.encode())
        digest.update(ast.dump(tree, include_attributes=False).encode())
    return digest.hexdigest()
