"""Every notebook the book lists: a proper parameters cell, and a smoke run.

The smoke run writes to build/notebooks/, which the strict book build of
``make test`` then renders.
"""

from __future__ import annotations

import importlib.util
import sys

import jupytext
import pytest

from mstl_lib.paths import REPO_ROOT

spec = importlib.util.spec_from_file_location("run_notebooks", REPO_ROOT / "scripts" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(spec)
sys.modules["run_notebooks"] = run_notebooks  # dataclasses look their module up
spec.loader.exec_module(run_notebooks)

NOTEBOOKS = run_notebooks.book_notebooks()
REQUIRED_PARAMETERS = ("profile", "data_dir", "weights", "seed")


def test_the_book_lists_notebooks():
    assert NOTEBOOKS, "_toc.yml lists no executed notebooks"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell(name):
    notebook = jupytext.read(REPO_ROOT / "notebooks" / f"{name}.py")
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    namespace: dict = {}
    exec(tagged[0].source, namespace)  # noqa: S102 - our own notebook source
    for parameter in REQUIRED_PARAMETERS:
        assert parameter in namespace, f"parameters cell lacks {parameter!r}"
    assert namespace["profile"] == "cpu", "the default profile of a notebook is cpu"
    code_before = [c for c in notebook.cells[: notebook.cells.index(tagged[0])] if c.cell_type == "code"]
    assert not code_before, "the parameters cell must be the first code cell"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_smoke_profile(name, tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))  # train, never reuse a cache
    seconds = run_notebooks.execute(
        name, {"profile": "smoke", "data_dir": "auto", "weights": "auto", "seed": 0}
    )
    print(f"{name}: {seconds:.1f} s", file=sys.stderr)
