"""Every grid of P4's chapter, built from the run context's decisions.

One grid per dataset with P4's image-level folds (every backbone and strategy
of the profile), and one per grouped protocol of the settings (``"ddti:case"``:
DDTI with folds that keep a case on one side) at the profile's grouping
backbones and strategies. Each grid names its dataset, grouping and profile:
``p4-<dataset>-<grouping>-<profile>``.
"""

from __future__ import annotations

import pandas as pd

from mstl_lib import engine
from mstl_lib.data.sources import DataSource
from mstl_lib.papers.p4_finetuning import protocol, tasks

__all__ = ["TASK", "build", "grid_name", "protocols", "run_all", "train_tables"]

TASK = "mstl_lib.papers.p4_finetuning.tasks:finetune_svm"
"""The engine task of every P4 grid."""


def grid_name(dataset: str, grouping: str, profile: str) -> str:
    """``p4-<dataset>-<grouping>-<profile>``."""
    return f"p4-{dataset}-{grouping}-{profile}"


def protocols(settings) -> list[tuple[str, str, list[str], list[int]]]:
    """``(dataset, grouping, backbones, strategies)`` of each grid the settings ask for, in order."""
    out = [(name, "none", list(settings["backbones"]), list(settings["strategies"]))
           for name in settings["datasets"]]
    for entry in settings["grouped_protocols"]:
        name, grouping = protocol.parse_protocol(entry)
        out.append((name, grouping, list(settings["grouping_backbones"]), list(settings["grouping_strategies"])))
    return out


def train_tables(run) -> dict[str, pd.DataFrame]:
    """Benign-vs-malignant rows of each dataset of the chapter that something serves (all images)."""
    out = {}
    for name in run.settings["datasets"]:
        source = run.source(name, "train")
        if source is not None:
            out[name] = protocol.task_table(source, "none", None, run.seed)
    return out


def _grid(run, source: DataSource, grouping: str, backbones, strategies, verbose: int) -> engine.Grid:
    settings = run.settings
    table = protocol.task_table(source, grouping, settings["max_images"], run.seed)
    configs = [{"backbone": backbone, "trainable_pct": int(pct), "image_size": settings["image_size"],
                "epochs": settings["epochs"], "batch_size": settings["batch_size"],
                "learning_rate": settings["learning_rate"], "class_weight": settings["class_weight"],
                "operating_point": settings["operating_point"]}
               for backbone in backbones for pct in strategies]
    return run.grid(grid_name(source.dataset, grouping, run.profile.name), configs, TASK, tasks.RECIPE_VERSION, table,
                    source, backbones, dataset=source.dataset, grouping=grouping, n_splits=settings["n_splits"],
                    max_images=settings["max_images"], svm_cv=settings["svm_cv"], verbose=verbose)


def build(run, store=None, verbose: int = 0) -> dict[str, engine.Grid]:
    """Every grid of the chapter under ``run``'s profile, by name.

    The run context decides what serves each dataset (``run.source(name, "train")``)
    and resolves the weights of every backbone; a dataset nothing serves (Mendeley
    without the user's copy) has no grid, and the banner lists it as missing.

    ``store`` is not read (every paper's ``build`` takes it; P1 links stage 2 to the stage-1 records in it).
    """
    grids = {}
    for name, grouping, backbones, strategies in protocols(run.settings):
        source = run.source(name, "train")
        if source is None:
            continue
        grid = _grid(run, source, grouping, backbones, strategies, verbose)
        grids[grid.name] = grid
    return grids


def run_all(run, store=None, executor: str = "auto", scheduler=None, verbose: int = 0,
            grids: dict[str, engine.Grid] | None = None) -> dict[str, engine.GridRun]:
    """Run every grid of the chapter (``grids``, default :func:`build` ``(run)``); finished tasks are reused.

    Under the ``smoke`` profile a failed task raises :class:`mstl_lib.engine.GridFailedError`
    (so that the tests fail); otherwise failures are recorded and shown by the chapter.

    Returns
    -------
    dict of str to GridRun, by grid name
    """
    grids = build(run, store, verbose) if grids is None else grids
    return run.run_grids(grids, store, executor=executor, scheduler=scheduler, verbose=verbose)
