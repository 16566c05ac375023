"""scripts/fetch_mathjax.py unpacks only the pinned MathJax tarball, whole or not at all."""

from __future__ import annotations

import os

import fetch_mathjax  # scripts/ is on sys.path (tests/conftest.py)
import pytest


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """An ``npm`` whose ``pack`` writes a tarball that is not MathJax's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\necho not-mathjax > "$5/mathjax-{fetch_mathjax.VERSION}.tgz"\n')
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path, fake_npm):
    target = tmp_path / "mathjax"
    with pytest.raises(ValueError, match="is not the pinned sha512-"):
        fetch_mathjax.fetch(target)
    assert not target.exists(), "nothing is unpacked from a tarball that fails its check"


def test_a_fetched_mathjax_is_not_fetched_again(tmp_path, fake_npm):
    target = tmp_path / "mathjax"
    target.mkdir()
    (target / "tex-chtml.js").write_text("// already here")
    assert fetch_mathjax.fetch(target) == target
