"""Splits never leak: checked with plain set arithmetic, over many seeds and group layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data.splits import (
    Fold,
    SplitLeakError,
    assert_disjoint,
    assert_partition,
    folds_table,
    kfold,
    nested_kfold,
    train_val_test_split,
)

SEEDS = range(8)


def make_labels(n=120, weights=(0.55, 0.3, 0.15), seed=0):
    """Imbalanced 3-class labels, like BUSI's benign / malignant / normal."""
    return np.random.default_rng(seed).choice(len(weights), size=n, p=weights)


def make_groups(y, layout, seed=0):
    """Group ids for ``y`` in one of several layouts."""
    rng = np.random.default_rng(seed + 1000)
    n = len(y)
    if layout == "none":
        return None
    if layout == "pairs_and_triples":  # typical duplicates: groups of 1-3 rows
        return np.repeat(np.arange(n), rng.integers(1, 4, n))[:n]
    if layout == "shuffled_groups":  # group members scattered through the table
        return rng.permutation(np.repeat(np.arange(n // 4 + 1), 4)[:n])
    if layout == "one_big_group":  # a large cluster plus singletons
        groups = np.arange(n)
        groups[rng.choice(n, n // 5, replace=False)] = -1
        return groups
    if layout == "string_ids":
        return np.array([f"case-{g}" for g in rng.integers(0, n // 3, n)])
    raise ValueError(layout)


LAYOUTS = ["none", "pairs_and_triples", "shuffled_groups", "one_big_group", "string_ids"]


def roles_of(fold):
    return {role: set(rows.tolist()) for role, rows in fold.roles().items()}


def check_no_leak(folds, groups, n):
    """Independent of the library's own checks."""
    for fold in folds:
        roles = roles_of(fold)
        names = list(roles)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not roles[a] & roles[b], (fold.index, a, b)
                if groups is not None:
                    groups_a = {groups[r] for r in roles[a]}
                    groups_b = {groups[r] for r in roles[b]}
                    assert not groups_a & groups_b, (fold.index, a, b)
        assert set().union(*roles.values()) == set(range(n))


# --------------------------------------------------------------------------- kfold
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_kfold_is_disjoint_and_partitions(layout, seed):
    y = make_labels(seed=seed)
    groups = make_groups(y, layout, seed)
    folds = kfold(y, groups, n_splits=5, seed=seed)
    assert len(folds) == 5
    assert [f.index for f in folds] == list(range(5))
    check_no_leak(folds, groups, len(y))
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(y)))


@pytest.mark.parametrize("seed", SEEDS)
def test_kfold_without_groups_is_stratified(seed):
    y = make_labels(n=200, seed=seed)
    for fold in kfold(y, n_splits=5, seed=seed):
        expected = np.bincount(y, minlength=3) / 5
        assert np.all(np.abs(np.bincount(y[fold.test], minlength=3) - expected) <= 1)


def test_kfold_with_groups_roughly_stratified():
    y = make_labels(n=300, seed=3)
    groups = make_groups(y, "pairs_and_triples", 3)
    overall = np.bincount(y, minlength=3) / len(y)
    for fold in kfold(y, groups, seed=3):
        share = np.bincount(y[fold.test], minlength=3) / len(fold.test)
        assert np.abs(share - overall).max() < 0.08


def test_kfold_depends_on_seed_and_is_reproducible():
    y = make_labels()
    first, again, other = kfold(y, seed=1), kfold(y, seed=1), kfold(y, seed=2)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(first, other, strict=True))


def test_kfold_refuses_too_few_groups():
    y = np.array([0, 1] * 6)
    with pytest.raises(ValueError, match="groups"):
        kfold(y, groups=np.repeat([0, 1, 2], 4), n_splits=5)


# --------------------------------------------------------------------------- nested
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_nested_kfold_is_disjoint(layout, seed):
    y = make_labels(n=150, seed=seed)
    groups = make_groups(y, layout, seed)
    folds = nested_kfold(y, groups, n_splits=5, seed=seed)
    check_no_leak(folds, groups, len(y))
    assert all(len(f.val) > 0 for f in folds)


@pytest.mark.parametrize(
    ("layout", "tolerance"), [("none", 0.01), ("pairs_and_triples", 0.04)]
)
def test_nested_kfold_proportions_are_6_2_2(layout, tolerance):
    y = make_labels(n=500, seed=5)
    groups = make_groups(y, layout, 5)
    for fold in nested_kfold(y, groups, n_splits=5, val_size=0.25, seed=5):
        shares = np.array([len(fold.train), len(fold.val), len(fold.test)]) / len(y)
        assert np.allclose(shares, [0.6, 0.2, 0.2], atol=tolerance), shares


def test_nested_kfold_val_is_stratified():
    y = make_labels(n=500, seed=7)
    overall = np.bincount(y, minlength=3) / len(y)
    for fold in nested_kfold(y, seed=7):
        share = np.bincount(y[fold.val], minlength=3) / len(fold.val)
        assert np.abs(share - overall).max() < 0.02


@pytest.mark.parametrize("val_size", [0.0, 0.8])
def test_nested_kfold_rejects_bad_val_size(val_size):
    with pytest.raises(ValueError):
        nested_kfold(make_labels(), val_size=val_size)


# --------------------------------------------------------------------------- one split
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_train_val_test_split_is_disjoint_and_complete(layout, seed):
    y = make_labels(n=200, seed=seed)
    groups = make_groups(y, layout, seed)
    fold = train_val_test_split(y, groups, seed=seed)
    check_no_leak([fold], groups, len(y))


@pytest.mark.parametrize(
    "fractions", [(0.7, 0.2, 0.1), (0.6, 0.2, 0.2), (0.8, 0.1, 0.1), (0.65, 0.25, 0.1)]
)
def test_train_val_test_split_follows_fractions(fractions):
    y = make_labels(n=600, seed=11)
    fold = train_val_test_split(y, fractions=fractions, seed=11)
    shares = np.array([len(fold.train), len(fold.val), len(fold.test)]) / len(y)
    assert np.allclose(shares, fractions, atol=0.01), shares
    overall = np.bincount(y, minlength=3) / len(y)
    for rows in fold.roles().values():
        assert np.abs(np.bincount(y[rows], minlength=3) / len(rows) - overall).max() < 0.03


def test_train_val_test_split_rejects_fractions_not_summing_to_one():
    with pytest.raises(ValueError):
        train_val_test_split(make_labels(), fractions=(0.7, 0.2, 0.2))


# --------------------------------------------------------------------------- checks can fail
def test_assert_disjoint_raises_on_shared_row():
    leaking = Fold(index=3, train=[0, 1, 2, 3], test=[3, 4], val=[5])
    with pytest.raises(SplitLeakError, match=r"fold 3: rows in both train and test: 3"):
        assert_disjoint([leaking])


def test_assert_disjoint_raises_on_shared_group():
    fold = Fold(index=0, train=[0, 1], val=[2], test=[3])
    groups = np.array(["a", "b", "c", "a"])
    assert_disjoint(fold)  # rows alone are fine
    with pytest.raises(SplitLeakError, match="groups in both train and test: a"):
        assert_disjoint(fold, groups)
    assert issubclass(SplitLeakError, AssertionError)


def test_assert_partition_raises_on_missing_or_repeated_test_rows():
    good = [Fold(0, train=[2, 3], test=[0, 1]), Fold(1, train=[0, 1], test=[2, 3])]
    assert_partition(good, 4)
    repeated = [Fold(0, train=[2, 3], test=[0, 1]), Fold(1, train=[0, 2], test=[1, 3])]
    with pytest.raises(SplitLeakError, match="tested more than once"):
        assert_partition(repeated, 4)
    with pytest.raises(SplitLeakError, match="never tested"):
        assert_partition(good, 5)


def test_assert_partition_raises_when_a_fold_drops_rows():
    dropping = [Fold(0, train=[2], test=[0, 1]), Fold(1, train=[0, 1], test=[2, 3])]
    with pytest.raises(SplitLeakError, match="without a role"):
        assert_partition(dropping, 4)


def test_fold_indices_are_read_only_integers():
    fold = Fold(0, train=[1.0, 2.0], test=(3,))
    assert fold.train.dtype == np.int64 and fold.val is None
    with pytest.raises(ValueError):
        fold.train[0] = 5
    assert "train=2" in repr(fold)


# --------------------------------------------------------------------------- table
def test_folds_table_lists_every_row_once_per_fold():
    y = make_labels(n=60)
    frame = pd.DataFrame({"label": y, "path": [f"img{i}.png" for i in range(60)]})
    folds = nested_kfold(y, n_splits=3, seed=0)
    table = folds_table(folds, frame)
    assert list(table.columns[:3]) == ["row", "fold", "role"]
    assert len(table) == 3 * 60
    assert table.groupby("fold")["row"].nunique().eq(60).all()
    assert (table.groupby("row")["role"].apply(lambda r: (r == "test").sum()) == 1).all()
    assert (table["label"].to_numpy() == y[table["row"].to_numpy()]).all()
    assert set(table["role"]) == {"train", "val", "test"}
