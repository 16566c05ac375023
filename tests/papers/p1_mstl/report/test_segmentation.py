"""P1's report, ``segmentation``: Fig. 2a and the patches: the cell segmentation, its check against a manual annotation, and the patches stage"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown
from matplotlib.figure import Figure
from PIL import Image

from mstl_lib.data.sources import DataSource
from mstl_lib.papers.p1_mstl import cell_patches, report

from p1_report_helpers import axes_images


def _frame():
    image = np.full((200, 200, 3), 200, np.uint8)
    image[20:80, 30:100] = 60
    image[150:155, 150:156] = 60
    return image


def _flat_cells(folder, annotated=True):
    folder.mkdir(parents=True)
    Image.fromarray(_frame()).save(folder / "B3_bf_01.png")
    if annotated:
        Image.fromarray(_frame()).save(folder / "hela_dic_t001.png")
        labels = np.zeros((200, 200), np.uint16)
        labels[25:75, 35:95] = 1
        Image.fromarray(labels).save(folder / "hela_dic_t001_seg.png")
    return DataSource("cells", "show", "real", str(folder))


def _patches(tmp_path, per_line=3):
    rows = []
    for line in ("A", "B"):
        for k in range(per_line):
            path = tmp_path / f"{line}{k}.png"
            Image.fromarray(np.full((40, 30 + k, 3), 50 * k, np.uint8)).save(path)
            rows.append({"path": str(path), "label": line, "frame": f"{line}-f{k % 2}", "w": 30 + k, "h": 40})
    return pd.DataFrame(rows)


def test_segmentation_panels_show_every_step():
    segmentation = cell_patches.segment_cells(_frame())
    fig = report.segmentation_panels(segmentation, title="t", n_patches=4)
    assert isinstance(fig, Figure)
    assert axes_images(fig) == 3 + min(4, len(segmentation.boxes))
    assert f"{len(segmentation.boxes)} kept" in fig.axes[2].get_title()


@pytest.mark.parametrize(("frames", "expected"), [
    (pd.DataFrame({"path": list("abc"), "label": ["x", "x", "y"], "modality": ["bright-field", "DIC", "unknown"]}),
     ["a"]),
    (pd.DataFrame({"path": list("abc"), "label": ["x", "x", "y"]}), ["a", "c"]),
])
def test_demo_frames(frames, expected):
    assert report.demo_frames(frames)["path"].tolist() == expected


def test_segmentation_demo_one_figure_per_frame(tmp_path):
    figures = report.segmentation_demo(_flat_cells(tmp_path / "cells"))
    assert len(figures) == 1 and isinstance(figures[0], Figure)
    assert isinstance(report.segmentation_demo(None)[0], Markdown)


def test_annotation_check_and_its_sentence(tmp_path):
    items = report.annotation_check(_flat_cells(tmp_path / "cells"))
    assert isinstance(items[0], Figure) and isinstance(items[1], Markdown)
    assert "1 of 1 annotated cells" in items[1].data
    assert isinstance(items[3], pd.DataFrame) and len(items[3]) == 9
    no_annotation = report.annotation_check(_flat_cells(tmp_path / "flat", annotated=False))
    assert len(no_annotation) == 1 and "skipped" in no_annotation[0].data


def test_annotation_sentence_states_the_counts():
    check = {"annotated_cells": 10, "cells_in_a_box": 7, "boxes": 5, "boxes_without_cell": 2, "cells_per_box": 2.5}
    sentence = report.annotation_sentence(check, 3)
    assert "7 of 10 annotated cells" in sentence and "2 of 5 kept boxes" in sentence and "2.5" in sentence


def test_patch_summary_and_examples(tmp_path):
    patches = _patches(tmp_path)
    summary = patch_summary = report.patch_summary(patches)
    assert patch_summary.loc["A"].to_dict() == {"frames": 2, "patches": 3, "median_w": 31.0, "median_h": 40.0}
    assert summary["patches"].sum() == len(patches)
    fig = report.patch_examples(patches, per_line=4, size=16)
    assert len(fig.axes) == 2 * 4 and axes_images(fig) == len(patches)  # a line with 3 patches leaves a blank
