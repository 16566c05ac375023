"""Helpers shared by the phantom tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def _read_files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder``: relative POSIX path -> bytes."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


@pytest.fixture
def read_files():
    """``read_files(folder)``: a folder's files as ``{relative path: bytes}``, to compare trees."""
    return _read_files
