"""P3's rules: eq. 1 and eq. 2 on hand-made patients, the 4-channel order, patient splits, the drawn ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.data.phantoms import strain
from mstl_lib.data.sources import load_source
from mstl_lib.papers.p3_elastography import protocol

# patient a: benign, 3 images, 2 called benign -> B (correct); b: malignant, 2 images, 1 each -> tie -> M (correct);
# c: benign, 2 images, 1 each -> tie -> M (wrong); d: malignant, 1 image called benign -> B (wrong)
Y = [0, 0, 0, 1, 1, 0, 0, 1]
SCORES = [0.1, 0.2, 0.9, 0.8, 0.3, 0.6, 0.4, 0.2]
PATIENTS = ["a", "a", "a", "b", "b", "c", "c", "d"]


def test_eq1_majority_vote_with_ties_going_to_malignant():
    values = protocol.patient_level(Y, SCORES, PATIENTS)
    assert values["n_patients"] == 4 and values["n_ties"] == 2
    assert values["accuracy"] == pytest.approx(2 / 4)      # a, b right
    assert values["sensitivity"] == pytest.approx(1 / 2)   # b right, d wrong
    assert values["specificity"] == pytest.approx(1 / 2)   # a right, c wrong
    assert values["precision"] == pytest.approx(1 / 2)     # voted M: b, c
    assert values["f1"] == pytest.approx(1 / 2)


def test_the_tie_rule_decides_tied_patients():
    benign_ties = protocol.patient_level(Y, SCORES, PATIENTS, tie="benign")
    assert benign_ties["accuracy"] == pytest.approx(2 / 4)   # a, c right now; b wrong
    assert benign_ties["specificity"] == pytest.approx(1.0)


def test_eq2_global_patient_recognition_rate():
    # a 2/3, b 1/2, c 1/2, d 0/1
    expected = (2 / 3 + 1 / 2 + 1 / 2 + 0) / 4
    assert protocol.patient_level(Y, SCORES, PATIENTS)["recognition_rate"] == pytest.approx(expected)


def test_image_level_is_per_image():
    values = protocol.image_level(Y, SCORES)
    assert values["accuracy"] == pytest.approx(4 / 8)


def test_four_channels_stack_grey_first_then_rgb():
    grey = np.full((4, 4), 0.25)
    rgb = np.stack([np.full((4, 4), v) for v in (0.5, 0.6, 0.7)], axis=-1)
    stacked = protocol.stack_channels(grey, rgb, "BSE")
    assert stacked.shape == (4, 4, 4)
    np.testing.assert_allclose(stacked[0, 0], [0.25, 0.5, 0.6, 0.7])
    assert protocol.stack_channels(grey, rgb, "B").shape == (4, 4, 1)
    np.testing.assert_allclose(protocol.stack_channels(grey, rgb, "SE"), rgb)
    assert [protocol.input_channels(i) for i in protocol.INPUTS] == [1, 3, 4]


@pytest.fixture
def busi_table(phantom_dir):
    from mstl_lib.data.sources import DataSource

    source = DataSource("busi", "train", "phantom", str(phantom_dir / "busi"), "")
    return protocol.patient_table(source, max_images=24, seed=0)


def test_model_inputs_keep_the_bmode_channel_and_crop_by_rule(busi_table):
    table = busi_table.head(4)
    ratios = protocol.patient_ratios(table, 1.0, 0)
    b = protocol.model_inputs(table, "B", "full", 32, None, 0, work_size=64)
    bse = protocol.model_inputs(table, "BSE", "full", 32, ratios, 0, work_size=64)
    se = protocol.model_inputs(table, "SE", "full", 32, ratios, 0, work_size=64)
    np.testing.assert_allclose(bse[..., :1], b)
    np.testing.assert_allclose(bse[..., 1:], se)
    crop = protocol.model_inputs(table, "BSE", "crop", 32, ratios, 0, work_size=64)
    assert crop.shape == bse.shape and not np.allclose(crop, bse)
    with pytest.raises(ValueError, match="ratio"):
        protocol.model_inputs(table, "SE", "full", 32, None)


def test_masked_inputs_blank_the_border_and_nothing_else_grows(busi_table):
    table = busi_table.head(2)
    plain = protocol.model_inputs(table, "B", "full", 64, None, 0, work_size=64)
    masked = protocol.model_inputs(table, "B", "full", 64, None, 0, work_size=64, masked=True)
    assert (masked[:, :2] == 0).all() and (masked[:, :, -2:] == 0).all()  # the border bands
    assert (masked <= plain + 1e-3).all()  # pixels are only ever blanked


def test_the_lesion_crop_is_the_strain_roi_so_it_shows_no_bmode_pixel():
    assert strain.StrainSettings().roi_margin == protocol.CROP_MARGIN


def test_crop_box_is_the_bounding_box_plus_margin():
    mask = np.zeros((100, 100), bool)
    mask[40:60, 30:50] = True
    assert protocol.crop_box(mask, 0.05) == (35, 65, 25, 55)
    assert protocol.crop_box(np.zeros((10, 12), bool)) == (0, 10, 0, 12)


def test_each_patient_draws_one_ratio():
    table = pd.DataFrame({"patient": ["a", "a", "b", "c", "c"], "target": [0, 0, 1, 1, 1]})
    ratios = protocol.patient_ratios(table, 1.0, seed=0)
    assert ratios[0] == ratios[1] and ratios[3] == ratios[4] and len(set(ratios)) == 3
    np.testing.assert_array_equal(ratios, protocol.patient_ratios(table, 1.0, seed=0))


def test_drawn_distributions_are_fitted_to_p3s_ratios():
    dists = protocol.strain_distributions(1.0)
    assert dists[1].median > dists[0].median  # malignant lesions are stiffer
    null = protocol.strain_distributions(0.0)
    assert null[0] == null[1]


def test_oracle_is_the_bayes_rule_of_the_drawn_ratio():
    low, high = protocol.oracle_scores([1.0, 20.0], 1.0)
    assert low < 0.5 < high
    np.testing.assert_allclose(protocol.oracle_scores([1.0, 20.0], 0.0), 0.5)


def test_label_mixed_pseudo_patients_are_dropped():
    table = pd.DataFrame({"patient": ["a", "a", "b", "c"], "target": [0, 1, 1, 0], "path": list("wxyz")})
    kept = protocol.drop_mixed_patients(table)
    assert list(kept["patient"]) == ["b", "c"]
    assert kept.attrs["dropped_mixed"] == {"patients": 1, "images": 2}


def test_busi_pseudo_patients_come_from_near_duplicate_clusters(busi_table):
    assert {"patient", "dup_cluster"} <= set(busi_table.columns)
    assert busi_table.groupby("patient")["target"].nunique().eq(1).all()


@pytest.mark.parametrize("split", protocol.PROTOCOLS)
def test_fold_parts_are_patient_disjoint(busi_table, split):
    table = busi_table.assign(patient=[f"p{i // 2}" for i in range(len(busi_table))])
    table = protocol.drop_mixed_patients(table)
    parts = [protocol.fold_parts(table, fold, split, n_splits=2, seed=0) for fold in range(2)]
    for p in parts:
        sets = [set(table["patient"].iloc[p[k]]) for k in ("fit", "val", "test")]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    if split == "p3":  # one fixed test set, folds differ in validation
        np.testing.assert_array_equal(parts[0]["test"], parts[1]["test"])
        assert not np.array_equal(parts[0]["val"], parts[1]["val"])
    else:  # every row tested once
        assert sorted(np.concatenate([p["test"] for p in parts]).tolist()) == list(range(len(table)))


def test_stand_ins_until_the_registry_has_the_constituents():
    assert protocol.constituent_backbone("AlexNet", ["AlexNet", "ResNet50"]) == "AlexNet"
    assert protocol.constituent_backbone("ResNet18", ["VGG16"]) == "ResNet50"
    assert protocol.constituent_backbone("ResNet18", ["VGG16"]) == protocol.STAND_INS["ResNet18"]
    assert sum(protocol.FEATURE_WIDTHS.values()) == 4608
