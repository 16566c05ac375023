"""The dataset registry: citations, locating the data folder, dispatch by name, missing data, counts."""

from __future__ import annotations

import pytest

from mstl_lib.data import (
    DATASETS,
    DatasetNotFoundError,
    class_counts,
    dataset_root,
    group_counts,
    load_busi,
    load_dataset,
    locate_data_dir,
    registry,
)


def test_registry_citation_keys():
    keys = {name: info.citation_key for name, info in DATASETS.items()}
    assert keys == {
        "busi": "aldhabyani2020busi", "mendeley": "rodrigues2017mendeley", "mt_small": "mtsmall",
        "ddti": "pedraza2015ddti", "breakhis": "spanhol2016breakhis", "cells": "celltracking",
    }
    for info in DATASETS.values():
        assert info.url.startswith("http") and "\n" in info.layout and info.citation


@pytest.mark.parametrize("name", list(DATASETS))
def test_missing_dataset_message_shows_layout_url_and_citation(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, data_dir=tmp_path)
    message = str(info.value)
    entry = DATASETS[name]
    assert str(tmp_path / name) in message
    assert entry.layout.splitlines()[1].strip() in message
    assert entry.url in message and entry.citation in message
    assert isinstance(info.value, FileNotFoundError)


def test_loader_on_missing_root_raises_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="busi"):
        load_busi(tmp_path / "nowhere")


def test_locate_data_dir(tmp_path, monkeypatch):
    assert locate_data_dir(tmp_path) == (tmp_path.resolve(), "given")
    with pytest.raises(FileNotFoundError, match="missing-folder"):
        locate_data_dir(tmp_path / "missing-folder")
    monkeypatch.setenv("MSTL_DATA_DIR", str(tmp_path))
    assert locate_data_dir("auto") == (tmp_path.resolve(), "MSTL_DATA_DIR")


def test_locate_data_dir_none_found(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "data_dir_candidates", lambda: [("nowhere", tmp_path / "x")])
    path, reason = locate_data_dir("auto")
    assert path is None and reason.startswith("no data folder found in:") and "x" in reason
    with pytest.raises(DatasetNotFoundError, match="no data folder found"):
        dataset_root("auto", "busi")


def test_dataset_root_accepts_official_folder_names(tmp_path):
    (tmp_path / "Dataset_BUSI_with_GT").mkdir()
    assert dataset_root(tmp_path, "busi") == (tmp_path / "Dataset_BUSI_with_GT").resolve()
    (tmp_path / "busi").mkdir()
    assert dataset_root(tmp_path, "BUSI") == (tmp_path / "busi").resolve()
    with pytest.raises(KeyError, match="unknown dataset"):
        dataset_root(tmp_path, "imagenet")


def test_counts_and_dispatch(busi_root):
    df = load_dataset("busi", data_dir=busi_root.parent, include_normal=True)
    counts = class_counts(df)
    assert counts.loc["benign"].to_dict() == {"target": 0, "images": 3, "groups": 3, "with_mask": 3}
    groups = group_counts(df)
    assert len(groups) == 6 and (groups["images"] == 1).all() and (groups["n_labels"] == 1).all()


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_states_its_terms_and_the_data_page_shows_them(name):
    from mstl_lib.paths import REPO_ROOT

    info = DATASETS[name]
    assert len(info.terms) > 20, f"{name} has no licence or terms"
    page = (REPO_ROOT / "book" / "data_availability.md").read_text(encoding="utf-8")
    assert f"| {info.title} {{cite:p}}`{info.citation_key}` | {info.terms} |" in page
