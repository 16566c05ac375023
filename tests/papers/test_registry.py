"""The paper registry and the rule that papers stand alone (the contract itself: test_contract.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mstl_lib import papers
from mstl_lib.paths import REPO_ROOT

LIBRARY = REPO_ROOT / "mstl_lib"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_shared_code_never_imports_a_paper():
    offenders = [str(path.relative_to(REPO_ROOT)) for path in LIBRARY.rglob("*.py")
                 if "papers" not in path.relative_to(LIBRARY).parts
                 and any(name.startswith("mstl_lib.papers.") for name in imports_of(path))]
    assert not offenders


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_papers_never_import_each_other(key):
    others = [other for other in papers.PAPER_PACKAGES if other != key]
    for path in (LIBRARY / "papers" / key).rglob("*.py"):
        bad = [name for name in imports_of(path) for other in others if name.startswith(f"mstl_lib.papers.{other}")]
        assert not bad, f"{path.name} imports {bad}"


def test_unknown_papers_and_modules_are_refused():
    with pytest.raises(KeyError, match="unknown paper"):
        papers.module("p9_none")
    with pytest.raises(KeyError, match="paper modules are"):
        papers.module(papers.PAPER_PACKAGES[0], "helpers")


def test_a_papers_own_recipe_modules_enter_only_its_fingerprint(monkeypatch):
    before = {key: papers.recipe_fingerprint(key) for key in papers.PAPER_PACKAGES}
    tasks = papers.module("p3_elastography", "tasks")
    monkeypatch.setattr(tasks, "RECIPE_MODULES", (*tasks.RECIPE_MODULES, "mstl_lib.report.tables"))
    after = {key: papers.recipe_fingerprint(key) for key in papers.PAPER_PACKAGES}
    assert after["p3_elastography"] != before["p3_elastography"]
    assert all(after[key] == before[key] for key in papers.PAPER_PACKAGES if key != "p3_elastography")
