"""Replication verdicts: whether our estimate reproduces a paper's claim, by published criteria.

One function, :func:`decide`, turns a claim's evidence into one outcome. The rules
follow the replication literature:

- **Fidelity.** A run is :data:`DIRECT` only under the ``full`` profile, on the
  paper's data, with the paper's weights; anything else is :data:`REDUCED`. A
  reduced run can *support* a claim but never *refute* it (Nosek & Errington,
  PLoS Biol 2020): it never gives :data:`NOT_REPRODUCED`.
- **Failing to reject is not refuting.** A direction claim whose CI includes the
  null is :data:`INCONCLUSIVE` (Pawel, Heyard, Micheloud & Held, eLife 2024;
  NASEM 2019, ch. 5).
- **Value claims need equivalence.** Our uncertainty is combined with the paper's
  (its "±" is a spread over k folds, so its standard error is about SD/√k), as
  in the prediction interval of Patil, Peng & Leek (2016). *Reproduced* needs the
  difference to lie within ± Δ by two one-sided tests at α = 0.05 (TOST; Lakens
  2017); *not reproduced* needs it to exceed Δ with the same confidence;
  anything between is *inconclusive*.
- **Direction claims.** A CI wholly on the claimed side of the null reproduces.
  Under a direct run, a CI wholly on the other side means *reversed*, and a CI
  wholly short of the smallest effect of interest δ means *no meaningful gain*.
  Anything else is *inconclusive*.

Beside the outcome stand the raw criteria Errington et al. (eLife 2021) report
(:class:`Criteria`): same direction, our CI excludes the null, the paper's value
in our CI, our estimate in the prediction interval.

Every interval here is a normal approximation: our 95 % CI gives our standard
error as its width / (2 × 1.96).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REPRODUCED = "reproduced"
SUPPORTED_REDUCED = "supported at reduced scale"
INCONCLUSIVE = "inconclusive"
NOT_REPRODUCED = "not reproduced"
CANNOT_CHECK = "cannot be checked here"
OUTCOMES = (REPRODUCED, SUPPORTED_REDUCED, INCONCLUSIVE, NOT_REPRODUCED, CANNOT_CHECK)

LOWER, HIGHER, REVERSED, NO_MEANINGFUL_GAIN = "lower", "higher", "reversed", "no meaningful gain"
"""How a *not reproduced* differs from the claim."""

DIRECT, REDUCED = "direct", "reduced"
FIDELITIES = (DIRECT, REDUCED)

KINDS = ("value", "greater", "less")

Z95 = 1.959963984540054
"""Two-sided 95 % normal quantile: the CIs we are given."""
Z90 = 1.6448536269514722
"""One-sided 95 % normal quantile: each of TOST's two tests at α = 0.05."""


def fidelity(profile: str, paper_data: bool, paper_weights: bool) -> str:
    """:data:`DIRECT` under ``full`` on the paper's data and weights, else :data:`REDUCED`."""
    return DIRECT if profile == "full" and paper_data and paper_weights else REDUCED


def se_from_ci(low: float, high: float) -> float:
    """Standard error of an estimate whose 95 % CI is ``[low, high]`` (normal approximation)."""
    return (float(high) - float(low)) / (2 * Z95)


def se_from_spread(sd: float | None, k: int | None) -> float | None:
    """Standard error of a mean over ``k`` folds printed as ``mean ± sd``: ``sd / √k`` (None if either is missing)."""
    if sd is None or k is None or not math.isfinite(sd) or k < 1:
        return None
    return float(sd) / math.sqrt(k)


@dataclass(frozen=True)
class Criteria:
    """The raw replication criteria beside a verdict (Errington et al., eLife 2021); ``None``: does not apply."""

    same_direction: bool | None = None
    """Our estimate lies on the claimed side of the null (direction claims)."""
    ci_excludes_null: bool | None = None
    """Our 95 % CI excludes the null (direction claims)."""
    paper_in_ci: bool | None = None
    """The paper's value lies in our 95 % CI."""
    in_prediction_interval: bool | None = None
    """Our estimate lies in the 95 % prediction interval around the paper's value (Patil et al. 2016)."""

    def text(self) -> str:
        """One line: each criterion that applies, with yes or no."""
        names = (("same direction", self.same_direction), ("CI excludes null", self.ci_excludes_null),
                 ("paper's value in our CI", self.paper_in_ci), ("ours in prediction interval",
                                                                  self.in_prediction_interval))
        return "; ".join(f"{name}: {'yes' if value else 'no'}" for name, value in names if value is not None)


@dataclass(frozen=True)
class Decision:
    """:func:`decide`'s answer."""

    outcome: str
    """One of :data:`OUTCOMES`."""
    reason: str
    """Why, with the numbers."""
    direction: str = ""
    """For :data:`NOT_REPRODUCED`: :data:`LOWER`, :data:`HIGHER`, :data:`REVERSED` or :data:`NO_MEANINGFUL_GAIN`."""
    criteria: Criteria = Criteria()

    @property
    def label(self) -> str:
        """The outcome with its direction (``"not reproduced (lower)"``)."""
        return f"{self.outcome} ({self.direction})" if self.direction else self.outcome


def _fmt(value: float) -> str:
    return f"{0.0 if abs(value) < 1e-9 else value:.3g}"


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def criteria(kind: str, ours: float, ci: tuple[float, float], paper_number: float | None = None,
             paper_se: float | None = None, null: float = 0.0) -> Criteria:
    """The raw criteria of :class:`Criteria` for one estimate."""
    low, high = ci
    same = excludes = in_ci = in_pi = None
    if kind != "value":
        sign = 1 if kind == "greater" else -1
        same = sign * (ours - null) > 0
        excludes = not (low <= null <= high)
    if _finite(paper_number):
        in_ci = low <= paper_number <= high
        spread = math.hypot(se_from_ci(low, high), paper_se or 0.0)
        in_pi = abs(ours - paper_number) <= Z95 * spread
    return Criteria(same, excludes, in_ci, in_pi)


def decide(kind: str, fidelity_: str, ours: float, ci: tuple[float, float], *, paper_number: float | None = None,
           paper_se: float | None = None, margin: float | None = None, null: float = 0.0) -> Decision:
    """The replication outcome of one claim from our estimate and its 95 % CI.

    Parameters
    ----------
    kind : {"value", "greater", "less"}
        ``value``: the paper's number is the claim; ``greater`` / ``less``: the
        claimed quantity lies above / below ``null``.
    fidelity_ : {"direct", "reduced"}
        See :func:`fidelity`. A reduced run never gives :data:`NOT_REPRODUCED`.
    ours : float
        Our estimate.
    ci : (float, float)
        Our 95 % CI.
    paper_number : float, optional
        The paper's value on our scale (required for ``value``).
    paper_se : float, optional
        The standard error of the paper's value (:func:`se_from_spread`); ``None``
        leaves the paper's uncertainty out, and the reason says so.
    margin : float, optional
        ``value``: the equivalence tolerance Δ (required); ``greater`` / ``less``: the
        smallest effect of interest δ, measured from ``null`` (optional).
    null : float
        The boundary of a direction claim.

    Returns
    -------
    Decision
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if fidelity_ not in FIDELITIES:
        raise ValueError(f"fidelity must be one of {FIDELITIES}, not {fidelity_!r}")
    if not _finite(ours, *ci):
        return Decision(CANNOT_CHECK, "our estimate or its confidence interval is missing")
    low, high = float(ci[0]), float(ci[1])
    if low > high:
        raise ValueError(f"CI low {low} > high {high}")
    found = criteria(kind, ours, (low, high), paper_number, paper_se, null)
    reduced = fidelity_ == REDUCED
    cannot_refute = "; a reduced run cannot refute a claim"
    if kind == "value":
        return _decide_value(ours, (low, high), paper_number, paper_se, margin, reduced, found, cannot_refute)
    sign = 1 if kind == "greater" else -1
    side = "above" if sign > 0 else "below"
    ci_text = f"our 95 % CI [{_fmt(low)}, {_fmt(high)}]"
    near, far = (low, high) if sign > 0 else (high, low)  # the CI's end nearest to / farthest on the claimed side
    if sign * (near - null) > 0:
        outcome = SUPPORTED_REDUCED if reduced else REPRODUCED
        return Decision(outcome, f"{ci_text} lies wholly {side} {_fmt(null)}" + (" (reduced run)" if reduced else ""),
                        criteria=found)
    if not reduced and sign * (far - null) < 0:
        return Decision(NOT_REPRODUCED, f"{ci_text} lies wholly on the other side of {_fmt(null)}", REVERSED, found)
    if not reduced and _finite(margin) and margin > 0 and sign * (far - (null + sign * margin)) < 0:
        return Decision(NOT_REPRODUCED, f"{ci_text} lies wholly short of the smallest effect of interest "
                        f"{_fmt(null + sign * margin)} (δ = {_fmt(margin)})", NO_MEANINGFUL_GAIN, found)
    return Decision(INCONCLUSIVE, f"{ci_text} includes {_fmt(null)}" + (cannot_refute if reduced else ""),
                    criteria=found)


def _decide_value(ours, ci, paper_number, paper_se, margin, reduced, found, cannot_refute) -> Decision:
    if not _finite(paper_number):
        raise ValueError("a value claim needs the paper's number")
    if not _finite(margin) or margin <= 0:
        return Decision(INCONCLUSIVE, "no equivalence tolerance Δ is stated for this claim", criteria=found)
    difference = ours - paper_number
    spread = math.hypot(se_from_ci(*ci), paper_se or 0.0)
    low, high = difference - Z90 * spread, difference + Z90 * spread
    text = (f"ours − paper's = {_fmt(difference)}, 90 % CI [{_fmt(low)}, {_fmt(high)}] against Δ = ±{_fmt(margin)}"
            + ("" if paper_se else " (the paper's own uncertainty is not printed, so it is left out)"))
    if -margin < low and high < margin:
        outcome = SUPPORTED_REDUCED if reduced else REPRODUCED
        return Decision(outcome, f"equivalent within Δ: {text}" + (" (reduced run)" if reduced else ""),
                        criteria=found)
    if low > margin or high < -margin:
        if reduced:
            return Decision(INCONCLUSIVE, f"differs by more than Δ: {text}{cannot_refute}", criteria=found)
        return Decision(NOT_REPRODUCED, f"differs by more than Δ: {text}", HIGHER if low > margin else LOWER, found)
    return Decision(INCONCLUSIVE, f"neither equivalent nor different beyond Δ: {text}", criteria=found)
