"""A notebook's run context: the profile, the data and the weights actually used.

Every chapter starts with :func:`start_run` and shows :meth:`RunContext.banner`,
so each page states which profile, data and weights produced its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mstl_lib import __version__, data

from mstl_lib.data import phantoms
from mstl_lib.paths import build_dir
from mstl_lib.profiles import Profile, chapter_settings, get_profile

REAL, PHANTOM, STANDIN, MISSING = "real", "phantom", "stand-in", "missing"


@dataclass
class DatasetUse:
    """How one dataset was obtained for this run."""

    name: str
    kind: str
    root: str | None
    n_images: int = 0
    note: str = ""
    data_dir: str | None = None
    """The folder holding it (``<data_dir>/<name>``), for :func:`data.load_dataset`."""


@dataclass
class RunContext:
    """What a notebook runs with; filled in as the notebook loads data and builds models."""

    chapter: str
    profile: Profile
    seed: int
    data_dir_request: str
    data_root: Path | None
    data_root_reason: str
    weights_request: object
    datasets: dict[str, DatasetUse] = field(default_factory=dict)
    weights_used: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self):
        """The chapter's settings under this profile."""
        return chapter_settings(self.chapter, self.profile.name)

    @property
    def uses_phantoms(self) -> bool:
        return any(use.kind == PHANTOM for use in self.datasets.values())

    def phantom_root(self) -> Path:
        """The synthetic data folder of this profile (written on first use)."""
        out = build_dir() / "phantom_data" / f"{self.profile.phantom_scale}-seed{self.seed}"
        return phantoms.write_phantom_data_dir(out, seed=self.seed, scale=self.profile.phantom_scale)

    def load(self, name: str, **kwargs) -> pd.DataFrame:
        """Load dataset ``name`` from the data folder, or from phantoms when ``data_dir="auto"``.

        Raises
        ------
        data.DatasetNotFoundError
            If the dataset is missing and no phantom stands in for it; the message
            shows the expected layout, the download page and the citation.
        """
        table = self.try_load(name, **kwargs)
        if table is None:
            data.dataset_root(self.data_root if self.data_root else "auto", name)  # raises
        return table

    def try_load(self, name: str, **kwargs) -> pd.DataFrame | None:
        """Like :meth:`load`, but record the dataset as missing and return ``None``."""
        kind, base = self._find(name)
        if kind == MISSING:
            self.datasets[name] = DatasetUse(name, MISSING, None, 0, "not found")
            return None
        table = data.load_dataset(name, base, **kwargs)
        note = "synthetic phantoms from mstl_lib.data.phantoms; not the real dataset" if kind == PHANTOM else ""
        self._record(name, kind, data.dataset_root(base, name), table, note, data_dir=base)
        return table

    def _find(self, name: str) -> tuple[str, Path | None]:
        """Where dataset ``name`` comes from: (kind, data folder holding it)."""
        if self.data_root is not None:
            try:
                data.dataset_root(self.data_root, name)
                return REAL, self.data_root
            except data.DatasetNotFoundError:
                pass
        if self.data_dir_request == "auto" and name in phantoms.PHANTOM_DATASETS:
            return PHANTOM, self.phantom_root()
        return MISSING, None

    def load_mt_small(self, busi: pd.DataFrame, n_per_class: int = 200, size: int = 128) -> pd.DataFrame:
        """The MT-Small-Dataset if supplied, else its stand-in drawn from ``busi``.

        The stand-in takes ``n_per_class`` benign and malignant BUSI images (fewer
        when fewer exist, as with small phantom sets) at ``size`` x ``size``.
        """
        table = self.try_load("mt_small")
        if table is not None:
            return table
        benign_malignant = busi[busi["target"] >= 0]
        per_class = int(min(n_per_class, benign_malignant["label"].value_counts().min()))
        busi_kind = self.datasets["busi"].kind if "busi" in self.datasets else "given"
        folder = build_dir() / "derived" / f"mt_small_standin-{busi_kind}-seed{self.seed}"
        root = data.build_mt_small_standin(benign_malignant, folder, n_per_class=per_class,
                                               size=size, seed=self.seed)
        table = data.load_mt_small(root)
        self._record("mt_small", STANDIN, root, table,
                     note=f"stand-in drawn from {busi_kind} BUSI: {per_class}+{per_class} images at {size}x{size}")
        return table

    def _record(self, name, kind, root, table, note="", data_dir=None):
        table["data_kind"] = kind
        self.datasets[name] = DatasetUse(name, kind, str(root), len(table), note,
                                         None if data_dir is None else str(data_dir))

    def resolve_weights(self, backbones) -> dict:
        """Resolve the ``weights`` parameter for each backbone before training, and record it.

        Raises ``nn_weights.WeightsUnavailableError`` for an explicit ``"imagenet"``
        that cannot be had, before any training starts.
        """
        from mstl_lib.nn.weights import resolve_weights

        infos = {name: resolve_weights(self.weights_request, name)[1] for name in backbones}
        for name, info in infos.items():
            self.record_weights(name, f"{info.used}: {info.detail}")
        return infos

    def record_weights(self, model_name: str, description: str) -> None:
        """Record which weights a model actually started from."""
        self.weights_used[model_name] = description

    def datasets_table(self) -> pd.DataFrame:
        """One row per dataset touched by the notebook, with how it was obtained."""
        rows = [vars(use) for use in self.datasets.values()]
        return pd.DataFrame(rows, columns=["name", "kind", "root", "n_images", "note"])

    def as_dict(self) -> dict:
        """Plain-data summary, stored in run records."""
        return {
            "chapter": self.chapter,
            "profile": self.profile.name,
            "seed": self.seed,
            "data_dir": str(self.data_root) if self.data_root else None,
            "datasets": {k: vars(v) for k, v in self.datasets.items()},
            "weights_request": None if self.weights_request is None else str(self.weights_request),
            "weights_used": dict(self.weights_used),
            "mstl_lib": __version__,
        }

    def banner(self):
        """The provenance banner shown at the top of every chapter page."""
        from mstl_lib.report import provenance_banner  # noqa: PLC0415

        return provenance_banner(self)


def start_run(chapter: str, profile: str = "cpu", data_dir="auto", weights="auto", seed: int = 0) -> RunContext:
    """Resolve a notebook's parameters into a :class:`RunContext`.

    ``data_dir="auto"`` looks at ``MSTL_DATA_DIR``, ``../shared/data`` and
    ``~/mstl_data`` in that order; when none exists the datasets fall back to
    synthetic phantoms, and the banner says so. The choice is printed.
    """
    prof = get_profile(profile)
    chapter_settings(chapter, prof.name)  # fail early on an unknown chapter
    request = "auto" if data_dir in (None, "auto") else str(data_dir)
    root, reason = data.locate_data_dir(request)
    ctx = RunContext(chapter, prof, int(seed), request, root, reason, weights)
    where = f"{root} ({reason})" if root else f"none ({reason}); synthetic phantoms stand in"
    print(f"profile={prof.name}  data folder: {where}  weights={weights!r}  seed={seed}")
    return ctx
