"""The papers this book replicates: one package each, and the registry that gathers them.

Every paper package has the same modules:

``settings``  its chapter's :class:`~mstl_lib.profiles.ChapterSettings` (smoke / cpu / full) and
              ``weights_backbones(profile)``, the backbones whose ImageNet weights it starts from
``protocol``  the paper's rules and constants (no TensorFlow)
``tasks``     its experiment-engine tasks, with ``RECIPE_VERSION``
``grids``     ``build(run, store=None, verbose=0) -> {name: Grid}`` and
              ``run_all(run, store=None, executor="auto", scheduler=None, verbose=0)``
``report``    tables beside the paper, figures, and prose built from results
``audit``     checks of the paper's own numbers (over ``mstl_lib.paper_values``)

and its ``__init__`` declares ``PAPER``, a :class:`PaperInfo`, which is how :func:`discover` finds it;
:mod:`.contract` checks all of this for each package. Shared code never
imports a paper, and papers never import each other; book-wide pages (the
scorecard and the audit page) reach every paper through :func:`papers` and :func:`module`.

Claims and findings (what the scorecard and audit pages gather):

``audit.findings(data_dir="auto") -> list[mstl_lib.evaluation.audit.Finding]``
    Every check of the paper's published numbers, built with the shared checks of
    :mod:`mstl_lib.evaluation.audit` from its ``paper_values`` tables (and, for
    dataset counts, from the loaders or shipped count files under the default data
    folder; ``cannot check`` when they are absent). Trains nothing, reads no record;
    seconds at most. A finding names the claims it bears on (``Finding.claims``, claim
    ids), so an inconsistent one flags them on the scorecard.
``report.claims(profile="cpu", data_dir="auto", weights="auto", seed=0, store=None) -> list[Claim]``
    Every claim of the paper (:class:`mstl_lib.report.scorecard.Claim`): each headline
    number, each comparison and each significance statement, with the paper's value and
    the quantity that decides it, filled in with our estimate and 95 % CI from the
    records the paper's chapter stored (``store``: an ``engine.ResultsStore`` or folder,
    ``None``: the default). It opens the chapter's run context with these parameters,
    builds the chapter's grids *without running them* and reads their records, exactly as
    the chapter does. It never trains: a claim whose records are missing carries
    ``evidence_flags=(NOT_RUN,)`` and no estimate; one whose data are phantoms or stand-ins,
    whose weights are random or whose model is degenerate carries that flag. Its ``evidence``
    links the chapter's section (:func:`mstl_lib.report.scorecard.evidence_link`).
    ``claims`` must not raise for missing records or data. Claim ids are unique within
    the paper; tests/papers/test_claims_contract.py checks all of this for every paper.
``report.collect(store, grids) -> mstl_lib.engine.ChapterResults``
    The chapter's stored records read back once (:func:`mstl_lib.engine.collect`, with the
    labels the chapter's tables need): the one type every report reads.
``report.paper_claims() -> list[Claim]``
    The same claims with the paper's values only (no I/O, no estimate): what the claim is,
    how it is decided (``kind``: a value inside our CI, or a difference above ``null``),
    the paper's number, protocol flaws, and the evidence link. ``claims`` fills these in.
``report.audit_note(where: str, data_dir="auto") -> str``
    The markdown note the chapter shows beside a paper table (``where``, e.g. ``"Table 1"``)
    citing every inconsistent finding about it (:func:`mstl_lib.evaluation.audit.inconsistency_note`);
    every inconsistency must be cited in the chapter that shows the number.

The scorecard page (``notebooks/07_scorecard.py``) and the audit page (``08_audit.py``)
gather all of it through :func:`claims` and :func:`findings` below.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

MODULES = ("settings", "protocol", "tasks", "grids", "report", "audit")
"""The modules every paper package has."""

SHARED_RECIPE_MODULES = (
    "mstl_lib.data.images", "mstl_lib.data.splits", "mstl_lib.data.tables", "mstl_lib.data.near_duplicates",
    "mstl_lib.nn.backbones", "mstl_lib.nn.classifier", "mstl_lib.nn.heads", "mstl_lib.nn.training",
    "mstl_lib.nn.freeze_cache", "mstl_lib.nn.features", "mstl_lib.nn.batchnorm", "mstl_lib.nn.pipeline",
    "mstl_lib.evaluation.metrics",
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


def discover() -> tuple[str, ...]:
    """The paper packages under :mod:`mstl_lib.papers`: every subpackage whose ``__init__`` declares ``PAPER``
    (a :class:`PaperInfo`), in the book's order (by chapter notebook). Nothing else lists them."""
    found = []
    for entry in pkgutil.iter_modules(__path__):
        if entry.ispkg:
            package = importlib.import_module(f"{__name__}.{entry.name}")
            if isinstance(getattr(package, "PAPER", None), PaperInfo):
                found.append(package.PAPER)
    return tuple(info.key for info in sorted(found, key=lambda info: info.notebook))


PAPER_PACKAGES = discover()
"""The paper packages, in the book's order (:func:`discover`)."""


def module(key: str, name: str | None = None) -> ModuleType:
    """Paper package ``key``, or its module ``name`` (one of :data:`MODULES`)."""
    if key not in PAPER_PACKAGES:
        raise KeyError(f"unknown paper {key!r}; known: {', '.join(PAPER_PACKAGES)}")
    if name is not None and name not in MODULES:
        raise KeyError(f"paper modules are {MODULES}, not {name!r}")
    return importlib.import_module(f"mstl_lib.papers.{key}" + (f".{name}" if name else ""))


def recipe_fingerprint(key: str) -> str:
    """Fingerprint of the code that produces paper ``key``'s records: its ``protocol`` and
    ``tasks`` modules, the shared modules only it uses (``tasks.RECIPE_MODULES``, optional)
    and :data:`SHARED_RECIPE_MODULES` (see :func:`mstl_lib.engine.provenance.code_fingerprint`).
    When it changes, the paper's ``tasks.RECIPE_VERSION`` must change too, so that old
    records are not reused."""
    from mstl_lib.engine.provenance import code_fingerprint  # noqa: PLC0415

    own = [f"mstl_lib.papers.{key}.protocol", f"mstl_lib.papers.{key}.tasks"]
    extra = list(getattr(module(key, "tasks"), "RECIPE_MODULES", ()))
    return code_fingerprint([*own, *extra, *SHARED_RECIPE_MODULES])


def papers() -> list[PaperInfo]:
    """Every paper's :class:`PaperInfo`, in the book's order."""
    return [module(key).PAPER for key in PAPER_PACKAGES]


def chapter_key(name: str) -> str:
    """The paper package a chapter name means: its key (``"p1_mstl"``), label (``"P1"``) or notebook
    (``"03_multistage"``, also ``"03"``); chapter 02, the engine tour, is P1's."""
    wanted = str(name).lower().removesuffix(".py")
    for key in PAPER_PACKAGES:
        info = module(key).PAPER
        names = {key, info.label.lower(), info.notebook, info.notebook.split("_", 1)[0]}
        if key == "p1_mstl":
            names |= {"02_first_grid", "02"}
        if wanted in names:
            return key
    known = ", ".join(f"{module(k).PAPER.label} ({module(k).PAPER.notebook})" for k in PAPER_PACKAGES)
    raise KeyError(f"no chapter {name!r}; the chapters that train: {known}")


def weights_backbones(profile: str, chapters=None) -> dict[str, tuple[str, ...]]:
    """The backbones whose ImageNet weights each chapter starts from under ``profile`` (``settings.weights_backbones``).

    ``chapters``: names of :func:`chapter_key`; default every paper.
    """
    keys = [chapter_key(c) for c in chapters] if chapters else list(PAPER_PACKAGES)
    return {key: tuple(module(key, "settings").weights_backbones(profile)) for key in dict.fromkeys(keys)}


def run_miniature(key: str, store=None, executor: str = "local", data_dir="auto", seed: int = 0):
    """Paper ``key``'s chapter under ``full`` in miniature: every distinct recipe once, at the paper's input
    sizes, backbones and heads, for a step or two on a few images (:meth:`mstl_lib.profiles.ChapterSettings.miniature`),
    from random initialisation. It proves the ``full`` path runs; its numbers mean nothing. Returns ``run_all``'s result.
    """
    from mstl_lib.context import start_run  # noqa: PLC0415

    run = start_run(module(key, "settings").CHAPTER, profile="full", data_dir=data_dir, weights=None, seed=seed,
                    miniature=True)
    return module(key, "grids").run_all(run, store, executor=executor)


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """Every paper's claims (``report.claims``), in the book's order, each with the tolerance Δ or
    smallest effect δ its paper's ``paper_values/<paper>_claims.csv`` states; see the module docstring."""
    from mstl_lib.report.scorecard import with_margins  # noqa: PLC0415

    return with_margins([claim for key in PAPER_PACKAGES
                         for claim in module(key, "report").claims(profile=profile, data_dir=data_dir, weights=weights,
                                                                   seed=seed, store=store)])


def findings(data_dir="auto") -> list:
    """Every paper's audit findings (``audit.findings``), in the book's order."""
    return [finding for key in PAPER_PACKAGES for finding in module(key, "audit").findings(data_dir)]
