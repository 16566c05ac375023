"""The scorecard: every claim of every paper, the paper's value beside ours, and one verdict.

Claims are data (:class:`Claim`); each paper's ``report.claims(...)`` builds its
own from its stored records (see :mod:`mstl_lib.papers`). This module never
imports a paper. :func:`verdict` decides, :func:`scorecard_table` and
:func:`scorecard_figure` show.

The verdict is exactly one of :data:`REPRODUCED`, :data:`NOT_REPRODUCED` and
:data:`CANNOT_CHECK` (with its reason); beside it stand the flags
:data:`PROTOCOL_FLAW` (the paper's protocol leaks or reuses its test set) and
:data:`ARITHMETIC_INCONSISTENT` (the audit found the paper's own numbers behind
the claim inconsistent).
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

from mstl_lib.report.figures import finish

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
CANNOT_CHECK = "cannot be checked here"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, CANNOT_CHECK)

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

KINDS = ("value", "greater", "less")
"""How a claim is decided: ``value``: the paper's number lies in our 95 % CI; ``greater`` / ``less``:
our CI of the deciding quantity lies wholly above / below ``null`` (a direction, a ranking, a significance)."""


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


@dataclass(frozen=True)
class Verdict:
    """:func:`verdict`'s answer: one of :data:`VERDICTS`, its reason, and the flags beside it."""

    verdict: str
    reason: str
    flags: tuple[str, ...] = ()


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)


def _fmt(value: float, digits: int = 3) -> str:
    if not _finite(value):
        return "n/a"
    return f"{0.0 if abs(value) < 1e-9 else value:.{digits}g}"


def verdict(claim: Claim, findings: Iterable = ()) -> Verdict:
    """The claim's verdict, its reason and its flags.

    Parameters
    ----------
    claim : Claim
    findings : iterable of :class:`mstl_lib.evaluation.audit.Finding`
        The audit's findings; an inconsistent one naming this claim (same paper, its id in
        ``claims``) adds :data:`ARITHMETIC_INCONSISTENT`.

    Rules, in order: a claim ``unavailable`` here, with no stored estimate, or whose evidence
    carries a flag of :data:`BLOCKING_FLAGS` cannot be checked here (a stand-in dataset
    blocks ``value`` claims too: another dataset's number says nothing about the paper's);
    a ``value`` claim is reproduced when the paper's number lies inside our 95 % CI;
    a ``greater`` (``less``) claim when our CI lies wholly above (below) ``null``.
    Anything else is not reproduced, and the reason says where the CI lies.
    """
    flags = []
    if claim.protocol_flaws:
        flags.append(PROTOCOL_FLAW)
    if any(getattr(f, "verdict", None) == "inconsistent" and getattr(f, "paper", None) == claim.paper
           and claim.id in getattr(f, "claims", ()) for f in findings):
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
    low, high = claim.ci
    ci = f"[{_fmt(low)}, {_fmt(high)}]"
    if claim.kind == "value":
        if low <= claim.paper_number <= high:
            return Verdict(REPRODUCED, f"the paper's {_fmt(claim.paper_number)} lies in our 95 % CI {ci}", flags)
        side = "above" if claim.paper_number > high else "below"
        return Verdict(NOT_REPRODUCED, f"the paper's {_fmt(claim.paper_number)} lies {side} our 95 % CI {ci}", flags)
    if claim.kind == "greater":
        if low > claim.null:
            return Verdict(REPRODUCED, f"our 95 % CI {ci} lies above {_fmt(claim.null)}", flags)
        where = "lies below" if high < claim.null else "includes"
        return Verdict(NOT_REPRODUCED, f"our 95 % CI {ci} {where} {_fmt(claim.null)}", flags)
    if high < claim.null:
        return Verdict(REPRODUCED, f"our 95 % CI {ci} lies below {_fmt(claim.null)}", flags)
    where = "lies above" if low > claim.null else "includes"
    return Verdict(NOT_REPRODUCED, f"our 95 % CI {ci} {where} {_fmt(claim.null)}", flags)


# =========================================================================== links


def anchor(heading: str) -> str:
    """The HTML id Jupyter Book (docutils) gives a section titled ``heading``."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return re.sub(r"^[^a-z]+", "", text) or "section"


def evidence_link(notebook: str, heading: str | None = None) -> str:
    """Relative link, from one chapter page to another chapter's section (``03_multistage.html#...``)."""
    return f"{notebook}.html" + (f"#{anchor(heading)}" if heading else "")


# =========================================================================== table and figure


def _ours_text(claim: Claim) -> str:
    if not _finite(claim.ours):
        return "—"
    text = _fmt(claim.ours)
    if claim.ci is not None:
        text += f" [{_fmt(claim.ci[0])}, {_fmt(claim.ci[1])}]"
    return text


def scorecard_frame(claims: Sequence[Claim], findings: Iterable = ()) -> pd.DataFrame:
    """One row per claim: plain columns (for tests and counting), including ``verdict``, ``reason`` and ``flags``."""
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
            "verdict": decided.verdict, "reason": decided.reason, "flags": ", ".join(decided.flags),
            "protocol flaws": "; ".join(claim.protocol_flaws), "evidence": claim.evidence, "note": claim.note,
        })
    columns = ["paper", "id", "claim", "paper's value", "deciding quantity", "ours (95 % CI)", "behind ours",
               "verdict", "reason", "flags", "protocol flaws", "evidence", "note"]
    return pd.DataFrame(rows, columns=columns)


def verdict_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Claims per paper and verdict (every verdict a column), from :func:`scorecard_frame`."""
    table = pd.crosstab(frame["paper"], frame["verdict"]) if len(frame) else pd.DataFrame()
    return table.reindex(columns=list(VERDICTS), fill_value=0)


def scorecard_html(frame: pd.DataFrame) -> str:
    """The scorecard as an HTML table (escaped text; the evidence column a link), for a notebook's output."""
    shown = ["paper", "claim", "paper's value", "deciding quantity", "ours (95 % CI)", "behind ours", "verdict",
             "flags", "evidence"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in shown:
            value = str(row[column] or "")
            if column == "verdict":
                text = f"<b>{html.escape(value)}</b>" + (f"<br><small>{html.escape(row['reason'])}</small>"
                                                          if row["reason"] else "")
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
            ax.plot([claim.paper_number], [1], "D", color="tab:red", label="paper")
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
            ax.text(0.5, 0.5, "no number to plot", transform=ax.transAxes, ha="center", va="center", fontsize=7)
        ax.set_ylim(-0.7, 1.7)
        ax.set_yticks([0, 1], ["ours", "paper"], fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        flags = f" [{', '.join(decided.flags)}]" if decided.flags else ""
        ax.set_title(f"{claim.paper} {claim.id}: {decided.verdict}{flags}", fontsize=7, loc="left")
    for ax in list(axes.flat)[len(claims):]:
        ax.axis("off")
    return finish(fig)


# =========================================================================== page text


def provenance_note(profile: str, store_root, frame: pd.DataFrame):
    """The page's provenance admonition: profile, results store, and what stands behind the rows."""
    from mstl_lib.report.banner import markdown  # noqa: PLC0415

    not_run = int((frame["behind ours"].str.contains(NOT_RUN, regex=False)).sum()) if len(frame) else 0
    lines = [f"- **Profile** read: `{profile}` (records the chapters stored under it; nothing is trained here)",
             f"- **Results store**: `{store_root}`",
             f"- **Claims**: {len(frame)}; {not_run} without a stored result (their chapter has not run under this "
             "profile)",
             "- Each row names the data, weights and profile behind our number, and flags synthetic data, stand-ins, "
             "random weights and degenerate models, none of which can decide a claim."]
    kind = "warning" if not_run else "note"
    return markdown("```{admonition} Provenance of the numbers on this page\n:class: " + kind + "\n\n"
                    + "\n".join(lines) + "\n```")


def closing_note(frame: pd.DataFrame, findings: Iterable = ()) -> str:
    """Verdict counts per paper (claims), and the audit's verdict counts per paper, as markdown."""
    from mstl_lib.evaluation import audit  # noqa: PLC0415

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
    reasons = frame[frame["verdict"] == CANNOT_CHECK]["reason"].value_counts()
    text = "**Verdicts per paper.**\n\n" + "\n".join(lines)
    if len(reasons):
        text += ("\n\n**Why claims cannot be checked here**, by how often: "
                 + "; ".join(f"{reason} ({n})" for reason, n in reasons.items()) + ".")
    if findings:
        audit_counts = audit.verdict_counts(findings)
        text += ("\n\n**The audit of the papers' own numbers**: " + "; ".join(
            f"{paper}: " + ", ".join(f"{int(row[v])} {v}" for v in audit.VERDICTS)
            for paper, row in audit_counts.iterrows()) + " (every finding is on the audit page).")
    return text
