"""The phantom data folder: complete, rebuilt only when its parameters change, never over real data."""

from __future__ import annotations

import json

import pytest

from mstl_lib.data import phantoms
from mstl_lib.data.phantoms import CELL_LINES, GENERATOR_VERSION, write_phantom_data_dir

TINY_SCALE = {"busi": (3, 2, 1), "busi_size": 32, "ddti": (3, 3, 1), "ddti_size": 32,
              "cell_frames": 1, "cell_size": 96}


@pytest.fixture
def tiny_scale(monkeypatch):
    """A data-dir scale small enough to build several times in a test."""
    monkeypatch.setitem(phantoms.PHANTOM_SCALES, "tiny", TINY_SCALE)
    return "tiny"


def test_phantom_data_dir_is_complete_and_idempotent(tmp_path, tiny_scale, read_files):
    out = write_phantom_data_dir(tmp_path / "data", seed=3, scale=tiny_scale)
    assert {p.name for p in out.iterdir()} == {
        "busi", "ddti", "cells", "cells_labels", "PHANTOM.md", "phantom.json"
    }
    params = json.loads((out / "phantom.json").read_text())
    assert params["seed"] == 3 and params["generator_version"] == GENERATOR_VERSION
    assert "synthetic" in (out / "PHANTOM.md").read_text()
    assert len(list((out / "busi" / "benign").glob("* (?).png"))) == 3

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert write_phantom_data_dir(out, seed=3, scale=tiny_scale) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # untouched

    files_seed_3 = read_files(out)
    write_phantom_data_dir(out, seed=4, scale=tiny_scale)  # other parameters: rebuilt
    assert json.loads((out / "phantom.json").read_text())["seed"] == 4
    assert read_files(out) != files_seed_3
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no staging left behind


def test_phantom_data_dir_refuses_a_foreign_folder(tmp_path, tiny_scale):
    (tmp_path / "notes.txt").write_text("real data")
    with pytest.raises(FileExistsError):
        write_phantom_data_dir(tmp_path, scale=tiny_scale)
    with pytest.raises(ValueError, match="scale"):
        write_phantom_data_dir(tmp_path / "x", scale="huge")


def test_small_scale_mimics_the_real_layout(tmp_path):
    out = write_phantom_data_dir(tmp_path / "data", scale="small")
    assert len(list((out / "busi" / "benign").glob("*_mask.png"))) == 24
    assert len(list((out / "busi" / "malignant").glob("*_mask.png"))) == 12
    assert (out / "ddti" / "label.txt").is_file()
    assert {p.name for p in (out / "cells").iterdir()} == set(CELL_LINES)
