"""P3's claims for the scorecard (each needs P3's private data) and the audit notes beside its numbers."""

from __future__ import annotations

from mstl_lib import paper_values
from mstl_lib.evaluation.audit import audit_note_for
from mstl_lib.papers.p3_elastography import audit
from mstl_lib.report.scorecard import Claim, evidence_link


NOTEBOOK = "06_elastography"
SECTIONS = {"numbers": "P3's own numbers and arithmetic", "controls": "Controls: oracle, negative control and "
            "dose-response (nested patient-grouped CV)", "table1": "Table 1 under P3's protocol, beside P3's"}
"""The chapter's sections that hold each claim's evidence (their headings)."""
PRIVATE = ("P3's B-mode + strain images are private; this book's strain images are simulated, so no number here "
           "can reproduce or refute P3's")
LEAK = "P3 picks its freezing depth by trial and error without saying on which patients"


audit_note = audit_note_for(audit.findings, "P3")
"""The audit's inconsistent findings about P3's numbers at ``where``, as a note for the chapter."""


def paper_claims() -> list:
    """P3's claims with the paper's values; every one needs P3's private data."""

    t1 = paper_values.load("p3_table1")
    patient = t1[t1["level"] == "patient"].set_index(["input", "view", "model"])
    best = patient.loc[("BSE", "crop", "ensemble")]
    image = t1[(t1["level"] == "image") & (t1["input"] == "BSE") & (t1["view"] == "crop")
               & (t1["model"] == "ensemble")].iloc[0]
    link = evidence_link(NOTEBOOK, SECTIONS["table1"])
    flaws = (LEAK,)
    return [
        Claim("P3", audit.SENSITIVITY, "The B-SE ensemble (cropped) reaches 88.89 % sensitivity patient-wise",
              f"{best['sensitivity_mean']:.2f} ± {best['sensitivity_sd']:.2f} %", "patient-wise sensitivity (eq. 1)",
              paper_number=float(best["sensitivity_mean"]) / 100, unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.SPECIFICITY, "The B-SE ensemble (cropped) reaches 91.10 % specificity patient-wise",
              f"{best['specificity_mean']:.2f} ± {best['specificity_sd']:.2f} %", "patient-wise specificity (eq. 1)",
              paper_number=float(best["specificity_mean"]) / 100, unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.ENSEMBLE_BEST, "The feature ensemble beats AlexNet and ResNet-18 alone",
              f"accuracy {best['accuracy_mean']:.2f} vs {patient.loc[('BSE', 'crop', 'AlexNet'), 'accuracy_mean']:.2f}"
              f" / {patient.loc[('BSE', 'crop', 'ResNet18'), 'accuracy_mean']:.2f} %",
              "ensemble − best constituent, patient-wise accuracy", kind="greater", unavailable=PRIVATE,
              protocol_flaws=flaws, evidence=link),
        Claim("P3", audit.BSE_BEATS_B, "Stacking strain with B-mode beats B-mode alone",
              f"accuracy {best['accuracy_mean']:.2f} vs {patient.loc[('B', 'crop', 'ensemble'), 'accuracy_mean']:.2f} %",
              "B-SE − B ensemble, patient-wise accuracy", kind="greater", unavailable=PRIVATE, protocol_flaws=flaws,
              evidence=link),
        Claim("P3", audit.PATIENT_BEATS_IMAGE, "Patient-wise accuracy is ~3 % above image-wise",
              f"{best['accuracy_mean']:.2f} vs {image['accuracy_mean']:.2f} %", "patient − image accuracy",
              kind="greater", unavailable=PRIVATE, protocol_flaws=flaws, evidence=link),
        Claim("P3", audit.PPV_TESTS, "The ensemble's PPVs are significantly higher (Fig. 5 t-tests)",
              "p < 0.05 in every comparison", "paired patient-level test of the PPVs", kind="greater",
              unavailable=PRIVATE, evidence=evidence_link(NOTEBOOK, SECTIONS["numbers"])),
    ]


def claims(profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0, store=None) -> list:
    """P3's claims (:func:`paper_claims`). Each needs P3's private data, so none is filled in from our
    simulated-strain records; the chapter shows those as pipeline tests. Never trains."""
    return [claim.with_result(None, None, profile=profile, data="BUSI with simulated strain; DDTI B-mode")
            for claim in paper_claims()]
