"""The paper contract, in code: what a paper package must provide, as named checks.

:func:`contract_checks` yields ``(name, check)`` pairs for one paper package (compare
scikit-learn's ``parametrize_with_checks``): each ``check()`` returns nothing or raises
:class:`ContractError` saying what is missing and where it belongs. The tests run every
check on every package :func:`mstl_lib.papers.discover` finds; a new paper runs them with::

    from mstl_lib.papers.contract import contract_checks
    for name, check in contract_checks("p5_mine"):
        check()

See ``book/adding_a_paper.md`` for the files a paper needs. ``root`` (default: this repository) is the project
folder whose notebooks, ``_toc.yml``, ``references.bib`` and tests the checks read; a test builds a toy paper
in a folder of its own and checks it there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial

from mstl_lib.paths import REPO_ROOT

REQUIRED_MEMBERS: dict[str | None, tuple[str, ...]] = {
    None: ("PAPER",),
    "settings": ("CHAPTER", "weights_backbones"),
    "protocol": (),
    "tasks": ("RECIPE_VERSION",),
    "grids": ("build", "run_all"),
    "report": ("METRICS_BY_TASK", "NOTEBOOK", "collect", "audit_note", "paper_claims", "claims"),
    "audit": ("findings",),
}
"""Each module of a paper package (``None``: its ``__init__``) and the names it must define."""

FINGERPRINTS_FILE = "tests/papers/recipe_fingerprints.json"
"""``{paper: {RECIPE_VERSION: recipe fingerprint}}``, under the project's root: a version is recorded with the code
it stands for."""


class ContractError(AssertionError):
    """A paper package that does not meet the contract; the message says what to add and where."""


def _paper(key: str):
    from mstl_lib import papers  # noqa: PLC0415 - papers imports this module's users lazily

    return papers.module(key).PAPER


def check_members(key: str, root=REPO_ROOT) -> None:
    """Every module of :data:`REQUIRED_MEMBERS` imports and defines its names."""
    import importlib  # noqa: PLC0415

    missing = []
    for name, members in REQUIRED_MEMBERS.items():
        where = f"mstl_lib.papers.{key}" + (f".{name}" if name else "")
        try:
            found = importlib.import_module(where)
        except ImportError as error:
            missing.append(f"{where} does not import ({error})")
            continue
        missing += [f"{where}.{member}" for member in members if not hasattr(found, member)]
    if missing:
        raise ContractError(f"paper {key}: missing {', '.join(missing)}")


SIGNATURES = {"build": ("run", "store", "verbose"), "run_all": ("run", "store", "executor", "scheduler", "verbose")}
"""The leading parameters of each paper's ``grids`` functions, the same for every paper."""


def check_signatures(key: str, root=REPO_ROOT) -> None:
    """``grids.build`` and ``grids.run_all`` start with the parameters of :data:`SIGNATURES`, so that the book and
    the tests call every paper the same way."""
    import inspect  # noqa: PLC0415

    from mstl_lib import papers  # noqa: PLC0415

    grids, wrong = papers.module(key, "grids"), []
    for name, expected in SIGNATURES.items():
        found = tuple(inspect.signature(getattr(grids, name)).parameters)[:len(expected)]
        if found != expected:
            wrong.append(f"grids.{name}({', '.join(found)}, ...) should start ({', '.join(expected)})")
    if wrong:
        raise ContractError(f"paper {key}: " + "; ".join(wrong))


def check_collect(key: str, root=REPO_ROOT) -> None:
    """``report.collect(store, grids)`` reads records back as the one type every report reads,
    :class:`~mstl_lib.engine.ChapterResults` (tried on an empty store)."""
    import tempfile  # noqa: PLC0415

    from mstl_lib import engine, papers  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        found = papers.module(key, "report").collect(engine.ResultsStore(folder), {})
    if not isinstance(found, engine.ChapterResults):
        raise ContractError(f"paper {key}: report.collect returns {type(found).__name__}, not engine.ChapterResults")


def check_declaration(key: str, root=REPO_ROOT) -> None:
    """``PAPER`` names this package, a label, a claim, a notebook that exists and a citation in ``references.bib``;
    the report's ``NOTEBOOK`` is the same notebook."""
    from mstl_lib import papers  # noqa: PLC0415

    info = _paper(key)
    problems = []
    if info.key != key:
        problems.append(f"PAPER.key is {info.key!r}")
    if not re.fullmatch(r"P\d+", info.label) or not info.claim:
        problems.append("PAPER needs a label 'P<n>' and a one-sentence claim")
    if not (root / "notebooks" / f"{info.notebook}.py").is_file():
        problems.append(f"notebooks/{info.notebook}.py does not exist")
    if f"{{{info.citation_key}," not in (root / "references.bib").read_text(encoding="utf-8"):
        problems.append(f"references.bib has no entry {info.citation_key!r}")
    if papers.module(key, "report").NOTEBOOK != info.notebook:
        problems.append(f"report.NOTEBOOK is not PAPER.notebook ({info.notebook!r})")
    if problems:
        raise ContractError(f"paper {key}: " + "; ".join(problems))


def check_notebook_in_toc(key: str, root=REPO_ROOT) -> None:
    """The chapter's notebook is in ``_toc.yml`` (under :func:`~mstl_lib.paths.notebooks_build_dir`), so the book
    runs it."""
    from mstl_lib.paths import notebooks_build_dir  # noqa: PLC0415

    entry = f"{notebooks_build_dir().relative_to(REPO_ROOT).as_posix()}/{_paper(key).notebook}"
    if entry not in (root / "_toc.yml").read_text(encoding="utf-8"):
        raise ContractError(f"paper {key}: add 'file: {entry}' to _toc.yml")


def check_test_folder(key: str, root=REPO_ROOT) -> None:
    """``tests/papers/<key>/`` exists and holds tests."""
    folder = root / "tests" / "papers" / key
    if not any(folder.glob("test_*.py")):
        raise ContractError(f"paper {key}: tests/papers/{key}/ holds no test_*.py (its tests mirror the package)")


def check_paper_values(key: str, root=REPO_ROOT) -> None:
    """The paper's own numbers load from ``paper_values/<label>_*.csv``, and one of them is its claims table."""
    from mstl_lib import paper_values  # noqa: PLC0415

    prefix = _paper(key).label.lower() + "_"
    names = [name for name in paper_values.available() if name.startswith(prefix)]
    if f"{prefix}claims" not in names:
        raise ContractError(f"paper {key}: mstl_lib/paper_values/{prefix}claims.csv is missing (the claims' Δ/δ)")
    for name in names:
        frame = paper_values.load(name)
        if frame.empty or not frame.attrs.get("source"):
            raise ContractError(f"paper {key}: paper_values/{name}.csv is empty or has no '# source' line")


def check_recipe_fingerprint(key: str, root=REPO_ROOT) -> None:
    """``tasks.RECIPE_VERSION`` is recorded with the fingerprint of the code that makes the records, so a change to
    that code without a new version (old records reused) fails here."""
    from mstl_lib import papers  # noqa: PLC0415

    version = papers.module(key, "tasks").RECIPE_VERSION
    fingerprints = root / FINGERPRINTS_FILE
    stored = json.loads(fingerprints.read_text(encoding="utf-8")) if fingerprints.is_file() else {}
    current = papers.recipe_fingerprint(key)
    if version not in stored.get(key, {}):
        raise ContractError(f"paper {key}: RECIPE_VERSION {version!r} has no stored fingerprint; add "
                            f'"{version}": "{current}" under "{key}" in {FINGERPRINTS_FILE}')
    if stored[key][version] != current:
        raise ContractError(
            f"paper {key}: the code of its protocol, tasks or a shared recipe module changed since RECIPE_VERSION "
            f"{version!r} was set. Bump RECIPE_VERSION in mstl_lib/papers/{key}/tasks.py and store "
            f'"<new version>": "{current}" under "{key}" in {FINGERPRINTS_FILE}')


CHECKS: tuple[Callable[[str], None], ...] = (
    check_members, check_signatures, check_collect, check_declaration, check_notebook_in_toc, check_test_folder, check_paper_values,
    check_recipe_fingerprint)
"""The contract, in the order it is checked."""


def contract_checks(key: str, root=REPO_ROOT) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(name, check)`` for each of :data:`CHECKS` on paper ``key`` in the project at ``root``; ``check()`` raises
    :class:`ContractError`."""
    for check in CHECKS:
        yield check.__name__.removeprefix("check_"), partial(check, key, root=root)
