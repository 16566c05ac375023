"""The scorecard's verdict rules, table and figure, on made-up claims."""

from __future__ import annotations

import pytest

from mstl_lib.evaluation.audit import Finding
from mstl_lib.report import scorecard as sc


def claim(**changes):
    base = {"paper": "PX", "id": "best", "statement": "X reaches 0.9", "paper_value": "0.90", "quantity": "AUC",
            "paper_number": 0.9, "ours": 0.88, "ci": (0.85, 0.92), "profile": "cpu"}
    return sc.Claim(**{**base, **changes})


def test_claims_check_their_fields():
    with pytest.raises(ValueError, match="kind"):
        claim(kind="about")
    with pytest.raises(ValueError, match="flags"):
        claim(evidence_flags=("lucky",))
    with pytest.raises(ValueError, match="paper_number"):
        claim(paper_number=None)
    with pytest.raises(ValueError, match="CI"):
        claim(ci=(0.9, 0.8))


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, sc.REPRODUCED),
    ({"ci": (0.8, 0.85)}, sc.NOT_REPRODUCED),
    ({"ours": None, "ci": None}, sc.CANNOT_CHECK),
    ({"ci": None}, sc.CANNOT_CHECK),
    ({"unavailable": "private data"}, sc.CANNOT_CHECK),
    ({"kind": "greater", "ci": (0.01, 0.2)}, sc.REPRODUCED),
    ({"kind": "greater", "ci": (-0.01, 0.2)}, sc.NOT_REPRODUCED),
    ({"kind": "less", "ci": (-0.3, -0.1)}, sc.REPRODUCED),
    ({"kind": "less", "ci": (-0.3, 0.1)}, sc.NOT_REPRODUCED),
    ({"kind": "greater", "null": 0.5, "ci": (0.6, 0.7)}, sc.REPRODUCED),
    # a stand-in dataset blocks a value, not a direction
    ({"evidence_flags": (sc.STAND_IN,)}, sc.CANNOT_CHECK),
    ({"kind": "greater", "ci": (0.01, 0.2), "evidence_flags": (sc.STAND_IN,)}, sc.REPRODUCED),
])
def test_verdict_rules(changes, expected):
    assert sc.verdict(claim(**changes)).verdict == expected


@pytest.mark.parametrize("flag", [sc.SYNTHETIC, sc.RANDOM_WEIGHTS, sc.DEGENERATE, sc.NOT_RUN])
@pytest.mark.parametrize("ci", [(0.85, 0.92), (0.1, 0.2)])
def test_blocking_evidence_never_decides(flag, ci):
    decided = sc.verdict(claim(ci=ci, evidence_flags=(flag,)))
    assert decided.verdict == sc.CANNOT_CHECK and decided.reason


def test_flags_come_from_protocol_flaws_and_inconsistent_findings():
    findings = [Finding("PX", "T1", "sum", "1 + 1 = 3", "inconsistent", claims=("best",)),
                Finding("PY", "T1", "sum", "1 + 1 = 3", "inconsistent", claims=("best",)),
                Finding("PX", "T1", "sum", "1 + 1 = 2", "consistent", claims=("other",))]
    assert sc.verdict(claim()).flags == ()
    assert sc.verdict(claim(), findings).flags == (sc.ARITHMETIC_INCONSISTENT,)
    assert sc.verdict(claim(protocol_flaws=("leaks",)), findings[1:]).flags == (sc.PROTOCOL_FLAW,)


def test_anchor_follows_docutils_ids():
    assert sc.anchor("Table 1: beside the paper") == "table-1-beside-the-paper"
    assert sc.anchor("The t-test (P1's p = 0.01191)") == "the-t-test-p1-s-p-0-01191"
    assert sc.evidence_link("03_multistage", "Significance") == "03_multistage.html#significance"


def test_table_html_counts_and_figure():
    claims = [claim(), claim(id="dir", kind="greater", paper_number=None, evidence="03_x.html#a"),
              claim(id="none", ours=None, ci=None, note="<b>raw</b>")]
    frame = sc.scorecard_frame(claims)
    assert list(frame["verdict"]) == [sc.REPRODUCED, sc.REPRODUCED, sc.CANNOT_CHECK]
    counts = sc.verdict_counts(frame)
    assert counts.loc["PX"].tolist() == [2, 0, 1]
    page = sc.scorecard_html(frame)
    assert page.count("<tr>") == 4 and 'href="03_x.html#a"' in page and "<b>raw</b>" not in page
    fig = sc.scorecard_figure(claims)
    assert len(fig.axes) == 4
    assert sc.scorecard_figure([]).axes


def test_closing_note_and_provenance_count_verdicts():
    claims = [claim(), claim(id="x", ci=(0.1, 0.2)), claim(id="y", evidence_flags=(sc.NOT_RUN,))]
    frame = sc.scorecard_frame(claims)
    note = sc.closing_note(frame, [Finding("PX", "T", "sum", "1 + 1 = 3", "inconsistent")])
    assert "3 claims: 1 reproduced, 1 not reproduced, 1 cannot be checked here" in note
    assert "PX: 0 consistent, 1 inconsistent, 0 cannot check" in note
    assert "no stored result" in note
    assert "1 without a stored result" in sc.provenance_note("cpu", "/r", frame).data
    assert sc.closing_note(frame.iloc[0:0]) == "No paper declares a claim."
