"""P4's protocol: Table 2's frozen counts, the SVM phase, grouped folds, the weights guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib import finetuning

from mstl_lib.nn import backbones

from mstl_lib.nn import weights as nn_weights

BACKBONES = ("VGG16", "VGG19", "ResNet50", "ResNet101", "InceptionV3")


@pytest.fixture(scope="module")
def layer_counts():
    """Layer counts of the built Keras backbones (include_top=False, random weights)."""
    counts = {}
    for name in BACKBONES:
        size = backbones.backbone_spec(name).min_size
        backbone, _ = backbones.build_backbone(name, (max(size, 32),) * 2 + (3,), weights=None)
        counts[name] = finetuning.check_layer_count(backbone, name)
    return counts


@pytest.mark.parametrize("backbone", BACKBONES)
def test_keras_layer_counts_equal_table2(layer_counts, backbone):
    table = finetuning.table2()
    assert layer_counts[backbone] == table.loc[table["backbone"] == backbone, "total_layers"].iloc[0]
    assert layer_counts[backbone] == backbones.EXPECTED_LAYER_COUNTS[backbone]


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("pct", finetuning.STRATEGIES)
def test_frozen_counts_equal_table2(backbone, pct):
    expected = {  # P4, Table 2, typed here a second time on purpose: the test is the check
        "VGG16": (19, 16, 14, 10, 5, 3, 0), "VGG19": (22, 19, 16, 11, 6, 4, 0),
        "ResNet50": (175, 149, 131, 88, 44, 26, 0), "ResNet101": (345, 293, 259, 173, 86, 52, 0),
        "InceptionV3": (311, 264, 233, 156, 78, 47, 0),
    }
    assert finetuning.frozen_layers(backbone, pct) == expected[backbone][finetuning.STRATEGIES.index(pct)]


def test_build_p4_model_freezes_table2_prefix():
    model, n_frozen, _ = finetuning.build_p4_model("ResNet50", 32, 15, weights=None)
    layers = model.get_layer("backbone").layers
    assert n_frozen == 149
    assert not any(layer.trainable for layer in layers[:149])
    assert all(layer.trainable for layer in layers[149:])


def test_rounding_rule_misses_only_vgg19():
    table = finetuning.table2()
    rule = table.apply(lambda r: finetuning.rounded_frozen_layers(r.total_layers, r.trainable_pct), axis=1)
    differ = table[rule != table["frozen_layers"]]
    assert set(differ["backbone"]) == {"VGG19"} and sorted(differ["trainable_pct"]) == [25, 85]


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="Table 2"):
        finetuning.frozen_layers("ResNet50", 40)


def test_layer_count_mismatch_raises():
    class Fake:
        layers = [0] * 10

    with pytest.raises(AssertionError, match="Table 2"):
        finetuning.check_layer_count(Fake(), "ResNet50")


def test_svm_grid_search_sees_only_training_rows(monkeypatch):
    searched = []

    class SpyGridSearch(finetuning.GridSearchCV):
        def fit(self, X, y=None, **params):
            searched.append(np.array(X, copy=True))
            return super().fit(X, y, **params)

    monkeypatch.setattr(finetuning, "GridSearchCV", SpyGridSearch)
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    features = rng.normal(size=(60, 5)) + y[:, None]
    train, test = np.arange(0, 60, 2), np.arange(1, 60, 2)
    features_test = features[test].copy()
    features_test[:] = 1e6  # a grid search that touched the test rows would notice
    search, scores = finetuning.svm_phase(features[train], y[train], features_test)
    assert search.best_estimator_[-1].shape_fit_[0] == len(train)
    assert search.n_splits_ == 5
    assert len(searched) == 1 and np.array_equal(searched[0], features[train])  # only the training rows
    assert search.best_params_["svc__C"] in finetuning.SVM_C_GRID
    assert scores.shape == (len(test),) and np.all((scores >= 0) & (scores <= 1))


def test_svm_phase_inner_cv_respects_groups(monkeypatch):
    seen = {}
    original = finetuning.StratifiedGroupKFold.split

    def spy(self, X, y=None, groups=None):
        for tr, te in original(self, X, y, groups):
            seen.setdefault("overlaps", []).append(set(groups[tr]) & set(groups[te]))
            yield tr, te

    monkeypatch.setattr(finetuning.StratifiedGroupKFold, "split", spy)
    y = np.repeat([0, 1], 20)
    groups = np.arange(40) // 2
    features = np.random.default_rng(1).normal(size=(40, 3)) + y[:, None]
    finetuning.svm_phase(features, y, features[:3], groups_train=groups)
    assert seen["overlaps"] and not any(seen["overlaps"])


def _ddti_like_table(n_cases=40, per_case=3):
    rows = [{"path": f"/x/{c}_{k}.jpg", "target": int(c % 4 != 0), "group": f"ddti:{c}"}
            for c in range(n_cases) for k in range(1 + c % per_case)]
    table = pd.DataFrame(rows)
    table["fold_group"] = table["group"]
    return table


@pytest.mark.parametrize("fold", range(5))
def test_grouped_folds_keep_every_case_on_one_side(fold):
    table = _ddti_like_table()
    parts = finetuning.fold_parts(table, fold, n_splits=5, seed=0, grouping="case")
    cases = table["fold_group"].to_numpy()
    assert not set(cases[parts["train"]]) & set(cases[parts["test"]])
    assert not set(cases[parts["fit"]]) & set(cases[parts["val"]])
    assert sorted(np.concatenate([parts["fit"], parts["val"]])) == sorted(parts["train"])


def test_image_level_folds_can_split_a_case():
    table = _ddti_like_table()
    split_cases = 0
    for fold in range(5):
        parts = finetuning.fold_parts(table, fold, n_splits=5, seed=0, grouping="none")
        cases = table["group"].to_numpy()
        split_cases += len(set(cases[parts["train"]]) & set(cases[parts["test"]]))
    assert split_cases > 0  # P4's protocol leaks: the reason for the grouped comparison


def test_real_ddti_grouped_folds(shared_data):
    table = finetuning.p4_table("ddti", str(shared_data), "case")
    assert (table["target"] == 0).sum() == 102 and (table["target"] == 1).sum() == 368
    for fold in range(5):
        parts = finetuning.fold_parts(table, fold, n_splits=5, seed=0, grouping="case")
        groups = table["fold_group"].to_numpy()
        assert not set(groups[parts["train"]]) & set(groups[parts["test"]])


def test_full_profile_refuses_random_fallback(monkeypatch):
    monkeypatch.setattr(nn_weights, "imagenet_weights_available", lambda name, timeout=5.0: (False, "offline"))
    with pytest.raises(nn_weights.WeightsUnavailableError, match="weights=None"):
        finetuning.require_real_weights("full", "auto", ["ResNet50"])
    finetuning.require_real_weights("full", None, ["ResNet50"])  # explicit random init is allowed
    finetuning.require_real_weights("cpu", "auto", ["ResNet50"])  # other profiles fall back, recorded


@pytest.mark.slow
def test_notebook_runs_in_smoke_profile(tmp_path, monkeypatch):
    """The chapter runs in ``smoke`` (here until ``_toc.yml`` lists it; then test_notebooks does)."""
    import importlib.util

    from mstl_lib.paths import REPO_ROOT

    spec = importlib.util.spec_from_file_location("run_notebooks", REPO_ROOT / "scripts" / "run_notebooks.py")
    run_notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_notebooks)
    if "04_finetuning_svm" in run_notebooks.book_notebooks():
        pytest.skip("covered by tests/test_notebooks.py")
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))
    run_notebooks.execute("04_finetuning_svm", {"profile": "smoke", "data_dir": "auto", "weights": "auto",
                                                "seed": 0}, out_dir=tmp_path)
