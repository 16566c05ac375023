"""Files and folders that appear whole or not at all.

Everything the library writes for later runs to trust (records, checksums, tables,
converted datasets, weights) is written to a temporary sibling, then renamed over
its final name in one step. A reader sees the old content or the new, never half
of it, and a killed writer leaves at most a hidden ``.<name>.*.partial`` beside it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing(path: str | os.PathLike, *, folder: bool = False, suffix: str = "",
              durable: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``path``; when the block ends without error it replaces ``path``.

    Parameters
    ----------
    path : path-like
        The final file or folder. Its parent is created.
    folder : bool
        Yield an empty folder instead of an empty file. A folder can only replace a
        missing or empty folder (the rename fails otherwise, and the partial is removed).
    suffix : str
        Ends the temporary name, for writers that insist on one (Keras: ``.weights.h5``).
    durable : bool
        ``fsync`` the file and its folder, so the rename survives a power cut (the results store).

    On an error inside the block, or in the rename, the temporary is removed and the error raised;
    ``path`` is then as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"dir": path.parent, "prefix": f".{path.name}.", "suffix": ".partial" + suffix}
    if folder:
        partial = Path(tempfile.mkdtemp(**options))
    else:
        fd, name = tempfile.mkstemp(**options)
        os.close(fd)
        partial = Path(name)
    try:
        yield partial
        if durable and partial.is_file():
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        _remove(partial)
        raise
    if durable:
        fsync_folder(path.parent)


def write_text(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`replacing`); returns ``path``."""
    with replacing(path, durable=durable) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)
