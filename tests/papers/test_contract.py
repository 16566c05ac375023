"""Every discovered paper package meets the paper contract (``mstl_lib.papers.contract``), check by named check."""

from __future__ import annotations

import json

import pytest

from mstl_lib import papers
from mstl_lib.papers import contract

CASES = [(key, name, check) for key in papers.PAPER_PACKAGES for name, check in contract.contract_checks(key)]


@pytest.mark.parametrize(("key", "name", "check"), CASES, ids=[f"{key}-{name}" for key, name, _ in CASES])
def test_paper_meets_the_contract(key, name, check):
    check()


def test_discovery_finds_every_paper_package_in_the_books_order():
    found = [p.name for p in (contract.REPO_ROOT / "mstl_lib" / "papers").iterdir()
             if (p / "__init__.py").is_file()]
    assert sorted(papers.PAPER_PACKAGES) == sorted(found)
    notebooks = [papers.module(key).PAPER.notebook for key in papers.PAPER_PACKAGES]
    assert notebooks == sorted(notebooks)


def test_a_missing_member_is_named_with_its_module(monkeypatch):
    key = papers.PAPER_PACKAGES[0]
    monkeypatch.delattr(papers.module(key, "grids"), "run_all")
    with pytest.raises(contract.ContractError, match=rf"mstl_lib\.papers\.{key}\.grids\.run_all"):
        contract.check_members(key)


def test_a_recipe_changed_without_a_new_version_is_refused(tmp_path):
    key = papers.PAPER_PACKAGES[0]
    version = papers.module(key, "tasks").RECIPE_VERSION
    stale = tmp_path / contract.FINGERPRINTS_FILE
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({key: {version: "0" * 64}}))
    with pytest.raises(contract.ContractError, match="Bump RECIPE_VERSION"):
        contract.check_recipe_fingerprint(key, root=tmp_path)
    stale.write_text("{}")
    with pytest.raises(contract.ContractError, match="has no stored fingerprint"):
        contract.check_recipe_fingerprint(key, root=tmp_path)


def test_a_build_with_another_signature_is_refused(monkeypatch):
    key = papers.PAPER_PACKAGES[-1]
    monkeypatch.setattr(papers.module(key, "grids"), "build", lambda run, verbose=0: {})
    with pytest.raises(contract.ContractError, match=r"grids.build\(run, verbose, ...\) should start \(run, store, verbose\)"):
        contract.check_signatures(key)
