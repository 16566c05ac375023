"""P3's grids: names, the arms the settings ask for, constituents on the registry's backbones."""

from __future__ import annotations

from mstl_lib.papers.p3_elastography import grids, protocol


def test_grid_name_names_dataset_split_and_profile():
    assert grids.grid_name("busi", "nested", "cpu") == "p3-busi-nested-cpu"


def test_build_smoke_grids(smoke_run):
    built = grids.build(smoke_run)
    assert set(built) == {"p3-busi-p3-smoke", "p3-busi-nested-smoke", "p3-ddti-nested-smoke"}
    settings = smoke_run.settings
    p3 = built["p3-busi-p3-smoke"]
    assert [f"{c['input']}:{c['view']}" for c in p3.configs] == list(settings["p3_arms"])
    assert p3.context["protocol"] == "p3" and p3.context["constituents"] == {"AlexNet": "AlexNet",
                                                                            "ResNet18": "ResNet18"}
    nested = built["p3-busi-nested-smoke"]
    separations = {c["separation"] for c in nested.configs if c["input"] in settings["control_inputs"]}
    assert 0.0 in separations and separations == set(settings["separations"])  # the negative control runs
    ddti = built["p3-ddti-nested-smoke"]
    assert [(c["input"], c["view"]) for c in ddti.configs] == [("B", "full")]
    assert all(c["input"] in protocol.INPUTS for g in built.values() for c in g.configs)
    assert "strain_generator" in nested.keyed_context()
