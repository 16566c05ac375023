"""Getting the real data: what is here, fetching an archive, and checking a folder against the release.

Three questions, one per function:

- :func:`dataset_status`: is a dataset in the data folder, and does it hold what the release holds?
- :func:`fetch_dataset`: download its archive (with :mod:`mstl_lib.downloads`), check the
  checksum, unpack it beside its place, check the counts, and only then move it in with one rename.
- :func:`verify_dataset`: does a folder, fetched by hand or converted, load and hold the expected
  images per class and groups?

Where no checksum is published, the first download whose contents pass :func:`verify_dataset`
records its sha256 in ``<data folder>/checksums.json``; later downloads are held to it, and every
message says that the checksum is ours, not the publisher's.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mstl_lib import atomic
from mstl_lib import downloads
from mstl_lib.data.registry import (
    DATASETS, DatasetLayoutError, DatasetNotFoundError, dataset_root, get_info, indent, loader)
from mstl_lib.paths import data_dir_candidates

RECORDED_CHECKSUMS = "checksums.json"
"""File, in the data folder, of the checksums recorded at a first verified download."""

DOWNLOADS_FOLDER = "downloads"
"""Folder, in the data folder, that keeps the fetched archives (a failed unpacking loses no download)."""


@dataclass(frozen=True)
class Expected:
    """What a complete copy of a release holds, as the loader counts it.

    Attributes
    ----------
    images : dict
        Images per label.
    groups : int or None
        Distinct groups (patients, cases; BUSI: images), when known.
    load : dict
        Keyword arguments that make the loader keep every image (the normal class, unlabelled cases).
    source : str
        Where the counts come from.
    """

    images: dict[str, int]
    groups: int | None = None
    load: dict = field(default_factory=dict)
    source: str = ""


EXPECTED: dict[str, Expected] = {
    "busi": Expected({"benign": 437, "malignant": 210, "normal": 133}, 780, {"include_normal": True},
                     "the data article (Al-Dhabyani et al. 2020); no patient identifiers, so one group per image"),
    "ddti": Expected({"benign": 102, "malignant": 368, "unknown": 125}, 478, {"include_unlabelled": True},
                     "the release as its cases were downloaded one by one (595 images of 478 cases; TIRADS 2-3 "
                     "benign, 4a-5 malignant, none unknown); the site's all-cases archive is reported to miss images"),
    "breakhis": Expected({"benign": 2480, "malignant": 5429}, 82, {},
                         "Spanhol et al. 2016: 7,909 images of 82 patients (24 benign, 58 malignant)"),
    "mendeley": Expected({"benign": 100, "malignant": 150}, None, {}, "the Mendeley Data record (250 images)"),
    "mt_small": Expected({"benign": 200, "malignant": 200}, None, {}, "the dataset's Kaggle page"),
}
"""Expected counts of every public release (the cell images are private or the user's own)."""


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_dataset` found."""

    dataset: str
    root: str
    images: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> str:
        """The counts, in a few words."""
        counts = ", ".join(f"{label} {n:,}" for label, n in self.images.items()) or "nothing loaded"
        return f"{counts}; {self.groups:,} groups"

    def summary(self) -> str:
        """One line: the counts, and what differs from the release."""
        return self.counts() + ("" if self.ok else f" -- {'; '.join(self.problems)}")


def verify_dataset(name: str, root: str | os.PathLike) -> Verification:
    """Load ``root`` as dataset ``name`` and compare its counts with :data:`EXPECTED`.

    A folder that does not load (wrong layout, malformed label file) is a problem named with the
    loader's own message; so is every class whose count differs. Nothing is raised.
    """
    info = get_info(name)
    expected = EXPECTED.get(info.name)
    try:
        table = loader(info.name)(root, **(expected.load if expected else {}))
    except (DatasetLayoutError, DatasetNotFoundError, OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Verification(info.name, str(root), problems=(f"does not load: {first}",))
    images = {str(k): int(v) for k, v in table["label"].value_counts().sort_index().items()}
    groups = int(table["group"].nunique())
    if expected is None:
        return Verification(info.name, str(root), images, groups)
    problems = [f"{label}: {images.get(label, 0):,} images, the release has {n:,}"
                for label, n in expected.images.items() if images.get(label, 0) != n]
    problems += [f"{label}: {n:,} images, the release has none" for label, n in images.items()
                 if label not in expected.images]
    if expected.groups is not None and groups != expected.groups:
        problems.append(f"{groups:,} groups, the release has {expected.groups:,}")
    return Verification(info.name, str(root), images, groups, tuple(problems))


# --------------------------------------------------------------------------- recorded checksums


def recorded_checksums(data_dir: str | os.PathLike) -> dict[str, dict]:
    """The checksums recorded at first verified downloads: ``{file name: {"sha256", "url", "recorded"}}``."""
    path = Path(data_dir) / RECORDED_CHECKSUMS
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: not JSON ({error}); delete it to record the checksums again") from error
    return values if isinstance(values, dict) else {}


def record_checksum(data_dir: str | os.PathLike, download: downloads.Download, sha256: str) -> Path:
    """Record ``sha256`` as the checksum of ``download``'s file (atomic write)."""
    path = Path(data_dir) / RECORDED_CHECKSUMS
    values = recorded_checksums(data_dir)
    values[download.file_name] = {"sha256": sha256, "url": download.url,
                                  "recorded": datetime.date.today().isoformat()}
    return atomic.write_text(path, json.dumps(values, indent=2, sort_keys=True) + "\n")


def checked_download(name: str, data_dir: str | os.PathLike) -> tuple[downloads.Download, str]:
    """The registry's download of ``name``, held to a recorded checksum when none is published.

    Returns the download and where its checksum comes from (``"published"``, ``"recorded <date>"``
    or ``"none"``).
    """
    download = downloads.DATASET_DOWNLOADS[get_info(name).name]
    if download.published_checksum:
        return download, "published"
    recorded = recorded_checksums(data_dir).get(download.file_name)
    if recorded:
        return dataclasses.replace(download, sha256=recorded["sha256"]), f"recorded {recorded['recorded']}"
    return download, "none"


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class DatasetStatus:
    """One dataset in one data folder."""

    dataset: str
    folder: str
    found: bool
    verification: Verification | None
    checksum: str
    how: str

    @property
    def ok(self) -> bool:
        return self.found and self.verification is not None and self.verification.ok

    @property
    def state(self) -> str:
        """``missing``, ``differs`` (from the release), ``verified``, or ``present`` (no release to compare)."""
        if not self.found:
            return "missing"
        if not self.ok:
            return "differs"
        return "verified" if self.dataset in EXPECTED else "present"


def default_data_dir() -> Path:
    """The data folder ``auto`` finds, or else the last of its places (``~/mstl_data``), for fetching into."""
    for _, path in data_dir_candidates():
        if path.is_dir():
            return path.resolve()
    return data_dir_candidates()[-1][1]


def how_to_get(name: str, data_dir: str | os.PathLike) -> str:
    """One line: where to get ``name`` and where to put it."""
    info = get_info(name)
    download = downloads.DATASET_DOWNLOADS.get(info.name)
    place = Path(data_dir) / info.name
    if download is None:
        return f"not public: put your own images at {place} (layout: python -m mstl_lib data status {info.name})"
    if download.by_hand:
        return f"from {download.url}: {download.by_hand}; put it at {place}"
    return f"python -m mstl_lib data fetch {info.name} (downloads {download.url} into {place})"


def dataset_status(name: str, data_dir: str | os.PathLike) -> DatasetStatus:
    """Whether ``name`` is in ``data_dir``, verified against the release, and how to get it."""
    info = get_info(name)
    download = downloads.DATASET_DOWNLOADS.get(info.name)
    checksum = "not public"
    if download is not None:
        _, origin = checked_download(info.name, data_dir)
        checksum = {"published": download.published_checksum, "none": "none published"}.get(
            origin, f"ours, {origin} (none published)")
    try:
        root = dataset_root(data_dir, info.name)
    except DatasetNotFoundError:
        return DatasetStatus(info.name, str(Path(data_dir) / info.name), False, None, checksum,
                             how_to_get(info.name, data_dir))
    return DatasetStatus(info.name, str(root), True, verify_dataset(info.name, root), checksum,
                         how_to_get(info.name, data_dir))


def all_statuses(data_dir: str | os.PathLike, names=None) -> list[DatasetStatus]:
    """:func:`dataset_status` of ``names`` (default: every registered dataset)."""
    return [dataset_status(name, data_dir) for name in (names or DATASETS)]


# --------------------------------------------------------------------------- fetch


class FetchError(RuntimeError):
    """A dataset could not be fetched or did not verify; the message says what to do instead."""


def unpack(archive: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Unpack a zip or tar archive into ``folder`` (no member may land outside it)."""
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for member in handle.namelist():
                target = (folder / member).resolve()
                if not target.is_relative_to(folder.resolve()):
                    raise FetchError(f"{archive}: member {member!r} would land outside {folder}; not unpacked")
            handle.extractall(folder)
        return folder
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            try:
                handle.extractall(folder, filter="data")
            except tarfile.FilterError as error:
                raise FetchError(f"{archive}: {error}; not unpacked") from error
        return folder
    raise FetchError(f"{archive}: neither a zip nor a tar archive")


def find_dataset_root(name: str, folder: Path, depth: int = 3) -> tuple[Path | None, Verification]:
    """The folder under ``folder`` (itself included, breadth first) that loads as ``name`` with the release's counts,
    and its :class:`Verification`; when none does, ``None`` and the verification of ``folder`` itself."""
    level, first = [folder], None
    for _ in range(depth + 1):
        for candidate in level:
            checked = verify_dataset(name, candidate)
            first = first or checked
            if checked.ok:
                return candidate, checked
        level = [child for parent in level for child in sorted(parent.iterdir()) if child.is_dir()]
    return None, first


def fetch_dataset(name: str, data_dir: str | os.PathLike, timeout: float = 60.0) -> str:
    """Download, check, unpack and verify ``name`` into ``<data_dir>/<name>``; return what was done, in one line.

    A dataset already present and verified is left as it is. A dataset that a script cannot fetch
    raises :class:`FetchError` with the page and the folder to put it in.

    Raises
    ------
    FetchError
        No archive to fetch, the download failed, the checksum differs, or the unpacked folder does
        not hold the release. The archive stays in ``<data_dir>/downloads`` and nothing is moved in.
    """
    info = get_info(name)
    data_dir = Path(data_dir).expanduser()
    present = dataset_status(info.name, data_dir)
    if present.ok:
        return f"{info.name}: already at {present.folder}, verified ({present.verification.summary()})"
    if present.found:
        raise FetchError(f"{info.name}: {present.folder} exists but {present.verification.summary()}; "
                         "move it aside and fetch again")
    download = downloads.DATASET_DOWNLOADS.get(info.name)
    if download is None or download.by_hand:
        raise FetchError(f"{info.name}: {how_to_get(info.name, data_dir)}")
    download, origin = checked_download(info.name, data_dir)
    try:
        archive = downloads.fetch(download, data_dir / DOWNLOADS_FOLDER, timeout=timeout)
    except downloads.DownloadError as error:
        raise FetchError(f"{info.name}: cannot download {download.url}; download it where the network allows "
                         f"and put it at {data_dir / DOWNLOADS_FOLDER / download.file_name}, or unpack it at "
                         f"{data_dir / info.name}") from error
    except downloads.ChecksumError as error:
        raise FetchError(f"{info.name}: {error}" + (" (the checksum recorded at its first verified download)"
                                                    if origin.startswith("recorded") else "")) from error
    unpacking = data_dir / f".{info.name}.unpacking"
    shutil.rmtree(unpacking, ignore_errors=True)
    try:
        unpack(archive, unpacking)
        root, verification = find_dataset_root(info.name, unpacking)
        if root is None:
            raise FetchError(f"{info.name}: {archive} does not hold the release: "
                             f"{verification.summary()}; the archive is kept")
        os.replace(root, data_dir / info.name)
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    line = f"{info.name}: {data_dir / info.name}, verified ({verification.summary()})"
    if origin == "none":
        sha256 = downloads.file_digests(archive)[1]
        record_checksum(data_dir, download, sha256)
        line += (f"; no checksum is published, so sha256 {sha256[:16]}... is recorded in "
                 f"{data_dir / RECORDED_CHECKSUMS} and later downloads are held to it")
    return line


def dataset_card(name: str, data_dir: str | os.PathLike, status: DatasetStatus | None = None) -> str:
    """Everything known about getting ``name``: page, mirrors, checksum, expected counts, terms, citation, layout.

    ``status`` is its :func:`dataset_status` when the caller has it already (verifying a large release twice
    reads every image header twice)."""
    info = get_info(name)
    download = downloads.DATASET_DOWNLOADS.get(info.name)
    expected = EXPECTED.get(info.name)
    status = status if status is not None else dataset_status(info.name, data_dir)
    lines = [f"{info.name}: {info.title}", f"  here:      {status.folder} ({status.state})",
             f"  get it:    {status.how}"]
    if download is not None:
        lines += [f"  mirrors:   {', '.join(download.mirrors)} (not checked here)"] if download.mirrors else []
        lines.append(f"  checksum:  {status.checksum}")
    if expected is not None:
        counts = ", ".join(f"{label} {n:,}" for label, n in expected.images.items())
        groups = f"; {expected.groups:,} groups" if expected.groups is not None else ""
        lines.append(f"  expected:  {counts}{groups} ({expected.source})")
    lines += [f"  terms:     {info.terms}", f"  cite:      {info.citation}", "  layout:", indent(info.layout, "    ")]
    return "\n".join(lines)


def release_rows() -> list[str]:
    """The data page's table of releases, one markdown row per public dataset (a test keeps the page in step)."""
    rows = []
    for name, expected in EXPECTED.items():
        download = downloads.DATASET_DOWNLOADS[name]
        get = f"by hand from {download.url}" if download.by_hand else f"`data fetch {name}` from {download.url}"
        counts = ", ".join(f"{label} {n:,}" for label, n in expected.images.items())
        groups = f"{expected.groups:,}" if expected.groups is not None else "not stated"
        rows.append(f"| {name} | {get} | {download.published_checksum or 'none published'} | {counts} | {groups} |")
    return rows
