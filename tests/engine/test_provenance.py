"""Versions, device, data fingerprints and configuration hashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mstl_lib.engine.provenance import (
    canonical_json,
    config_hash,
    data_fingerprint,
    device_info,
    environment_versions,
    fingerprint_table,
    jsonable,
)
from mstl_lib.paths import REPO_ROOT


def test_environment_versions_lists_the_stack(tf):
    import keras
    import sklearn

    import mstl_lib

    versions = environment_versions()
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["numpy"] == np.__version__ and versions["pandas"] == pd.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["tensorflow"] == tf.__version__ and versions["keras"] == keras.__version__
    assert versions["mstl_lib"] == mstl_lib.__version__


def test_provenance_does_not_import_tensorflow():
    code = (
        "import sys; from mstl_lib.engine.provenance import environment_versions, device_info;"
        "environment_versions(); device_info(); print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_device_info_without_tensorflow():
    info = device_info()
    assert info["cpu_count"] == os.cpu_count()
    assert info["usable_cpus"] == len(os.sched_getaffinity(0)) and 1 <= info["usable_cpus"] <= info["cpu_count"]
    assert isinstance(info["cpu_model"], str) and info["cpu_model"].strip()
    assert info["TF_NUM_INTRAOP_THREADS"] == os.environ.get("TF_NUM_INTRAOP_THREADS")
    assert json.loads(json.dumps(info)) == info  # storable as is


def test_device_info_reports_tensorflow_threads_and_gpus(tf):
    info = device_info()
    assert info["tensorflow_imported"] is True
    assert info["tf_intra_op_threads"] == tf.config.threading.get_intra_op_parallelism_threads()
    assert info["tf_inter_op_threads"] == tf.config.threading.get_inter_op_parallelism_threads()
    assert len(info["gpus"]) == len(tf.config.list_physical_devices("GPU"))
    assert all(isinstance(name, str) and name for name in info["gpus"])


# --------------------------------------------------------------------------- data


def _make_files(root: Path, sizes: dict[str, int]) -> list[Path]:
    paths = []
    for name, size in sizes.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def test_fingerprint_ignores_location_order_and_mtime(tmp_path):
    a = _make_files(tmp_path / "a", {"benign/1.png": 10, "malignant/2.png": 20})
    b = _make_files(tmp_path / "b", {"benign/1.png": 10, "malignant/2.png": 20})
    os.utime(b[0], (0, 0))
    assert data_fingerprint(a) == data_fingerprint(list(reversed(b)))
    assert data_fingerprint(tmp_path / "a") == data_fingerprint(tmp_path / "b")
    assert data_fingerprint(a, root=tmp_path / "a") == data_fingerprint(["benign/1.png", "malignant/2.png"],
                                                                        root=tmp_path / "b")


def test_fingerprint_sees_renames_sizes_and_contents(tmp_path):
    files = _make_files(tmp_path, {"x/1.png": 10, "x/2.png": 20})
    base = data_fingerprint(files)
    files[0].write_bytes(b"y" * 11)
    assert data_fingerprint(files) != base
    files[0].write_bytes(b"x" * 10)
    assert data_fingerprint(files) == base
    shallow = data_fingerprint(files, hash_contents=False)
    deep = data_fingerprint(files, hash_contents=True)
    files[0].write_bytes(b"z" * 10)  # same size, other bytes
    assert data_fingerprint(files) == shallow
    assert data_fingerprint(files, hash_contents=True) != deep
    before = data_fingerprint(tmp_path / "x")
    files[1].rename(tmp_path / "x" / "3.png")
    assert data_fingerprint(tmp_path / "x") != before


def test_fingerprint_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        data_fingerprint([tmp_path / "nope.png"])


def test_fingerprint_table_folds_in_labels(tmp_path):
    files = _make_files(tmp_path, {"1.png": 1, "2.png": 2})
    table = pd.DataFrame({"path": [str(p) for p in files], "label": ["benign", "malignant"]})
    plain = fingerprint_table(table)
    assert plain == data_fingerprint(files)
    labelled = fingerprint_table(table, label_column="label")
    flipped = fingerprint_table(table.assign(label=["malignant", "benign"]), label_column="label")
    assert labelled != plain and labelled != flipped


def test_fingerprint_of_a_thousand_files_is_fast(tmp_path):
    for i in range(1000):
        (tmp_path / f"{i:04d}.png").write_bytes(b"\0" * (i % 50))
    start = time.perf_counter()
    fingerprint = data_fingerprint(tmp_path)
    assert time.perf_counter() - start < 2.0
    assert fingerprint == data_fingerprint(sorted(tmp_path.iterdir(), reverse=True))
    (tmp_path / "0999.png").write_bytes(b"\0" * 3)  # one of a thousand files changes size
    assert data_fingerprint(tmp_path) != fingerprint


# --------------------------------------------------------------------------- hashing


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"lr": np.float32(0.5), "n": np.int64(3)}) == config_hash({"lr": 0.5, "n": 3})
    assert config_hash({"shape": (75, 75)}) == config_hash({"shape": [75, 75]})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 16


def test_config_hash_is_stable_across_processes():
    # Hash randomisation must not leak in: a fresh interpreter gets the same key.
    code = "from mstl_lib.engine.provenance import config_hash; print(config_hash({'b': {'y', 'x'}, 'a': 1.5}))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == config_hash({"a": 1.5, "b": {"x", "y"}})


def test_jsonable_converts_numpy_and_paths_and_keeps_nan():
    value = jsonable({"arr": np.arange(3), "p": Path("a/b"), "nan": float("nan"), 1: np.bool_(True)})
    assert value["arr"] == [0, 1, 2] and value["p"] == "a/b" and value["1"] is True
    assert np.isnan(value["nan"])
    assert "NaN" in canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        jsonable(object())
    assert jsonable(object(), strict=False).startswith("<object")
