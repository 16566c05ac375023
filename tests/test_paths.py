"""Every generated folder is named in paths.py and follows MSTL_BUILD_DIR / MSTL_RESULTS_DIR."""

from __future__ import annotations

import re

import pytest

from mstl_lib import paths

BUILD_FOLDERS = [
    lambda: paths.phantom_data_dir("small", 3),
    lambda: paths.derived_dir("x"),
    paths.model_weights_dir,
    paths.freeze_cache_dir,
    paths.bench_dir,
    paths.vendor_dir,
    paths.smoke_book_dir,
    paths.screenshots_dir,
]


@pytest.mark.parametrize("folder", BUILD_FOLDERS)
def test_build_folders_live_under_the_build_dir(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path))
    assert folder().is_relative_to(tmp_path) and folder() != tmp_path


def test_results_dir_follows_its_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "r"))
    assert paths.results_dir() == tmp_path / "r"


def test_no_other_module_names_the_build_folder():
    """Only paths.py may spell out a folder under build/ (tests and docs aside)."""
    offenders = []
    for path in [p for folder in ("mstl_lib", "scripts", "bench", "notebooks", "book") for p in (paths.REPO_ROOT / folder).rglob("*.py")]:
        if path.name == "paths.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bbuild_dir\(\)|REPO_ROOT\s*/\s*[\"']build|[\"']build/", text):
            offenders.append(str(path.relative_to(paths.REPO_ROOT)))
    assert not offenders, f"build folders named outside paths.py: {offenders}"
