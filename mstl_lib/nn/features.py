"""Deep features and the linear-SVM head fitted on them.

P4 fits a linear SVM on the penultimate features of a fine-tuned network; P3
fits one on concatenated features of two networks. Both use
:func:`linear_svm_head`: standardise, ``SVC(kernel="linear")``, C chosen by a
(grouped) stratified grid search **inside the training part only**; the test
part is scored once.

This module needs no TensorFlow: features come in as arrays.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

SVM_C_GRID = (0.1, 1.0, 10.0, 100.0)
"""The grid of C searched by default (P4's)."""


def linear_svm_head(features_train: np.ndarray, y_train: np.ndarray, features_test: np.ndarray,
                    groups_train: np.ndarray | None = None, c_grid=SVM_C_GRID, inner_splits: int = 5,
                    seed: int = 0) -> tuple[GridSearchCV, np.ndarray]:
    """Linear SVM on features; C by grid search inside the training part only.

    Parameters
    ----------
    features_train, y_train : arrays of the training part
    features_test : array of the test part (scored once, never searched on)
    groups_train : optional groups; then the inner CV is ``StratifiedGroupKFold``
    c_grid : the values of C
    inner_splits : folds of the inner CV

    Returns
    -------
    search : fitted ``GridSearchCV`` (standardise -> ``SVC(kernel="linear")``)
    scores : ndarray
        Logistic of the decision function on ``features_test`` (a score in
        (0, 1), > 0.5 exactly where the SVM predicts malignant).
    """
    if groups_train is None:
        cv = StratifiedKFold(n_splits=inner_splits, shuffle=True, random_state=seed)
    else:
        cv = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True, random_state=seed)
    pipeline = make_pipeline(StandardScaler(), SVC(kernel="linear"))
    search = GridSearchCV(pipeline, {"svc__C": list(c_grid)}, cv=cv, scoring="accuracy", n_jobs=1)
    search.fit(features_train, y_train, groups=groups_train)
    decision = search.decision_function(features_test)
    return search, 1.0 / (1.0 + np.exp(-np.clip(decision, -50, 50)))


def concatenate_features(*blocks: np.ndarray) -> np.ndarray:
    """Row-wise concatenation of feature blocks of several networks (each ``(n, d_i)``)."""
    blocks = [np.asarray(block, dtype="float32").reshape(len(block), -1) for block in blocks]
    if len({len(block) for block in blocks}) != 1:
        raise ValueError(f"feature blocks have different row counts: {[len(b) for b in blocks]}")
    return np.concatenate(blocks, axis=1)
