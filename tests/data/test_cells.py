"""Cell-line frames: the flat Cell Tracking layout and one folder per cell line."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import cells_tree, check_base_columns, write_image

from mstl_lib.data import DatasetLayoutError, load_cells


def test_load_cells_flat(tmp_path):
    df = load_cells(cells_tree(tmp_path / "cells"))
    check_base_columns(df, "cells")
    assert df.attrs["layout"] == "flat"
    assert len(df) == 3 and (df["target"] == -1).all()
    dic = df[df["modality"] == "DIC"].iloc[0]
    assert dic["cell_line"] == "HeLa" == dic["label"] and dic["frame"] == 15
    assert Path(dic["seg_path"]).name == "hela_dic_t015_seg.tif"
    bright = df[df["modality"] == "bright-field"]
    assert len(bright) == 2 and bright["seg_path"].isna().all()
    assert bright["group"].nunique() == 1 and bright["frame"].tolist() == [8, 9]


def test_load_cells_folder_per_line(tmp_path):
    root = tmp_path / "cells"
    write_image(root / "HeLa" / "a.png")
    write_image(root / "H1299" / "b.jpg")
    write_image(root / "H1299" / "c.tif")
    df = load_cells(root)
    check_base_columns(df, "cells")
    assert df.attrs["layout"] == "folders"
    assert df["label"].tolist() == ["H1299", "H1299", "HeLa"]
    assert (df["cell_line"] == df["label"]).all() and (df["target"] == -1).all()
    (root / "HeLa" / "a.png").unlink()
    with pytest.raises(DatasetLayoutError, match="'HeLa' holds no images"):
        load_cells(root)


def test_load_cells_empty(tmp_path):
    (tmp_path / "cells").mkdir()
    with pytest.raises(DatasetLayoutError, match="no images and no cell-line folders"):
        load_cells(tmp_path / "cells")


@pytest.mark.realdata
def test_real_cells(shared_data):
    df = load_cells(shared_data / "cells")
    assert df["modality"].value_counts().to_dict() == {"bright-field": 3, "DIC": 1}
    dic = df[df["modality"] == "DIC"].iloc[0]
    assert dic["cell_line"] == "HeLa" and Path(dic["seg_path"]).is_file()
