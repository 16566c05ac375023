"""The command line: ``python -m mstl_lib runs list | show | failed | clear | export`` and ``weights``."""

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


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_writes_one_flat_row_per_task(store, capsys, tmp_path, fmt):
    import csv
    import io

    store.write(record("ccc444", experiment="p4", config={"cnn": "vgg16", "pct": 15},
                       weights={"VGG16": {"used": "imagenet", "file": "v.h5", "sha256": "ab"}}))
    code, out, _ = run_cli(store, "export", "p4", "--format", fmt, capsys=capsys)
    rows = json.loads(out) if fmt == "json" else list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["key"] for row in rows] == ["bbb333", "ccc444"]
    assert [row["weights"] for row in rows] == ["", "imagenet"]
    assert float(rows[1]["metrics.auc"]) == 0.91 and str(rows[1]["config.pct"]) == "15"
    assert "predictions" not in rows[0] and "history" not in rows[0]
    code, _, err = run_cli(store, "export", "--out", str(tmp_path / "all.csv"), capsys=capsys)
    assert code == 0 and "4 records" in err
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 4
    failed = [row for row in csv.DictReader((tmp_path / "all.csv").open()) if row["status"] == "failed"]
    assert [row["error"] for row in failed] == ["loss is nan"]
    assert run_cli(store, "export", "nope", capsys=capsys)[0] == 1


def test_cli_runs_as_a_module_without_tensorflow(store):
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "mstl_lib", "runs", "list", "--store",
                          str(store.root)], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "p1" in out.stdout
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time")}
    assert "mstl_lib.engine.store" in imported
    assert not {"tensorflow", "keras", "pandas"} & imported
    usage = subprocess.run([sys.executable, "-m", "mstl_lib"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "runs" in usage.stderr


# --------------------------------------------------------------------------- weights


@pytest.fixture
def local_weights(tmp_path, monkeypatch):
    """The weights registry pointed at a server on 127.0.0.1; an empty ``KERAS_HOME``."""
    import dataclasses

    from local_server import serve

    from mstl_lib import downloads

    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(downloads.MANIFEST_ENV, raising=False)
    with serve(served) as (base, requests):
        monkeypatch.setattr(downloads, "WEIGHTS", {k: dataclasses.replace(d, url=base + d.file_name)
                                                   for k, d in downloads.WEIGHTS.items()})
        yield served, requests


def weights_cli(capsys, *args):
    code = main(["weights", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_weights_status_lists_every_file_the_chapters_need(local_weights, capsys):
    from mstl_lib import papers

    code, out, _ = weights_cli(capsys, "status", "--profile", "full")
    needed = {b for backbones in papers.weights_backbones("full").values() for b in backbones}
    assert code == 1 and len(needed) == 10
    assert all(f"\n{name} " in out for name in needed) and out.count("  missing ") == len(needed)
    assert "weights fetch --profile full" in out
    code, out, _ = weights_cli(capsys, "status", "--profile", "smoke", "--chapter", "05_breakhis")
    assert code == 1 and "ResNet50" in out and "P2" in out and "AlexNet" not in out
    code, _, err = weights_cli(capsys, "status", "--chapter", "P9")
    assert code == 2 and "no chapter 'P9'" in err


def test_weights_fetch_downloads_checks_and_reports_what_it_could_not(local_weights, capsys, standin_imagenet):
    served, requests = local_weights
    models = standin_imagenet(["ResNet50"])  # a stand-in "published" file, accepted through the manifest
    (served / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(
        (models / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").read_bytes())
    (models / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").unlink()
    code, out, err = weights_cli(capsys, "fetch", "--chapter", "P1", "--profile", "smoke")
    assert code == 0 and " verified " in out and not err, (out, err)
    assert weights_cli(capsys, "status", "--chapter", "P1", "--profile", "smoke")[0] == 0
    code, out, err = weights_cli(capsys, "fetch", "--chapter", "P4", "--profile", "cpu")  # InceptionV3 not served
    assert code == 1 and err.count("\n") == 1 and "InceptionV3: http://127.0.0.1" in err and "put it at" in err


def test_weights_fetch_converts_a_checked_torchvision_checkpoint(local_weights, capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    import dataclasses
    import hashlib

    import importlib.util

    spec = importlib.util.spec_from_file_location("torch_weights_tests", REPO_ROOT / "tests/nn/test_torch_weights.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)

    from mstl_lib import downloads

    served, _ = local_weights
    checkpoint = served / "alexnet-synthetic.pth"
    torch.save({k: torch.from_numpy(v) for k, v in helpers.synthetic_state_dict("AlexNet").items()}, checkpoint)
    prefix = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:8]
    entry = downloads.WEIGHTS["AlexNet"]
    monkeypatch.setitem(downloads.WEIGHTS, "AlexNet", dataclasses.replace(
        entry, url=entry.url.rsplit("/", 1)[0] + "/alexnet-synthetic.pth", sha256_prefix=prefix))
    code, out, err = weights_cli(capsys, "fetch", "--chapter", "P3", "--profile", "smoke")
    assert "AlexNet" in out and f"sha256 prefix {prefix} verified" in out
    assert "ResNet18: http://127.0.0.1" in err and code == 1  # the others are not served
