"""Checks of a paper's own numbers: sums, counts, metric identities, attainable means and spreads, p-values, rounding.

Every check returns one :class:`Finding`: which paper and where, what was
checked, the computation written out, and a verdict (:data:`CONSISTENT`,
:data:`INCONSISTENT` or :data:`CANNOT_CHECK`). A paper's ``audit`` module calls
these functions on its ``mstl_lib.paper_values`` tables; the book's audit page
shows the findings, the scorecard flags the claims they bear on.

Printed numbers are intervals: ``0.93`` printed with two decimals is any value
in [0.925, 0.935]. Every check propagates those intervals (:func:`printed_interval`)
so that a paper is never blamed for its own rounding; where rounding fails but
truncation works, the detail says so.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"
CANNOT_CHECK = "cannot check"
VERDICTS = (CONSISTENT, INCONSISTENT, CANNOT_CHECK)

AUDIT_PAGE = "08_audit"
"""The book's audit page (a chapter notebook beside the others), which the chapters' notes link."""

SPREAD_CONVENTIONS = ("SD (n-1)", "SD (n)", "SE (n-1)", "SE (n)")
"""How a printed ± value may have been computed from n values: sample SD, population SD, or either over sqrt(n)."""


@dataclass(frozen=True)
class Finding:
    """One check of a paper's own numbers.

    Attributes
    ----------
    paper : str
        The paper's label (``"P1"``).
    location : str
        Where the numbers are printed (``"Table 1, CTL ResNet50 Adam"``).
    check : str
        What was checked (``"row sum"``, ``"accuracy identity"``, ...).
    computation : str
        The arithmetic written out, so a reader can redo it.
    verdict : str
        One of :data:`VERDICTS`.
    detail : str
        Anything a reader needs beyond the computation (which convention matched, why it cannot be checked).
    claims : tuple of str
        Ids of the paper's claims (see :class:`mstl_lib.report.scorecard.Claim`) this finding bears on;
        an :data:`INCONSISTENT` finding flags them *arithmetic inconsistent*.
    """

    paper: str
    location: str
    check: str
    computation: str
    verdict: str
    detail: str = ""
    claims: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        object.__setattr__(self, "claims", tuple(self.claims))

    def with_claims(self, *claims: str) -> Finding:
        """This finding, bearing on ``claims`` as well."""
        return Finding(**{**asdict(self), "claims": tuple(dict.fromkeys((*self.claims, *claims)))})


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per finding (columns: paper, location, check, computation, verdict, detail, claims)."""
    columns = ["paper", "location", "check", "computation", "verdict", "detail", "claims"]
    rows = [{**asdict(f), "claims": ", ".join(f.claims)} for f in findings]
    return pd.DataFrame(rows, columns=columns)


def verdict_counts(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings per paper and verdict (a paper x verdict table of counts, every verdict a column)."""
    frame = findings_frame(findings)
    table = pd.crosstab(frame["paper"], frame["verdict"]) if len(frame) else pd.DataFrame()
    return table.reindex(columns=list(VERDICTS), fill_value=0)


def inconsistencies(findings: Iterable[Finding], paper: str | None = None) -> list[Finding]:
    """The :data:`INCONSISTENT` findings (of ``paper`` only, when given)."""
    return [f for f in findings if f.verdict == INCONSISTENT and (paper is None or f.paper == paper)]


def inconsistency_note(findings: Iterable[Finding], where: str | None = None) -> str:
    """A markdown note citing every inconsistent finding (whose location contains ``where``, when given).

    The chapter that shows a number uses this to cite the audit beside it.
    """
    found = [f for f in inconsistencies(findings) if where is None or where.lower() in f.location.lower()]
    if not found:
        scope = f" in {where}" if where else ""
        return f"The audit of the paper's own arithmetic found no inconsistency{scope}."
    lines = [f"**The paper's own numbers do not add up in {len(found)} place{'s' if len(found) > 1 else ''}** "
             f"(see the {{doc}}`audit <{AUDIT_PAGE}>`):"]
    lines += [f"- {f.location}: {f.check}: {f.computation}" + (f" ({f.detail})" if f.detail else "") for f in found]
    return "\n".join(lines)


@functools.cache
def _findings_once(findings: Callable[[str], Iterable[Finding]], data_dir: str) -> tuple:
    return tuple(findings(data_dir))


def paper_note(findings: Callable[[str], Iterable[Finding]], where: str | None = None, data_dir="auto") -> str:
    """:func:`inconsistency_note` over a paper's ``audit.findings``, run once per data folder.

    A chapter cites the audit beside several numbers; the checks run the first time only.
    """
    return inconsistency_note(_findings_once(findings, str(data_dir)), where)


def audit_note_for(findings: Callable[[str], Iterable[Finding]], paper: str) -> Callable[..., str]:
    """A paper's ``audit_note(where=None, data_dir="auto")``: :func:`paper_note` over its ``findings``."""

    def audit_note(where: str | None = None, data_dir="auto") -> str:
        return paper_note(findings, where, data_dir)

    audit_note.__doc__ = (f"The audit's inconsistent findings about {paper}'s numbers whose location contains "
                          "``where`` (\"Table 1\", \"Section 3.3\"...), as a Markdown note citing each, for the "
                          "chapter to show beside the paper's number.")
    return audit_note


# =========================================================================== printed numbers


def decimals_of(printed: str | float) -> int:
    """Decimal places of a number as printed (``"96.49"`` -> 2, ``"1"`` -> 0)."""
    text = str(printed).strip()
    if "e" in text.lower():
        raise ValueError(f"give printed numbers as plain decimals, not {text!r}")
    return len(text.split(".", 1)[1]) if "." in text else 0


def printed_interval(value: float, decimals: int, mode: str = "round") -> tuple[float, float]:
    """Values that print as ``value`` at ``decimals`` places.

    ``mode="round"``: [v - h, v + h] with h half a unit; ``"truncate"``: [v, v + unit).
    The bounds are closed on both sides (ties either way).
    """
    unit = 10.0 ** -decimals
    if mode == "round":
        return value - unit / 2, value + unit / 2
    if mode == "truncate":
        return value, value + unit
    raise ValueError(f"mode must be 'round' or 'truncate', not {mode!r}")


def prints_as(exact: float, printed: float, decimals: int, mode: str = "round", slack: float = 1e-9) -> bool:
    """Whether ``exact`` prints as ``printed`` at ``decimals`` places (rounding or truncating)."""
    low, high = printed_interval(printed, decimals, mode)
    return low - slack <= exact <= high + slack


def check_rounding(exact: float, printed: float, decimals: int, *, paper: str, location: str,
                   what: str = "value") -> Finding:
    """Whether ``printed`` is ``exact`` rounded to ``decimals`` places (else: truncated? else: wrong)."""
    computation = f"{what} = {exact:.6g}; printed {printed:.{decimals}f}"
    if prints_as(exact, printed, decimals):
        return Finding(paper, location, "rounding", computation, CONSISTENT)
    if prints_as(exact, printed, decimals, "truncate"):
        return Finding(paper, location, "rounding", computation, INCONSISTENT,
                       f"truncated, not rounded: {exact:.6g} rounds to {round(exact, decimals):.{decimals}f}")
    return Finding(paper, location, "rounding", computation, INCONSISTENT,
                   f"{exact:.6g} neither rounds nor truncates to {printed:.{decimals}f}")


# =========================================================================== sums and counts


def check_sum(parts: Sequence[float], stated_total: float, *, paper: str, location: str, what: str = "sum",
              tolerance: float = 0.0) -> Finding:
    """Whether ``parts`` add up to ``stated_total`` (within ``tolerance``)."""
    total = float(np.sum(parts))
    computation = " + ".join(f"{p:g}" for p in parts) + f" = {total:g}; stated {stated_total:g}"
    ok = abs(total - stated_total) <= tolerance + 1e-9
    return Finding(paper, location, what, computation, CONSISTENT if ok else INCONSISTENT,
                   "" if ok else f"off by {stated_total - total:+g}")


def check_ratio_split(total: int, parts: Sequence[int], ratio: Sequence[float], *, paper: str, location: str,
                      what: str = "split ratio") -> Finding:
    """Whether a stated split ``parts`` of ``total`` follows the stated ``ratio`` (each part within one item)."""
    shares = np.asarray(ratio, dtype=float) / np.sum(ratio)
    expected = shares * total
    ok = sum(parts) == total and bool(np.all(np.abs(np.asarray(parts) - expected) <= 1))
    computation = (f"{':'.join(f'{r:g}' for r in ratio)} of {total} = "
                   + " / ".join(f"{e:g}" for e in expected) + "; stated " + " / ".join(str(p) for p in parts))
    return Finding(paper, location, what, computation, CONSISTENT if ok else INCONSISTENT)


def check_count(stated: int, counted: int | None, *, paper: str, location: str, source: str,
                what: str = "dataset count") -> Finding:
    """A stated dataset count against the count of our copy (``counted``; ``None`` when we have no copy).

    ``source`` names where ``counted`` comes from (a loader, a shipped count file) or why there is none.
    """
    if counted is None:
        return Finding(paper, location, what, f"stated {stated}; ours: none", CANNOT_CHECK, source)
    ok = int(stated) == int(counted)
    return Finding(paper, location, what, f"stated {stated}; {source}: {counted}", CONSISTENT if ok else INCONSISTENT,
                   "" if ok else f"differs by {int(stated) - int(counted):+d}")


# =========================================================================== metric identities


def _interval(value: float, decimals: int | None, clip: tuple[float, float] | None = None) -> tuple[float, float]:
    low, high = (value, value) if decimals is None else printed_interval(value, decimals)
    return (low, high) if clip is None else (max(low, clip[0]), min(high, clip[1]))


def check_accuracy_identity(accuracy: float, sensitivity: float, specificity: float, n_positive: float,
                            n_negative: float, *, paper: str, location: str, decimals: Sequence[int | None] = (None,) * 3,
                            scale: float = 1.0) -> Finding:
    """accuracy = (sensitivity * P + specificity * N) / (P + N), with every printed value an interval.

    The identity is linear, so it also holds for means over folds whose class counts are
    equal (stratified folds of a balanced set); ``scale`` is 100 when accuracy is printed in %.
    ``decimals`` gives the printed decimals of accuracy, sensitivity and specificity.
    """
    acc_d, sens_d, spec_d = decimals
    w = n_positive / (n_positive + n_negative)
    sens, spec = _interval(sensitivity, sens_d, (0, 1)), _interval(specificity, spec_d, (0, 1))
    low = scale * (w * sens[0] + (1 - w) * spec[0])
    high = scale * (w * sens[1] + (1 - w) * spec[1])
    acc = _interval(accuracy, acc_d)
    ok = acc[1] >= low - 1e-9 and acc[0] <= high + 1e-9
    computation = (f"({sensitivity:g} x {n_positive:g} + {specificity:g} x {n_negative:g}) / "
                   f"{n_positive + n_negative:g} = {scale * (w * sensitivity + (1 - w) * specificity):.4g}"
                   f" (range {low:.4g} to {high:.4g} given rounding); printed accuracy {accuracy:g}")
    return Finding(paper, location, "accuracy vs sensitivity, specificity", computation,
                   CONSISTENT if ok else INCONSISTENT)


def f1_from(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def check_f1_identity(f1: float, precision: float, recall: float, *, paper: str, location: str,
                      decimals: Sequence[int | None] = (None,) * 3, fold_averaged: bool = False,
                      averaging_tolerance: float = 0.02) -> Finding:
    """F1 = 2PR / (P + R), with printed values as intervals.

    F1 is not linear: a mean of per-fold F1 differs from the F1 of mean precision and
    recall. With ``fold_averaged`` a difference beyond rounding but within
    ``averaging_tolerance`` is called consistent (and the detail says so).
    """
    f1_d, p_d, r_d = decimals
    p, r = _interval(precision, p_d, (0, 1)), _interval(recall, r_d, (0, 1))
    corners = [f1_from(a, b) for a in p for b in r]
    low, high = min(corners), max(corners)
    got = _interval(f1, f1_d)
    exact = f1_from(precision, recall)
    computation = f"2 x {precision:g} x {recall:g} / ({precision:g} + {recall:g}) = {exact:.4g}; printed F1 {f1:g}"
    if got[1] >= low - 1e-9 and got[0] <= high + 1e-9:
        return Finding(paper, location, "F1 vs precision, recall", computation, CONSISTENT)
    gap = min(abs(got[0] - high), abs(got[1] - low))
    if fold_averaged and gap <= averaging_tolerance:
        return Finding(paper, location, "F1 vs precision, recall", computation, CONSISTENT,
                       f"off by {gap:.3g}, within what averaging over folds can explain ({averaging_tolerance})")
    return Finding(paper, location, "F1 vs precision, recall", computation, INCONSISTENT, f"off by {gap:.3g}")


def precision_from(sensitivity: float, specificity: float, n_positive: float, n_negative: float) -> float:
    """Precision implied by sensitivity, specificity and class counts (NaN when nothing is called positive)."""
    tp, fp = sensitivity * n_positive, (1 - specificity) * n_negative
    return float("nan") if tp + fp == 0 else tp / (tp + fp)


def accuracy_from_precision(sensitivity: float, precision: float, n_positive: float, n_negative: float) -> float:
    """Accuracy implied by sensitivity, precision and class counts (pooled counts; NaN if precision is 0 and TP > 0)."""
    tp = sensitivity * n_positive
    if precision == 0:
        return float("nan") if tp > 0 else n_negative / (n_positive + n_negative)
    fp = tp * (1 - precision) / precision
    return (tp + n_negative - fp) / (n_positive + n_negative)


def check_accuracy_from_precision(accuracy: float, sensitivity: float, precision: float, n_positive: float,
                                  n_negative: float, *, paper: str, location: str, decimals: int = 4,
                                  averaging_tolerance: float = 0.02) -> Finding:
    """accuracy against the accuracy that sensitivity, precision and the class counts imply.

    For fold means (as most papers print) the identity is only approximate; a gap within
    ``averaging_tolerance`` is consistent, a larger one inconsistent. With sensitivity 1,
    both accuracy and precision of every fold are at least the positive share, so
    their means are too: a printed value below the share is inconsistent whatever the folds.
    """
    share = n_positive / (n_positive + n_negative)
    implied = accuracy_from_precision(sensitivity, precision, n_positive, n_negative)
    computation = (f"TP = {sensitivity:g} x {n_positive:g}, FP = TP (1 - {precision:g}) / {precision:g}: accuracy = "
                   f"{implied:.4f}; printed {accuracy:.{decimals}f}")
    check = "accuracy vs sensitivity, precision, class counts"
    low, _ = printed_interval(accuracy, decimals)
    if sensitivity >= 1 and min(accuracy, precision) < share - 10.0 ** -decimals / 2:
        return Finding(paper, location, check, computation, INCONSISTENT,
                       f"sensitivity 1 means accuracy and precision are at least the malignant share "
                       f"{n_positive:g}/{n_positive + n_negative:g} = {share:.4f} in every fold")
    if not np.isfinite(implied):
        return Finding(paper, location, check, computation, INCONSISTENT, "precision 0 with true positives")
    gap = abs(implied - accuracy)
    if gap <= 10.0 ** -decimals / 2 + 1e-9:
        return Finding(paper, location, check, computation, CONSISTENT)
    if gap <= averaging_tolerance:
        return Finding(paper, location, check, computation, CONSISTENT,
                       f"off by {gap:.4f}, within what averaging over folds can explain ({averaging_tolerance})")
    return Finding(paper, location, check, computation, INCONSISTENT, f"off by {gap:.4f}")


# =========================================================================== means and spreads


def spread(values: Sequence[float], convention: str) -> float:
    """The ± value of ``values`` under ``convention`` (one of :data:`SPREAD_CONVENTIONS`)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if convention not in SPREAD_CONVENTIONS:
        raise ValueError(f"convention must be one of {SPREAD_CONVENTIONS}, not {convention!r}")
    ddof = 1 if "n-1" in convention else 0
    sd = float(np.std(x, ddof=ddof)) if n > ddof else float("nan")
    return sd / math.sqrt(n) if convention.startswith("SE") else sd


def matching_conventions(values: Sequence[float], printed_sd: float, decimals: int, mode: str = "round") -> list[str]:
    """The conventions of :data:`SPREAD_CONVENTIONS` under which ``values`` give ``printed_sd`` at ``decimals``."""
    return [c for c in SPREAD_CONVENTIONS if prints_as(spread(values, c), printed_sd, decimals, mode)]


def check_mean_and_spread(values: Sequence[float], printed_mean: float, printed_sd: float | None,
                          decimals: tuple[int, int], *, paper: str, location: str, what: str = "mean ± spread") -> Finding:
    """A printed mean (± spread) against the printed values it summarises; names the spread convention that matches."""
    mean = float(np.mean(values))
    parts = [f"mean of {', '.join(f'{v:g}' for v in values)} = {mean:.4g} (printed {printed_mean:g})"]
    problems = []
    if not prints_as(mean, printed_mean, decimals[0]):
        problems.append("the mean " + ("is truncated, not rounded" if prints_as(mean, printed_mean, decimals[0], "truncate")
                                       else "does not match"))
    detail = ""
    if printed_sd is not None:
        values_sd = {c: spread(values, c) for c in SPREAD_CONVENTIONS}
        parts.append("; ".join(f"{c} {v:.3g}" for c, v in values_sd.items()) + f" (printed ± {printed_sd:g})")
        # the printed values are rounded themselves: allow for it by widening by one unit of the last sd digit
        matched = matching_conventions(values, printed_sd, decimals[1])
        if matched:
            detail = "the ± matches " + " or ".join(matched)
        else:
            loose = [c for c in SPREAD_CONVENTIONS if abs(values_sd[c] - printed_sd) <= 10.0 ** -decimals[1]]
            if loose:
                detail = "the ± matches " + " or ".join(loose) + " only to within one unit of its last digit"
            else:
                problems.append("no spread convention gives the printed ±")
    verdict = INCONSISTENT if problems else CONSISTENT
    return Finding(paper, location, what, "; ".join(parts), verdict, "; ".join(problems + ([detail] if detail else [])))


def _reachable_sums(fold_sizes: Sequence[int]) -> tuple[np.ndarray, int]:
    """Boolean array over total correct in units of 1/L of a fold share (L = lcm of fold sizes)."""
    lcm = math.lcm(*[int(n) for n in fold_sizes])
    reach = np.zeros(1, dtype=bool)
    reach[0] = True
    for n in fold_sizes:
        step = lcm // int(n)
        new = np.zeros(len(reach) + lcm, dtype=bool)
        for k in range(int(n) + 1):
            new[k * step:k * step + len(reach)] |= reach
        reach = new
    return reach, lcm


def attainable_means(fold_sizes: Sequence[int]) -> np.ndarray:
    """Every mean over folds of per-fold proportions k_i / n_i (sorted, as fractions of 1)."""
    reach, lcm = _reachable_sums(fold_sizes)
    return np.flatnonzero(reach) / (lcm * len(fold_sizes))


def nearest_attainable(value: float, fold_sizes: Sequence[int]) -> float:
    """The attainable mean of per-fold proportions closest to ``value`` (a fraction of 1)."""
    means = attainable_means(fold_sizes)
    return float(means[np.argmin(np.abs(means - value))])


def attainable_spreads(fold_size: int, n_folds: int, total_correct: int) -> dict[str, np.ndarray]:
    """Every ± value (per convention, as fractions of 1) of ``n_folds`` proportions k_i / fold_size summing to ``total_correct``.

    The spread depends only on the sum and the sum of squares of the k_i; a dynamic
    programme over (sum, sum of squares) enumerates them exactly.
    """
    max_sq = n_folds * fold_size ** 2
    reach = np.zeros((total_correct + 1, max_sq + 1), dtype=bool)
    reach[0, 0] = True
    for _ in range(n_folds):
        new = np.zeros_like(reach)
        for k in range(min(fold_size, total_correct) + 1):
            new[k:, k * k:] |= reach[: total_correct + 1 - k, : max_sq + 1 - k * k]
        reach = new
    squares = np.flatnonzero(reach[total_correct])
    mean = total_correct / n_folds
    ss = squares - n_folds * mean ** 2  # sum of squared deviations, in units of k
    ss = np.clip(ss, 0, None) / fold_size ** 2
    out = {}
    for convention in SPREAD_CONVENTIONS:
        ddof = 1 if "n-1" in convention else 0
        sd = np.sqrt(ss / (n_folds - ddof))
        out[convention] = np.unique(sd / math.sqrt(n_folds) if convention.startswith("SE") else sd)
    return out


def check_fold_mean_sd(printed_mean: float, printed_sd: float | None, fold_size: int, n_folds: int,
                       decimals: tuple[int, int], *, paper: str, location: str, scale: float = 100.0) -> Finding:
    """Is a printed mean ± spread of a proportion attainable with ``n_folds`` test folds of ``fold_size`` items each?

    The mean must be some K / (n_folds x fold_size); the ± must be the spread of some
    k_1 ... k_n (k_i <= fold_size) summing to K under one of :data:`SPREAD_CONVENTIONS`.
    ``scale`` is 100 for values printed in %. The detail names the conventions that fit.
    """
    n_total = fold_size * n_folds
    check = f"attainable with {n_folds} folds of {fold_size}"
    low, high = (v / scale for v in printed_interval(printed_mean, decimals[0]))
    k_candidates = [k for k in range(n_total + 1) if low - 1e-12 <= k / n_total <= high + 1e-12]
    mode = "round"
    if not k_candidates:
        tl, th = (v / scale for v in printed_interval(printed_mean, decimals[0], "truncate"))
        truncated = [k for k in range(n_total + 1) if tl - 1e-12 <= k / n_total < th - 1e-12]
        nearest = nearest_attainable(printed_mean / scale, [fold_size] * n_folds)
        computation = (f"a mean over {n_folds} folds of {fold_size} is a multiple of 1/{n_total} "
                       f"= {scale / n_total:.4g}; printed {printed_mean:g}, nearest attainable {scale * nearest:.4g}")
        if not truncated:
            hint = ""
            if 0 < scale * nearest - printed_mean <= 10.0 ** -decimals[0] + 1e-9:
                hint = (f" ({scale * nearest:.4g} computed in floating point as a hair less and truncated "
                        f"would print {printed_mean:g})")
            return Finding(paper, location, check, computation, INCONSISTENT, "the mean is not attainable" + hint)
        k_candidates, mode = truncated, "truncate"
    else:
        computation = (f"mean {printed_mean:g} = {k_candidates[0]}/{n_total}"
                       + (f" ... {k_candidates[-1]}/{n_total}" if len(k_candidates) > 1 else ""))
    detail = "" if mode == "round" else "the mean is attainable only if truncated, not rounded"
    if printed_sd is None:
        return Finding(paper, location, check, computation, INCONSISTENT if mode == "truncate" else CONSISTENT, detail)
    sd_low, sd_high = (v / scale for v in printed_interval(printed_sd, decimals[1]))
    fits = []
    for convention in SPREAD_CONVENTIONS:
        for k in k_candidates:
            values = attainable_spreads(fold_size, n_folds, k)[convention]
            if np.any((values >= sd_low - 1e-12) & (values <= sd_high + 1e-12)):
                fits.append(convention)
                break
    computation += f"; ± {printed_sd:g} from {n_folds} folds: " + (" or ".join(fits) if fits else "no convention")
    if not fits:
        return Finding(paper, location, check, computation, INCONSISTENT,
                       "; ".join([d for d in (detail, "no k_1..k_n give the printed ± under any convention") if d]))
    detail = "; ".join([d for d in (detail, "the ± fits " + " or ".join(fits)) if d])
    return Finding(paper, location, check, computation, INCONSISTENT if mode == "truncate" else CONSISTENT, detail)


def stratified_fold_sizes(n: int, n_folds: int) -> list[int]:
    """Sizes of ``n_folds`` folds of ``n`` items as scikit-learn's (Stratified)KFold makes them (first folds one larger)."""
    return [n // n_folds + (1 if i < n % n_folds else 0) for i in range(n_folds)]


def check_fold_mean(printed_mean: float, fold_sizes: Sequence[int], decimals: int, *, paper: str, location: str,
                    what: str = "mean over folds", scale: float = 1.0) -> Finding:
    """Is a printed mean of per-fold proportions k_i / n_i attainable with these fold sizes (rounded, or truncated)?

    ``fold_sizes`` are the denominators per fold (test images, or test images of one class for a
    sensitivity); ``scale`` is 100 for values printed in %.
    """
    means = attainable_means(fold_sizes) * scale
    sizes = ", ".join(str(int(n)) for n in fold_sizes)
    nearest = float(means[np.argmin(np.abs(means - printed_mean))])
    computation = (f"{what}: mean of k_i / n_i with n_i = {sizes}; printed {printed_mean:.{decimals}f}, "
                   f"nearest attainable {nearest:.{decimals + 3}f}")
    check = f"attainable with folds of {sizes}"
    low, high = printed_interval(printed_mean, decimals)
    if np.any((means >= low - 1e-12) & (means <= high + 1e-12)):
        return Finding(paper, location, check, computation, CONSISTENT)
    low, high = printed_interval(printed_mean, decimals, "truncate")
    if np.any((means >= low - 1e-12) & (means < high - 1e-12)):
        return Finding(paper, location, check, computation, INCONSISTENT, "attainable only if truncated, not rounded")
    return Finding(paper, location, check, computation, INCONSISTENT, "not attainable")


# =========================================================================== p-values


def check_p_value(reported: float, candidates: pd.DataFrame, decimals: int, *, paper: str, location: str,
                  describe: Callable[[pd.Series], str] | None = None) -> Finding:
    """A reported p-value against the p-values of candidate tests recomputed from the paper's numbers.

    ``candidates`` has a ``p_value`` column and one row per test (e.g.
    :func:`mstl_lib.evaluation.stats.t_test_variants`); ``describe(row)`` names a row.
    Consistent when some candidate rounds to ``reported`` at ``decimals`` places (the
    detail names it); inconsistent when none does.
    """
    if candidates is None or len(candidates) == 0:
        return Finding(paper, location, "p-value recomputed", f"reported p = {reported:g}", CANNOT_CHECK,
                       "the test cannot be identified from the paper")
    describe = describe or (lambda row: ", ".join(f"{k} {v}" for k, v in row.items() if k != "p_value"))
    listed = "; ".join(f"{describe(row)}: p = {row['p_value']:.5f}" for _, row in candidates.iterrows())
    hits = candidates[[prints_as(p, reported, decimals) for p in candidates["p_value"]]]
    computation = f"reported p = {reported:g}; recomputed: {listed}"
    if len(hits):
        return Finding(paper, location, "p-value recomputed", computation, CONSISTENT,
                       "matches " + " or ".join(describe(row) for _, row in hits.iterrows()))
    return Finding(paper, location, "p-value recomputed", computation, INCONSISTENT,
                   "no candidate test gives the reported p-value")


def exact_fraction(value: float, max_denominator: int) -> Fraction:
    """The fraction with denominator <= ``max_denominator`` closest to ``value`` (to read counts back from rates)."""
    return Fraction(value).limit_denominator(max_denominator)


# =========================================================================== our own counts


def dataset_counts(name: str, data_dir="auto") -> tuple[dict[str, int] | None, str]:
    """Images per class (``{"benign": n, "malignant": n, "total": n}``) of our copy of dataset ``name``.

    Returns ``(None, reason)`` when there is no copy (the reason says so), else
    ``(counts, "<name> loader (<folder>)")``; the loader's own checks apply. A stand-in
    built from another dataset is not a copy: it counts as none.
    """
    from mstl_lib import data  # noqa: PLC0415

    root, _ = data.locate_data_dir(data_dir)
    if root is None:
        return None, "no data folder here"
    counts, source = _counts_in(name, str(root))
    return (None if counts is None else dict(counts)), source


@functools.lru_cache(maxsize=32)
def _counts_in(name: str, root: str) -> tuple[dict[str, int] | None, str]:
    from mstl_lib import data  # noqa: PLC0415

    try:
        table = data.load_dataset(name, root)
    except (data.DatasetNotFoundError, FileNotFoundError):
        return None, f"no copy of {name} here"
    if "standin" in table.columns and table["standin"].astype(bool).any():
        return None, f"only a stand-in for {name} here"
    known = table[table["target"].isin([0, 1])]
    counts = {"benign": int((known["target"] == 0).sum()), "malignant": int((known["target"] == 1).sum())}
    counts["total"] = counts["benign"] + counts["malignant"]
    return counts, f"our {name} loader ({data.dataset_root(root, name)})"


# =========================================================================== bibliography


def papers_text_dir() -> Path:
    """Where the papers' texts are (``MSTL_PAPERS_DIR``, else ``../shared/papers`` beside the repository)."""
    import os  # noqa: PLC0415

    from mstl_lib.paths import REPO_ROOT  # noqa: PLC0415

    return Path(os.environ.get("MSTL_PAPERS_DIR", REPO_ROOT.parent / "shared" / "papers"))


def bib_entries(bib_text: str) -> dict[str, dict[str, str]]:
    """``{key: {field: value}}`` of a BibTeX text (fields lower-cased, braces kept; enough for checking)."""
    entries = {}
    for match in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", bib_text, flags=re.S):
        fields = {"type": match.group(1).lower()}
        for field_match in re.finditer(r"(\w+)\s*=\s*\{(.*?)\}\s*,?\s*$", match.group(3), flags=re.S | re.M):
            fields[field_match.group(1).lower()] = " ".join(field_match.group(2).split())
        entries[match.group(2)] = fields
    return entries


def normalize_text(text: str) -> str:
    """Lower case ASCII words only (accents, LaTeX braces and punctuation dropped), for matching."""
    text = re.sub(r"\\[`'\"^~vcuH=.]\s*\{?([A-Za-z])\}?", r"\1", text)  # LaTeX accents: {\'e}, \v{s} -> e, s
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.replace("{", "").replace("}", "").lower()).split())


def check_bib_entry(entry: dict[str, str], paper_text: str | None, *, paper: str, key: str) -> list[Finding]:
    """A ``references.bib`` entry against the paper's own text: its title, and every author's surname.

    ``paper_text`` ``None``: the text is not here (cannot check). Venue and year are
    reported as found or not found in the text (a copy often omits its own header).
    """
    where = f"references.bib, {key}"
    if paper_text is None:
        return [Finding(paper, where, "bibliography vs paper text", "paper text not found", CANNOT_CHECK,
                        f"no copy of the paper's text in {papers_text_dir()}")]
    text = normalize_text(paper_text)
    out = []
    title = normalize_text(entry.get("title", ""))
    out.append(Finding(paper, where, "title vs paper text", f"title “{entry.get('title', '')}”",
                       CONSISTENT if title and title in text else INCONSISTENT,
                       "" if title and title in text else "the title is not in the paper's text"))
    authors = [a.strip() for a in entry.get("author", "").split(" and ") if a.strip()]
    for author in authors:
        surname = normalize_text(author.split(",")[0] if "," in author else author.split()[-1])
        if surname == "others":
            continue
        found = surname in text
        out.append(Finding(paper, where, "author vs paper text", f"author {author}", CONSISTENT if found else
                           INCONSISTENT, "" if found else f"{surname!r} is not in the paper's text"))
    for field_name in ("journal", "booktitle", "year"):
        if field_name in entry:
            value = normalize_text(entry[field_name])
            found = value in text
            out.append(Finding(paper, where, f"{field_name} vs paper text", f"{field_name} {entry[field_name]}",
                               CONSISTENT if found else CANNOT_CHECK,
                               "" if found else "the paper's text does not state it; keep it only with a source"))
    return out


def check_bibliography(key: str, paper_file: str, *, paper: str, bib_text: str | None = None) -> list[Finding]:
    """:func:`check_bib_entry` for entry ``key`` of ``bib_text`` (default: the book's ``references.bib``) against
    ``papers_text_dir() / paper_file``."""
    if bib_text is None:
        from mstl_lib.paths import REPO_ROOT  # noqa: PLC0415

        bib_text = (REPO_ROOT / "references.bib").read_text(encoding="utf-8")
    entries = bib_entries(bib_text)
    if key not in entries:
        return [Finding(paper, f"references.bib, {key}", "entry present", f"no entry {key!r}", INCONSISTENT)]
    path = papers_text_dir() / paper_file
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    return check_bib_entry(entries[key], text, paper=paper, key=key)


def closing_note(findings: Iterable[Finding]) -> str:
    """Markdown: the verdict counts per paper, then every inconsistent finding, paper by paper."""
    findings = list(findings)
    if not findings:
        return "No paper declares an audit."
    counts = verdict_counts(findings)
    lines = ["**Findings per paper**: " + "; ".join(
        f"{paper}: " + ", ".join(f"{int(row[v])} {v}" for v in VERDICTS) for paper, row in counts.iterrows()) + "."]
    for paper in counts.index:
        found = inconsistencies(findings, paper)
        if found:
            lines.append(f"\n**{paper}, every inconsistency** ({len(found)}):\n")
            lines += [f"- {f.location}: {f.check}" + (f" ({f.detail})" if f.detail else "") for f in found]
        else:
            lines.append(f"\n**{paper}**: no inconsistency found.")
    return "\n".join(lines)
