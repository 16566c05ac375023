"""The project's licence and citation files: present, parseable, and in step with pyproject.toml."""

from __future__ import annotations

import tomllib

import yaml

from mstl_lib import __version__
from mstl_lib.paths import REPO_ROOT


def test_citation_cff_parses_and_names_what_a_citation_needs():
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"].startswith("1.2")
    assert citation["title"] and citation["message"] and citation["authors"]
    assert citation["version"] == __version__
    assert citation["license"] == "MIT"
    dois = {reference.get("doi") for reference in citation["references"]}
    assert "10.3390/diagnostics12010135" in dois  # P1, the book's main paper


def test_licence_file_and_pyproject_agree():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT" and project["project"]["license-files"] == ["LICENSE"]
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    # the SPDX string form of `license` needs setuptools 77 or later to build
    assert any(r.replace(" ", "").startswith("setuptools>=") and int(r.split(">=")[1].split(".")[0]) >= 77
               for r in project["build-system"]["requires"])


def test_every_bibliography_entry_is_cited_and_every_chapter_cites():
    import re

    keys = re.findall(r"^@\w+\{([^,]+),", (REPO_ROOT / "references.bib").read_text(encoding="utf-8"), re.MULTILINE)
    pages = {path: path.read_text(encoding="utf-8") for folder in ("book", "notebooks")
             for path in sorted((REPO_ROOT / folder).glob("*.[mp][dy]"))}
    cited = {key for text in pages.values() for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", text)
             for key in group.split(",")}
    assert set(keys) - cited == set(), "entries of references.bib cited nowhere in book/ or notebooks/"
    assert cited - set(keys) == set(), "citations of keys missing from references.bib"
    assert [path.name for path in sorted((REPO_ROOT / "notebooks").glob("*.py")) if "{cite" not in pages[path]] == []
