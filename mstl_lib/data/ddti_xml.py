"""DDTI as its authors publish it (one XML per case) into the layout :func:`mstl_lib.data.ddti.load_ddti` reads.

The official release (http://cimalab.intec.co/applications/thyroid/) holds, per case ``<case>``,
``<case>.xml`` and its images ``<case>_<k>.jpg``. The XML reads::

    <case>
      <number>1</number>
      <age>49</age>  <sex>F</sex>
      <composition>solid</composition>  <echogenicity>hypoechogenicity</echogenicity>
      <margins>well defined</margins>  <calcifications>microcalcifications</calcifications>
      <tirads>4a</tirads>
      <mark>
        <image>1</image>
        <svg>[{"points": [{"x": 227, "y": 137}, ...], "annotationType": "freehand"}]</svg>
      </mark>
    </case>

with one ``<mark>`` per image, whose ``<svg>`` holds the nodule outlines as JSON. The converter
copies each image byte for byte to ``<case>_<k>.a.jpg``, fills the outlines of its marks into a
mask ``<case>_<k>.b.jpg`` (255 inside, 0 outside), and writes ``label.txt``. Values are lowercased
with spaces as hyphens ("well defined" -> "well-defined"); an empty field stays empty. The output
is written beside its place and moved in with one rename.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from PIL import Image, ImageDraw

from mstl_lib import atomic
from mstl_lib.data.ddti import DDTI_COLUMNS, TIRADS_TO_TARGET
from mstl_lib.data.registry import DatasetLayoutError, many

_FIELDS = ("composition", "echogenicity", "margins", "calcifications")


def _text(case: ElementTree.Element, tag: str) -> str:
    node = case.find(tag)
    return " ".join((node.text or "").split()) if node is not None else ""


def _value(text: str) -> str:
    return "-".join(text.lower().split())


def read_case(xml_path: str | os.PathLike) -> dict:
    """One case's XML as ``{"case", "fields": {column: value}, "marks": {k: [outline, ...]}}``.

    An outline is a list of ``(x, y)`` points.

    Raises
    ------
    DatasetLayoutError
        If the file is not XML, has no case number, an unknown TIRADS, or a mark whose outline is not
        the JSON of the official schema (file and mark named).
    """
    xml_path = Path(xml_path)
    try:
        case = ElementTree.parse(xml_path).getroot()
    except ElementTree.ParseError as error:
        raise DatasetLayoutError(f"{xml_path}: not readable XML ({error})") from error
    number = _text(case, "number") or xml_path.stem
    if not number.isdigit():
        raise DatasetLayoutError(f"{xml_path}: case number {number!r} is not a number")
    tirads = _value(_text(case, "tirads"))
    if tirads and tirads not in TIRADS_TO_TARGET:
        raise DatasetLayoutError(f"{xml_path}: unknown TIRADS {tirads!r} (expected one of "
                                 f"{', '.join(TIRADS_TO_TARGET)} or empty)")
    fields = {name: _value(_text(case, name)) for name in _FIELDS}
    fields.update(tirads=tirads, sex=_text(case, "sex").upper(), age=_text(case, "age"))
    marks: dict[int, list[list[tuple[float, float]]]] = {}
    for position, mark in enumerate(case.findall("mark"), start=1):
        image = _text(mark, "image")
        where = f"{xml_path}, mark {position} (image {image or '?'})"
        if not image.isdigit():
            raise DatasetLayoutError(f"{where}: <image> must be the image's number")
        svg = _text(mark, "svg")
        try:
            shapes = json.loads(svg) if svg else []
            outlines = [[(float(p["x"]), float(p["y"])) for p in shape["points"]] for shape in shapes]
        except (ValueError, TypeError, KeyError) as error:
            raise DatasetLayoutError(f'{where}: <svg> is not a JSON list of {{"points": [{{"x", "y"}}, ...]}} '
                                     f"({type(error).__name__}: {error})") from error
        marks.setdefault(int(image), []).extend(o for o in outlines if len(o) >= 3)
    return {"case": number, "fields": fields, "marks": marks}


def outline_mask(size: tuple[int, int], outlines: list[list[tuple[float, float]]]) -> Image.Image:
    """A greyscale mask of ``size`` (width, height): 255 inside any outline, 0 elsewhere."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for outline in outlines:
        draw.polygon(outline, fill=255, outline=255)
    return mask


def convert_ddti(source: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Convert the official DDTI folder ``source`` into ``out`` (which must not exist yet).

    Returns
    -------
    dict
        ``images``, ``cases``, ``masks`` (images with at least one outline) and ``without_image``
        (marks naming an image that is not in the folder).

    Raises
    ------
    DatasetLayoutError
        If ``source`` holds no case XML, an XML is malformed, or an image is listed twice.
    FileExistsError
        If ``out`` exists (nothing is overwritten).
    """
    source, out = Path(source).expanduser(), Path(out).expanduser()
    if out.exists():
        raise FileExistsError(f"{out}: already exists; convert into a new folder")
    xmls = sorted((p for p in source.glob("*.xml") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not xmls:
        raise DatasetLayoutError(f"{source}: no case files <case>.xml (DDTI's official release: one XML per case "
                                 "beside its images <case>_<k>.jpg)")
    with atomic.replacing(out, folder=True) as partial:  # appears whole or not at all
        lines, n_masks, without_image, n_images = [], 0, [], 0
        image_name = re.compile(r"^(?P<case>\d+)_(?P<k>\d+)\.jpe?g$", re.IGNORECASE)
        for xml_path in xmls:
            case = read_case(xml_path)
            images = sorted((p for p in source.iterdir()
                             if (m := image_name.match(p.name)) and m["case"] == case["case"]),
                            key=lambda p: int(image_name.match(p.name)["k"]))
            without_image += [f"{xml_path.name}: image {k}" for k in case["marks"]
                              if not any(int(image_name.match(p.name)["k"]) == k for p in images)]
            for path in images:
                k = int(image_name.match(path.name)["k"])
                image_id = f"{case['case']}_{k}"
                shutil.copyfile(path, partial / f"{image_id}.a.jpg")
                n_images += 1
                outlines = case["marks"].get(k, [])
                if outlines:
                    with Image.open(path) as image:
                        size = image.size
                    outline_mask(size, outlines).save(partial / f"{image_id}.b.jpg", quality=100)
                    n_masks += 1
                values = {"id": image_id, "folder_label": "na", **case["fields"]}
                lines.append(",".join(values[c] for c in DDTI_COLUMNS))
        if len({line.split(",", 1)[0] for line in lines}) != len(lines):
            raise DatasetLayoutError(f"{source}: an image is listed twice (two files for one <case>_<k>)")
        (partial / "label.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (partial / "CONVERTED.txt").write_text(
            f"Converted by mstl_lib.data.ddti_xml.convert_ddti from {source} ({len(xmls)} case files).\n"
            "Images are byte copies; masks are filled from the XML outlines; label.txt columns: "
            + ",".join(DDTI_COLUMNS) + "\n", encoding="utf-8")
    return {"images": n_images, "cases": len(xmls), "masks": n_masks, "without_image": without_image}


def conversion_summary(result: dict, out: str | os.PathLike) -> str:
    """One line describing a :func:`convert_ddti` result."""
    text = (f"{result['images']} images of {result['cases']} cases -> {out} "
            f"({result['masks']} with a mask drawn from their outlines)")
    if result["without_image"]:
        text += f"; marks naming no image in the folder: {many(result['without_image'])}"
    return text

