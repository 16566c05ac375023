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
    # cpu runs are reduced: they support or stay inconclusive, never refute
    ({"margin": 0.05}, sc.SUPPORTED_REDUCED),
    ({"ci": (0.8, 0.85), "margin": 0.01}, sc.INCONCLUSIVE),
    ({}, sc.INCONCLUSIVE),  # a value claim with no tolerance Δ
    ({"ours": None, "ci": None}, sc.CANNOT_CHECK),
    ({"ci": None}, sc.CANNOT_CHECK),
    ({"unavailable": "private data"}, sc.CANNOT_CHECK),
    ({"kind": "greater", "ci": (0.01, 0.2)}, sc.SUPPORTED_REDUCED),
    ({"kind": "greater", "ci": (-0.01, 0.2)}, sc.INCONCLUSIVE),
    ({"kind": "greater", "ci": (-0.3, -0.1)}, sc.INCONCLUSIVE),
    ({"kind": "less", "ci": (-0.3, -0.1)}, sc.SUPPORTED_REDUCED),
    ({"kind": "less", "ci": (-0.3, 0.1)}, sc.INCONCLUSIVE),
    ({"kind": "greater", "null": 0.5, "ci": (0.6, 0.7)}, sc.SUPPORTED_REDUCED),
    # the full profile on the paper's data with ImageNet weights is direct: it can refute
    ({"profile": "full", "margin": 0.05}, sc.REPRODUCED),
    ({"profile": "full", "ours": 0.8, "ci": (0.78, 0.82), "margin": 0.02}, sc.NOT_REPRODUCED),
    ({"profile": "full", "kind": "greater", "ci": (-0.3, -0.1)}, sc.NOT_REPRODUCED),
    ({"profile": "full", "kind": "greater", "ci": (-0.01, 0.2)}, sc.INCONCLUSIVE),
    # a stand-in dataset blocks a value, and makes a direction claim reduced
    ({"evidence_flags": (sc.STAND_IN,)}, sc.CANNOT_CHECK),
    ({"kind": "greater", "ci": (0.01, 0.2), "evidence_flags": (sc.STAND_IN,)}, sc.SUPPORTED_REDUCED),
    ({"profile": "full", "kind": "greater", "ci": (-0.3, -0.1), "evidence_flags": (sc.STAND_IN,)}, sc.INCONCLUSIVE),
])
def test_verdict_rules(changes, expected):
    assert sc.verdict(claim(**changes)).verdict == expected


@pytest.mark.parametrize(("profile", "flags", "fidelity"), [
    ("full", (), sc.DIRECT),
    ("full", (sc.STAND_IN,), sc.REDUCED),
    ("full", (sc.SYNTHETIC,), sc.REDUCED),
    ("full", (sc.RANDOM_WEIGHTS,), sc.REDUCED),
    ("cpu", (), sc.REDUCED),
    ("smoke", (), sc.REDUCED),
])
def test_fidelity_follows_profile_data_and_weights(profile, flags, fidelity):
    assert claim(profile=profile, evidence_flags=flags).fidelity == fidelity


def test_a_not_reproduced_names_its_direction():
    decided = sc.verdict(claim(profile="full", ours=0.8, ci=(0.78, 0.82), margin=0.02))
    assert decided.label == "not reproduced (lower)"
    assert decided.criteria.paper_in_ci is False


@pytest.mark.parametrize("flag", [sc.SYNTHETIC, sc.RANDOM_WEIGHTS, sc.DEGENERATE, sc.NOT_RUN])
@pytest.mark.parametrize("ci", [(0.85, 0.92), (0.1, 0.2)])
def test_blocking_evidence_never_decides(flag, ci):
    decided = sc.verdict(claim(ci=ci, evidence_flags=(flag,)))
    assert decided.verdict == sc.CANNOT_CHECK and decided.reason


def test_as_printed_reads_the_audit():
    findings = [Finding("PX", "T1", "sum", "1 + 1 = 3", "inconsistent", claims=("best",)),
                Finding("PX", "T2", "sum", "1 + 1 = 2", "consistent", claims=("other",)),
                Finding("PY", "T1", "sum", "1 + 1 = 3", "inconsistent", claims=("other",))]
    assert sc.as_printed(claim(), findings) == sc.AS_PRINTED_INCONSISTENT
    assert sc.as_printed(claim(id="other"), findings) == sc.AS_PRINTED_CONSISTENT
    assert sc.as_printed(claim(id="third"), findings) == sc.AS_PRINTED_UNCHECKED
    frame = sc.scorecard_frame([claim(), claim(id="other")], findings)
    assert list(frame["as printed"]) == ["inconsistent", "consistent"]
    assert 'href="08_audit.html#the-inconsistencies"' in sc.scorecard_html(frame)


def test_margins_come_from_paper_values(tmp_path, monkeypatch):
    from mstl_lib import paper_values

    (tmp_path / "px_claims.csv").write_text("# test\nclaim,margin,reason\nbest,0.02,band\ndir,half-gap,half\n"
                                            "none,,undecidable\n")
    monkeypatch.setattr(paper_values, "FOLDER", tmp_path)
    claims = [claim(), claim(id="dir", kind="greater", paper_number=0.3), claim(id="none")]
    done = sc.with_margins(claims)
    assert [c.margin for c in done] == [0.02, pytest.approx(0.15), None]
    assert done[0].margin_reason == "band"
    with pytest.raises(ValueError, match="no row for"):
        sc.with_margins([*claims, claim(id="new")])
    with pytest.raises(ValueError, match="rows for no claim"):
        sc.with_margins(claims[:2])


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
    assert list(frame["verdict"]) == [sc.INCONCLUSIVE, sc.SUPPORTED_REDUCED, sc.CANNOT_CHECK]
    assert list(frame["fidelity"]) == [sc.REDUCED] * 3
    assert frame["seeds"].iloc[0].startswith("one seed") and frame["seeds"].iloc[2] == ""
    counts = sc.verdict_counts(frame)
    assert counts.loc["PX"].tolist() == [0, 1, 1, 0, 1]
    page = sc.scorecard_html(frame)
    assert page.count("<tr>") == 4 and 'href="03_x.html#a"' in page and "<b>raw</b>" not in page
    fig = sc.scorecard_figure(claims)
    assert len(fig.axes) == 4
    assert sc.scorecard_figure([]).axes


def test_closing_note_and_provenance_count_verdicts():
    claims = [claim(profile="full", margin=0.05), claim(id="x", ours=0.15, ci=(0.1, 0.2), profile="full", margin=0.05),
              claim(id="y", evidence_flags=(sc.NOT_RUN,))]
    findings = [Finding("PX", "T", "sum", "1 + 1 = 3", "inconsistent", claims=("x",))]
    frame = sc.scorecard_frame(claims, findings)
    note = sc.closing_note(frame, findings)
    assert ("3 claims: 1 reproduced, 0 supported at reduced scale, 0 inconclusive, 1 not reproduced, "
            "1 cannot be checked here") in note
    assert "inconsistent: PX x." in note
    assert "PX: 0 consistent, 1 inconsistent, 0 cannot check" in note
    assert "no stored result" in note
    assert "1 without a stored result" in sc.provenance_note("cpu", "/r", frame).data
    assert "2 direct" in sc.provenance_note("full", "/r", frame).data
    assert sc.closing_note(frame.iloc[0:0]) == "No paper declares a claim."


def test_the_scorecard_exports_numbers_as_numbers():
    claims = [claim(ours=0.81, ci=(0.7, 0.9), paper_number=0.99), claim(id="other", ours=None, ci=None)]
    numbers = sc.scorecard_numbers(claims)
    assert numbers.loc[0, ["paper value", "ours", "ours ci low", "ours ci high"]].tolist() == [0.99, 0.81, 0.7, 0.9]
    assert numbers["ours"].isna().tolist() == [False, True]
    assert numbers["verdict"].tolist() == sc.scorecard_frame(claims)["verdict"].tolist()
    with pytest.raises(ValueError, match="its ids differ"):
        sc.scorecard_numbers(claims, frame=sc.scorecard_frame(claims[::-1]))


@pytest.mark.parametrize(("stored", "data", "weights", "degenerate", "expected"), [
    (False, ["real"], ["imagenet"], False, (sc.NOT_RUN,)),
    (True, ["real"], ["imagenet"], False, ()),
    (True, ["real", "phantom"], ["imagenet"], False, (sc.SYNTHETIC,)),
    (True, ["stand-in"], ["imagenet", "random"], True, (sc.STAND_IN, sc.RANDOM_WEIGHTS, sc.DEGENERATE)),
    (True, ["real"], [], False, (sc.RANDOM_WEIGHTS,)),  # no weights known: never taken for ImageNet
    (True, ["real"], ["file"], False, (sc.RANDOM_WEIGHTS,)),  # a user's file is not the paper's ImageNet start
])
def test_flags_say_what_stands_behind_a_number(stored, data, weights, degenerate, expected):
    assert sc.flags_for(stored, data, weights, degenerate) == expected


def test_a_chapter_that_cannot_run_marks_every_checkable_claim_not_run():
    private = claim(id="private", unavailable="the data are private", ours=None, ci=None)
    out = sc.cannot_run([claim(), private], "cpu", FileNotFoundError("no busi/ here\nmore detail"))
    assert out[0].ours is None and out[0].evidence_flags == (sc.NOT_RUN,)
    assert out[0].note == "the chapter cannot run here: no busi/ here" and out[1] == private
