"""A whole synthetic data folder (BUSI, DDTI and cell-line layouts) for runs without real data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from mstl_lib.data.phantoms.cells import write_cell_phantoms
from mstl_lib.data.phantoms.ultrasound import CELL_LINES, GENERATOR_VERSION, PHANTOM_SCALES, write_ultrasound_phantoms

# =========================================================================== data dir
_PHANTOM_README = """\
# PHANTOM DATA: everything in this folder is synthetic

Nothing here comes from a patient or a microscope. These images were drawn by
`mstl_lib.data.phantoms` (generator version {version}, seed {seed}, scale "{scale}")
so that the book can run without the real datasets. Any number computed on
them is a phantom number: it checks that the pipeline runs, not how well a
method works on real images.

| folder | mimics | content |
|---|---|---|
| `busi/` | BUSI layout | {busi[0]} benign, {busi[1]} malignant, {busi[2]} normal \
breast-ultrasound phantoms, {busi_size} px |
| `ddti/` | DDTI layout | {ddti[0]} TIRADS 2-3, {ddti[1]} TIRADS 4a-5 and {ddti[2]} \
unscored thyroid-like phantoms, {ddti_size} px |
| `cells/` | a folder per cell line | {cell_frames} bright-field frames per phantom \
line ({lines}), {cell_size} px |
| `cells_labels/` | | the cell label image of each frame (16-bit PNG, 0 = background) |

Parameters: `phantom.json`.
"""


def _phantom_params(seed: int, scale: str) -> dict:
    if scale not in PHANTOM_SCALES:
        raise ValueError(f"scale must be one of {sorted(PHANTOM_SCALES)}, got {scale!r}")
    settings = PHANTOM_SCALES[scale]
    return {"generator": "mstl_lib.data.phantoms", "generator_version": GENERATOR_VERSION,
            "seed": int(seed), "scale": scale, "overlap": 0.35,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}


def _read_params(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "phantom.json").read_text())
    except (OSError, ValueError):
        return None


def write_phantom_data_dir(out_dir, seed: int = 0, scale: str = "small") -> Path:
    """Build a phantom data folder shaped like the real one; reuse it when present.

    Parameters
    ----------
    out_dir : path-like
        Target folder. If it already holds a complete phantom folder with the
        same parameters (``phantom.json``), it is returned untouched; a phantom
        folder with other parameters is rebuilt; a non-empty folder that is not
        a phantom folder raises :class:`FileExistsError`.
    seed : int, default=0
    scale : {"small", "cpu"}, default="small"
        ``"small"``: a few dozen 64 px images, for tests and smoke runs.
        ``"cpu"``: BUSI-like class imbalance (220 / 105 / 65) at 160 px.

    Returns
    -------
    out_dir : Path
        Holding ``busi/``, ``ddti/``, ``cells/``, ``cells_labels/``,
        ``PHANTOM.md`` and ``phantom.json``.
    """
    out_dir = Path(out_dir)
    params = _phantom_params(seed, scale)
    if _read_params(out_dir) == params:
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and _read_params(out_dir) is None:
        raise FileExistsError(f"{out_dir} is not empty and is not a phantom data folder")

    # build beside the target, then swap in: an interrupted run leaves no half folder
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    rng_seeds = np.random.SeedSequence(seed).generate_state(3)
    busi, ddti = params["busi"], params["ddti"]
    write_ultrasound_phantoms(staging / "busi", *busi, size=params["busi_size"],
                              overlap=params["overlap"], seed=int(rng_seeds[0]), layout="busi")
    write_ultrasound_phantoms(staging / "ddti", *ddti, size=params["ddti_size"],
                              overlap=params["overlap"], seed=int(rng_seeds[1]), layout="ddti")
    write_cell_phantoms(staging / "cells", params["cell_frames"], params["cell_size"], int(rng_seeds[2]))
    readme = _PHANTOM_README.format(version=GENERATOR_VERSION, lines=", ".join(CELL_LINES), **params)
    (staging / "PHANTOM.md").write_text(readme)
    (staging / "phantom.json").write_text(json.dumps(params, indent=2) + "\n")

    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir
