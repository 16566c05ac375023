"""DDTI: thyroid ultrasound with TIRADS scores (one case = one nodule)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib.data.files import frame, set_attrs
from mstl_lib.data.registry import DATASETS, DatasetLayoutError, indent, many, require_root

# --------------------------------------------------------------------------- #
# DDTI
# --------------------------------------------------------------------------- #
TIRADS_TO_TARGET = {"2": 0, "3": 0, "4a": 1, "4b": 1, "4c": 1, "5": 1}
"""DDTI TIRADS category -> target (the usual benign/malignant reading of TI-RADS)."""

DDTI_COLUMNS = ("id", "folder_label", "composition", "echogenicity", "margins",
                "calcifications", "tirads", "sex", "age")
_MISSING = frozenset({"", "none", "null", "nan"})
_DDTI_ID = re.compile(r"^(?P<case>\d+)_(?P<k>\d+)$")
DDTI_FIELDS = ("case", "k", "tirads", "composition", "echogenicity", "margins",
               "calcifications", "sex", "age", "folder_label")
"""DDTI's own columns in the loaded table."""


def _missing_to_none(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in _MISSING else value


def _read_ddti_labels(label_file: Path) -> list[dict]:
    records, seen = [], {}
    with open(label_file, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(DDTI_COLUMNS):
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: expected {len(DDTI_COLUMNS)} comma-separated "
                    f"fields ({','.join(DDTI_COLUMNS)}), found {len(fields)}"
                )
            rec = dict(zip(DDTI_COLUMNS, (f.strip() for f in fields)))
            match = _DDTI_ID.match(rec["id"])
            if match is None:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: image id {rec['id']!r} is not '<case>_<k>'"
                )
            if rec["id"] in seen:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: image id {rec['id']!r} already on line "
                    f"{seen[rec['id']]}"
                )
            seen[rec["id"]] = line
            tirads = _missing_to_none(rec["tirads"])
            tirads = tirads.lower() if tirads else None
            if tirads is not None and tirads not in TIRADS_TO_TARGET:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: unknown TIRADS {rec['tirads']!r} "
                    f"(expected one of {', '.join(TIRADS_TO_TARGET)} or empty)"
                )
            age = _missing_to_none(rec["age"])
            try:
                age = float(age) if age is not None else np.nan
            except ValueError:
                raise DatasetLayoutError(
                    f"{label_file}, line {line}: age {rec['age']!r} is not a number"
                ) from None
            records.append({
                **{k: _missing_to_none(rec[k]) for k in
                   ("composition", "echogenicity", "margins", "calcifications", "sex")},
                "id": rec["id"], "case": match.group("case"), "k": int(match.group("k")),
                "tirads": tirads, "age": age, "folder_label": rec["folder_label"],
                "line": line,
            })
    if not records:
        raise DatasetLayoutError(f"{label_file}: no label lines")
    return records


def load_ddti(root: str | Path, include_unlabelled: bool = False) -> pd.DataFrame:
    """Load DDTI (Pedraza et al. 2015), labelled from TIRADS.

    Layout: ``<root>/<case>_<k>.a.jpg`` image, ``<case>_<k>.b.jpg`` mask and
    ``label.txt`` lines ``id,folder,composition,echogenicity,margins,
    calcifications,tirads,sex,age`` (no header; ``None`` or empty = missing).

    TIRADS 2 and 3 are benign (0); 4a, 4b, 4c and 5 malignant (1)
    (:data:`TIRADS_TO_TARGET`). Images with no TIRADS are excluded and counted
    in ``attrs["excluded"]["no_tirads"]``; images on disk but not in
    ``label.txt`` in ``attrs["excluded"]["not_in_label_txt"]``.

    Parameters
    ----------
    root : path
        The ``ddti`` folder.
    include_unlabelled : bool, default=False
        Keep the images without TIRADS, as label ``"unknown"``, target -1.

    Returns
    -------
    DataFrame
        Base columns plus ``case`` (str), ``k`` (int), ``tirads``,
        ``composition``, ``echogenicity``, ``margins``, ``calcifications``,
        ``sex`` (str or None), ``age`` (float, NaN if missing) and
        ``folder_label`` (the archive's 'bening'/'maling'/'na', unused).
        ``group`` is ``"ddti:" + case`` (a case is one patient's nodule).

    Raises
    ------
    DatasetLayoutError
        If ``label.txt`` is missing or malformed (file and line named), or an
        image it lists is missing on disk.
    """
    root = require_root(root, "ddti")
    label_file = root / "label.txt"
    if not label_file.is_file():
        raise DatasetLayoutError(
            f"{label_file}: missing; expected layout:\n" + indent(DATASETS["ddti"].layout)
        )
    records = _read_ddti_labels(label_file)
    missing = [f"{r['id']}.a.jpg (label.txt line {r['line']})" for r in records
               if not (root / f"{r['id']}.a.jpg").is_file()]
    if missing:
        raise DatasetLayoutError(
            f"{root}: {len(missing)} image(s) listed in {label_file.name} are missing: "
            + many(missing)
        )
    listed = {r["id"] for r in records}
    on_disk = {p.name[: -len(".a.jpg")] for p in root.glob("*.a.jpg")}
    rows, no_tirads, no_mask = [], 0, 0
    for rec in records:
        if rec["tirads"] is None:
            no_tirads += 1
            if not include_unlabelled:
                continue
            label, target = "unknown", -1
        else:
            target = TIRADS_TO_TARGET[rec["tirads"]]
            label = "malignant" if target == 1 else "benign"
        mask = root / f"{rec['id']}.b.jpg"
        no_mask += not mask.is_file()
        rows.append({
            "path": str(root / f"{rec['id']}.a.jpg"), "dataset": "ddti", "label": label,
            "target": target, "group": f"ddti:{rec['case']}",
            "mask_paths": [str(mask)] if mask.is_file() else [],
            **{k: rec[k] for k in DDTI_FIELDS},
        })
    rows.sort(key=lambda r: (int(r["case"]), r["k"]))
    df = frame(rows, list(DDTI_FIELDS), [])
    excluded = {"no_tirads": 0 if include_unlabelled else no_tirads,
                "not_in_label_txt": len(on_disk - listed)}
    return set_attrs(df, "ddti", root, excluded=excluded, no_tirads=no_tirads,
                      missing_masks=no_mask, label_file=str(label_file))
