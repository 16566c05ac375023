"""The histology phantom: deterministic, four magnifications of one tissue, BreakHis's layout, a patient-effect knob."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mstl_lib.data import load_breakhis
from mstl_lib.data.phantoms.histology import (
    MAGNIFICATIONS,
    histology_patient_images,
    sample_patient_look,
    write_histology_phantoms,
)


def test_a_patient_is_deterministic_in_its_seed():
    look_a, images_a = histology_patient_images(3, True, 1.0, 2, (16, 24))
    look_b, images_b = histology_patient_images(3, True, 1.0, 2, (16, 24))
    assert look_a == look_b
    for m in MAGNIFICATIONS:
        assert all(np.array_equal(x, y) for x, y in zip(images_a[m], images_b[m], strict=True))
    _, other = histology_patient_images(4, True, 1.0, 2, (16, 24))
    assert not np.array_equal(images_a[40][0], other[40][0])


def test_every_magnification_has_the_images_asked_for():
    _, images = histology_patient_images(0, False, 0.5, 3, (16, 24))
    assert sorted(images) == list(MAGNIFICATIONS)
    for arrays in images.values():
        assert len(arrays) == 3 and all(a.shape == (16, 24, 3) and a.dtype == np.uint8 for a in arrays)
        assert not np.array_equal(arrays[0], arrays[1])  # different fields of view


def test_the_patient_effect_knob_scales_appearance_and_not_the_class():
    rng = np.random.default_rng(0)
    off = [sample_patient_look(rng, i % 2 == 1, 0.0) for i in range(6)]
    assert len({(look.h_od, look.e_od, look.intensity, look.tint, look.blur) for look in off}) == 1
    rng = np.random.default_rng(0)
    on = [sample_patient_look(rng, i % 2 == 1, 1.0) for i in range(6)]
    assert len({look.h_od for look in on}) == 6
    with pytest.raises(ValueError, match="patient_effect"):
        sample_patient_look(rng, True, -0.1)


def test_malignant_patients_have_higher_atypia_on_average():
    rng = np.random.default_rng(1)
    benign = [sample_patient_look(rng, False, 0.0).atypia for _ in range(200)]
    malignant = [sample_patient_look(rng, True, 0.0).atypia for _ in range(200)]
    assert np.mean(malignant) - np.mean(benign) > 0.3
    assert max(benign) > min(malignant)  # the classes overlap


def test_written_tree_loads_as_breakhis_and_is_reused(tmp_path):
    root = write_histology_phantoms(tmp_path / "h", 1.0, seed=0, scale="small")
    table = load_breakhis(root)
    assert set(table["magnification"]) == set(MAGNIFICATIONS)
    assert table.groupby("label")["patient"].nunique().to_dict() == {"benign": 4, "malignant": 4}
    assert table.groupby(["patient", "magnification"]).size().eq(2).all()
    assert (root / "PHANTOM.md").is_file()
    stamp = (root / "phantom.json").stat().st_mtime_ns
    assert write_histology_phantoms(root, 1.0, seed=0, scale="small") == root
    assert (root / "phantom.json").stat().st_mtime_ns == stamp
    again = load_breakhis(write_histology_phantoms(tmp_path / "h2", 1.0, seed=0, scale="small"))
    first = np.asarray(Image.open(table["path"].iloc[0]))
    second = np.asarray(Image.open(again["path"].iloc[0]))
    assert np.array_equal(first, second)


def test_a_foreign_folder_is_not_overwritten(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not a histology phantom"):
        write_histology_phantoms(tmp_path / "x", 0.0)
