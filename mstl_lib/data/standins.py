"""Stand-ins for datasets we do not have: MT-Small drawn from BUSI."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from mstl_lib.data.images import read_image, read_mask
from mstl_lib.data.registry import DATASETS
from mstl_lib.data.mt_small import MT_SMALL_CLASSES, read_standin_meta, STANDIN_FILE, STANDIN_KIND



def _draw_standin_sources(busi_table: pd.DataFrame, n_per_class: int, seed: int) -> list[dict]:
    """The BUSI rows a stand-in is made of: ``n_per_class`` per class, seeded."""
    busi_root = busi_table.attrs.get("root")
    rng = np.random.default_rng(seed)
    sources = []
    for label, folder in MT_SMALL_CLASSES.items():
        pool = busi_table[busi_table["label"] == label]
        pool = pool.sort_values(["n", "image_id"], kind="mergesort")
        if len(pool) < n_per_class:
            raise ValueError(
                f"the BUSI table has {len(pool)} {label} images, fewer than "
                f"n_per_class={n_per_class}"
            )
        picked = pool.iloc[np.sort(rng.choice(len(pool), size=n_per_class, replace=False))]
        for row in picked.itertuples(index=False):
            name = f"{row.image_id}.png"
            sources.append({
                "file": f"{folder}/Original/{name}",
                "mask": f"{folder}/Ground_Truth/{name}",
                "source_id": row.image_id,
                "source": _relative_to(row.path, busi_root),
                "source_masks": [_relative_to(p, busi_root) for p in row.mask_paths],
                "_path": row.path, "_mask_paths": list(row.mask_paths),
            })
    return sources


def _relative_to(path: str, root: str | None) -> str:
    try:
        return Path(path).relative_to(root).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def build_mt_small_standin(
    busi_table: pd.DataFrame,
    out_dir: str | Path,
    n_per_class: int = 200,
    size: int = 128,
    seed: int = 0,
) -> Path:
    """Write an MT-Small-shaped stand-in made of BUSI images.

    The real MT-Small-Dataset is 400 BUSI-derived images (200 benign, 200
    malignant). When it is not available, this draws ``n_per_class`` benign
    and ``n_per_class`` malignant BUSI images at random (seeded, without
    replacement), resizes them to ``size x size`` (grey images: area
    interpolation; masks: union of the image's BUSI masks, nearest neighbour)
    and writes them in the MT-Small layout, with a ``README.md`` naming the
    seed and every source file and a ``standin.json`` of the parameters.

    Parameters
    ----------
    busi_table : DataFrame
        Output of :func:`load_busi`.
    out_dir : path
        Where to write; keep it out of the repository (e.g. under
        :func:`mstl_lib.paths.build_dir`), as it holds real-data derivatives.
    n_per_class : int, default=200
    size : int, default=128
    seed : int, default=0

    Returns
    -------
    Path
        ``out_dir``, loadable with :func:`load_mt_small`.

    Notes
    -----
    Idempotent: if ``out_dir`` already holds a complete stand-in with the same
    parameters and sources, nothing is rewritten. An older stand-in with other
    parameters is replaced; a non-empty folder that is not a stand-in is never
    touched (ValueError).
    """
    if n_per_class < 1 or size < 1:
        raise ValueError(f"n_per_class and size must be positive, got {n_per_class}, {size}")
    out_dir = Path(out_dir).expanduser()
    sources = _draw_standin_sources(busi_table, n_per_class, seed)
    public = [{k: v for k, v in s.items() if not k.startswith("_")} for s in sources]
    meta = {
        "kind": STANDIN_KIND, "source_dataset": "busi",
        "source_root": busi_table.attrs.get("root"),
        "n_per_class": int(n_per_class), "size": int(size), "seed": int(seed),
        "sources": public,
    }
    if out_dir.is_dir() and any(out_dir.iterdir()):
        old = read_standin_meta(out_dir) if (out_dir / STANDIN_FILE).is_file() else None
        if old is None:
            raise ValueError(
                f"{out_dir}: folder is not empty and holds no {STANDIN_FILE}; "
                "refusing to overwrite it with an MT-Small stand-in"
            )
        if _same_standin(old, meta) and _standin_complete(out_dir, old):
            return out_dir
        _remove_standin(out_dir)
    # written beside it, then moved into place in one rename: a second process building the same stand-in
    # at the same time (two chapters, two test workers) finds either nothing or a complete folder
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    _write_standin(staging, sources, size)
    (staging / "README.md").write_text(_standin_readme(meta), encoding="utf-8")
    # written last: its presence means the stand-in is complete
    (staging / STANDIN_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    try:
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        staging.rename(out_dir)
    except OSError:  # another process moved its stand-in into place first
        shutil.rmtree(staging, ignore_errors=True)
        other = read_standin_meta(out_dir) if (out_dir / STANDIN_FILE).is_file() else None
        if other is None or not (_same_standin(other, meta) and _standin_complete(out_dir, other)):
            raise
    return out_dir


def _same_standin(old: dict, new: dict) -> bool:
    keys = ("n_per_class", "size", "seed")
    same_params = all(old.get(k) == new[k] for k in keys)
    pairs = lambda meta: [(s["file"], s["source"]) for s in meta["sources"]]  # noqa: E731
    return same_params and pairs(old) == pairs(new)


def _standin_complete(out_dir: Path, meta: dict) -> bool:
    return all((out_dir / s[k]).is_file() for s in meta["sources"] for k in ("file", "mask"))


def _remove_standin(out_dir: Path) -> None:
    """Delete what a previous stand-in wrote (and nothing else)."""
    for folder in MT_SMALL_CLASSES.values():
        if (out_dir / folder).is_dir():
            shutil.rmtree(out_dir / folder)
    for name in (STANDIN_FILE, "README.md"):
        (out_dir / name).unlink(missing_ok=True)


def _write_standin(out_dir: Path, sources: list[dict], size: int) -> None:
    for src in sources:
        image = read_image(src["_path"], channels=1, size=size, dtype="uint8")[..., 0]
        if src["_mask_paths"]:
            mask = read_mask(src["_mask_paths"], size=size)
        else:
            mask = np.zeros((size, size), dtype=bool)
        for key, pixels in (("file", image), ("mask", mask.astype(np.uint8) * 255)):
            target = out_dir / src[key]
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(target)


def _standin_readme(meta: dict) -> str:
    lines = [
        "# MT-Small stand-in built from BUSI",
        "",
        "This folder is **not** the MT-Small-Dataset (Badawy et al. 2021) that P1 (Ayana et al. 2022) used. That set "
        "(400 BUSI-derived images) was not available, so this stand-in was built from "
        "BUSI (Al-Dhabyani et al. 2020) by `mstl_lib.data.build_mt_small_standin`: "
        f"{meta['n_per_class']} benign and {meta['n_per_class']} malignant BUSI images "
        f"drawn at random without replacement (seed={meta['seed']}), resized to "
        f"{meta['size']}x{meta['size']} (grey images with area interpolation, masks as the "
        "nearest-neighbour union of the image's BUSI masks), written in the MT-Small layout:",
        "",
        "```",
        DATASETS["mt_small"].layout,
        "```",
        "",
        f"Parameters: `{STANDIN_FILE}`. BUSI folder used: `{meta['source_root']}`.",
        "Cite BUSI for any result on this stand-in: " + DATASETS["busi"].citation + ".",
        "",
        "## Source files (relative to the BUSI folder)",
        "",
        "| file | source image | source masks |",
        "|---|---|---|",
    ]
    for s in meta["sources"]:
        lines.append(f"| {s['file']} | {s['source']} | {', '.join(s['source_masks'])} |")
    return "\n".join(lines) + "\n"
