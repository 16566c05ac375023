"""The command line: ``python -m mstl_lib runs list | show | failed | clear``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mstl_lib.__main__ import main
from mstl_lib.engine.store import ResultsStore
from mstl_lib.paths import REPO_ROOT


def record(key, experiment="p1", status="done", **fields):
    base = {"key": key, "experiment": experiment, "status": status, "fold": 0, "config": {"cnn": "resnet50"},
            "metrics": {"auc": 0.91}, "wall_time_s": 1.5, "finished": "2026-01-01T00:00:00+00:00",
            "predictions": {"y_true": [0, 1], "y_score": [0.2, 0.8]}, "history": {"loss": [0.7, 0.5]}}
    return {**base, **fields}


@pytest.fixture
def store(tmp_path):
    store = ResultsStore(tmp_path / "results")
    store.write(record("aaa111"))
    store.write(record("aaa222", status="failed",
                       error={"type": "NonFiniteLossError", "message": "loss is nan", "kind": "nan_loss",
                              "traceback": "Traceback ..."}))
    store.write(record("bbb333", experiment="p4"))
    return store


def run_cli(store, *args, capsys):
    code = main(["runs", *args, "--store", str(store.root)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_experiments_and_tasks(store, capsys):
    code, out, _ = run_cli(store, "list", capsys=capsys)
    assert code == 0
    lines = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[3:]}
    assert lines == {"p1": ["2", "1", "1"], "p4": ["1", "1", "0"]}
    code, out, _ = run_cli(store, "list", "p1", capsys=capsys)
    assert code == 0 and "aaa111" in out and "auc=0.91" in out and "failed" in out
    assert run_cli(store, "list", "nope", capsys=capsys)[0] == 1


def test_show_by_prefix(store, capsys):
    code, out, _ = run_cli(store, "show", "bbb", capsys=capsys)
    shown = json.loads(out)
    assert code == 0 and shown["experiment"] == "p4"
    assert shown["predictions"] == "2 samples: y_true, y_score" and shown["history"].startswith("2 epochs")
    code, out, _ = run_cli(store, "show", "bbb333", "--full", capsys=capsys)
    assert json.loads(out)["predictions"]["y_score"] == [0.2, 0.8]
    code, _, err = run_cli(store, "show", "aaa", capsys=capsys)
    assert code == 1 and "matches 2 records" in err
    assert run_cli(store, "show", "zzz", capsys=capsys)[0] == 1


def test_failed_table(store, capsys):
    code, out, _ = run_cli(store, "failed", capsys=capsys)
    assert code == 0 and "NonFiniteLossError" in out and "loss is nan" in out and "nan_loss" in out
    assert "aaa111" not in out
    code, out, _ = run_cli(store, "failed", "p4", capsys=capsys)
    assert code == 0 and "no failed tasks" in out
    assert run_cli(store, "failed", "nope", capsys=capsys)[0] == 1


def test_clear_needs_confirmation(store, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # not a terminal
    code, _, err = run_cli(store, "clear", "p1", capsys=capsys)
    assert code == 2 and "--yes" in err and "p1" in store.experiments()
    code, out, _ = run_cli(store, "clear", "p1", "--yes", capsys=capsys)
    assert code == 0 and "deleted 2 records" in out and store.experiments() == ["p4"]
    assert run_cli(store, "clear", "p1", "--yes", capsys=capsys)[0] == 1
    assert run_cli(store, "clear", "../etc", "--yes", capsys=capsys)[0] == 1


def test_cli_runs_as_a_module_without_tensorflow(store):
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "mstl_lib", "runs", "list", "--store",
                          str(store.root)], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "p1" in out.stdout
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time")}
    assert "mstl_lib.engine.store" in imported
    assert not {"tensorflow", "keras", "pandas"} & imported
    usage = subprocess.run([sys.executable, "-m", "mstl_lib"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "runs" in usage.stderr
