"""The MT-Small stand-in built from BUSI: layout, provenance README, rebuilt only when asked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dataset_trees import check_base_columns
from PIL import Image

from mstl_lib import data
from mstl_lib.data import build_mt_small_standin, class_counts, load_busi, load_mt_small
from mstl_lib.data.images import image_shape


def test_build_mt_small_standin(busi_root, tmp_path):
    busi = load_busi(busi_root)
    out = tmp_path / "build" / "mt_small_standin"
    assert build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1) == out
    df = load_mt_small(out)
    check_base_columns(df, "mt_small")
    assert class_counts(df)["images"].to_dict() == {"benign": 2, "malignant": 2}
    assert df["standin"].all() and df.attrs["standin"]["seed"] == 1
    assert set(df["source_id"]) <= set(busi["image_id"])
    assert all(len(m) == 1 for m in df["mask_paths"])
    assert image_shape(df["path"].iloc[0]) == (16, 16)
    assert image_shape(df["mask_paths"].iloc[0][0]) == (16, 16)
    readme = (out / "README.md").read_text()
    assert "stand-in" in readme and "seed=1" in readme
    assert all(s in readme for s in df["source_id"])

    # same parameters: nothing is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1)
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    # other parameters: rebuilt
    build_mt_small_standin(busi, out, n_per_class=1, size=8, seed=1)
    assert len(load_mt_small(out)) == 2
    assert json.loads((out / data.STANDIN_FILE).read_text())["size"] == 8


def test_two_builders_at_once_leave_one_complete_standin(busi_root, tmp_path, monkeypatch):
    """A second process that moves the same stand-in into place first wins; the first keeps it, leaves no
    partial folder and raises nothing."""
    from mstl_lib.data import standins

    busi, out = load_busi(busi_root), tmp_path / "derived" / "mt_small_standin"
    write = standins._write_standin

    def racing(staging, sources, size):
        write(staging, sources, size)
        monkeypatch.setattr(standins, "_write_standin", write)
        build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1)  # the other process, finishing first

    monkeypatch.setattr(standins, "_write_standin", racing)
    assert build_mt_small_standin(busi, out, n_per_class=2, size=16, seed=1) == out
    assert class_counts(load_mt_small(out))["images"].to_dict() == {"benign": 2, "malignant": 2}
    assert [p.name for p in out.parent.iterdir()] == ["mt_small_standin"]


def test_standin_refuses_foreign_folder_and_too_many(busi_root, tmp_path):
    busi = load_busi(busi_root)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        build_mt_small_standin(busi, foreign, n_per_class=1, size=8)
    with pytest.raises(ValueError, match="fewer than n_per_class=5"):
        build_mt_small_standin(busi, tmp_path / "new", n_per_class=5, size=8)


@pytest.mark.realdata
def test_real_standin(shared_data, tmp_path):
    busi = load_busi(shared_data / "busi")
    out = build_mt_small_standin(busi, tmp_path / "standin", n_per_class=3, size=32)
    df = load_mt_small(out)
    assert class_counts(df)["images"].to_dict() == {"benign": 3, "malignant": 3}
    assert all(np.asarray(Image.open(masks[0])).any() for masks in df["mask_paths"])
