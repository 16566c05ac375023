"""What P3's chapter reads back: the metrics of each arm, the records, histories and predictions of its grids,
and failures.
"""

from __future__ import annotations

from mstl_lib import engine
from mstl_lib.papers.p3_elastography import protocol
from mstl_lib.report.banner import markdown


P3_METRICS = ("accuracy", "precision", "specificity", "sensitivity", "f1")
"""The five metrics of P3's Tables 1 and 2."""

METRICS_READ = tuple(f"{model}_{level}_{metric}" for model in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES)
                     for level in ("image", "patient") for metric in P3_METRICS) + tuple(
    f"{model}_image_degenerate" for model in (*protocol.CONSTITUENTS, *protocol.ENSEMBLES))
"""The task metrics this module reads (every task returns them; ``oracle_*`` only with a strain channel)."""

def metrics_read(config: dict) -> tuple[str, ...]:
    """The metrics this module reads from one ``p3_arm`` record: :data:`METRICS_READ`, or for a Table 2
    comparison arm (``config["comparison"]``) that model's own."""
    name = config.get("comparison")
    if not name:
        return METRICS_READ
    return tuple(f"{name}_{level}_{metric}" for level in ("image", "patient") for metric in P3_METRICS) + (
        f"{name}_image_degenerate",)


METRICS_BY_TASK = {"mstl_lib.papers.p3_elastography.tasks:p3_arm": metrics_read}
"""The metrics this module reads from each task's records (the contract every paper declares); a callable
gives them per record, from its configuration."""

SIMULATION_BANNER = (
    "**Simulated strain.** P3's B-mode + strain images are private. The strain images on this page are "
    "simulated from real BUSI B-mode images and lesion masks, with a stiffness ratio drawn per pseudo-patient "
    "from distributions fitted to P3's supplementary strain ratios. These numbers test the pipeline and "
    "how much of an injected signal each model recovers. They are **not** estimates of P3's performance.")
"""Shown at the top of the chapter and beside every simulated-strain table."""

MODEL_ORDER = (*protocol.CONSTITUENTS, "ensemble", "voting", "oracle", *protocol.COMPARISONS)


# ----------------------------------------------------------------- records


Results = engine.ChapterResults
"""The chapter's stored records, read back once: ``records`` (config, metrics, ``dataset``, ``protocol``),
``raw``, ``predictions`` (per-test-image ``score_<model>``, ``patient``, ``ratio``) and ``failures``."""


def collect(store, grids) -> Results:
    """Read every grid's records from ``store`` into one :class:`Results`."""
    return engine.collect(store, grids, lambda grid: {"dataset": grid.context.get("dataset"),
                                                      "protocol": grid.context.get("protocol")})


def failures_table(results: Results):
    """The failed tasks, or a sentence saying none failed."""
    if results.failures.empty:
        return markdown("No task failed.")
    columns = ["dataset", "protocol", "input", "view", "separation", "fold", "error_type", "error_message"]
    return results.failures[[c for c in columns if c in results.failures.columns]]

