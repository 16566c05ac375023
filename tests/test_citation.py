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
