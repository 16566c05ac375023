"""The papers this book replicates: one package each, and the registry that gathers them.

Every paper package has the same modules:

``settings``  its chapter's :class:`~mstl_lib.profiles.ChapterSettings` (smoke / cpu / full)
``protocol``  the paper's rules and constants (no TensorFlow)
``tasks``     its experiment-engine tasks, with ``RECIPE_VERSION``
``grids``     ``build(run) -> {name: Grid}``
``report``    tables beside the paper, figures, and prose built from results

and its ``__init__`` declares ``PAPER``, a :class:`PaperInfo`. Shared code never
imports a paper, and papers never import each other; book-wide pages (a
scorecard, say) reach every paper through :func:`papers` and :func:`module`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

PAPER_PACKAGES = ("p1_mstl", "p4_finetuning", "p3_elastography")
"""The paper packages, in the book's order."""

MODULES = ("settings", "protocol", "tasks", "grids", "report")
"""The modules every paper package has."""

SHARED_RECIPE_MODULES = (
    "mstl_lib.data.images", "mstl_lib.data.splits", "mstl_lib.data.tables", "mstl_lib.data.near_duplicates",
    "mstl_lib.nn.backbones", "mstl_lib.nn.classifier", "mstl_lib.nn.heads", "mstl_lib.nn.training",
    "mstl_lib.nn.freeze_cache", "mstl_lib.nn.features", "mstl_lib.nn.batchnorm", "mstl_lib.evaluation.metrics",
)
"""Shared modules whose code shapes every paper's trained numbers: a change to one of them
changes every paper's recipe fingerprint (see :func:`recipe_fingerprint`)."""


@dataclass(frozen=True)
class PaperInfo:
    """What a paper is and what it claims.

    Attributes
    ----------
    key : str
        The package name (``"p1_mstl"``).
    label : str
        Short label used in the book (``"P1"``).
    title : str
    citation_key : str
        Key in ``references.bib``.
    claim : str
        The claim the book tests, in one sentence.
    notebook : str
        The chapter's notebook (``notebooks/<notebook>.py``).
    """

    key: str
    label: str
    title: str
    citation_key: str
    claim: str
    notebook: str


def module(key: str, name: str | None = None) -> ModuleType:
    """Paper package ``key``, or its module ``name`` (one of :data:`MODULES`)."""
    if key not in PAPER_PACKAGES:
        raise KeyError(f"unknown paper {key!r}; known: {', '.join(PAPER_PACKAGES)}")
    if name is not None and name not in MODULES:
        raise KeyError(f"paper modules are {MODULES}, not {name!r}")
    return importlib.import_module(f"mstl_lib.papers.{key}" + (f".{name}" if name else ""))


def recipe_fingerprint(key: str) -> str:
    """Fingerprint of the code that produces paper ``key``'s records: its ``protocol`` and
    ``tasks`` modules and :data:`SHARED_RECIPE_MODULES` (see
    :func:`mstl_lib.engine.provenance.code_fingerprint`). When it changes, the paper's
    ``tasks.RECIPE_VERSION`` must change too, so that old records are not reused."""
    from mstl_lib.engine.provenance import code_fingerprint  # noqa: PLC0415

    own = [f"mstl_lib.papers.{key}.protocol", f"mstl_lib.papers.{key}.tasks"]
    return code_fingerprint([*own, *SHARED_RECIPE_MODULES])


def papers() -> list[PaperInfo]:
    """Every paper's :class:`PaperInfo`, in the book's order."""
    return [module(key).PAPER for key in PAPER_PACKAGES]
