"""Replication verdicts: worked vectors for every kind x fidelity x evidence combination."""

from __future__ import annotations

import math

import pytest

from mstl_lib.evaluation import replication as rp

DIRECT, REDUCED = rp.DIRECT, rp.REDUCED


@pytest.mark.parametrize(("profile", "paper_data", "paper_weights", "expected"), [
    ("full", True, True, DIRECT),
    ("full", False, True, REDUCED),
    ("full", True, False, REDUCED),
    ("cpu", True, True, REDUCED),
    ("smoke", True, True, REDUCED),
])
def test_only_full_on_the_papers_data_and_weights_is_direct(profile, paper_data, paper_weights, expected):
    assert rp.fidelity(profile, paper_data, paper_weights) == expected


# (kind, fidelity, ours, ci, null, margin, outcome, direction)
DIRECTION_VECTORS = [
    # the example: a CI that includes the null is inconclusive, never a refutation
    ("greater", DIRECT, 0.005, (-0.02, 0.03), 0.0, 0.02, rp.INCONCLUSIVE, ""),
    ("greater", DIRECT, 0.03, (0.01, 0.05), 0.0, 0.02, rp.REPRODUCED, ""),
    ("greater", REDUCED, 0.03, (0.01, 0.05), 0.0, 0.02, rp.SUPPORTED_REDUCED, ""),
    ("greater", DIRECT, -0.03, (-0.05, -0.01), 0.0, 0.02, rp.NOT_REPRODUCED, rp.REVERSED),
    ("greater", REDUCED, -0.03, (-0.05, -0.01), 0.0, 0.02, rp.INCONCLUSIVE, ""),
    ("greater", DIRECT, 0.002, (-0.01, 0.015), 0.0, 0.02, rp.NOT_REPRODUCED, rp.NO_MEANINGFUL_GAIN),
    ("greater", REDUCED, 0.002, (-0.01, 0.015), 0.0, 0.02, rp.INCONCLUSIVE, ""),
    ("greater", DIRECT, 0.002, (-0.01, 0.015), 0.0, None, rp.INCONCLUSIVE, ""),
    ("greater", DIRECT, 0.65, (0.6, 0.7), 0.5, 0.05, rp.REPRODUCED, ""),
    ("less", DIRECT, -0.03, (-0.05, -0.01), 0.0, 0.02, rp.REPRODUCED, ""),
    ("less", REDUCED, -0.03, (-0.05, -0.01), 0.0, 0.02, rp.SUPPORTED_REDUCED, ""),
    ("less", DIRECT, 0.03, (0.01, 0.05), 0.0, 0.02, rp.NOT_REPRODUCED, rp.REVERSED),
    ("less", DIRECT, -0.002, (-0.015, 0.01), 0.0, 0.02, rp.NOT_REPRODUCED, rp.NO_MEANINGFUL_GAIN),
    ("less", REDUCED, 0.03, (0.01, 0.05), 0.0, 0.02, rp.INCONCLUSIVE, ""),
]


@pytest.mark.parametrize(("kind", "fid", "ours", "ci", "null", "margin", "outcome", "direction"), DIRECTION_VECTORS)
def test_direction_claims(kind, fid, ours, ci, null, margin, outcome, direction):
    decided = rp.decide(kind, fid, ours, ci, null=null, margin=margin)
    assert (decided.outcome, decided.direction) == (outcome, direction), decided.reason
    assert decided.reason


# (fidelity, ours, ci, paper, paper_se, margin, outcome, direction)
VALUE_VECTORS = [
    # the examples: a wide CI around 0.991 is not equivalence within 0.01 ...
    (DIRECT, 0.97, (0.90, 1.00), 0.991, None, 0.01, rp.INCONCLUSIVE, ""),
    # ... and a cpu run far below the paper never refutes it (a direct one does)
    (REDUCED, 0.90, (0.85, 0.95), 0.991, None, 0.01, rp.INCONCLUSIVE, ""),
    (DIRECT, 0.90, (0.85, 0.95), 0.991, None, 0.01, rp.NOT_REPRODUCED, rp.LOWER),
    (DIRECT, 0.95, (0.94, 0.96), 0.90, None, 0.02, rp.NOT_REPRODUCED, rp.HIGHER),
    (REDUCED, 0.95, (0.94, 0.96), 0.90, None, 0.02, rp.INCONCLUSIVE, ""),
    (DIRECT, 0.99, (0.985, 0.995), 0.991, None, 0.01, rp.REPRODUCED, ""),
    (REDUCED, 0.99, (0.985, 0.995), 0.991, None, 0.01, rp.SUPPORTED_REDUCED, ""),
    # the paper's own spread widens the interval: no longer equivalent within 0.01
    (DIRECT, 0.99, (0.985, 0.995), 0.991, 0.01, 0.01, rp.INCONCLUSIVE, ""),
    # no tolerance stated: never reproduced
    (DIRECT, 0.99, (0.985, 0.995), 0.991, None, None, rp.INCONCLUSIVE, ""),
]


@pytest.mark.parametrize(("fid", "ours", "ci", "paper", "paper_se", "margin", "outcome", "direction"), VALUE_VECTORS)
def test_value_claims(fid, ours, ci, paper, paper_se, margin, outcome, direction):
    decided = rp.decide("value", fid, ours, ci, paper_number=paper, paper_se=paper_se, margin=margin)
    assert (decided.outcome, decided.direction) == (outcome, direction), decided.reason


@pytest.mark.parametrize("fid", rp.FIDELITIES)
@pytest.mark.parametrize("kind", rp.KINDS)
def test_a_reduced_run_never_refutes_and_a_missing_ci_cannot_check(kind, fid):
    for ours, ci in ((-5.0, (-6.0, -4.0)), (5.0, (4.0, 6.0)), (0.0, (-0.1, 0.1))):
        decided = rp.decide(kind, fid, ours, ci, paper_number=1.0, margin=0.1)
        assert fid == DIRECT or decided.outcome != rp.NOT_REPRODUCED
        assert decided.outcome in rp.OUTCOMES
    assert rp.decide(kind, fid, 0.5, (float("nan"), 0.6), paper_number=1.0, margin=0.1).outcome == rp.CANNOT_CHECK


def test_criteria_of_the_worked_vectors():
    value = rp.decide("value", DIRECT, 0.97, (0.90, 1.00), paper_number=0.991, margin=0.01).criteria
    assert value.paper_in_ci and value.in_prediction_interval
    assert value.same_direction is None and value.ci_excludes_null is None
    far = rp.decide("value", DIRECT, 0.90, (0.85, 0.95), paper_number=0.991, margin=0.01).criteria
    assert not far.paper_in_ci and not far.in_prediction_interval
    direction = rp.decide("greater", DIRECT, 0.005, (-0.02, 0.03), paper_number=0.05, margin=0.02).criteria
    assert direction.same_direction and not direction.ci_excludes_null and not direction.paper_in_ci
    assert "CI excludes null: no" in direction.text()


def test_standard_errors():
    assert rp.se_from_ci(0.0, 2 * rp.Z95) == pytest.approx(1.0)
    assert rp.se_from_spread(2.85, 5) == pytest.approx(2.85 / math.sqrt(5))
    assert rp.se_from_spread(None, 5) is None and rp.se_from_spread(1.0, None) is None


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kind"):
        rp.decide("about", DIRECT, 0.5, (0.4, 0.6))
    with pytest.raises(ValueError, match="fidelity"):
        rp.decide("value", "partial", 0.5, (0.4, 0.6), paper_number=0.5, margin=0.1)
    with pytest.raises(ValueError, match="CI low"):
        rp.decide("greater", DIRECT, 0.5, (0.6, 0.4))
    with pytest.raises(ValueError, match="paper's number"):
        rp.decide("value", DIRECT, 0.5, (0.4, 0.6), margin=0.1)


def test_label_names_the_direction():
    decided = rp.decide("value", DIRECT, 0.90, (0.85, 0.95), paper_number=0.991, margin=0.01)
    assert decided.label == "not reproduced (lower)"
