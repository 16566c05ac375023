"""Reading the weights entries of task records (``record["weights"]``): kinds, descriptions, what was asked for."""

from __future__ import annotations

import pytest

from mstl_lib.nn.weights import WeightsInfo, weights_fields
from mstl_lib.report.weights import random_requested, weights_descriptions, weights_entries, weights_kinds

REQUESTED = WeightsInfo(None, "random", "random initialisation", "random initialisation requested")
FALLBACK = WeightsInfo("auto", "random", "random initialisation", "ImageNet weights unavailable: offline")
IMAGENET = WeightsInfo("auto", "imagenet", "/k/r.h5", "checked", sha256="ab" * 32, file_name="r.h5", checksum="md5")
FILE = WeightsInfo("w.h5", "file", "/x/w.h5", "weights loaded", sha256="cd" * 32)


def records(*infos_per_task):
    """Store-like records whose ``weights`` a task returned through :func:`weights_fields`."""
    return [{"status": "done", **weights_fields(infos)} for infos in infos_per_task]


def test_weights_fields_keep_identity_kind_request_and_line():
    fields = weights_fields({"AlexNet": FALLBACK, "ResNet18": IMAGENET})
    assert fields["weights"]["ResNet18"] == {**IMAGENET.identity(), "requested": "auto",
                                             "description": IMAGENET.describe()}
    assert fields["weights_used"] == f"AlexNet: {FALLBACK.describe()}; ResNet18: {IMAGENET.describe()}"
    assert weights_fields({"ResNet50": FILE})["weights_used"] == FILE.describe()  # one network: no name


@pytest.mark.parametrize(("tasks", "kinds", "asked"), [
    ([{"ResNet50": REQUESTED}], ["random"], True),
    ([{"ResNet50": FALLBACK}], ["random"], False),
    ([{"ResNet50": REQUESTED}, {"ResNet50": FALLBACK}], ["random"], False),
    ([{"a": IMAGENET, "b": FILE}], ["file", "imagenet"], False),
    ([{"ResNet50": IMAGENET}, {"ResNet50": REQUESTED}], ["imagenet", "random"], True),
    ([], [], False),
])
def test_kinds_and_requests_come_from_the_entries(tasks, kinds, asked):
    entries = weights_entries(records(*tasks))
    assert weights_kinds(entries) == kinds
    assert random_requested(entries) is asked
    assert weights_descriptions(entries) == sorted({info.describe() for task in tasks for info in task.values()})


def test_an_entry_of_the_run_context_or_of_no_known_kind():
    context_only = [{"weights": {"ResNet50": {"used": "imagenet", "file": "r.h5", "sha256": "ab"}}},
                    {"weights": {"x": {"used": "odd"}}}, {"weights": None}, {}]
    entries = weights_entries(context_only)
    assert weights_kinds(entries) == ["imagenet", "unknown"]
    assert weights_descriptions(entries) == ["imagenet", "odd"]
    assert not random_requested([{"used": "random"}])  # it does not say what was asked for
