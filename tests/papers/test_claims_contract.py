"""Every paper's claims and audit findings follow the contract the scorecard and audit pages rely on."""

from __future__ import annotations

import pytest

from mstl_lib import papers
from mstl_lib.evaluation.audit import Finding
from mstl_lib.report import scorecard as sc


@pytest.fixture(scope="module")
def findings_by_paper():
    return {key: papers.module(key, "audit").findings() for key in papers.PAPER_PACKAGES}


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_findings_are_findings_of_the_paper(key, findings_by_paper):
    label = papers.module(key).PAPER.label
    found = findings_by_paper[key]
    assert found and all(isinstance(f, Finding) and f.paper == label for f in found)
    assert all(f.computation for f in found)


@pytest.mark.slow
@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_claims_without_records_say_so_and_never_decide(key, findings_by_paper, phantom_dir, isolated_dirs):
    """With an empty store every claim exists, has a unique id, and cannot be checked (with a reason)."""
    claims = papers.module(key, "report").claims(profile="smoke", data_dir=phantom_dir, store=isolated_dirs)
    label = papers.module(key).PAPER.label
    ids = [c.id for c in claims]
    assert claims and len(ids) == len(set(ids)) and all(c.paper == label for c in claims)
    frame = sc.scorecard_frame(claims, findings_by_paper[key])
    assert (frame["verdict"] == sc.CANNOT_CHECK).all() and frame["reason"].str.len().gt(0).all()
    assert all(c.evidence.startswith(papers.module(key).PAPER.notebook) for c in claims)
    named = {claim_id for f in findings_by_paper[key] for claim_id in f.claims}
    assert named <= set(ids), f"findings name claims that do not exist: {sorted(named - set(ids))}"
    assert not list(isolated_dirs.glob("*/*.json")), "claims() must never train or write records"


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_evidence_links_point_at_headings_of_the_chapter(key):
    import re

    from mstl_lib.paths import REPO_ROOT

    info = papers.module(key).PAPER
    source = (REPO_ROOT / "notebooks" / f"{info.notebook}.py").read_text(encoding="utf-8")
    anchors = {sc.anchor(h) for h in re.findall(r"^# #+ (.+)$", source, flags=re.M)}
    claims = papers.module(key, "report").paper_claims()
    for claim in claims:
        page, _, fragment = claim.evidence.partition("#")
        assert page == f"{info.notebook}.html" and fragment in anchors, claim.evidence


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_inconsistency_is_cited_in_the_chapter(key, findings_by_paper):
    """The chapter calls ``audit_note(where)`` for a ``where`` in the location of every inconsistent finding."""
    import re

    from mstl_lib.paths import REPO_ROOT

    info = papers.module(key).PAPER
    source = (REPO_ROOT / "notebooks" / f"{info.notebook}.py").read_text(encoding="utf-8")
    cited = re.findall(r"audit_note\(\"([^\"]+)\"", source)
    uncited = [f.location for f in findings_by_paper[key]
               if f.verdict == "inconsistent" and not any(w.lower() in f.location.lower() for w in cited)]
    assert not uncited, f"{info.notebook} cites no audit note for {uncited}"


@pytest.mark.parametrize("key", papers.PAPER_PACKAGES)
def test_every_claim_states_its_tolerance(key):
    """``paper_values/<paper>_claims.csv`` has one row per claim; every decidable value claim has a Δ and a reason."""
    claims = sc.with_margins(papers.module(key, "report").paper_claims())
    for claim in claims:
        assert claim.margin_reason, claim.id
        if claim.kind == "value" and not claim.unavailable:
            assert claim.margin is not None and claim.margin > 0, claim.id
        if claim.margin is not None:
            assert claim.margin > 0, claim.id
