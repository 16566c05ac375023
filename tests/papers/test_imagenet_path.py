"""The ImageNet path, offline: with stand-in ImageNet files the smoke chapters say ImageNet and the scorecard decides.

The stand-ins (``tests/standin_weights.py``) are architecture-correct random weights under
Keras's and the converted checkpoints' exact file names; only their checksum comes from a
manifest instead of the publisher. Everything else is the path a reader with the real files takes.
"""

from __future__ import annotations

import json

import nbformat
import pytest

import run_notebooks  # scripts/ is on sys.path (tests/conftest.py)

from mstl_lib import engine, papers
from mstl_lib.report import scorecard as sc

PARAMETERS = {"profile": "smoke", "data_dir": "auto", "weights": "imagenet", "seed": 0}


def outputs_text(path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(str(output.get("text", "")) + "".join(str(v) for v in output.get("data", {}).values())
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


@pytest.mark.slow
def test_smoke_chapters_run_on_imagenet_files_and_the_scorecard_decides(standin_imagenet, shared_data, tmp_path,
                                                                        monkeypatch):
    folder = standin_imagenet(papers.weights_backbones("smoke", ["P4"])["p4_finetuning"])
    results = tmp_path / "results"
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(results))
    for name in ("04_finetuning_svm", "07_scorecard"):
        run_notebooks.execute(name, PARAMETERS, tmp_path / "out")

    chapter = outputs_text(tmp_path / "out" / "04_finetuning_svm.ipynb")
    assert "ImageNet (resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in chapter
    assert "random initialisation" not in chapter and "not the publisher's checksum" in chapter

    records = [json.loads(p.read_text()) for p in results.glob("p4-*/*.json")]
    assert records and all(r["status"] == "done" for r in records)
    for record in records:  # the provenance names the file and its sha256, which the results key holds
        info = record["context"]["weights_info"]["ResNet50"]
        assert info["used"] == "imagenet" and info["source"] == str(folder / info["file_name"])
        assert len(info["sha256"]) == 64 and info["sha256"][:12] in record["weights_used"]

    claims = [c for c in papers.claims(profile="smoke", weights="imagenet", store=engine.ResultsStore(results))
              if c.paper == "P4"]
    frame = sc.scorecard_frame(claims, papers.findings())
    assert not frame["behind ours"].str.contains(sc.RANDOM_WEIGHTS).any()
    assert frame["behind ours"].str.contains("weights: imagenet").all()
    decidable = [c for c in claims if not c.unavailable and sc.NOT_RUN not in c.evidence_flags
                 and not set(c.evidence_flags) & set(sc.BLOCKING_FLAGS) and c.ci is not None]
    assert decidable, "no P4 claim rests on real data with ImageNet weights"
    for claim in decidable:  # reduced (smoke): supported or inconclusive, never refuted, never blocked
        assert sc.verdict(claim).verdict in (sc.SUPPORTED_REDUCED, sc.INCONCLUSIVE), claim.id
    assert "weights: imagenet" in outputs_text(tmp_path / "out" / "07_scorecard.ipynb")


@pytest.mark.parametrize("broken", ["mismatch", "truncated", "missing"])
def test_a_bad_imagenet_file_stops_the_run_before_any_training(broken, standin_imagenet, monkeypatch, tmp_path):
    """start_run resolves the weights first: each bad file gives one clear error naming it."""
    from mstl_lib import downloads
    from mstl_lib.context import start_run
    from mstl_lib.nn.weights import WeightsUnavailableError
    from mstl_lib.papers.p4_finetuning import grids
    from mstl_lib.papers.p4_finetuning.settings import CHAPTER

    folder = standin_imagenet(["ResNet50"])
    path = folder / downloads.WEIGHTS["ResNet50"].file_name
    monkeypatch.setattr(downloads, "reachable", lambda url, timeout=5.0: (False, f"{url} unreachable (offline)"))
    if broken == "mismatch":
        monkeypatch.delenv(downloads.MANIFEST_ENV)
    elif broken == "truncated":
        path.write_bytes(path.read_bytes()[:4096])
    else:
        path.unlink()
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))
    run = start_run(CHAPTER, profile="smoke", data_dir="auto", weights="imagenet", seed=0)
    with pytest.raises(WeightsUnavailableError) as caught:
        grids.build(run)
    message = str(caught.value)
    assert path.name in message and ("not the published file" in message or "unreachable" in message)
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))
