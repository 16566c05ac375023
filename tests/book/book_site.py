"""The book's pages and sources, as the book tests see them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mstl_lib.paths import REPO_ROOT, run_times_page
from mstl_lib.report import run_times

BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_FOLDERS = ("book",)


def toc_pages(toc: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """Every page ``_toc.yml`` names (root and chapters), without suffix, in order."""
    return re.findall(r"(?:root|file):\s*(\S+)", toc.read_text())


def copy_book_sources(root: Path) -> None:
    """Copy what the book is built from (the executed notebooks aside) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(REPO_ROOT / name, root / name)
    for name in BOOK_FOLDERS:
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    # the landing page includes the measured chapter times (what a smoke build has of them)
    run_times.write_page("smoke", page_path=root / run_times_page().relative_to(REPO_ROOT))


def site_pages(html: Path) -> list[Path]:
    """Every HTML page of a built book (theme templates, sources and images aside)."""
    skip = {"_static", "_sources", "_images"}
    return sorted(p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts))
