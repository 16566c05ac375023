"""The checks of a paper's own numbers, on tiny made-up tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mstl_lib.evaluation import audit
from mstl_lib.evaluation.audit import CANNOT_CHECK, CONSISTENT, INCONSISTENT

WHERE = {"paper": "PX", "location": "Table 9"}


def test_finding_rejects_unknown_verdicts_and_frames_keep_every_field():
    with pytest.raises(ValueError, match="verdict"):
        audit.Finding("PX", "T", "c", "1 + 1", "fine")
    found = [audit.Finding("PX", "T", "sum", "1 + 1 = 2", INCONSISTENT, claims=("a",)).with_claims("b"),
             audit.Finding("PY", "T", "sum", "1 + 1 = 2", CONSISTENT)]
    frame = audit.findings_frame(found)
    assert list(frame["claims"]) == ["a, b", ""]
    counts = audit.verdict_counts(found)
    assert counts.loc["PX", INCONSISTENT] == 1 and counts.loc["PY", CANNOT_CHECK] == 0
    assert "Table 9" not in audit.inconsistency_note(found) and "1 + 1 = 2" in audit.inconsistency_note(found)
    assert "no inconsistency" in audit.inconsistency_note(found[1:])


@pytest.mark.parametrize(("text", "decimals"), [("96.49", 2), ("1", 0), ("0.5", 1), (0.25, 2)])
def test_decimals_of(text, decimals):
    assert audit.decimals_of(text) == decimals


def test_rounding_tells_truncation_from_error():
    assert audit.check_rounding(89.83, 90, 0, **WHERE).verdict == CONSISTENT
    truncated = audit.check_rounding(89.83, 89, 0, **WHERE)
    assert truncated.verdict == INCONSISTENT and "truncated" in truncated.detail
    assert "neither" in audit.check_rounding(89.83, 88, 0, **WHERE).detail


def test_sums_counts_and_split_ratios():
    assert audit.check_sum([100, 150], 250, **WHERE).verdict == CONSISTENT
    assert audit.check_sum([100, 150], 251, **WHERE).verdict == INCONSISTENT
    assert audit.check_count(647, 647, source="loader", **WHERE).verdict == CONSISTENT
    assert audit.check_count(448, 440, source="loader", **WHERE).verdict == INCONSISTENT
    assert audit.check_count(250, None, source="no copy", **WHERE).verdict == CANNOT_CHECK
    assert audit.check_ratio_split(20400, [14280, 4080, 2040], [7, 2, 1], **WHERE).verdict == CONSISTENT
    assert audit.check_ratio_split(20400, [14280, 3060, 3060], [7, 2, 1], **WHERE).verdict == INCONSISTENT


def test_accuracy_identity_respects_printed_rounding():
    # balanced: accuracy = (sens + spec) / 2; 0.93 (0.925..0.935) and 1 (0.995..1, a rate) allow 96.0..96.75 %
    ok = audit.check_accuracy_identity(96.49, 0.93, 1.0, 100, 100, decimals=(2, 2, 2), scale=100, **WHERE)
    assert ok.verdict == CONSISTENT
    bad = audit.check_accuracy_identity(97.5, 0.93, 1.0, 100, 100, decimals=(2, 2, 2), scale=100, **WHERE)
    assert bad.verdict == INCONSISTENT


def test_f1_identity_and_fold_averaging():
    assert audit.f1_from(0, 0) == 0
    assert audit.check_f1_identity(0.8, 0.8, 0.8, decimals=(3, 3, 3), **WHERE).verdict == CONSISTENT
    assert audit.check_f1_identity(0.79, 0.8, 0.8, decimals=(3, 3, 3), **WHERE).verdict == INCONSISTENT
    loose = audit.check_f1_identity(0.79, 0.8, 0.8, decimals=(3, 3, 3), fold_averaged=True, **WHERE)
    assert loose.verdict == CONSISTENT and "averaging" in loose.detail


def test_accuracy_from_precision_and_the_perfect_sensitivity_floor():
    # 10 positives, 90 negatives, everything called positive: precision 0.1, accuracy 0.1
    assert audit.accuracy_from_precision(1.0, 0.1, 10, 90) == pytest.approx(0.1)
    assert audit.precision_from(1.0, 0.0, 10, 90) == pytest.approx(0.1)
    assert audit.check_accuracy_from_precision(0.1, 1.0, 0.1, 10, 90, **WHERE).verdict == CONSISTENT
    floor = audit.check_accuracy_from_precision(0.09, 1.0, 0.09, 10, 90, decimals=2, **WHERE)
    assert floor.verdict == INCONSISTENT and "share" in floor.detail


def test_spread_conventions():
    values = [1.0, 2.0, 3.0]
    assert audit.spread(values, "SD (n-1)") == pytest.approx(1.0)
    assert audit.spread(values, "SD (n)") == pytest.approx(np.sqrt(2 / 3))
    assert audit.spread(values, "SE (n-1)") == pytest.approx(1 / np.sqrt(3))
    assert audit.matching_conventions(values, 0.82, 2) == ["SD (n)"]
    found = audit.check_mean_and_spread(values, 2.0, 1.0, (1, 1), **WHERE)
    assert found.verdict == CONSISTENT and "SD (n-1)" in found.detail
    assert audit.check_mean_and_spread(values, 2.0, 5.0, (1, 1), **WHERE).verdict == INCONSISTENT


def test_attainable_means_enumerate_every_fold_combination():
    means = audit.attainable_means([2, 3])
    expected = sorted({(a / 2 + b / 3) / 2 for a in range(3) for b in range(4)})
    assert np.allclose(means, expected)


def test_attainable_spreads_match_brute_force():
    import itertools

    fold_size, n_folds, total = 4, 3, 6
    brute = {round(np.std(np.array(ks) / fold_size, ddof=1), 9)
             for ks in itertools.product(range(fold_size + 1), repeat=n_folds) if sum(ks) == total}
    got = {round(v, 9) for v in audit.attainable_spreads(fold_size, n_folds, total)["SD (n-1)"]}
    assert got == brute


def test_fold_mean_sd_attainability():
    # 5 folds of 40: means are multiples of 0.5 %
    assert audit.check_fold_mean_sd(99.0, None, 40, 5, (2, 3), **WHERE).verdict == CONSISTENT
    near = audit.check_fold_mean_sd(96.49, None, 40, 5, (2, 3), **WHERE)
    assert near.verdict == INCONSISTENT and "nearest attainable 96.5" in near.computation and "truncated" in near.detail
    truncated = audit.check_fold_mean_sd(55, None, 3, 3, (0, 3), **WHERE)  # 5/9 = 55.6 %
    assert truncated.verdict == INCONSISTENT and "truncated" in truncated.detail
    assert audit.check_fold_mean_sd(96.2, None, 40, 5, (1, 3), **WHERE).verdict == INCONSISTENT
    # folds 40, 40, 40, 40, 38 of 40: sd (n-1) = sqrt(0.8 * 0.2**2 / 0.8 ...) -- computed, not typed
    values = np.array([1, 1, 1, 1, 0.95])
    sd = np.std(values, ddof=1) * 100
    found = audit.check_fold_mean_sd(99.0, round(sd, 3), 40, 5, (2, 3), **WHERE)
    assert found.verdict == CONSISTENT and "SD (n-1)" in found.detail
    assert audit.check_fold_mean_sd(99.0, 0.001, 40, 5, (2, 3), **WHERE).verdict == INCONSISTENT


def test_p_value_against_candidate_tests():
    candidates = pd.DataFrame({"test": ["paired", "welch"], "p_value": [0.011912, 0.2]})
    hit = audit.check_p_value(0.01191, candidates, 5, describe=lambda r: r["test"], **WHERE)
    assert hit.verdict == CONSISTENT and "paired" in hit.detail
    assert audit.check_p_value(0.05, candidates, 2, **WHERE).verdict == INCONSISTENT
    assert audit.check_p_value(0.05, pd.DataFrame(), 2, **WHERE).verdict == CANNOT_CHECK


def test_stratified_fold_sizes_and_fold_means():
    assert audit.stratified_fold_sizes(647, 5) == [130, 130, 129, 129, 129]
    assert sum(audit.stratified_fold_sizes(448, 5)) == 448
    # sensitivity over 5 folds of 42 malignant images: K / 210
    assert audit.check_fold_mean(34 / 42, [42] * 5, 4, **WHERE).verdict == CONSISTENT
    truncated = audit.check_fold_mean(0.6904, [42] * 5, 4, **WHERE)  # 145/210 = 0.690476
    assert truncated.verdict == INCONSISTENT and "truncated" in truncated.detail
    assert audit.check_fold_mean(0.5, [3, 3], 2, **WHERE).verdict == CONSISTENT
    assert audit.check_fold_mean(0.25, [3, 3], 2, **WHERE).detail == "not attainable"


BIB = """@article{a2020x,
  author  = {M{\\"u}ller, Anna and Smith, Bob},
  title   = {A {Study} of Things},
  journal = {Journal of Things},
  year    = {2020}
}
"""


def test_bibliography_against_the_text():
    entries = audit.bib_entries(BIB)
    assert entries["a2020x"]["title"] == "A {Study} of Things" and entries["a2020x"]["type"] == "article"
    good = audit.check_bib_entry(entries["a2020x"], "A study of things. Anna Smith, Bob Mueller, Muller 2020",
                                 paper="PX", key="a2020x")
    verdicts = {f.check + " " + f.computation: f.verdict for f in good}
    assert verdicts["title vs paper text title “A {Study} of Things”"] == CONSISTENT
    assert verdicts["journal vs paper text journal Journal of Things"] == CANNOT_CHECK
    bad = audit.check_bib_entry(entries["a2020x"], "Another title. Bob Smith 2020", paper="PX", key="a2020x")
    assert [f.verdict for f in bad if f.check == "title vs paper text"] == [INCONSISTENT]
    assert audit.check_bib_entry(entries["a2020x"], None, paper="PX", key="a2020x")[0].verdict == CANNOT_CHECK
    assert audit.check_bibliography("missing", "none.txt", paper="PX", bib_text=BIB)[0].verdict == INCONSISTENT


@pytest.mark.parametrize(("latex", "plain"), [("M{\\\"u}ller", "muller"), ("Narv{\\'a}ez", "narvaez"),
                                              ("Ma{\\v{s}}ka", "maska"), ("{\\'S}rodowiska", "srodowiska")])
def test_normalize_text_drops_latex_accents(latex, plain):
    assert audit.normalize_text(latex) == plain


def test_closing_note_lists_every_inconsistency():
    found = [audit.Finding("PX", "T1", "sum", "1 + 1 = 3", INCONSISTENT, "off by 1"),
             audit.Finding("PX", "T2", "sum", "1 + 1 = 2", CONSISTENT),
             audit.Finding("PY", "T1", "sum", "1 + 1 = 2", CONSISTENT)]
    note = audit.closing_note(found)
    assert "PX: 1 consistent, 1 inconsistent, 0 cannot check" in note
    assert "- T1: sum (off by 1)" in note and "**PY**: no inconsistency found." in note
    assert audit.closing_note([]) == "No paper declares an audit."


def test_dataset_counts_from_the_loaders(tmp_path):
    from mstl_lib.data.phantoms import write_phantom_data_dir

    counts, source = audit.dataset_counts("busi", tmp_path)
    assert counts is None and "busi" in source
    root = write_phantom_data_dir(tmp_path / "data", seed=0, scale="small")
    counts, source = audit.dataset_counts("busi", root)
    assert counts["total"] == counts["benign"] + counts["malignant"] > 0 and "loader" in source
    assert audit.check_count(counts["total"], counts["total"], source=source, **WHERE).verdict == CONSISTENT


def test_paper_note_runs_a_papers_checks_once_per_data_folder():
    from mstl_lib.evaluation.audit import Finding, paper_note

    calls = []

    def findings(data_dir):
        calls.append(data_dir)
        return [Finding("PX", "Table 9", "a sum", "1 + 1 = 3", "inconsistent")]

    assert "Table 9" in paper_note(findings, "Table 9", "auto")
    assert "no inconsistency in Table 8" in paper_note(findings, "Table 8", "auto")
    assert calls == ["auto"]
