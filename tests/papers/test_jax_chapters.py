"""Every chapter's smoke grids run on the JAX backend with TensorFlow unimportable (a GPU machine with JAX only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mstl_lib import papers
from mstl_lib.paths import REPO_ROOT

pytest.importorskip("jax")

PROBE = Path(__file__).with_name("jax_chapter_probe.py")
WITHOUT_TENSORFLOW = REPO_ROOT / "tests" / "without_tensorflow.py"


@pytest.mark.slow
@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_chapter_runs_on_jax_without_tensorflow(key, shared_data, tmp_path):
    out = tmp_path / "probe.json"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO_ROOT),
           "MSTL_BUILD_DIR": str(tmp_path / "build"), "MSTL_RESULTS_DIR": str(tmp_path / "results")}
    env.pop("MSTL_INPUT_PIPELINE", None)
    done = subprocess.run([sys.executable, str(WITHOUT_TENSORFLOW), str(PROBE), key, str(out)], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    found = json.loads(out.read_text())
    assert found["backend"] == "jax" and not found["tensorflow_imported"]
    assert found["n_records"] > 0 and found["statuses"] == ["done"]
    assert found["record_backends"] == ["jax"]
