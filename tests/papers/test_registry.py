"""The paper registry, the rule that papers stand alone, and recipe versions that follow the code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mstl_lib import papers
from mstl_lib.paths import REPO_ROOT

FINGERPRINTS = Path(__file__).with_name("recipe_fingerprints.json")
"""``{paper: {RECIPE_VERSION: papers.recipe_fingerprint(paper)}}``, updated with each version bump."""

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


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_paper_has_the_same_modules_and_declares_itself(key):
    for name in papers.MODULES:
        papers.module(key, name)
    info = papers.module(key).PAPER
    assert info.key == key and info.label.startswith("P") and info.claim
    assert (REPO_ROOT / "notebooks" / f"{info.notebook}.py").is_file()
    assert key in (REPO_ROOT / "references.bib").read_text() or info.citation_key in (
        REPO_ROOT / "references.bib").read_text()
    assert [p.key for p in papers.papers()] == list(papers.PAPER_PACKAGES)


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


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_the_recipe_version_follows_the_code(key):
    """Code that makes a paper's records changed, but its RECIPE_VERSION did not: old records would be reused."""
    version = papers.module(key, "tasks").RECIPE_VERSION
    stored = json.loads(FINGERPRINTS.read_text())
    current = papers.recipe_fingerprint(key)
    assert version in stored.get(key, {}), (
        f"{key}: RECIPE_VERSION {version!r} has no stored fingerprint; add "
        f'"{version}": "{current}" under "{key}" in {FINGERPRINTS.name}')
    assert stored[key][version] == current, (
        f"{key}: the code of its protocol, tasks or a shared recipe module changed since RECIPE_VERSION "
        f"{version!r} was set. Bump RECIPE_VERSION in mstl_lib/papers/{key}/tasks.py and store "
        f'"<new version>": "{current}" under "{key}" in {FINGERPRINTS.name}')


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
