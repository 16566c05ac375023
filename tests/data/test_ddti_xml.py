"""DDTI's official XML release -> the loader's layout, on synthetic cases in the official schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mstl_lib.__main__ import main
from mstl_lib.data.ddti import load_ddti
from mstl_lib.data.ddti_xml import convert_ddti, read_case
from mstl_lib.data.registry import DatasetLayoutError

SQUARE = [{"x": 10, "y": 10}, {"x": 30, "y": 10}, {"x": 30, "y": 25}, {"x": 10, "y": 25}]
TRIANGLE = [{"x": 40, "y": 5}, {"x": 55, "y": 5}, {"x": 40, "y": 20}]


def case_xml(number: int, tirads: str, marks: dict[int, list], margins: str = "well defined") -> str:
    """One case in the official schema (``marks``: image number -> outlines)."""
    mark_xml = "".join(
        f"<mark><image>{k}</image><svg>{json.dumps([{'points': o, 'annotationType': 'freehand'} for o in outlines])}"
        "</svg></mark>" for k, outlines in marks.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><case><number>{number}</number><age>49</age><sex>F</sex>'
            f"<composition>solid</composition><echogenicity>hypoechogenicity</echogenicity>"
            f"<margins>{margins}</margins><calcifications>microcalcifications</calcifications>"
            f"<tirads>{tirads}</tirads><reportbacaf/><reporteco/>{mark_xml}</case>")


def official_release(folder: Path) -> Path:
    """Case 1: two images (one with two outlines); case 2: no TIRADS, no mark; case 10: TIRADS 3."""
    folder.mkdir(parents=True)
    (folder / "1.xml").write_text(case_xml(1, "4a", {1: [SQUARE, TRIANGLE], 2: [SQUARE]}))
    (folder / "2.xml").write_text(case_xml(2, "", {}))
    (folder / "10.xml").write_text(case_xml(10, "3", {1: [SQUARE]}, margins="Ill Defined"))
    rng = np.random.default_rng(0)
    for image_id in ("1_1", "1_2", "2_1", "10_1"):
        Image.fromarray(rng.integers(0, 255, (40, 60, 3), np.uint8)).save(folder / f"{image_id}.jpg")
    return folder


def test_the_converted_release_loads_with_masks_filled_from_the_outlines(tmp_path):
    source = official_release(tmp_path / "official")
    result = convert_ddti(source, tmp_path / "ddti")
    assert result == {"images": 4, "cases": 3, "masks": 3, "without_image": []}
    table = load_ddti(tmp_path / "ddti", include_unlabelled=True)
    assert list(table["label"]) == ["malignant", "malignant", "unknown", "benign"]
    assert list(table["group"]) == ["ddti:1", "ddti:1", "ddti:2", "ddti:10"]
    assert list(table["margins"]) == ["well-defined", "well-defined", "well-defined", "ill-defined"]
    assert (tmp_path / "ddti" / "1_1.a.jpg").read_bytes() == (source / "1_1.jpg").read_bytes()
    mask = np.asarray(Image.open(tmp_path / "ddti" / "1_1.b.jpg").convert("L")) > 127
    assert mask.shape == (40, 60)
    assert mask[15, 20] and mask[8, 45] and not mask[35, 5] and not mask[2, 2]  # both outlines, nothing else
    assert table["mask_paths"].map(len).tolist() == [1, 1, 0, 1]
    assert not (tmp_path / "ddti.partial").exists()


def test_the_command_converts_and_verifies(tmp_path, capsys):
    source = official_release(tmp_path / "official")
    code = main(["data", "convert-ddti", str(source), str(tmp_path / "ddti")])
    out = capsys.readouterr().out
    assert "4 images of 3 cases" in out and "ddti: differs from the release" in out  # a toy, not the release
    assert code == 1
    assert main(["data", "convert-ddti", str(source), str(tmp_path / "ddti")]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    ("<case><number>3</number>", "not readable XML"),
    (case_xml(3, "6", {}), "unknown TIRADS '6'"),
    (case_xml(3, "4a", {}).replace("</case>", "<mark><image>1</image><svg>[{\"x\": 1}]</svg></mark></case>"),
     "3.xml, mark 1 \\(image 1\\): <svg> is not a JSON list"),
])
def test_a_malformed_case_file_is_named_with_what_is_wrong(tmp_path, content, message):
    (tmp_path / "3.xml").write_text(content)
    with pytest.raises(DatasetLayoutError, match=message):
        read_case(tmp_path / "3.xml")


def test_a_folder_without_case_files_shows_the_official_layout(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no case files <case>.xml"):
        convert_ddti(tmp_path, tmp_path / "out")
