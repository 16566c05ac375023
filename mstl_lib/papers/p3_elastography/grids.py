"""Every grid of P3's chapter, built from the run context's decisions.

``p3-busi-p3-<profile>``
    P3's protocol (fixed test patients, CV over the rest) on BUSI with simulated
    strain: the settings' ``p3_arms`` (``input:view``) at the fitted class separation.
``p3-busi-nested-<profile>``
    The leakage-aware nested patient-grouped CV: the controls and the
    dose-response, every ``control_inputs`` input (crop view) at every
    separation of the settings (0 is the negative control), plus the B-mode arm
    and the ResNet-18 freezing-depth sensitivity arms (B-SE crop).
``p3-ddti-nested-<profile>``
    B-mode on real DDTI, case = patient, nested CV (full images).
"""

from __future__ import annotations

from mstl_lib import engine
from mstl_lib.data.phantoms.strain import STRAIN_GENERATOR_VERSION
from mstl_lib.nn import backbones
from mstl_lib.papers.p3_elastography import protocol, tasks

__all__ = ["TASK", "build", "grid_name", "run_all", "constituents"]

TASK = "mstl_lib.papers.p3_elastography.tasks:p3_arm"
"""The engine task of every P3 grid."""

_CONFIG_KEYS = ("image_size", "work_size", "epochs", "ensemble_epochs", "patience", "batch_size",
                "learning_rate", "resnet_freeze", "operating_point")


def grid_name(dataset: str, split: str, profile: str) -> str:
    """``p3-<dataset>-<split>-<profile>``."""
    return f"p3-{dataset}-{split}-{profile}"


def constituents(settings) -> dict[str, str]:
    """Constituent -> the registry backbone it runs on (a stand-in until the registry has it)."""
    return {name: protocol.constituent_backbone(name, backbones.BACKBONES) for name in settings["constituents"]}


def _arm(settings, input_name: str, view: str, separation: float) -> dict:
    return {"input": input_name, "view": view, "separation": float(separation),
            **{key: settings[key] for key in _CONFIG_KEYS}}


def _grid(run, source, split: str, configs, max_images, verbose: int) -> engine.Grid:
    settings = run.settings
    table = protocol.patient_table(source, max_images, run.seed)
    used = constituents(settings)
    extra = [protocol.COMPARISONS[name] for name in settings.get("comparisons", []) if split == "nested"
             and source.dataset == "busi"]
    return run.grid(grid_name(source.dataset, split, run.profile.name), configs, TASK, tasks.RECIPE_VERSION, table,
                    source, [*used.values(), *extra], dataset=source.dataset, protocol=split,
                    n_splits=settings["n_splits"], max_images=max_images, constituents=used,
                    strain_generator=STRAIN_GENERATOR_VERSION, verbose=verbose)


def build(run, store=None, verbose: int = 0) -> dict[str, engine.Grid]:
    """Every grid of the chapter under ``run``'s profile, by name (a dataset nothing serves has none).

    ``store`` is not read (every paper's ``build`` takes it; P1 links stage 2 to the stage-1 records in it).
    """
    settings = run.settings
    grids = {}
    busi = run.source("busi", "train")
    if busi is not None:
        arms = [entry.split(":") for entry in settings["p3_arms"]]
        configs = [_arm(settings, input_name, view, 1.0) for input_name, view in arms]
        grid = _grid(run, busi, "p3", configs, settings["max_images"], verbose)
        grids[grid.name] = grid
        controls = [_arm(settings, "B", "crop", 1.0)]
        controls += [_arm(settings, input_name, "crop", s) for input_name in settings["control_inputs"]
                     for s in settings["separations"]]
        controls += [{**_arm(settings, "BSE", "crop", 1.0), "resnet_freeze": depth}
                     for depth in settings["freeze_sensitivity"]]
        controls += [{**_arm(settings, "B", "full", 1.0), "masked": masked}
                     for masked in settings.get("masking_arms", [])]
        controls += [{**_arm(settings, "BSE", "crop", 1.0), "comparison": name}
                     for name in settings.get("comparisons", [])]
        grid = _grid(run, busi, "nested", controls, settings["max_images"], verbose)
        grids[grid.name] = grid
    ddti = run.source("ddti", "train") if settings["ddti"] else None
    if ddti is not None:
        grid = _grid(run, ddti, "nested", [_arm(settings, "B", "full", 1.0)], settings["ddti_max_images"], verbose)
        grids[grid.name] = grid
    return grids


def run_all(run, store=None, executor: str = "auto", scheduler=None, verbose: int = 0,
            grids: dict[str, engine.Grid] | None = None) -> dict[str, engine.GridRun]:
    """Run every grid of the chapter (``grids``, default :func:`build` ``(run)``); finished tasks are reused.

    Under ``smoke`` a failed task raises (so that the tests fail); otherwise failures are recorded.
    """
    grids = build(run, store, verbose) if grids is None else grids
    return run.run_grids(grids, store, executor=executor, scheduler=scheduler, verbose=verbose)
