"""The grids of P1's chapters, built from the run context's data and weights decisions.

Chapter 03 (:func:`build`, :func:`run_all`):

``stage1``       every (backbone, optimizer) trained on the cell patches;
``main``         stage 2, both arms, on Mendeley (P1's 100 + 100) when supplied, else on BUSI;
``image_level``  the best configuration on BUSI, image-level groups (the main grid's own tasks when it runs on BUSI);
``grouped``      the same with near-duplicate clusters grouped (a leakage-aware rerun);
``mt_small``     the best configuration on MT-Small, or its stand-in drawn from BUSI.

Stage 2 depends on stage 1: each MSTL configuration names its stage-1 record
(``stage1_key``), and the grid's context links its weights file. So
:func:`run_all` runs stage 1, then builds and runs the stage-2 grids.

Chapter 02 (:func:`engine_tour`) is the CTL subset of the main grid: same
experiment name, configurations, context and data, hence the same task keys,
so the two chapters share their records.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from mstl_lib import engine
from mstl_lib.data import phantoms, tables
from mstl_lib.data.sources import PHANTOM, DataSource, load_source
from mstl_lib.papers.p1_mstl import cell_patches, protocol, tasks
from mstl_lib.papers.p1_mstl.report.common import collect
from mstl_lib.papers.p1_mstl.settings import CHAPTER
from mstl_lib.paths import derived_dir

STAGE2_GRIDS = ("main", "image_level", "grouped", "mt_small")
"""The stage-2 grids of chapter 03, in the order :func:`run_all` runs them."""

CELL_PHANTOM_NOTE = ("phantom cell lines (mstl_lib.data.phantoms) stand in for P1's private HeLa / MCF-7 / NCI-H1299 "
                     "set; the real frames carry no per-line label")


# =========================================================================== data


@dataclass
class Plan:
    """Chapter 03's data decisions: the sources of every grid and the stage-1 patches."""

    settings: Mapping
    cells_train: DataSource
    cells_show: DataSource | None
    busi: DataSource
    mendeley: DataSource | None
    mt_small: DataSource
    patches: pd.DataFrame
    patches_index: str

    @property
    def ultrasound(self) -> DataSource:
        """What the main grid trains on: Mendeley when supplied, else BUSI."""
        return self.mendeley if self.mendeley is not None else self.busi



def cell_lines_source(run, settings: Mapping) -> DataSource:
    """Stage 1's cell lines: a supplied folder per cell line, else phantom lines written for this run."""

    def phantom_lines() -> DataSource:
        n, size = int(settings["cell_frames_per_line"]), int(settings["cell_frame_size"])
        folder = derived_dir(f"phantom_cell_lines-{n}x{size}-seed{run.seed}")
        if not all(len(list((folder / line).glob("*.png"))) == n for line in phantoms.CELL_LINES):
            phantoms.write_cell_phantoms(folder, n_frames_per_line=n, size=size, seed=run.seed)
        return DataSource("cells", "train", PHANTOM, str(folder), CELL_PHANTOM_NOTE)

    return run.source("cells", "train", usable=lambda table: table.attrs.get("layout") == "folders",
                      substitute=phantom_lines)


def ultrasound_sources(run) -> tuple[DataSource, DataSource | None]:
    """BUSI and Mendeley for training, as the run context decides them (Mendeley ``None`` when not supplied).

    Raises
    ------
    mstl_lib.data.DatasetNotFoundError
        No BUSI data (an explicit ``data_dir`` without ``busi/``).
    """
    busi = run.source("busi", "train")
    if busi is None:
        run.load("busi", "train")  # raises with the expected layout and the download page
    return busi, run.source("mendeley", "train")


def main_sample(mendeley: DataSource | None, settings: Mapping) -> dict:
    """``max_images`` and ``per_class`` of the main grid: P1's 100 + 100 of Mendeley, or a balanced BUSI sample.

    P1 balanced its classes, so the BUSI substitute is balanced too (``busi_per_class`` of each class).
    """
    if mendeley is not None:
        return {"max_images": None, "per_class": protocol.MENDELEY_PER_CLASS}
    return {"max_images": None, "per_class": settings["busi_per_class"]}


def plan(run) -> Plan:
    """Resolve every data source chapter 03 uses (once, through the run context) and write the stage-1 patches."""
    settings = run.settings_of(CHAPTER)
    busi, mendeley = ultrasound_sources(run)
    mt_small = run.mt_small_source(busi, n_per_class=protocol.MT_SMALL_PER_CLASS, size=protocol.MT_SMALL_STANDIN_SIZE)
    cells_train = cell_lines_source(run, settings)
    cells_show = run.source("cells", "show")
    folder = derived_dir(f"cell_patches-{cells_train.kind}-{run.profile.name}-seed{run.seed}")
    patches = cell_patches.write_patch_dataset(load_source(cells_train), folder, cell_patches.SegmentationParams(),
                                               settings["patches_per_line"], run.seed)
    return Plan(settings, cells_train, cells_show, busi, mendeley, mt_small, patches, str(folder / "patches.csv"))


# =========================================================================== grids


def _training(settings: Mapping) -> dict:
    return {key: settings[key] for key in ("image_size", "batch_size", "learning_rate", "decay_rate")}


def stage1_grid(run, chapter_plan: Plan) -> engine.Grid:
    """Stage 1: every (backbone, optimizer) of the profile on the cell patches, one split (fold 0).

    The control arm's stage 1 (shuffled labels) runs for the profile's ``control_optimizers``.
    """
    settings = chapter_plan.settings
    configs = [{"backbone": backbone, "optimizer": optimizer, **_training(settings),
                "epochs": settings["stage1_epochs"], "augment_copies": settings["stage1_augment_copies"],
                "split": list(settings["stage1_split"])}
               for backbone in settings["backbones"] for optimizer in settings["optimizers"]]
    configs += [{**config, "labels": "shuffled"} for config in configs  # the control arm's stage 1
                if config["optimizer"] in settings["control_optimizers"]]
    return run.grid(f"multistage_stage1-{run.profile.name}", configs, tasks.STAGE1_TASK, tasks.RECIPE_VERSION,
                    chapter_plan.patches, chapter_plan.cells_train, settings["backbones"], folds=[0],
                    unkeyed=tasks.STAGE1_UNKEYED, patches_index=chapter_plan.patches_index)


def stage2_config(arm: str, backbone: str, optimizer: str, settings: Mapping, links: Mapping) -> dict:
    """One stage-2 configuration; an MSTL (or control) one names its stage-1 record (``None`` when stage 1 has none)."""
    config = {"tl": arm, "backbone": backbone, "optimizer": optimizer, **_training(settings),
              "epochs": settings["epochs"], "augment_copies": settings["augment_copies"],
              "operating_point": settings["operating_point"]}
    if arm in protocol.STAGE1_LABELS:
        link = links.get(protocol.link_key(backbone, optimizer, protocol.STAGE1_LABELS[arm]))
        config["stage1_key"] = (link or {}).get("key")
    return config


def stage2_grid(run, settings: Mapping, stem: str, source: DataSource, *, optimizers=None, backbones=None, folds=None,
                arms=protocol.ARMS, grouping: str = "image", max_images: int | None = None,
                per_class: int | None = None, links: Mapping | None = None, keep_models=(),
                control: bool = False) -> engine.Grid:
    """A stage-2 grid named ``<stem>-<profile>`` on ``source``.

    The context always resolves the weights of every backbone of the profile,
    so that a grid restricted to some configurations or folds (the engine
    tour, the best-configuration reruns) has the same task keys as the full
    grid of the same name. ``control`` adds the shuffled-label arm for the
    profile's ``control_optimizers``.
    """
    links = dict(links or {})
    backbones = list(backbones or settings["backbones"])
    optimizers = list(optimizers or settings["optimizers"])
    folds = list(range(settings["folds_run"])) if folds is None else list(folds)
    table = tables.binary_table(source, grouping, max_images, run.seed, per_class=per_class)
    configs = [stage2_config(arm, backbone, optimizer, settings, links)
               for arm in arms for backbone in backbones for optimizer in optimizers]
    if control:
        configs += [stage2_config(protocol.CONTROL, backbone, optimizer, settings, links)
                    for backbone in backbones for optimizer in optimizers
                    if optimizer in settings["control_optimizers"]]
    if run.miniature:  # stage 1 ran its covering configurations only: keep the stage-2 ones it can feed
        configs = [c for c in configs if "stage1_key" not in c or c["stage1_key"]]
    return run.grid(f"{stem}-{run.profile.name}", configs, tasks.STAGE2_TASK, tasks.RECIPE_VERSION, table, source,
                    settings["backbones"], folds=folds, unkeyed=tasks.STAGE2_UNKEYED, grouping=grouping,
                    n_splits=settings["n_splits"], val_size=protocol.VAL_SIZE, max_images=max_images,
                    per_class=per_class, keep_models=[list(k) for k in keep_models], stage1=links)


def kept_models(settings: Mapping) -> list[list]:
    """The stage-2 networks saved for Fig. 6: the best configuration's, fold 0 (``[backbone, optimizer, fold]``)."""
    return [[settings["best_backbone"], settings["best_optimizer"], 0]]


def main_stem(chapter_plan: Plan) -> str:
    """The main grid's experiment stem: ``multistage_mendeley`` or ``multistage_busi``."""
    return f"multistage_{chapter_plan.ultrasound.dataset}"


def stage2_grids(run, chapter_plan: Plan, links: Mapping) -> dict[str, engine.Grid]:
    """The stage-2 grids of chapter 03 (:data:`STAGE2_GRIDS`) with the given stage-1 links."""
    settings = chapter_plan.settings
    best = {"backbones": [settings["best_backbone"]], "optimizers": [settings["best_optimizer"]],
            "folds": list(range(settings["rerun_folds"]))}
    keep = kept_models(settings)
    busi_sample = main_sample(None, settings)
    return {
        "main": stage2_grid(run, settings, main_stem(chapter_plan), chapter_plan.ultrasound, links=links,
                            keep_models=keep, control=True, **main_sample(chapter_plan.mendeley, settings)),
        # the main grid's own tasks when it runs on BUSI (same name, context and data)
        "image_level": stage2_grid(run, settings, "multistage_busi", chapter_plan.busi, links=links, keep_models=keep,
                                   **busi_sample, **best),
        "grouped": stage2_grid(run, settings, "multistage_busi_grouped", chapter_plan.busi, grouping="duplicates",
                               links=links, **busi_sample, **best),
        "mt_small": stage2_grid(run, settings, "multistage_mt_small", chapter_plan.mt_small, links=links,
                                max_images=settings["mt_small_max_images"], **best),
    }


def build(run, store=None, verbose: int = 0) -> dict[str, engine.Grid]:
    """Chapter 03's grids: ``stage1`` and :data:`STAGE2_GRIDS`, linked to the stage-1 records in ``store``.

    Before stage 1 has run, the MSTL configurations name no stage-1 record
    (``stage1_key`` is ``None``); :func:`run_all` builds them again after it.
    """
    chapter_plan = plan(run)
    first = stage1_grid(run, chapter_plan)
    links = tasks.stage1_links(engine.load_records(store, first))
    return {"stage1": first, **stage2_grids(run, chapter_plan, links)}


def engine_tour(run) -> engine.Grid:
    """Chapter 02's grid: the CTL arm of chapter 03's main grid, for the tour's optimizers and folds.

    Same experiment name, configurations, context and data fingerprint as the
    main grid, so every task has the main grid's key: whichever chapter runs
    first trains it, the other reads the record. ``run`` may be started with
    the ``first_grid`` settings or chapter 03's.
    """
    tour = run.settings
    settings = run.settings_of(CHAPTER)
    busi, mendeley = ultrasound_sources(run)
    source = mendeley if mendeley is not None else busi
    keep = kept_models(settings)
    return stage2_grid(run, settings, f"multistage_{source.dataset}", source, arms=("CTL",),
                       optimizers=tour.get("optimizers"), backbones=tour.get("backbones"),
                       folds=range(tour.get("folds_run", settings["folds_run"])), keep_models=keep,
                       **main_sample(mendeley, settings))


# =========================================================================== running


@dataclass
class ChapterRun:
    """What :func:`run_all` did, and the stored results chapter 03's pages read."""

    run: object
    store: engine.ResultsStore
    plan: Plan
    grids: dict[str, engine.Grid]
    runs: dict[str, engine.GridRun] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def settings(self) -> Mapping:
        return self.plan.settings

    def records(self, name: str) -> pd.DataFrame:
        """:func:`engine.records_frame` of grid ``name``."""
        return engine.records_frame(self.store, self.grids[name])

    def raw_records(self, name: str) -> list[dict]:
        """The stored records of grid ``name`` (dicts, in grid order)."""
        return engine.load_records(self.store, self.grids[name])

    def predictions(self, name: str) -> pd.DataFrame:
        return engine.predictions_frame(self.store, self.grids[name])

    def history(self, name: str) -> pd.DataFrame:
        return engine.history_frame(self.store, self.grids[name])

    def failures(self) -> pd.DataFrame:
        """Failed tasks of every grid, with a ``grid`` column."""
        parts = [engine.failures_frame(self.store, grid).assign(grid=name) for name, grid in self.grids.items()]
        return pd.concat(parts, ignore_index=True)

    def task_table(self, name: str) -> pd.DataFrame:
        """The rows the stage-2 grid ``name`` trains and tests on (as its tasks read them)."""
        context = self.grids[name].context
        return tables.binary_table(context["data_source"], context["grouping"], context["max_images"],
                                   int(context["seed"]), per_class=context["per_class"])

    @property
    def results(self) -> engine.ChapterResults:
        """Every grid's records read back as the one type all four reports read (:func:`report.collect`)."""
        return collect(self.store, self.grids)

    def summary(self) -> str:
        """One line per grid run."""
        return "\n".join(result.summary() for result in self.runs.values())


def stored(run, store=None) -> ChapterRun:
    """Chapter 03's grids and what the store holds for them, without running anything (for the scorecard)."""
    store = store if isinstance(store, engine.ResultsStore) else engine.ResultsStore(store)
    chapter_plan = plan(run)
    first = stage1_grid(run, chapter_plan)
    links = tasks.stage1_links(engine.load_records(store, first))
    return ChapterRun(run, store, chapter_plan, {"stage1": first, **stage2_grids(run, chapter_plan, links)})


def run_stage1(run, grid: engine.Grid, store, **kwargs) -> engine.GridRun:
    """:func:`engine.run_grid` for stage 1 (as ``run`` trims it), retraining finished tasks whose weights
    file is gone or changed."""
    grid = run.trimmed(grid)
    result = engine.run_grid(grid, store, **kwargs)
    stale = [r["config"] for r in engine.load_records(store, grid)
             if r["status"] == "done" and not tasks.stage1_file_present(r)]
    if stale:
        engine.run_grid(grid, store, select=lambda config: config in stale, force=True, **kwargs)
        result = engine.run_grid(grid, store, **kwargs)
    return result


def run_all(run, store=None, executor: str = "auto", scheduler=None, verbose: int = 0) -> ChapterRun:
    """Run chapter 03: stage 1, then the stage-2 grids linked to its records.

    Failed tasks are recorded and the chapter goes on; under the ``smoke``
    profile any failure raises :class:`engine.GridFailedError` (so ``make test``
    catches it).
    """
    started = time.perf_counter()
    store = store if isinstance(store, engine.ResultsStore) else engine.ResultsStore(store)
    options = {"executor": run.executor(executor), "scheduler": scheduler, "verbose": verbose}
    chapter_plan = plan(run)
    first = stage1_grid(run, chapter_plan)
    runs = {"stage1": run_stage1(run, first, store, **options)}
    grids = {"stage1": first, **stage2_grids(run, chapter_plan, tasks.stage1_links(engine.load_records(store, first)))}
    for name in STAGE2_GRIDS:
        runs[name] = run.run_grid(grids[name], store, **options)
    run.fail_in_smoke(*runs.values())
    return ChapterRun(run, store, chapter_plan, grids, runs, started)


def run_tour(run, store=None, executor: str = "auto", scheduler=None,
             verbose: int = 0) -> tuple[engine.Grid, engine.GridRun]:
    """Build and run chapter 02's grid (:func:`engine_tour`); under ``smoke`` a failure raises."""
    grid = engine_tour(run)
    result = run.run_grid(grid, store, executor=run.executor(executor), scheduler=scheduler, verbose=verbose)
    run.fail_in_smoke(result)
    return grid, result
