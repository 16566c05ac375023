"""The scorecard: every claim of every paper, the paper's value beside ours, and one verdict.

Claims are data (:class:`Claim`); each paper's ``report.claims(...)`` builds its
own from its stored records (see :mod:`mstl_lib.papers`). This module never
imports a paper. :func:`verdict` decides, :func:`scorecard_table` and
:func:`scorecard_figure` show.

The verdict is one of :data:`VERDICTS` (with its reason), decided by
:func:`mstl_lib.evaluation.replication.decide` from the claim's fidelity (only a
``full`` run on the paper's data and weights is *direct*), its tolerance Δ or
smallest effect δ (typed per claim in ``paper_values/<paper>_claims.csv``) and our
CI; beside it stand the raw replication criteria, the flags :data:`PROTOCOL_FLAW`
(the paper's protocol leaks or reuses its test set) and
:data:`ARITHMETIC_INCONSISTENT`, and the *as printed* column: whether the audit
found the paper's own numbers behind the claim consistent.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mstl_lib import paper_values
from mstl_lib.evaluation import audit, replication
from mstl_lib.evaluation.replication import (
    CANNOT_CHECK,
    DIRECT,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REDUCED,
    REPRODUCED,
    SUPPORTED_REDUCED,
)
from mstl_lib.report.figures import OKABE_ITO, finish

VERDICTS = replication.OUTCOMES

PROTOCOL_FLAW = "protocol flaw"
ARITHMETIC_INCONSISTENT = "arithmetic inconsistent"

# evidence flags: what stands behind our number
SYNTHETIC = "synthetic data"
RANDOM_WEIGHTS = "random weights"
DEGENERATE = "degenerate model"
STAND_IN = "stand-in data"
NOT_RUN = "not run"
EVIDENCE_FLAGS = (SYNTHETIC, RANDOM_WEIGHTS, DEGENERATE, STAND_IN, NOT_RUN)
BLOCKING_FLAGS = (SYNTHETIC, RANDOM_WEIGHTS, DEGENERATE, NOT_RUN)
"""Evidence that can never reproduce or refute a claim."""

BLOCKING_REASONS = {RANDOM_WEIGHTS: "random weights (not ImageNet)", SYNTHETIC: "synthetic data (phantoms)",
                    STAND_IN: "a stand-in dataset (not the paper's)", DEGENERATE: "a degenerate model"}
"""How the reason of a *cannot be checked here* names each blocking flag."""

KINDS = replication.KINDS
"""How a claim is decided: ``value``: our estimate is equivalent to the paper's number within Δ;
``greater`` / ``less``: our CI of the deciding quantity lies wholly above / below ``null`` (a direction,
a ranking, a significance). See :func:`mstl_lib.evaluation.replication.decide`."""

NOT_PAPER_DATA = (SYNTHETIC, STAND_IN)
"""Evidence flags that mean our data are not the paper's: the run is *reduced*."""

AS_PRINTED_CONSISTENT, AS_PRINTED_INCONSISTENT, AS_PRINTED_UNCHECKED = "consistent", "inconsistent", "not checked"


def flags_for(stored: bool, data_kinds: Iterable[str] = (), weights_kinds: Iterable[str] = (),
              degenerate: bool = False) -> tuple[str, ...]:
    """The evidence flags of a number: :data:`NOT_RUN` when nothing is stored, else :data:`SYNTHETIC` for phantom
    data, :data:`STAND_IN` for a stand-in, :data:`RANDOM_WEIGHTS` unless every network started from ImageNet
    (``weights_kinds`` as :func:`mstl_lib.nn.weights.weights_kinds` gives them), :data:`DEGENERATE` for a
    degenerate model."""
    if not stored:
        return (NOT_RUN,)
    data_kinds, weights_kinds = set(data_kinds), set(weights_kinds)
    flags = [SYNTHETIC] if "phantom" in data_kinds else []
    flags += [STAND_IN] if "stand-in" in data_kinds else []
    flags += [RANDOM_WEIGHTS] if not weights_kinds or weights_kinds != {"imagenet"} else []
    return (*flags, DEGENERATE) if degenerate else tuple(flags)


def cannot_run(claims: Iterable[Claim], profile: str, error: BaseException) -> list[Claim]:
    """Every claim as *not run*, because its chapter cannot run here (the error's first line says why); a claim
    that no run could check (``unavailable``) stays as it is."""
    note = f"the chapter cannot run here: {error}".splitlines()[0]
    return [claim if claim.unavailable else claim.with_result(None, None, profile=profile, evidence_flags=(NOT_RUN,),
                                                              note=note) for claim in claims]


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with the paper's value and ours.

    Attributes
    ----------
    paper : str
        The paper's label (``"P1"``).
    id : str
        Unique within the paper (``"mstl-beats-ctl"``); audit findings name it in ``Finding.claims``.
    statement : str
        The claim in one sentence, as the paper makes it.
    paper_value : str
        The paper's value as printed (``"99 ± 0.612 %"``, ``"p = 0.01191"``).
    quantity : str
        The quantity that decides the claim (``"MSTL − CTL AUC, paired over (CNN, optimizer)"``).
    kind : str
        One of :data:`KINDS`.
    paper_number : float, optional
        The paper's value on the scale of ``ours`` (for ``value`` claims and the figure).
    null : float
        The boundary of a ``greater`` / ``less`` claim (0 for a difference, 0.5 for an AUC above chance).
    ours : float, optional
        Our estimate of ``quantity``; ``None`` when nothing is stored.
    ci : (float, float), optional
        Our 95 % CI of ``quantity``.
    data, weights, profile : str
        What our number comes from (``"BUSI (real), stand-in for Mendeley"``, ``"random"``, ``"cpu"``).
    evidence_flags : tuple of str
        Subset of :data:`EVIDENCE_FLAGS`.
    unavailable : str
        Non-empty when the claim cannot be checked here whatever we run (private data, ...): the reason.
    protocol_flaws : tuple of str
        The paper's protocol flaws behind this claim (leakage, test-set reuse), each a short phrase.
    evidence : str
        Link to the section with the evidence (``"03_multistage.html#the-significance-test"``).
    note : str
        Anything the row should say beyond the verdict.
    margin : float, optional
        ``value``: the equivalence tolerance Δ on the scale of ``ours``; ``greater`` / ``less``: the
        smallest effect of interest δ beyond ``null``. Typed per claim in ``paper_values`` (:func:`with_margins`).
    margin_reason : str
        Why that Δ or δ, in one line.
    paper_se : float, optional
        Standard error of the paper's value (its ± over k folds: SD/√k), on the scale of ``ours``.
    seeds : int
        Training seeds behind our estimate; with one, the row says the CI leaves out seed variance.
    """

    paper: str
    id: str
    statement: str
    paper_value: str
    quantity: str
    kind: str = "value"
    paper_number: float | None = None
    null: float = 0.0
    ours: float | None = None
    ci: tuple[float, float] | None = None
    data: str = ""
    weights: str = ""
    profile: str = ""
    evidence_flags: tuple[str, ...] = field(default_factory=tuple)
    unavailable: str = ""
    protocol_flaws: tuple[str, ...] = field(default_factory=tuple)
    evidence: str = ""
    note: str = ""
    margin: float | None = None
    margin_reason: str = ""
    paper_se: float | None = None
    seeds: int = 1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind must be one of {KINDS}, not {self.kind!r}")
        unknown = set(self.evidence_flags) - set(EVIDENCE_FLAGS)
        if unknown:
            raise ValueError(f"claim {self.id!r}: unknown evidence flags {sorted(unknown)}; known: {EVIDENCE_FLAGS}")
        if self.kind == "value" and self.paper_number is None:
            raise ValueError(f"claim {self.id!r}: a value claim needs paper_number")
        if self.ci is not None:
            low, high = (float(v) for v in self.ci)
            if low > high:
                raise ValueError(f"claim {self.id!r}: CI low {low} > high {high}")
            object.__setattr__(self, "ci", (low, high))
        object.__setattr__(self, "evidence_flags", tuple(self.evidence_flags))
        object.__setattr__(self, "protocol_flaws", tuple(self.protocol_flaws))

    def with_result(self, ours: float | None, ci: tuple[float, float] | None = None, **changes) -> Claim:
        """This claim with our estimate (and any other field) filled in."""
        return replace(self, ours=ours, ci=ci, **changes)

    @property
    def fidelity(self) -> str:
        """``"direct"`` for a ``full`` run on the paper's data with ImageNet weights, else ``"reduced"``."""
        return replication.fidelity(self.profile, not set(self.evidence_flags) & set(NOT_PAPER_DATA),
                                    RANDOM_WEIGHTS not in self.evidence_flags)


def claim_margins(paper: str) -> pd.DataFrame:
    """The paper's Δ / δ per claim (``paper_values/<paper>_claims.csv``), indexed by claim id."""
    frame = paper_values.load(f"{paper.lower()}_claims").astype({"margin": str})
    missing = {"claim", "margin", "reason"} - set(frame.columns)
    if missing:
        raise ValueError(f"paper_values/{paper.lower()}_claims.csv lacks the columns {sorted(missing)}")
    if frame["claim"].duplicated().any():
        raise ValueError(f"paper_values/{paper.lower()}_claims.csv names a claim twice: "
                         f"{sorted(frame.loc[frame['claim'].duplicated(), 'claim'])}")
    return frame.set_index("claim")


def with_margins(claims: Sequence[Claim]) -> list[Claim]:
    """``claims`` with ``margin`` and ``margin_reason`` read from their papers' ``paper_values``.

    Raises
    ------
    ValueError
        A claim has no row, or a row names no claim: Δ and δ must be stated for every claim.
    """
    tables = {paper: claim_margins(paper) for paper in dict.fromkeys(c.paper for c in claims)}
    for paper, table in tables.items():
        ids = {c.id for c in claims if c.paper == paper}
        unknown, missing = sorted(set(table.index) - ids), sorted(ids - set(table.index))
        if unknown or missing:
            raise ValueError(f"paper_values/{paper.lower()}_claims.csv: no row for {missing}; rows for no claim "
                             f"{unknown}")
    return [replace(claim, margin=_margin(claim, tables[claim.paper].loc[claim.id, "margin"]),
                    margin_reason=str(tables[claim.paper].loc[claim.id, "reason"])) for claim in claims]


HALF_GAP = "half-gap"
"""A margin typed as half the paper's own gap, ``|paper_number − null| / 2``."""


def _margin(claim: Claim, typed) -> float | None:
    if pd.isna(typed) or str(typed).strip().lower() in ("", "nan"):
        return None
    if str(typed).strip() == HALF_GAP:
        if not _finite(claim.paper_number):
            raise ValueError(f"{claim.paper} {claim.id}: '{HALF_GAP}' needs the paper's number")
        return abs(claim.paper_number - claim.null) / 2
    return float(typed)


@dataclass(frozen=True)
class Verdict:
    """:func:`verdict`'s answer: one of :data:`VERDICTS`, its reason, and what stands beside it."""

    verdict: str
    reason: str
    flags: tuple[str, ...] = ()
    direction: str = ""
    """How a *not reproduced* differs (``"lower"``, ``"higher"``, ``"reversed"``, ``"no meaningful gain"``)."""
    criteria: replication.Criteria = replication.Criteria()
    """The raw replication criteria (Errington et al. 2021)."""

    @property
    def label(self) -> str:
        """The verdict with its direction (``"not reproduced (lower)"``)."""
        return f"{self.verdict} ({self.direction})" if self.direction else self.verdict


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)


def _fmt(value: float, digits: int = 3) -> str:
    if not _finite(value):
        return "n/a"
    return f"{0.0 if abs(value) < 1e-9 else value:.{digits}g}"


def as_printed(claim: Claim, findings: Iterable = ()) -> str:
    """Whether the audit found the paper's own numbers behind ``claim`` consistent.

    :data:`AS_PRINTED_INCONSISTENT` when any finding naming the claim (same paper, its id in
    ``claims``) is inconsistent, :data:`AS_PRINTED_CONSISTENT` when findings name it and all are
    consistent, else :data:`AS_PRINTED_UNCHECKED`. Decidable without any run of ours.
    """
    named = [f for f in findings if getattr(f, "paper", None) == claim.paper and claim.id in getattr(f, "claims", ())]
    verdicts = {f.verdict for f in named}
    if audit.INCONSISTENT in verdicts:
        return AS_PRINTED_INCONSISTENT
    return AS_PRINTED_CONSISTENT if audit.CONSISTENT in verdicts else AS_PRINTED_UNCHECKED


def verdict(claim: Claim, findings: Iterable = ()) -> Verdict:
    """The claim's verdict, its reason and what stands beside it.

    Parameters
    ----------
    claim : Claim
    findings : iterable of :class:`mstl_lib.evaluation.audit.Finding`
        The audit's findings; an inconsistent one naming this claim (same paper, its id in
        ``claims``) adds :data:`ARITHMETIC_INCONSISTENT`.

    Rules, in order: a claim ``unavailable`` here, with no stored estimate, or whose evidence
    carries a flag of :data:`BLOCKING_FLAGS` cannot be checked here (a stand-in dataset
    blocks ``value`` claims too: another dataset's number says nothing about the paper's).
    Everything else is decided by :func:`mstl_lib.evaluation.replication.decide` at the
    claim's :attr:`Claim.fidelity`: a reduced run never gives *not reproduced*, a CI that
    includes the null is *inconclusive*, and a value claim needs equivalence within Δ.
    """
    findings = list(findings)
    flags = []
    if claim.protocol_flaws:
        flags.append(PROTOCOL_FLAW)
    if as_printed(claim, findings) == AS_PRINTED_INCONSISTENT:
        flags.append(ARITHMETIC_INCONSISTENT)
    flags = tuple(flags)
    if claim.unavailable:
        return Verdict(CANNOT_CHECK, claim.unavailable, flags)
    blocking = [f for f in claim.evidence_flags if f in BLOCKING_FLAGS or (f == STAND_IN and claim.kind == "value")]
    if NOT_RUN in blocking:
        return Verdict(CANNOT_CHECK, "no stored result" + (f" under profile {claim.profile}" if claim.profile else "")
                       + ": run the chapter first", flags)
    if not _finite(claim.ours):
        return Verdict(CANNOT_CHECK, claim.note or "our run gives no estimate of this quantity", flags)
    if blocking:
        named = [BLOCKING_REASONS.get(f, f) for f in blocking]
        reason = "our evidence comes from " + (", ".join(named[:-1]) + " and " if len(named) > 1 else "") + named[-1]
        return Verdict(CANNOT_CHECK, reason + (f"; {claim.note}" if claim.note else ""), flags)
    if claim.ci is None or not all(_finite(v) for v in claim.ci):
        return Verdict(CANNOT_CHECK, "our estimate has no confidence interval", flags)
    decided = replication.decide(claim.kind, claim.fidelity, claim.ours, claim.ci, paper_number=claim.paper_number,
                                 paper_se=claim.paper_se, margin=claim.margin, null=claim.null)
    return Verdict(decided.outcome, decided.reason, flags, decided.direction, decided.criteria)


# =========================================================================== links


def anchor(heading: str) -> str:
    """The HTML id Jupyter Book (docutils) gives a section titled ``heading``."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return re.sub(r"^[^a-z]+", "", text) or "section"


def evidence_link(notebook: str, heading: str | None = None) -> str:
    """Relative link, from one chapter page to another chapter's section (``03_multistage.html#...``)."""
    return f"{notebook}.html" + (f"#{anchor(heading)}" if heading else "")


AUDIT_LINK = evidence_link(audit.AUDIT_PAGE, "The inconsistencies")
"""Where the *as printed* column links: the audit page's list of inconsistencies."""


# =========================================================================== table and figure


def _ours_text(claim: Claim) -> str:
    if not _finite(claim.ours):
        return "—"
    text = _fmt(claim.ours)
    if claim.ci is not None:
        text += f" [{_fmt(claim.ci[0])}, {_fmt(claim.ci[1])}]"
    return text


def _margin_text(claim: Claim) -> str:
    if claim.margin is None:
        return ""
    symbol = "Δ = ±" if claim.kind == "value" else "δ = "
    return f"{symbol}{_fmt(claim.margin)}" + (f" ({claim.margin_reason})" if claim.margin_reason else "")


def _seeds_text(claim: Claim) -> str:
    if not _finite(claim.ours):
        return ""
    if claim.seeds == 1:
        return "one seed: the CI leaves out the spread that seeds and splits add"
    return f"{claim.seeds} seeds"


FRAME_COLUMNS = ["paper", "id", "claim", "paper's value", "deciding quantity", "ours (95 % CI)", "behind ours",
                 "fidelity", "margin", "verdict", "outcome", "direction", "reason", "criteria", "as printed", "seeds",
                 "flags", "protocol flaws", "evidence", "note"]


def scorecard_frame(claims: Sequence[Claim], findings: Iterable = ()) -> pd.DataFrame:
    """One row per claim: plain columns (for tests, counting and export).

    ``outcome`` is one of :data:`VERDICTS`; ``verdict`` adds its direction (``"not reproduced (lower)"``);
    ``fidelity`` is ``direct`` or ``reduced``; ``criteria`` the raw replication criteria; ``as printed``
    the audit's word on the paper's own numbers behind the claim.
    """
    findings = list(findings)
    rows = []
    for claim in claims:
        decided = verdict(claim, findings)
        rows.append({
            "paper": claim.paper, "id": claim.id, "claim": claim.statement, "paper's value": claim.paper_value,
            "deciding quantity": claim.quantity, "ours (95 % CI)": _ours_text(claim),
            "behind ours": "; ".join(p for p in (f"data: {claim.data}" if claim.data else "",
                                                 f"weights: {claim.weights}" if claim.weights else "",
                                                 f"profile: {claim.profile}" if claim.profile else "",
                                                 ", ".join(claim.evidence_flags)) if p),
            "fidelity": claim.fidelity, "margin": _margin_text(claim),
            "verdict": decided.label, "outcome": decided.verdict, "direction": decided.direction,
            "reason": decided.reason, "criteria": decided.criteria.text(), "as printed": as_printed(claim, findings),
            "seeds": _seeds_text(claim), "flags": ", ".join(decided.flags),
            "protocol flaws": "; ".join(claim.protocol_flaws), "evidence": claim.evidence, "note": claim.note,
        })
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def scorecard_numbers(claims: Sequence[Claim], findings: Iterable = (), frame: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """One row per claim with numbers as numbers: the paper's value, ours, our 95 % CI, seeds, the verdict.

    The verdict columns are :func:`scorecard_frame`'s (pass its ``frame`` when it is at hand), so the two
    tables cannot disagree.
    """
    frame = scorecard_frame(claims, findings) if frame is None else frame
    rows = []
    for claim in claims:
        low, high = claim.ci if claim.ci else (None, None)
        rows.append({"paper": claim.paper, "id": claim.id, "claim": claim.statement, "quantity": claim.quantity,
                     "paper value as printed": claim.paper_value, "paper value": claim.paper_number,
                     "null": claim.null, "ours": claim.ours, "ours ci low": low, "ours ci high": high,
                     "margin": claim.margin, "seeds": claim.seeds, "fidelity": claim.fidelity,
                     "data": claim.data, "weights": claim.weights, "profile": claim.profile})
    numbers = pd.DataFrame(rows)
    if list(frame["id"]) != list(numbers.get("id", [])):
        raise ValueError("scorecard_numbers: the frame is not of these claims (its ids differ)")
    for column in ("outcome", "direction", "verdict"):
        numbers[column] = frame[column].to_numpy()
    return numbers


def verdict_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Claims per paper and verdict (every verdict a column), from :func:`scorecard_frame`."""
    table = pd.crosstab(frame["paper"], frame["outcome"]) if len(frame) else pd.DataFrame()
    return table.reindex(columns=list(VERDICTS), fill_value=0)


def scorecard_html(frame: pd.DataFrame) -> str:
    """The scorecard as an HTML table (escaped text; the evidence column a link), for a notebook's output."""
    shown = ["paper", "claim", "paper's value", "deciding quantity", "ours (95 % CI)", "behind ours", "verdict",
             "as printed", "flags", "evidence"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in shown:
            value = str(row[column] or "")
            if column == "verdict":
                details = [row["reason"], row["criteria"], row["margin"], row["seeds"]]
                text = (f"<b>{html.escape(value)}</b>"
                        + "".join(f"<br><small>{html.escape(d)}</small>" for d in details if d))
            elif column == "behind ours":
                text = html.escape(value) + f"<br><small>fidelity: {html.escape(row['fidelity'])}</small>"
            elif column == "as printed":
                text = (f'<a href="{AUDIT_LINK}">{html.escape(value)}</a>' if value != AS_PRINTED_UNCHECKED
                        else html.escape(value))
            elif column == "flags":
                extra = f"<br><small>{html.escape(row['protocol flaws'])}</small>" if row["protocol flaws"] else ""
                text = html.escape(value) + extra
            elif column == "evidence":
                text = f'<a href="{html.escape(value, quote=True)}">evidence</a>' if value else ""
            elif column == "claim" and row["note"]:
                text = html.escape(value) + f"<br><small>{html.escape(row['note'])}</small>"
            else:
                text = html.escape(value)
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div style="overflow-x:auto"><table class="scorecard"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table></div>")


def scorecard_figure(claims: Sequence[Claim], findings: Iterable = (), columns: int = 2):
    """Per claim, the paper's value (red diamond) beside ours with its 95 % CI (black), titled with the verdict.

    ``greater`` / ``less`` claims show their ``null`` as a dotted line. Claims with neither
    a paper number nor an estimate of ours get an empty panel that says so.
    """
    findings = list(findings)
    claims = list(claims)
    if not claims:
        fig, ax = plt.subplots(figsize=(6, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no claims", ha="center", va="center")
        return finish(fig)
    rows = math.ceil(len(claims) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 1.15 * rows), squeeze=False)
    for ax, claim in zip(axes.flat, claims, strict=False):
        decided = verdict(claim, findings)
        points = []
        if _finite(claim.paper_number):
            ax.plot([claim.paper_number], [1], "D", color=OKABE_ITO["vermillion"], label="paper")
            points.append(claim.paper_number)
        if _finite(claim.ours):
            low, high = claim.ci if claim.ci is not None else (claim.ours, claim.ours)
            ax.errorbar([claim.ours], [0], xerr=[[claim.ours - low], [high - claim.ours]], fmt="o", color="black",
                        capsize=3)
            points += [low, high]
        if claim.kind != "value":
            ax.axvline(claim.null, color="grey", linestyle=":")
            points.append(claim.null)
        if points:
            span = max(points) - min(points) or abs(max(points)) or 1.0
            ax.set_xlim(min(points) - 0.15 * span, max(points) + 0.15 * span)
        else:
            ax.text(0.5, 0.5, "no number to plot", transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_ylim(-0.7, 1.7)
        ax.set_yticks([0, 1], ["ours", "paper"], fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        flags = f" [{', '.join(decided.flags)}]" if decided.flags else ""
        ax.set_title(f"{claim.paper} {claim.id}: {decided.label}{flags}", fontsize=8, loc="left")
    for ax in list(axes.flat)[len(claims):]:
        ax.axis("off")
    return finish(fig)


# =========================================================================== page text


def provenance_note(profile: str, store_root, frame: pd.DataFrame):
    """The page's provenance admonition: profile, results store, and what stands behind the rows."""
    from mstl_lib.report.banner import markdown  # noqa: PLC0415

    not_run = int((frame["behind ours"].str.contains(NOT_RUN, regex=False)).sum()) if len(frame) else 0
    direct = int((frame["fidelity"] == DIRECT).sum()) if len(frame) else 0
    lines = [f"- **Profile** read: `{profile}` (records the chapters stored under it; nothing is trained here)",
             f"- **Results store**: `{store_root}`",
             f"- **Claims**: {len(frame)}; {not_run} without a stored result (their chapter has not run under this "
             "profile)",
             f"- **Fidelity**: {direct} direct (the `full` profile on the paper's data with ImageNet weights), "
             f"{len(frame) - direct} reduced; a reduced run can support a claim but never refute it",
             "- Each row names the data, weights and profile behind our number, and flags synthetic data, stand-ins, "
             "random weights and degenerate models, none of which can decide a claim."]
    kind = "warning" if not_run else "note"
    return markdown("```{admonition} Provenance of the numbers on this page\n:class: " + kind + "\n\n"
                    + "\n".join(lines) + "\n```")


def closing_note(frame: pd.DataFrame, findings: Iterable = ()) -> str:
    """Verdict counts per paper (claims), and the audit's verdict counts per paper, as markdown."""
    findings = list(findings)
    if frame.empty:
        return "No paper declares a claim."
    lines = []
    counts = verdict_counts(frame)
    for paper, row in counts.iterrows():
        flagged = frame[(frame["paper"] == paper) & (frame["flags"] != "")]
        lines.append(f"- **{paper}**: {len(frame[frame['paper'] == paper])} claims: "
                     + ", ".join(f"{int(row[v])} {v}" for v in VERDICTS)
                     + (f"; {len(flagged)} flagged ({', '.join(sorted(set(', '.join(flagged['flags']).split(', '))))})"
                        if len(flagged) else ""))
    reasons = frame[frame["outcome"] == CANNOT_CHECK]["reason"].value_counts()
    inconsistent = frame[frame["as printed"] == AS_PRINTED_INCONSISTENT]
    text = "**Verdicts per paper.**\n\n" + "\n".join(lines)
    text += (f"\n\n**As printed**: the audit finds the paper's own numbers behind {len(inconsistent)} of "
             f"{len(frame)} claims inconsistent" + (": " + ", ".join(f"{r.paper} {r.id}" for r in
                                                                   inconsistent.itertuples()) if len(inconsistent)
                                                    else "") + ".")
    if len(reasons):
        text += ("\n\n**Why claims cannot be checked here**, by how often: "
                 + "; ".join(f"{reason} ({n})" for reason, n in reasons.items()) + ".")
    if findings:
        audit_counts = audit.verdict_counts(findings)
        text += ("\n\n**The audit of the papers' own numbers**: " + "; ".join(
            f"{paper}: " + ", ".join(f"{int(row[v])} {v}" for v in audit.VERDICTS)
            for paper, row in audit_counts.iterrows()) + " (every finding is on the audit page).")
    return text
