"""Where the repository, its build folder and the data live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The project's root (the folder holding ``mstl_lib/``)."""


def build_dir() -> Path:
    """Folder for generated, git-ignored artefacts (``MSTL_BUILD_DIR`` or ``<repo>/build``)."""
    return Path(os.environ.get("MSTL_BUILD_DIR", REPO_ROOT / "build")).expanduser()


def data_dir_candidates() -> list[tuple[str, Path]]:
    """The places ``data_dir="auto"`` looks at, in order, with how each was found."""
    out: list[tuple[str, Path]] = []
    env = os.environ.get("MSTL_DATA_DIR")
    if env:
        out.append(("MSTL_DATA_DIR", Path(env).expanduser()))
    out.append(("../shared/data beside the repository", REPO_ROOT.parent / "shared" / "data"))
    out.append(("~/mstl_data", Path("~/mstl_data").expanduser()))
    return out
