"""The results store: atomic writes, corrupt records, listing and clearing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from mstl_lib.engine.store import (
    SCHEMA_VERSION,
    AmbiguousKeyError,
    CorruptRecordWarning,
    ResultsStore,
    default_results_dir,
)
from mstl_lib.paths import REPO_ROOT


def record(key: str, experiment: str = "exp", status: str = "done", **fields) -> dict:
    return {"key": key, "experiment": experiment, "status": status, "metrics": {"auc": 0.5}, **fields}


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path / "results")


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "elsewhere"))
    assert ResultsStore().root == tmp_path / "elsewhere"
    monkeypatch.delenv("MSTL_RESULTS_DIR")
    assert default_results_dir() == REPO_ROOT / "results"


def test_write_then_read_round_trip(store):
    path = store.write(record("abc123", scores=np.array([0.1, 0.2]), loss=float("nan")))
    assert path == store.root / "exp" / "abc123.json"
    back = store.read("exp", "abc123")
    assert back["schema"] == SCHEMA_VERSION and back["scores"] == [0.1, 0.2]
    assert np.isnan(back["loss"])
    assert store.read("exp", "missing") is None
    assert not list(path.parent.glob(".*.partial"))


def test_write_rejects_invalid_records(store):
    with pytest.raises(ValueError, match="missing"):
        store.write({"key": "a", "status": "done"})
    with pytest.raises(ValueError, match="status"):
        store.write(record("a", status="running"))
    with pytest.raises(ValueError):
        store.write(record("../escape"))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="truncated"),
        pytest.param("\x00\x17garbage{", id="garbled"),
        pytest.param(json.dumps({"key": "k1", "experiment": "exp"}), id="missing-fields"),
        pytest.param(json.dumps([1, 2]), id="not-an-object"),
        pytest.param(json.dumps(record("other", schema=SCHEMA_VERSION)), id="wrong-key"),
    ],
)
def test_corrupt_record_is_reported_moved_aside_and_missing(store, content):
    path = store.write(record("k1"))
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if content is None else content)
    with pytest.warns(CorruptRecordWarning, match="k1.json"):
        assert store.read("exp", "k1") is None
    assert not path.exists()
    assert len(store.corrupt_files("exp")) == 1
    assert store.keys("exp") == []
    store.write(record("k1"))  # recomputed: the slot is free again
    assert store.read("exp", "k1")["status"] == "done"


def test_listing_find_and_clear(store):
    store.write(record("aa11", index=1))
    store.write(record("aa22", index=0, status="failed"))
    store.write(record("bb33", experiment="other"))
    assert store.experiments() == ["exp", "other"]
    assert store.keys("exp") == ["aa11", "aa22"]
    assert [r["key"] for r in store.records("exp")] == ["aa22", "aa11"]  # grid order
    assert [r["key"] for r in store.records(status="done")] == ["aa11", "bb33"]
    assert store.find("bb")["experiment"] == "other"
    assert store.find("aa11")["key"] == "aa11"
    assert store.find("zz") is None
    with pytest.raises(AmbiguousKeyError):
        store.find("aa")
    assert store.clear("exp") == 2
    assert store.experiments() == ["other"] and store.clear("exp") == 0


def test_stale_temporaries_are_removed_fresh_ones_kept(store):
    store.write(record("k1"))
    folder = store.folder("exp")
    old, fresh = folder / ".k2.json.abc.partial", folder / ".k3.json.def.partial"
    old.write_text("{")
    fresh.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.remove_stale_temporaries("exp") == 1
    assert fresh.exists() and not old.exists()
    assert store.keys("exp") == ["k1"]


WRITER = """
import sys
from mstl_lib.engine.store import ResultsStore
store, tag = ResultsStore(sys.argv[1]), sys.argv[2]
for i in range(150):
    store.write({"key": "shared", "experiment": "race", "status": "done",
                 "metrics": {"i": i}, "writer": tag, "payload": [tag] * (1000 + 37 * i)})
"""


def test_concurrent_writers_never_expose_a_partial_record(store):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(store.root), tag], env=env)
        for tag in ("a", "b")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptRecordWarning)  # a partial read would warn
        while any(w.poll() is None for w in writers):
            got = store.read("race", "shared")
            if got is not None:
                assert len(got["payload"]) == 1000 + 37 * got["metrics"]["i"]
    assert all(w.wait() == 0 for w in writers)
    assert store.read("race", "shared")["writer"] in ("a", "b")
    assert store.corrupt_files() == []
    assert not list(store.folder("race").glob(".*.partial"))
