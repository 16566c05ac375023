"""DataSource: one dataset for one use, as JSON, read by its own loader."""

from __future__ import annotations

import json

import pytest

from mstl_lib.data import phantoms
from mstl_lib.data.sources import PHANTOM, REAL, STANDIN, DataSource, load_source


@pytest.fixture(scope="module")
def busi_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources") / "busi"
    phantoms.write_ultrasound_phantoms(root, 3, 2, seed=0, size=32)
    return root


@pytest.mark.parametrize("kind", [REAL, PHANTOM, STANDIN])
def test_json_round_trip_and_kind_column(busi_root, kind):
    source = DataSource("BUSI", "train", kind, str(busi_root), "note")
    again = DataSource.from_dict(json.loads(json.dumps(source.to_dict())))
    assert again == source and again.dataset == "busi"  # canonical name
    assert source.synthetic is (kind != REAL)
    table = load_source(again)
    assert len(table) == 5 and set(table["data_kind"]) == {kind}


@pytest.mark.parametrize("field, value, message", [
    ("use", "fit", "use must be one of"),
    ("kind", "missing", "kind must be one of"),
    ("dataset", "no_such_set", "unknown dataset"),
])
def test_invalid_sources_are_refused(busi_root, field, value, message):
    values = {"dataset": "busi", "use": "train", "kind": REAL, "root": str(busi_root), field: value}
    with pytest.raises((ValueError, KeyError), match=message):
        DataSource(**values)


def test_a_source_passes_through_from_dict(busi_root):
    source = DataSource("busi", "show", REAL, str(busi_root))
    assert DataSource.from_dict(source) is source
