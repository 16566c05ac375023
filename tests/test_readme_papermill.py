"""The README's ``jupytext | papermill`` command runs as written (with ``profile=smoke``),
and a bad parameter ends it with one line naming that parameter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mstl_lib.paths import REPO_ROOT

BIN = Path(sys.executable).parent


def readme_command() -> str:
    """The README's fenced ``bash`` block that pipes jupytext into papermill, verbatim."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO_ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    found = [block for block in blocks if "| .venv/bin/papermill" in block]
    assert len(found) == 1, "README.md must show exactly one jupytext | papermill command"
    return found[0]


def run_readme_command(tmp_path, **parameters) -> subprocess.CompletedProcess:
    """The README command from a fresh clone's root, with ``parameters`` replacing its ``-p`` values.

    ``.venv/bin/`` is this interpreter's folder; ``mktemp -d`` makes its scratch folder in ``tmp_path``.
    """
    command = readme_command().replace(".venv/bin/", f"{BIN}/")
    for name, value in parameters.items():
        command, n = re.subn(rf"-p {name} \S+", f"-p {name} {value}", command)
        assert n == 1, f"the README command has no '-p {name} ...'"
    env = {**os.environ, "TMPDIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.mark.slow
def test_the_readme_command_runs_in_smoke(tmp_path):
    done = run_readme_command(tmp_path, profile="smoke")
    assert done.returncode == 0, done.stderr[-3000:]
    written = list(tmp_path.glob("*/*.ipynb"))
    assert len(written) == 1, "the command writes one notebook into its scratch folder"
    notebook = nbformat.read(written[0], as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'profile = "smoke"' in injected[0].source
    assert not list((REPO_ROOT / "notebooks").glob("*.ipynb")), "the command left an .ipynb among the sources"


@pytest.mark.slow
@pytest.mark.parametrize(("parameters", "line"), [
    ({"profile": "fast"}, "ParameterError: parameter profile='fast': unknown profile 'fast'; choose one of"),
    ({"profile": "smoke", "data_dir": "/no/such/data"},
     "ParameterError: parameter data_dir='/no/such/data': data folder /no/such/data does not exist"),
    ({"profile": "smoke", "weights": "/no/such/weights.h5"},
     "ParameterError: parameter weights='/no/such/weights.h5': no weights file /no/such/weights.h5"),
])
def test_a_bad_parameter_ends_with_one_line_naming_it(tmp_path, parameters, line):
    done = run_readme_command(tmp_path, **parameters)
    assert done.returncode != 0
    assert last_line(done.stderr).startswith(line), done.stderr[-2000:]
    assert "Traceback" not in done.stderr.split("Exception encountered at")[-1], "the cell's traceback is shown"
