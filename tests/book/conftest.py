"""The book built from the smoke-run notebooks, once per session, with warnings as errors.

Its sources (``_config.yml``, ``_toc.yml``, ``references.bib``, ``book/``) are copied
into the smoke book's folder beside the executed notebooks, so the user's
``build/notebooks`` and ``_build`` are never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # book_site.py, browser.py

from book_site import copy_book_sources  # noqa: E402


@pytest.fixture(scope="session")
def smoke_book(smoke_notebooks) -> Path:
    """The HTML folder of the smoke book (built strictly: ``-W -n --keep-going``)."""
    import run_notebooks  # noqa: PLC0415

    for name in run_notebooks.book_notebooks():
        smoke_notebooks.run(name)
    root = smoke_notebooks.root
    copy_book_sources(root)
    shutil.rmtree(root / "_build", ignore_errors=True)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--quiet", "-W", "-n",
               "--keep-going"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=root)
    if done.returncode != 0:
        pytest.fail(f"the smoke book does not build strictly:\n{(done.stdout + done.stderr)[-4000:]}")
    return root / "_build" / "html"
