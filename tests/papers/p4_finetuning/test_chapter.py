"""P4's chapter: the notebook reads like the paper, with library calls only."""

from __future__ import annotations

import re

import jupytext

from mstl_lib.paths import REPO_ROOT
from mstl_lib.papers.p4_finetuning import PAPER


def test_the_chapter_is_thin_and_runs_in_the_books_smoke_test():
    """The page reads like the paper: library calls only, results in words from this module.

    (It replaces the old always-skipped smoke run: ``_toc.yml`` lists the chapter, so
    ``tests/test_notebooks.py`` runs it under ``smoke``.)
    """
    toc = (REPO_ROOT / "_toc.yml").read_text()
    assert f"build/notebooks/{PAPER.notebook}" in toc
    notebook = jupytext.read(REPO_ROOT / "notebooks" / f"{PAPER.notebook}.py")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    namespace: dict = {}
    exec(code[0].source, namespace)  # noqa: S102 - our own notebook source
    assert {k for k in namespace if not k.startswith("__")} == {
        "profile", "data_dir", "weights", "seed", "executor", "scheduler", "verbose"}
    body = "\n".join(c.source for c in code[1:])
    assert "start_run(CHAPTER" in body and body.index("p4_grids.build(") < body.index("run.banner()")
    for forbidden in (r"\bassert\b", r"\bplt\.", r"matplotlib", r"\bf\"", r"\bf'", r"\bfor\b", r"\bif\b",
                      r"engine\.Grid\(", r"\.groupby\(", r"display\("):
        assert not re.search(forbidden, body), forbidden
    for cell in code[1:]:  # besides imports, one to three statements a cell
        statements = [line for line in cell.source.splitlines()
                      if line.strip() and not line.startswith(("from ", "import ", "#"))]
        assert 1 <= len(statements) <= 3, cell.source
