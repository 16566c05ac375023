"""Fetch MathJax from the npm registry into the build folder, so the book renders math offline.

The book's Sphinx extension (``book/_ext/offline_assets.py``) serves these files
instead of MathJax's CDN. Without ``npm`` nothing is fetched, and the book loads
MathJax from the CDN (math then needs a connection). The tarball is checked
against its pinned SHA-512 before anything is unpacked.

    python scripts/fetch_mathjax.py
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from mstl_lib.paths import vendor_dir

VERSION = "3.2.2"
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
KEEP = ("tex-chtml.js", "input/tex/extensions/", "output/chtml/fonts/woff-v2/", "ui/", "a11y/", "adaptors/")
"""What the book needs of ``es5/``: the TeX-to-HTML bundle, its fonts and what it loads on demand."""


def mathjax_dir() -> Path:
    """Where the MathJax ``es5`` files go (``tex-chtml.js`` at its top)."""
    return vendor_dir() / f"mathjax-{VERSION}"


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(target: Path | None = None) -> Path:
    """Download, check and unpack MathJax into ``target``; return it. Does nothing when already there."""
    target = target or mathjax_dir()
    if (target / "tex-chtml.js").is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed: cannot fetch MathJax (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"mathjax@{VERSION}", "--silent", "--pack-destination", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        tarball = Path(tmp) / f"mathjax-{VERSION}.tgz"
        found = _integrity(tarball)
        if found != INTEGRITY:
            raise ValueError(f"{tarball.name}: SHA-512 {found} is not the pinned {INTEGRITY}")
        partial = Path(tmp) / "es5"
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix("package/es5/")
                if member.isfile() and name != member.name and name.startswith(KEEP):
                    archive.extract(member, Path(tmp) / "unpacked", filter="data")
                    out = partial / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(Path(tmp) / "unpacked" / member.name, out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(partial, target)  # whole or nothing: tex-chtml.js marks a finished fetch
    return target


def main() -> int:
    try:
        print(f"MathJax {VERSION}: {fetch()}")
    except (FileNotFoundError, subprocess.CalledProcessError, ValueError) as err:
        print(f"MathJax not fetched ({err}); the book will load it from its CDN", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
