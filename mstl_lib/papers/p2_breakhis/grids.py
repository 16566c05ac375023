"""Every grid of P2's chapter, built from the run context's decisions.

What trains depends on what the data folder holds. With the full BreakHis
release, the arms of ``real_arms`` run on it (and, in ``full``, the
sensitivity arms). Without it (the 12-image sample counts as without), the
arms of ``phantom_arms`` run on the histology phantom, once per patient-effect
strength of the settings. Arm A has one split (fold 0); the grouped arms run
``folds_run`` folds. Grid names: ``p2-<data>-<arms>-<profile>``, with
``<data>`` = ``real`` or ``phantom<effect>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mstl_lib import engine
from mstl_lib.context import DatasetUse
from mstl_lib.data.phantoms.histology import write_histology_phantoms
from mstl_lib.data.sources import PHANTOM, DataSource
from mstl_lib.engine.provenance import fingerprint_table
from mstl_lib.papers.p2_breakhis import protocol, tasks
from mstl_lib.paths import derived_dir

__all__ = ["TASK", "Sources", "build", "grid_name", "parse_sensitivity", "phantom_source", "run_all", "sources"]

TASK = "mstl_lib.papers.p2_breakhis.tasks:train_arm"
"""The engine task of every P2 grid."""

CONFIG_KEYS = ("image_shape", "base", "pooling", "loss", "scaling", "epochs", "steps_per_epoch", "batch_size",
               "learning_rate")


@dataclass
class Sources:
    """What the chapter trains on: the real release (or ``None``) and a phantom per patient-effect strength."""

    real: DataSource | None
    sample: pd.DataFrame | None
    phantoms: dict[float, DataSource]


def grid_name(data: str, arms: str, profile: str) -> str:
    """``p2-<data>-<arms>-<profile>``."""
    return f"p2-{data}-{arms}-{profile}"


def parse_sensitivity(entry: str) -> tuple[str, str]:
    """``"base=frozen"`` -> ``("base", "frozen")``: one setting changed in a sensitivity arm."""
    key, sep, value = str(entry).partition("=")
    if not sep or key not in ("base", "pooling", "loss", "scaling"):
        raise ValueError(f"a sensitivity arm is '<base|pooling|loss|scaling>=<value>'; got {entry!r}")
    return key, value


def phantom_source(run, patient_effect: float) -> DataSource:
    """The histology phantom at ``patient_effect`` (written on first use), registered in the run's banner."""
    scale = run.settings["phantom_scale"]
    folder = derived_dir(f"histology_phantom-{scale}-effect{patient_effect:g}-seed{run.seed}")
    root = write_histology_phantoms(folder, patient_effect, seed=run.seed, scale=scale)
    note = (f"histology phantoms (mstl_lib.data.phantoms.histology), patient effect {patient_effect:g}; "
            "not BreakHis")
    source = DataSource("breakhis", "train", PHANTOM, str(root), note)
    n_images = sum(1 for _ in root.rglob("*.png"))
    run.uses[(f"breakhis phantom {patient_effect:g}", "train")] = DatasetUse(
        f"breakhis (phantom, patient effect {patient_effect:g})", "train", PHANTOM, str(root), n_images, note)
    return source


def sources(run) -> Sources:
    """Decide, once, what the chapter trains on (see the module docstring)."""
    sample = run.try_load("breakhis", "show")
    real = None
    if sample is not None and protocol.full_release(sample):
        real = run.source("breakhis", "train")
    phantoms = {} if real is not None else {float(s): phantom_source(run, float(s))
                                           for s in run.settings["patient_effects"]}
    return Sources(real, sample, phantoms)


def _context(run, source: DataSource, verbose: int, **extra) -> dict:
    settings = run.settings
    return run.task_context(source, [tasks.BACKBONE], n_splits=settings["n_splits"],
                            patient_definition=settings["patient_definition"],
                            per_patient_magnification=settings["per_patient_magnification"],
                            min_train=dict(settings["min_train"]), verbose=verbose, **extra)


def _grids_for(run, source: DataSource, data: str, arms, verbose: int, overrides: dict | None = None,
               label: str = "", **extra) -> dict[str, engine.Grid]:
    settings = run.settings
    table = protocol.task_table(source, settings["patient_definition"], settings["per_patient_magnification"],
                                run.seed)
    base_config = {key: (list(settings[key]) if key == "image_shape" else settings[key]) for key in CONFIG_KEYS}
    base_config.update(overrides or {})
    fingerprint = fingerprint_table(table, label_column="label")
    context = _context(run, source, verbose, data=data, **extra)
    out = {}
    for name, chosen, folds in (("A", [a for a in arms if a == "A"], [0]),
                                ("grouped", [a for a in arms if a != "A"], list(range(settings["folds_run"])))):
        if not chosen:
            continue
        grid = engine.Grid(name=grid_name(data, name + label, run.profile.name),
                           configs=[{"arm": arm, **base_config} for arm in chosen], folds=folds, task=TASK,
                           code_version=tasks.RECIPE_VERSION, data_fingerprint=fingerprint, context=context)
        out[grid.name] = grid
    return out


def build(run, store=None, verbose: int = 0, chosen: Sources | None = None) -> dict[str, engine.Grid]:
    """Every grid of the chapter under ``run``'s profile, by name (``chosen``: :func:`sources` already decided).

    ``store`` is not read (every paper's ``build`` takes it; P1 links stage 2 to the stage-1 records in it).
    """
    chosen = sources(run) if chosen is None else chosen
    grids = {}
    if chosen.real is not None:
        grids.update(_grids_for(run, chosen.real, "real", run.settings["real_arms"], verbose))
        for entry in run.settings["sensitivity"]:
            key, value = parse_sensitivity(entry)
            grids.update(_grids_for(run, chosen.real, "real", ["A", "B"], verbose, {key: value},
                                    label=f"-{key}{value}", sensitivity=entry))
    for effect, source in chosen.phantoms.items():
        grids.update(_grids_for(run, source, f"phantom{effect:g}", run.settings["phantom_arms"], verbose,
                                patient_effect=effect))
    return grids


def run_all(run, store=None, executor: str = "auto", scheduler=None, verbose: int = 0,
            grids: dict[str, engine.Grid] | None = None) -> dict[str, engine.GridRun]:
    """Run every grid of the chapter (``grids``, default :func:`build` ``(run)``); finished tasks are reused.

    Under ``smoke`` a failed task raises :class:`mstl_lib.engine.GridFailedError`.
    """
    grids = build(run, store, verbose) if grids is None else grids
    return run.run_grids(grids, store, executor=executor, scheduler=scheduler, verbose=verbose)
