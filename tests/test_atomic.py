"""A file or folder written through mstl_lib.atomic appears whole or not at all."""

from __future__ import annotations

import pytest

from mstl_lib import atomic


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    path = tmp_path / "sub" / "table.csv"
    atomic.write_text(path, "old\n")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic.replacing(path) as partial:
            partial.write_text("half")
            raise RuntimeError("killed half way")
    assert path.read_text() == "old\n"
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]
    atomic.write_text(path, "new\n", durable=True)
    assert path.read_text() == "new\n" and len(list(path.parent.iterdir())) == 1


def test_folders_and_suffixes(tmp_path):
    out = tmp_path / "converted"
    with atomic.replacing(out, folder=True) as partial:
        assert partial.is_dir() and partial.name.startswith(".converted.") and partial.name.endswith(".partial")
        (partial / "label.txt").write_text("x")
        assert not out.exists()  # nothing appears before the block ends
    assert (out / "label.txt").read_text() == "x"
    with atomic.replacing(tmp_path / "w.weights.h5", suffix=".weights.h5") as partial:
        assert partial.name.endswith(".partial.weights.h5")  # writers that insist on a suffix get it
    with pytest.raises(OSError):  # a folder never replaces one that holds something
        with atomic.replacing(out, folder=True) as partial:
            (partial / "other.txt").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["converted", "w.weights.h5"]
