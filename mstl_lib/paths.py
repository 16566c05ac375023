"""Where the repository, the data and every generated folder live: the only module that names them.

Generated folders (all git-ignored) sit under :func:`build_dir` (``MSTL_BUILD_DIR``
or ``<repo>/build``), except the results store (``MSTL_RESULTS_DIR`` or
``<repo>/results``), which outlives ``make clean``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The project's root (the folder holding ``mstl_lib/``)."""


def build_dir() -> Path:
    """Folder for generated, git-ignored artefacts (``MSTL_BUILD_DIR`` or ``<repo>/build``)."""
    return Path(os.environ.get("MSTL_BUILD_DIR", REPO_ROOT / "build")).expanduser()


def results_dir() -> Path:
    """The default results store (``MSTL_RESULTS_DIR`` or ``<repo>/results``)."""
    return Path(os.environ.get("MSTL_RESULTS_DIR", REPO_ROOT / "results")).expanduser()


def phantom_data_dir(scale: str, seed: int) -> Path:
    """The synthetic data folder of one phantom scale and seed."""
    return build_dir() / "phantom_data" / f"{scale}-seed{int(seed)}"


def derived_dir(name: str) -> Path:
    """A folder of data derived from the datasets (stand-ins, patches, phantom cell lines): ``build/derived/<name>``."""
    return build_dir() / "derived" / name


def model_weights_dir() -> Path:
    """Saved network weights that later tasks or figures read (stage-1 networks, kept models)."""
    return build_dir() / "weights"


def freeze_cache_dir() -> Path:
    """On-disk activation caches of frozen network prefixes."""
    return build_dir() / "freeze_cache"


def bench_dir() -> Path:
    """Outputs of the ``bench/`` scripts, which chapters may show."""
    return build_dir() / "bench"


def progress_dir() -> Path:
    """Progress files of running notebooks (JSON lines from the engine, read by ``make book``)."""
    return build_dir() / "progress"


def run_times_file() -> Path:
    """Every chapter run's time, memory and task counts (JSON lines, appended by ``make book``)."""
    return build_dir() / "run_times.jsonl"


def run_times_page() -> Path:
    """The landing page's table of measured chapter times (``book/index.md`` includes it by this path)."""
    return REPO_ROOT / "build" / "run_times.md"


def notebooks_build_dir() -> Path:
    """Executed notebooks that the book renders (``_toc.yml`` names ``build/notebooks/...``)."""
    return REPO_ROOT / "build" / "notebooks"


def vendor_dir() -> Path:
    """Third-party files the book ships instead of loading them from the web (MathJax)."""
    return build_dir() / "vendor"


def smoke_book_dir() -> Path:
    """The book built from the smoke notebooks by the browser test (its HTML is in ``_build/html``)."""
    return build_dir() / "smoke_book"


def screenshots_dir() -> Path:
    """Screenshots of every page of the smoke book, taken by the browser test."""
    return build_dir() / "screenshots"


def data_dir_candidates() -> list[tuple[str, Path]]:
    """The places ``data_dir="auto"`` looks at, in order, with how each was found."""
    out: list[tuple[str, Path]] = []
    env = os.environ.get("MSTL_DATA_DIR")
    if env:
        out.append(("MSTL_DATA_DIR", Path(env).expanduser()))
    out.append(("../shared/data beside the repository", REPO_ROOT.parent / "shared" / "data"))
    out.append(("~/mstl_data", Path("~/mstl_data").expanduser()))
    return out
