"""Every notebook the book lists: a proper parameters cell, and a smoke run.

The smoke runs (the ``smoke_notebooks`` fixture, shared with ``tests/book``) write to
the smoke book's folder, which ``tests/book`` renders strictly and opens in a browser.
"""

from __future__ import annotations

import sys

import jupytext
import pytest

import run_notebooks  # scripts/ is on sys.path (tests/conftest.py)

from mstl_lib.paths import REPO_ROOT

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


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_parameter_has_a_type_and_help_for_papermill(name):
    from papermill.translators import PythonTranslator  # what papermill --help-notebook reads

    notebook = jupytext.read(REPO_ROOT / "notebooks" / f"{name}.py")
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    names = [line.split(":")[0].split("=")[0].strip() for line in cell.source.splitlines()
             if line.strip() and not line.startswith("#")]
    inferred = {p.name: p for p in PythonTranslator.inspect(cell)}
    assert list(inferred) == names, f"papermill cannot read {sorted(set(names) - set(inferred))}"
    for parameter in inferred.values():
        assert parameter.inferred_type_name not in ("None", "") and len(parameter.help) > 10, parameter


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_smoke_profile(name, smoke_notebooks):
    seconds = smoke_notebooks.run(name)
    print(f"{name}: {seconds:.1f} s", file=sys.stderr)


def test_the_parameters_show_once_with_the_values_of_the_run(tmp_path):
    import nbformat  # noqa: PLC0415

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell('profile: str = "cpu"  # smoke, cpu or full\nseed: int = 0\nexecutor = "local"',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('# Parameters\nprofile = "smoke"\nseed = 3\n',
                                  metadata={"tags": ["injected-parameters"]}),
    ])
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, path)
    run_notebooks.merge_parameter_cells(path)
    run_notebooks.merge_parameter_cells(path)  # a second pass changes nothing
    cells = nbformat.read(path, as_version=4).cells
    assert "remove-cell" in cells[1].metadata.tags and cells[1].metadata.tags.count("remove-cell") == 1
    shown = cells[2].source.splitlines()
    assert shown[1:] == ['profile = "smoke"  # smoke, cpu or full', "seed = 3", 'executor = "local"']
    namespace: dict = {}
    exec(cells[1].source + "\n" + cells[2].source, namespace)  # noqa: S102 - the state the run had
    assert (namespace["profile"], namespace["seed"], namespace["executor"]) == ("smoke", 3, "local")
