"""A notebook's run context: it decides once what every task receives.

Every chapter starts with :func:`start_run` and shows :meth:`RunContext.banner`,
so each page states which profile, data and weights produced its numbers. The
context decides

* for each dataset and each use (``"train"``, ``"show"``), whether the real
  data, a stand-in or the phantom generator serves it (:meth:`RunContext.source`);
* for each backbone, which initial weights the run uses
  (:meth:`RunContext.weights_for`): ImageNet, a named file with its SHA-256, or
  random initialisation;

and hands each grid one JSON context (:meth:`RunContext.task_context`). Tasks
receive those decisions and never look the data folder or the weights up again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from mstl_lib import __version__, data
from mstl_lib.data import phantoms
from mstl_lib.data.sources import MISSING, PHANTOM, REAL, STANDIN, DataSource, load_source
from mstl_lib.engine import progress
from mstl_lib.paths import derived_dir, phantom_data_dir
from mstl_lib.profiles import ChapterSettings, Profile, chapter, get_profile

__all__ = ["MISSING", "PHANTOM", "REAL", "STANDIN", "DataSource", "ParameterError", "RunContext", "start_run"]


class ParameterError(ValueError):
    """A notebook parameter that cannot be used; the message names the parameter and its value.

    In a notebook (and so under papermill) it shows as one line, not a traceback.
    """

    def __init__(self, name: str, value, reason: str):
        super().__init__(f"parameter {name}={value!r}: {reason}")
        self.name, self.value = name, value

    def _render_traceback_(self) -> list[str]:  # IPython renders an error with this, when defined
        return [f"{type(self).__name__}: {self}"]

Substitute = Callable[[], "DataSource | None"]
"""Builds a stand-in or phantom source when the real dataset is absent or unusable."""


@dataclass
class DatasetUse:
    """How one dataset served one use in this run (a row of the banner's table)."""

    name: str
    use: str
    kind: str
    root: str | None
    n_images: int = 0
    note: str = ""


@dataclass
class RunContext:
    """What a notebook runs with: profile, seed, and the data and weights decisions."""

    chapter: ChapterSettings
    profile: Profile
    seed: int
    data_dir_request: str
    data_root: Path | None
    data_root_reason: str
    weights_request: object
    uses: dict[tuple[str, str], DatasetUse] = field(default_factory=dict)
    sources: dict[tuple[str, str], DataSource] = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    """Resolved :class:`mstl_lib.nn.weights.WeightsInfo` by backbone."""
    _miniature_seen: set = field(default_factory=set, repr=False)
    miniature: bool = False
    """``full`` in miniature (:meth:`mstl_lib.profiles.ChapterSettings.miniature`): the papers' recipes
    for a step or two on a few images, one fold, every distinct recipe once (:func:`mstl_lib.engine.covering`)."""

    @property
    def settings(self):
        """The chapter's settings under this profile (in miniature, when :attr:`miniature`)."""
        return self.settings_of(self.chapter)

    def settings_of(self, chapter_settings: ChapterSettings):
        """Another chapter's settings as this run takes them: under its profile, in miniature when it is."""
        return chapter_settings.miniature() if self.miniature else chapter_settings.settings(self.profile.name)

    @property
    def synthetic_uses(self) -> list[DatasetUse]:
        """The datasets (and uses) served by phantoms or stand-ins."""
        return [use for use in self.uses.values() if use.kind in (PHANTOM, STANDIN)]

    # ------------------------------------------------------------------ data

    def phantom_root(self) -> Path:
        """The synthetic data folder of this profile (written on first use)."""
        out = phantom_data_dir(self.profile.phantom_scale, self.seed)
        return phantoms.write_phantom_data_dir(out, seed=self.seed, scale=self.profile.phantom_scale)

    def source(self, name: str, use: str = "train", *, usable: Callable[[pd.DataFrame], bool] | None = None,
               substitute: Substitute | None = None, note: str = "") -> DataSource | None:
        """Decide, once, what serves dataset ``name`` for ``use``; ``None`` when nothing does.

        Parameters
        ----------
        name : str
            A dataset of :data:`mstl_lib.data.DATASETS`.
        use : {"train", "show"}
        usable : callable, optional
            ``usable(real_table) -> bool``: whether the real data can serve this
            use (the real cell frames can be shown, but carry no cell-line label
            to train on).
        substitute : callable, optional
            Builds the :class:`DataSource` to use when the real data are absent
            or unusable (a stand-in, or a phantom made for this use). Without
            one, ``data_dir="auto"`` falls back to the phantom data folder.
        note : str
            Shown in the banner when the real data serve.
        """
        key = (data.get_info(name).name, use)
        if key in self.sources:
            return self.sources[key]
        chosen = None
        real = self._real_source(key[0], use, note)
        table = None if real is None else load_source(real)  # read once: checked here, counted below
        if real is not None and (usable is None or usable(table)):
            chosen = real
        elif substitute is not None:
            chosen = substitute()
        elif self.data_dir_request == "auto" and key[0] in phantoms.PHANTOM_DATASETS:
            chosen = DataSource(key[0], use, PHANTOM, str(data.dataset_root(self.phantom_root(), key[0])),
                                "synthetic phantoms from mstl_lib.data.phantoms; not the real dataset")
        if chosen is None:
            self.uses[key] = DatasetUse(key[0], use, MISSING, None, 0, "not found")
            return None
        self.sources[key] = chosen
        n_images = len(table if chosen is real else load_source(chosen))
        self.uses[key] = DatasetUse(chosen.dataset, use, chosen.kind, chosen.root, n_images, chosen.note)
        return chosen

    def _real_source(self, name: str, use: str, note: str) -> DataSource | None:
        if self.data_root is None:
            return None
        try:
            root = data.dataset_root(self.data_root, name)
        except data.DatasetNotFoundError:
            return None
        return DataSource(name, use, REAL, str(root), note)

    def try_load(self, name: str, use: str = "show", **kwargs) -> pd.DataFrame | None:
        """The table of :meth:`source` ``(name, use)``, or ``None`` when nothing serves it."""
        source = self.source(name, use)
        if source is None:
            return None
        table = load_source(source, **kwargs)
        self.uses[(source.dataset, use)].n_images = len(table)  # what the page shows, with its loader options
        return table

    def load(self, name: str, use: str = "show", **kwargs) -> pd.DataFrame:
        """Like :meth:`try_load`, but a missing dataset raises.

        Raises
        ------
        data.DatasetNotFoundError
            The message shows the expected layout, the download page and the citation.
        """
        table = self.try_load(name, use, **kwargs)
        if table is None:
            data.dataset_root(self.data_root if self.data_root else "auto", name)  # raises with the layout
        return table

    def mt_small_source(self, busi: DataSource, n_per_class: int = 200, size: int = 128,
                        use: str = "train") -> DataSource:
        """MT-Small for ``use``: the real set if supplied, else its stand-in drawn from ``busi``.

        The stand-in takes ``n_per_class`` benign and malignant images of the
        BUSI source (fewer when fewer exist) at ``size`` x ``size``.
        """

        def standin() -> DataSource:
            table = load_source(busi)
            table = table[table["target"] >= 0]
            per_class = int(min(n_per_class, table["label"].value_counts().min()))
            folder = derived_dir(f"mt_small_standin-{busi.kind}-seed{self.seed}")
            root = data.build_mt_small_standin(table, folder, n_per_class=per_class, size=size, seed=self.seed)
            return DataSource("mt_small", use, STANDIN, str(root),
                              f"stand-in drawn from {busi.kind} BUSI: {per_class}+{per_class} images at "
                              f"{size}x{size}; it shares images with BUSI")

        return self.source("mt_small", use, substitute=standin)

    # ------------------------------------------------------------------ weights

    def weights_for(self, backbones: Iterable[str]) -> dict:
        """Resolve the ``weights`` parameter once for each backbone, before any training.

        Returns
        -------
        dict of str to WeightsInfo

        Raises
        ------
        mstl_lib.nn.weights.WeightsUnavailableError
            ``weights="imagenet"`` that cannot be had; ``"auto"`` under ``full``
            without ImageNet weights (pass ``weights=None`` to run it from random
            initialisation, and the banner says so).
        FileNotFoundError
            A weights file that does not exist.
        """
        from mstl_lib.nn.weights import resolve_for_run  # noqa: PLC0415 - no TensorFlow needed

        backbones = list(dict.fromkeys(backbones))
        missing = [name for name in backbones if name not in self.weights]
        if missing:
            self.weights.update(resolve_for_run(self.weights_request, missing, self.profile.name))
        return {name: self.weights[name] for name in backbones}

    def fail_in_smoke(self, *runs) -> None:
        """Under ``smoke``, raise :class:`mstl_lib.engine.GridFailedError` for any failed task of ``runs``.

        The other profiles record failures and let the chapter show them; ``smoke``
        runs in ``make test``, where a failure must stop the build.
        """
        if self.profile.name != "smoke":
            return
        from mstl_lib.engine.grid import raise_on_failures  # noqa: PLC0415

        for result in runs:
            raise_on_failures(result)

    def executor(self, requested: str = "auto") -> str:
        """The executor tasks run on: ``requested``; for ``"auto"`` the chapter's setting ``executor`` where it
        has one, else the profile's."""
        if requested != "auto":
            return requested
        return self.settings.get("executor", self.profile.executor)

    def trimmed(self, grid):
        """``grid`` as this run runs it: as it is, or in miniature only its covering configurations
        (:func:`mstl_lib.engine.covering`), carrying the values grids trimmed earlier in this run covered,
        on its first fold; a grid whose values were all covered still runs its first configuration."""
        from mstl_lib import engine  # noqa: PLC0415

        if not self.miniature:
            return grid
        fresh = engine.covering(grid.configs, self._miniature_seen)
        if not fresh and grid.configs:  # every grid runs once: its data and protocol are a path of their own
            fresh = grid.configs[:1]
        return replace(grid, configs=fresh, folds=grid.fold_list[:1])

    def run_grid(self, grid, store=None, **options):
        """:func:`mstl_lib.engine.run_grid` on :meth:`trimmed` ``(grid)``."""
        from mstl_lib import engine  # noqa: PLC0415

        return engine.run_grid(self.trimmed(grid), store, **options)

    def run_grids(self, grids, store=None, executor: str = "auto", scheduler=None, verbose: int = 0) -> dict:
        """Run each of ``grids`` (``{name: Grid}``) in order, reusing finished tasks; print each summary.

        Failures are recorded, except under ``smoke`` (:meth:`fail_in_smoke`).
        Returns ``{name: GridRun}``.
        """
        from mstl_lib import engine  # noqa: PLC0415

        runs = {}
        for name, grid in grids.items():
            runs[name] = self.run_grid(grid, store, executor=self.executor(executor), scheduler=scheduler,
                                       verbose=verbose)
            print(runs[name].summary())
        self.fail_in_smoke(*runs.values())
        return runs

    @property
    def random_init_requested_under_full(self) -> bool:
        """``profile="full"`` with ``weights=None`` passed explicitly: not the papers' protocol."""
        return self.profile.name == "full" and any(info.used == "random" for info in self.weights.values())

    # ------------------------------------------------------------------ tasks

    def task_context(self, source: DataSource | None, backbones: Iterable[str] = (), **extra) -> dict:
        """The one JSON context every task of a grid receives.

        Keys: ``profile``, ``seed``, ``weights`` (backbone -> resolved identity;
        part of the results key), ``weights_info`` (backbone -> the full
        resolution, with paths; not keyed), ``data_source`` (the
        :class:`DataSource`; not keyed, the grid's data fingerprint covers its
        content), ``keras_backend`` where networks are built (keyed: a JAX record
        is not reused by a TensorFlow run), plus ``extra``.
        """
        resolved = self.weights_for(backbones)
        backend = {}
        if resolved:
            from mstl_lib.nn import runtime  # noqa: PLC0415 - sets KERAS_BACKEND; imports no framework

            backend = {"keras_backend": runtime.backend()}
        return {
            "profile": self.profile.name,
            "seed": self.seed,
            **backend,
            "weights": {name: info.identity() for name, info in resolved.items()},
            "weights_info": {name: info.to_dict() for name, info in resolved.items()},
            "data_source": None if source is None else source.to_dict(),
            **({"miniature": True} if self.miniature else {}),
            **extra,
        }

    def grid(self, name: str, configs: list[dict], task: str, code_version: str, table: pd.DataFrame,
             source: DataSource | None, backbones: Iterable[str] = (), folds: Iterable[int] | None = None,
             unkeyed: Iterable[str] | None = None, **context):
        """One grid of this run: ``configs`` × ``folds`` (default: the chapter's ``folds_run`` under this profile),
        keyed by the fingerprint of the data ``table`` it reads and by :meth:`task_context` (plus ``context``), less
        ``unkeyed`` (default: the engine's)."""
        from mstl_lib.engine.grid import Grid  # noqa: PLC0415
        from mstl_lib.engine.provenance import fingerprint_table  # noqa: PLC0415

        return Grid(name=name, configs=configs, task=task, code_version=code_version,
                    folds=list(folds) if folds is not None else list(range(self.settings["folds_run"])),
                    data_fingerprint=fingerprint_table(table, label_column="label"),
                    context=self.task_context(source, backbones, **context),
                    **({} if unkeyed is None else {"unkeyed": tuple(unkeyed)}))

    # ------------------------------------------------------------------ provenance

    def datasets_table(self) -> pd.DataFrame:
        """One row per (dataset, use) the notebook touched, with what served it."""
        rows = [vars(use) for use in self.uses.values()]
        return pd.DataFrame(rows, columns=["name", "use", "kind", "root", "n_images", "note"])

    def weights_table(self) -> pd.DataFrame:
        """One row per backbone: the weights it starts from."""
        rows = [{"backbone": name, "used": info.used, "weights": info.describe(), "detail": info.detail}
                for name, info in self.weights.items()]
        return pd.DataFrame(rows, columns=["backbone", "used", "weights", "detail"])

    def as_dict(self) -> dict:
        """Plain-data summary."""
        return {
            "chapter": self.chapter.name,
            "profile": self.profile.name,
            "seed": self.seed,
            "data_dir": str(self.data_root) if self.data_root else None,
            "datasets": [vars(use) for use in self.uses.values()],
            "weights_request": None if self.weights_request is None else str(self.weights_request),
            "weights": {name: info.to_dict() for name, info in self.weights.items()},
            "mstl_lib": __version__,
        }

    def banner(self):
        """The provenance banner shown at the top of every chapter page."""
        from mstl_lib.report.banner import provenance_banner  # noqa: PLC0415

        return provenance_banner(self)


WEIGHTS_WORDS = ("auto", "imagenet", "none", "random")
"""The words ``weights`` takes (any case); anything else is the path of a weights file."""


def weights_problem(weights) -> str:
    """Why ``weights`` cannot be used, or ``""``: ``None``, one of :data:`WEIGHTS_WORDS`, or an existing file."""
    if weights is None:
        return ""
    if not isinstance(weights, (str, os.PathLike)):
        return f"not a word or a path (a {type(weights).__name__}); pass one of {', '.join(WEIGHTS_WORDS)}, None or a file"
    if isinstance(weights, str) and weights.lower() in WEIGHTS_WORDS:
        return ""
    path = Path(weights).expanduser()
    if path.is_dir():
        return f"{path} is a folder, not a weights file; pass one of {', '.join(WEIGHTS_WORDS)}, None or a file"
    if not path.is_file():
        return (f"no weights file {path}; pass one of {', '.join(WEIGHTS_WORDS)}, None or the path of an existing "
                "weights file")
    return ""


def start_run(chapter_settings: str | ChapterSettings, profile: str = "cpu", data_dir="auto", weights="auto",
              seed: int = 0, miniature: bool = False) -> RunContext:
    """Resolve a notebook's parameters into a :class:`RunContext`.

    ``data_dir="auto"`` looks at ``MSTL_DATA_DIR``, ``../shared/data`` and
    ``~/mstl_data`` in that order; when none exists the datasets fall back to
    synthetic phantoms, and the banner says so. The choice is printed.

    Raises
    ------
    ParameterError
        An unknown ``profile``, a ``data_dir`` that is not a folder, a ``seed`` that
        is not an integer, a ``weights`` that is neither a known word nor an existing
        file (:func:`weights_problem`), ``miniature`` under another profile than ``full``.

    ``miniature=True`` (``full`` only) runs the papers' recipes in miniature: see
    :attr:`RunContext.miniature`. It proves the ``full`` path, it measures nothing.

    Under ``make book``, every table the page shows from here on gets a CSV download under it
    (:func:`mstl_lib.report.exports.install_table_downloads`).
    """
    from mstl_lib.report.exports import install_table_downloads  # noqa: PLC0415 - IPython, only in a kernel

    try:
        prof = get_profile(profile)
    except ValueError as err:
        raise ParameterError("profile", profile, str(err)) from None
    settings = chapter(chapter_settings)
    request = "auto" if data_dir in (None, "auto") else str(data_dir)
    try:
        root, reason = data.locate_data_dir(request)
    except FileNotFoundError as err:
        raise ParameterError("data_dir", data_dir, str(err)) from None
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ParameterError("seed", seed, "not an integer") from None
    if miniature and prof.name != "full":
        raise ParameterError("miniature", miniature, "only the full profile runs in miniature")
    problem = weights_problem(weights)
    if problem:
        raise ParameterError("weights", weights, problem)
    ctx = RunContext(settings, prof, seed, request, root, reason, weights, miniature=bool(miniature))
    progress.chapter_event(settings.name, prof.name, settings.budget_minutes.get(prof.name))
    where = f"{root} ({reason})" if root else f"none ({reason}); synthetic phantoms stand in"
    shown = f"{prof.name} in miniature" if miniature else prof.name
    print(f"profile={shown}  data folder: {where}  weights={weights!r}  seed={seed}")
    install_table_downloads()
    return ctx
