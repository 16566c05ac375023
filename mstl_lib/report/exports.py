"""Numbers out: a CSV of every table a chapter shows, with numeric columns, linked under the table.

The book displays formatted cells (``"0.912 ± 0.021"``, ``"0.71 [0.65, 0.77]"``). Each table
shown while a chapter runs under ``make book`` is also written as CSV, where every such column
becomes numbers: ``<column>`` (the estimate) with ``<column> sd``, or with ``<column> ci low``
and ``<column> ci high``; plain numbers and percentages become numbers, counts (``n``) stay
counts, and text stays text. A download link follows the table.

The runner (``scripts/run_notebooks.py``) names the folder in :data:`TABLES_ENV`, beside the
executed notebook; without it (a notebook opened in JupyterLab) tables show as usual.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from mstl_lib import atomic

TABLES_ENV = "MSTL_TABLES_DIR"
"""The folder, beside the executed notebook, where the chapter's tables are written as CSV."""

_NUMBER = r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_MEAN_SD = re.compile(rf"^\s*({_NUMBER})\s*%?\s*±\s*({_NUMBER})\s*%?\s*$")
_WITH_CI = re.compile(rf"^\s*({_NUMBER})\s*%?\s*[\[(]\s*({_NUMBER})\s*%?\s*(?:,|–|to)\s*({_NUMBER})\s*%?\s*[\])]\s*$")
_PLAIN = re.compile(rf"^\s*({_NUMBER})\s*%?\s*$")
_MISSING = {"", "n/a", "nan", "none", "—", "-"}


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _split(values: pd.Series, pattern: re.Pattern) -> list[list[float]] | None:
    """Each value's numbers under ``pattern`` (NaN for a missing value), or None when one does not match or none is
    present."""
    out, present = [], False
    for value in values:
        if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip().lower() in _MISSING:
            out.append([float("nan")] * pattern.groups)
            continue
        match = pattern.match(str(value))
        if match is None:
            return None
        present = True
        out.append([_number(g) for g in match.groups()])
    return out if present else None


def numeric_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every formatted column turned into numeric columns (see the module docstring).

    A named or non-default index becomes columns; column labels of several levels are joined with " / ".
    """
    table = frame.copy()
    if isinstance(table.columns, pd.MultiIndex):
        table.columns = [" / ".join(str(p) for p in column if str(p)) for column in table.columns]
    if not isinstance(table.index, pd.RangeIndex) or any(name is not None for name in table.index.names):
        table = table.reset_index()
    columns = {}
    for name in table.columns:
        values = table[name]
        if not values.map(lambda v: isinstance(v, str)).any():
            columns[str(name)] = values
            continue
        for pattern, suffixes in ((_MEAN_SD, ("", " sd")), (_WITH_CI, ("", " ci low", " ci high")), (_PLAIN, ("",))):
            parts = _split(values, pattern)
            if parts is not None:
                for i, suffix in enumerate(suffixes):
                    columns[f"{name}{suffix}"] = [p[i] for p in parts]
                break
        else:
            columns[str(name)] = values
    return pd.DataFrame(columns, index=range(len(table)))


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write :func:`numeric_table` of ``frame`` to ``path`` (atomic: a partial file, then one rename)."""
    with atomic.replacing(path) as partial:
        numeric_table(frame).to_csv(partial, index=False)
    return Path(path)


class TableExports:
    """Writes each table shown to ``<folder>/table-<k>.csv`` and returns the link to show under it.

    ``link_base`` is the folder as the notebook's page reaches it (``tables/<chapter>``).
    """

    def __init__(self, folder: str | os.PathLike, link_base: str):
        self.folder, self.link_base, self.count = Path(folder), link_base.rstrip("/"), 0

    def export(self, frame: pd.DataFrame, name: str | None = None) -> str:
        """Write ``frame``'s CSV; return the Markdown download link (a MyST ``download`` role)."""
        self.count += 1
        file_name = f"{name or f'table-{self.count:02d}'}.csv"
        write_csv(frame, self.folder / file_name)
        return f"{{download}}`Download this table as CSV <{self.link_base}/{file_name}>` (numeric columns)"


_EXPORTS: list[TableExports] = []


def table_exports() -> TableExports | None:
    """This kernel's :class:`TableExports`, when the runner asked for CSVs (:data:`TABLES_ENV`), else None."""
    folder = os.environ.get(TABLES_ENV)
    if not folder:
        return None
    if not _EXPORTS or _EXPORTS[0].folder != Path(folder):
        _EXPORTS[:] = [TableExports(folder, f"tables/{Path(folder).name}")]
    return _EXPORTS[0]


def install_table_downloads() -> bool:
    """From now on, every DataFrame a cell shows is followed by a link to its CSV (when :data:`TABLES_ENV` is set).

    Returns whether the display hook is installed (not outside IPython, not without the variable).
    """
    try:
        from IPython import get_ipython  # noqa: PLC0415
        from IPython.display import Markdown, display, publish_display_data  # noqa: PLC0415
    except ImportError:
        return False
    shell, exports = get_ipython(), table_exports()
    if exports is None or shell is None:
        return False

    def show(frame: pd.DataFrame) -> None:
        publish_display_data({"text/plain": repr(frame), "text/html": frame._repr_html_()})
        display(Markdown(exports.export(frame)))

    shell.display_formatter.ipython_display_formatter.for_type(pd.DataFrame, show)
    return True


def download(frame: pd.DataFrame, name: str):
    """The download link of ``frame`` as a Markdown object (for a table shown as HTML, like the scorecard).

    Without :data:`TABLES_ENV`, the link is left out (an empty Markdown).
    """
    from IPython.display import Markdown  # noqa: PLC0415

    exports = table_exports()
    return Markdown(exports.export(frame, name) if exports else "")
