"""What a task reads for one dataset: a :class:`DataSource`, decided once by the run context.

The run context (:mod:`mstl_lib.context`) decides, for each dataset and each
use (``"train"``: what tasks learn from; ``"show"``: what a page displays),
whether the real data, a stand-in or the phantom generator serves it. The
decision travels to the tasks as JSON (:meth:`DataSource.to_dict`), and
:func:`load_source` reads exactly that folder, with no symbolic links and no
looking the data folder up again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from mstl_lib.data.registry import get_info, loader

REAL, PHANTOM, STANDIN, MISSING = "real", "phantom", "stand-in", "missing"
KINDS = (REAL, PHANTOM, STANDIN)
USES = ("train", "show")


@dataclass(frozen=True)
class DataSource:
    """One dataset as a task or a page uses it.

    Attributes
    ----------
    dataset : str
        The loader's name (a key of :data:`mstl_lib.data.registry.DATASETS`).
    use : {"train", "show"}
    kind : {"real", "phantom", "stand-in"}
    root : str
        The dataset's own folder, as its loader takes it.
    note : str
        What a reader must know (what the stand-in is drawn from, why a phantom serves).
    """

    dataset: str
    use: str
    kind: str
    root: str
    note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "dataset", get_info(self.dataset).name)
        if self.use not in USES:
            raise ValueError(f"use must be one of {USES}, not {self.use!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def synthetic(self) -> bool:
        """Whether the numbers it feeds are not from the real dataset."""
        return self.kind != REAL

    def to_dict(self) -> dict:
        """Plain JSON form, for task contexts."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | DataSource) -> DataSource:
        """The inverse of :meth:`to_dict` (a :class:`DataSource` passes through)."""
        return values if isinstance(values, cls) else cls(**values)


def load_source(source: DataSource | dict, **kwargs) -> pd.DataFrame:
    """The table of ``source``, read by its dataset's loader from ``source.root``.

    A ``data_kind`` column records whether the rows are real, stand-in or phantom.
    """
    source = DataSource.from_dict(source)
    table = loader(source.dataset)(source.root, **kwargs)
    table["data_kind"] = source.kind
    return table
