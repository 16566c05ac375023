"""Stratified, group-aware cross-validation splits that cannot leak.

Every function returns :class:`Fold` objects holding row indices, built on
scikit-learn's :class:`~sklearn.model_selection.StratifiedKFold` and
:class:`~sklearn.model_selection.StratifiedGroupKFold`. Before returning, each
function checks its own output with :func:`assert_disjoint` (no row and no
group in two of train / val / test) and, for cross-validation,
:func:`assert_partition` (every row is tested exactly once), so a split that
leaks raises :class:`SplitLeakError` instead of producing a number.

Groups are whatever must never straddle a split: patient or case ids (DDTI),
near-duplicate clusters (BUSI, see :mod:`mstl_lib.data.near_duplicates`), or the
source frame of cell patches.

How the validation part is carved
---------------------------------
:func:`nested_kfold` and :func:`train_val_test_split` cut a set into parts of
unequal size by running a k-fold splitter with ``k`` equal folds and handing
whole folds to each role: ``val_size=0.25`` uses one of four inner folds
(P1's 6:2:2 overall with five outer folds); fractions ``(0.7, 0.2, 0.1)`` use
seven, two and one of ten folds. This keeps the parts stratified *and*
group-aware at once, which ``StratifiedShuffleSplit`` (not group-aware) and
``GroupShuffleSplit`` (not stratified) cannot. The price is that fractions are
rounded to multiples of ``1/k`` (``k <= 20``), and that with groups the parts
are only as even as the group sizes allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations, pairwise

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

ROLES = ("train", "val", "test")


class SplitLeakError(AssertionError):
    """A row or group sits in more than one role of a fold, or rows are missed."""


@dataclass(frozen=True, eq=False)
class Fold:
    """Row indices of one split.

    Parameters
    ----------
    index : int
        Position of the fold (0-based).
    train, test : ndarray of int
        Row indices for training and testing.
    val : ndarray of int or None, default=None
        Row indices for validation (early stopping, model selection).
    """

    index: int
    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None = None

    def __post_init__(self):
        for role in ROLES:
            rows = getattr(self, role)
            if rows is None:
                continue
            rows = np.array(rows, dtype=np.int64).ravel()
            rows.setflags(write=False)  # a frozen fold has frozen indices
            object.__setattr__(self, role, rows)

    def roles(self) -> dict[str, np.ndarray]:
        """The non-empty roles, ``{"train": ..., "val": ..., "test": ...}``."""
        return {role: getattr(self, role) for role in ROLES if getattr(self, role) is not None}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{role}={len(rows)}" for role, rows in self.roles().items())
        return f"Fold(index={self.index}, {sizes})"


# --------------------------------------------------------------------------- checks
def _as_fold_list(folds) -> list[Fold]:
    return [folds] if isinstance(folds, Fold) else list(folds)


def _examples(values, limit: int = 5) -> str:
    values = sorted(values, key=str)
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def assert_disjoint(folds, groups=None) -> None:
    """Check that no row, and no group, is in two roles of one fold.

    Parameters
    ----------
    folds : Fold or iterable of Fold
    groups : array-like, optional
        Group of each row; when given, groups must not straddle roles either.

    Raises
    ------
    SplitLeakError
        Naming the fold, the two roles and some offending rows or groups.
    """
    groups = None if groups is None else np.asarray(groups)
    for fold in _as_fold_list(folds):
        roles = fold.roles()
        for (role_a, rows_a), (role_b, rows_b) in combinations(roles.items(), 2):
            shared_rows = np.intersect1d(rows_a, rows_b)
            if shared_rows.size:
                raise SplitLeakError(
                    f"fold {fold.index}: rows in both {role_a} and {role_b}: "
                    f"{_examples(shared_rows.tolist())}"
                )
            if groups is not None:
                shared_groups = set(groups[rows_a].tolist()) & set(groups[rows_b].tolist())
                if shared_groups:
                    raise SplitLeakError(
                        f"fold {fold.index}: groups in both {role_a} and {role_b}: "
                        f"{_examples(shared_groups)}"
                    )


def _assert_covers(fold: Fold, n: int) -> None:
    """Every row 0..n-1 has exactly one role in ``fold``."""
    counts = np.bincount(np.concatenate(list(fold.roles().values())), minlength=n)
    if counts.size > n:
        raise SplitLeakError(f"fold {fold.index}: row index {counts.size - 1} out of range (n={n})")
    if (counts != 1).any():
        missing, repeated = np.flatnonzero(counts == 0), np.flatnonzero(counts > 1)
        raise SplitLeakError(
            f"fold {fold.index}: rows without a role: [{_examples(missing.tolist())}]; "
            f"rows with several: [{_examples(repeated.tolist())}]"
        )


def assert_partition(folds, n: int) -> None:
    """Check that the test parts partition ``range(n)`` and each fold uses every row once.

    Raises
    ------
    SplitLeakError
    """
    folds = _as_fold_list(folds)
    tested = np.bincount(np.concatenate([f.test for f in folds]), minlength=n)
    if tested.size > n:
        raise SplitLeakError(f"test row index {tested.size - 1} out of range (n={n})")
    if (tested != 1).any():
        raise SplitLeakError(
            "test folds do not partition the rows: never tested "
            f"[{_examples(np.flatnonzero(tested == 0).tolist())}], tested more than once "
            f"[{_examples(np.flatnonzero(tested > 1).tolist())}]"
        )
    for fold in folds:
        _assert_covers(fold, n)


# --------------------------------------------------------------------------- splitters
def _check_inputs(y, groups):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != y.shape:
            raise ValueError(f"groups has shape {groups.shape}, y has {y.shape}")
    return y, groups


def _stratified_folds(y, groups, n_splits: int, seed: int) -> list[np.ndarray]:
    """Test indices of a stratified (group-aware when ``groups``) k-fold."""
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        n_groups = np.unique(groups).size
        if n_groups < n_splits:
            raise ValueError(f"{n_groups} groups cannot fill {n_splits} folds")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    dummy_x = np.zeros((y.size, 1))
    return [test for _, test in splitter.split(dummy_x, y, groups)]


def _fold_count(fractions) -> tuple[int, list[int]]:
    """Smallest k <= 20 with every fraction a multiple of 1/k (rounded otherwise)."""
    fractions = np.asarray(fractions, dtype=float)
    if (fractions < 0).any() or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions.tolist()}")
    k = int(np.lcm.reduce([Fraction(f).limit_denominator(20).denominator for f in fractions]))
    k = min(k, 20)
    counts = np.rint(fractions * k).astype(int)
    counts[np.argmax(counts)] += k - counts.sum()  # keep the total at k
    return k, counts.tolist()


def kfold(y, groups=None, n_splits: int = 5, seed: int = 0) -> list[Fold]:
    """Stratified k-fold, group-aware when ``groups`` is given.

    Parameters
    ----------
    y : array-like of shape (n,)
        Class labels (for stratification).
    groups : array-like of shape (n,), optional
        Rows sharing a group are kept in the same fold
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`).
    n_splits : int, default=5
    seed : int, default=0
        ``random_state`` of the shuffled splitter.

    Returns
    -------
    folds : list of Fold
        ``train`` and ``test`` set, ``val`` None; checked by
        :func:`assert_disjoint` and :func:`assert_partition`.
    """
    y, groups = _check_inputs(y, groups)
    tests = _stratified_folds(y, groups, n_splits, seed)
    all_rows = np.arange(y.size)
    folds = [
        Fold(index=i, train=np.setdiff1d(all_rows, test), test=np.sort(test))
        for i, test in enumerate(tests)
    ]
    assert_disjoint(folds, groups)
    assert_partition(folds, y.size)
    return folds


def nested_kfold(
    y, groups=None, n_splits: int = 5, val_size: float = 0.25, seed: int = 0
) -> list[Fold]:
    """Outer stratified k-fold for test, inner stratified split for validation.

    The outer-train rows of each fold are split again with a stratified
    (group-aware when ``groups``) k-fold of ``round(1 / val_size)`` folds; one
    inner fold becomes ``val``, the rest ``train``. With the defaults the
    proportions are train:val:test = 0.6:0.2:0.2 (P1's 6:2:2).

    Parameters
    ----------
    y : array-like of shape (n,)
    groups : array-like of shape (n,), optional
    n_splits : int, default=5
        Outer folds.
    val_size : float, default=0.25
        Share of the outer-train rows used for validation, in (0, 0.5];
        rounded to ``1 / round(1 / val_size)``.
    seed : int, default=0
        Seeds the outer splitter; fold ``i``'s inner splitter uses ``seed + 1 + i``.

    Returns
    -------
    folds : list of Fold
        With ``train``, ``val`` and ``test``; checked before returning.
    """
    if not 0 < val_size <= 0.5:
        raise ValueError(f"val_size must be in (0, 0.5], got {val_size}")
    y, groups = _check_inputs(y, groups)
    n_inner = max(2, round(1 / val_size))
    folds = []
    for outer in kfold(y, groups, n_splits=n_splits, seed=seed):
        rest = outer.train
        inner_groups = None if groups is None else groups[rest]
        val_local = _stratified_folds(y[rest], inner_groups, n_inner, seed + 1 + outer.index)[0]
        val = np.sort(rest[val_local])
        train = np.setdiff1d(rest, val)
        folds.append(Fold(index=outer.index, train=train, val=val, test=outer.test))
    assert_disjoint(folds, groups)
    assert_partition(folds, y.size)
    return folds


def train_val_test_split(y, groups=None, fractions=(0.7, 0.2, 0.1), seed: int = 0) -> Fold:
    """One stratified, group-aware train / val / test split (P1's 7:2:1).

    The rows are cut into ``k`` stratified (group-aware) folds, ``k`` the
    smallest count with every fraction a multiple of ``1/k`` (10 for 7:2:1),
    and whole folds go to each role.

    Parameters
    ----------
    y : array-like of shape (n,)
    groups : array-like of shape (n,), optional
    fractions : (float, float, float), default=(0.7, 0.2, 0.1)
        Train, val and test shares; they must sum to 1. A zero share leaves
        that role empty.
    seed : int, default=0

    Returns
    -------
    fold : Fold
        ``index`` 0; checked by :func:`assert_disjoint`.
    """
    if len(fractions) != 3:
        raise ValueError("fractions must be (train, val, test)")
    y, groups = _check_inputs(y, groups)
    k, counts = _fold_count(fractions)
    parts = _stratified_folds(y, groups, k, seed)
    bounds = np.cumsum([0, *counts])
    train, val, test = (
        np.sort(np.concatenate(parts[lo:hi])) if hi > lo else np.zeros(0, np.int64)
        for lo, hi in pairwise(bounds)
    )
    fold = Fold(index=0, train=train, val=val, test=test)
    assert_disjoint(fold, groups)
    _assert_covers(fold, y.size)
    return fold


# --------------------------------------------------------------------------- reports
def folds_table(folds, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table of fold membership: one line per (fold, row).

    Parameters
    ----------
    folds : Fold or iterable of Fold
    frame : DataFrame, optional
        Dataset table; its columns are joined on by position (``frame.iloc[row]``).

    Returns
    -------
    table : DataFrame
        Columns ``row``, ``fold``, ``role`` (``"train"``, ``"val"``,
        ``"test"``) and, with ``frame``, that table's columns.
    """
    pieces = [
        pd.DataFrame({"row": rows, "fold": fold.index, "role": role})
        for fold in _as_fold_list(folds)
        for role, rows in fold.roles().items()
    ]
    table = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        {"row": [], "fold": [], "role": []}
    )
    table["role"] = pd.Categorical(table["role"], categories=list(ROLES))
    table = table.sort_values(["fold", "row"], kind="stable").reset_index(drop=True)
    if frame is not None:
        joined = frame.iloc[table["row"].to_numpy()].reset_index(drop=True)
        table = pd.concat([table, joined.drop(columns=["row", "fold", "role"], errors="ignore")], axis=1)
    return table
