"""Getting the data: status, fetch from a local server, verify, recorded checksums, the offline message."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from mstl_lib import downloads
from mstl_lib.__main__ import main
from mstl_lib.data import acquire
from mstl_lib.data.registry import DATASETS, load_dataset
from dataset_trees import breakhis_tree, busi_tree
from local_server import serve

TOY_RELEASES = {
    "busi": acquire.Expected({"benign": 3, "malignant": 2, "normal": 1}, 6, {"include_normal": True}, "toy"),
    "breakhis": acquire.Expected({"benign": 3, "malignant": 1}, 3, {}, "toy"),
}
"""What :func:`dataset_trees.busi_tree` and :func:`dataset_trees.breakhis_tree` hold, as a 'release'."""

CLOSED_PORT_URL = "http://127.0.0.1:9/"


@pytest.fixture
def toy_releases(monkeypatch):
    for name, expected in TOY_RELEASES.items():
        monkeypatch.setitem(acquire.EXPECTED, name, expected)


def busi_zip(path: Path, drop: str | None = None) -> Path:
    """The BUSI toy tree zipped as the official archive is (``Dataset_BUSI_with_GT/...``)."""
    tree = busi_tree(path.parent / "tree" / "Dataset_BUSI_with_GT")
    if drop:
        (tree / drop).unlink()
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(tree.rglob("*")):
            archive.write(file, file.relative_to(tree.parent).as_posix())
    shutil.rmtree(tree.parent)
    return path


def breakhis_tar(path: Path, extra: bool = False) -> Path:
    """The BreakHis toy tree as a ``.tar.gz`` holding ``BreaKHis_v1/`` (``extra``: one more benign image)."""
    tree = breakhis_tree(path.parent / "tree")
    if extra:
        shutil.copy(next(tree.rglob("*14-25197-40-001.png")), next(tree.rglob("40X")) / "SOB_B_F-14-25197-40-099.png")
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tree / "BreaKHis_v1", arcname="BreaKHis_v1")
    shutil.rmtree(tree)
    return path


def served_at(monkeypatch, name: str, url: str, payload: Path | None = None):
    """Point the registry's ``name`` at ``url``, with ``payload``'s sha256 as the published checksum."""
    sha256 = hashlib.sha256(payload.read_bytes()).hexdigest() if payload else ""
    entry = dataclasses.replace(downloads.DATASET_DOWNLOADS[name], url=url, sha256=sha256)
    monkeypatch.setitem(downloads.DATASET_DOWNLOADS, name, entry)
    return entry


def test_every_public_dataset_has_its_counts_its_download_and_one_citation():
    assert set(acquire.EXPECTED) == set(downloads.DATASET_DOWNLOADS) <= set(DATASETS)
    for name, download in downloads.DATASET_DOWNLOADS.items():
        assert download.kind == downloads.DATASET and download.citation_key == DATASETS[name].citation_key
        assert download.by_hand or download.file_name.endswith((".zip", ".tar.gz")), name
        assert sum(acquire.EXPECTED[name].images.values()) > 0 and acquire.EXPECTED[name].source


def test_verify_names_each_class_that_differs_and_a_folder_that_does_not_load(tmp_path, toy_releases):
    root = busi_tree(tmp_path / "busi")
    assert acquire.verify_dataset("busi", root).ok
    (root / "malignant" / "malignant (2).png").unlink()
    found = acquire.verify_dataset("busi", root)
    assert found.problems == ("malignant: 1 images, the release has 2", "5 groups, the release has 6")
    shutil.rmtree(root / "benign")
    found = acquire.verify_dataset("busi", root)
    assert not found.ok and found.problems[0].startswith("does not load:") and "'benign'" in found.problems[0]


def test_fetch_downloads_checks_unpacks_verifies_and_moves_in(tmp_path, monkeypatch, toy_releases):
    served = tmp_path / "served"
    served.mkdir()
    archive = busi_zip(served / "Dataset_BUSI.zip")
    data = tmp_path / "data"
    verified = []
    monkeypatch.setattr(acquire, "verify_dataset", lambda name, folder, _verify=acquire.verify_dataset: (
        verified.append(Path(folder).name), _verify(name, folder))[1])
    with serve(served) as (base, requests):
        served_at(monkeypatch, "busi", base + "Dataset_BUSI.zip", archive)
        line = acquire.fetch_dataset("busi", data)
        assert line.startswith(f"busi: {data / 'busi'}, verified (benign 3, malignant 2, normal 1; 6 groups)")
        assert "busi" not in verified, verified  # the release moved in is not read again
        assert "recorded" not in line  # a published checksum: nothing to record
        assert len(load_dataset("busi", data, include_normal=True)) == 6
        assert acquire.fetch_dataset("busi", data).startswith("busi: already at")
        assert requests.count("/Dataset_BUSI.zip") == 1
    assert sorted(p.name for p in data.iterdir()) == ["busi", "downloads"]  # no unpacking folder left


def test_an_archive_without_the_release_is_kept_and_nothing_moves_in(tmp_path, monkeypatch, toy_releases):
    served = tmp_path / "served"
    served.mkdir()
    archive = busi_zip(served / "Dataset_BUSI.zip", drop="normal/normal (1).png")
    data = tmp_path / "data"
    with serve(served) as (base, _):
        served_at(monkeypatch, "busi", base + "Dataset_BUSI.zip", archive)
        with pytest.raises(acquire.FetchError, match="does not hold the release.*the archive is kept"):
            acquire.fetch_dataset("busi", data)
    assert sorted(p.name for p in data.iterdir()) == ["downloads"]
    assert (data / "downloads" / "Dataset_BUSI.zip").is_file()


def test_a_first_verified_download_records_its_checksum_and_later_ones_are_held_to_it(tmp_path, monkeypatch,
                                                                                   toy_releases):
    served = tmp_path / "served"
    served.mkdir()
    breakhis_tar(served / "BreaKHis_v1.tar.gz")
    data = tmp_path / "data"
    with serve(served) as (base, _):
        served_at(monkeypatch, "breakhis", base + "BreaKHis_v1.tar.gz")
        line = acquire.fetch_dataset("breakhis", data)
        assert "no checksum is published, so sha256" in line and "recorded in" in line
        assert len(load_dataset("breakhis", data)) == 4
        recorded = acquire.recorded_checksums(data)["BreaKHis_v1.tar.gz"]
        assert recorded["sha256"] == hashlib.sha256((served / "BreaKHis_v1.tar.gz").read_bytes()).hexdigest()
        assert acquire.dataset_status("breakhis", data).checksum.startswith("ours, recorded")

        shutil.rmtree(data / "breakhis")
        shutil.rmtree(data / "downloads")
        breakhis_tar(served / "BreaKHis_v1.tar.gz", extra=True)  # the host now serves other bytes
        with pytest.raises(acquire.FetchError, match="recorded at its first verified download"):
            acquire.fetch_dataset("breakhis", data)
    assert not (data / "breakhis").exists()


def test_unpack_refuses_a_member_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../outside.txt", "no")
    with pytest.raises(acquire.FetchError, match="would land outside"):
        acquire.unpack(archive, tmp_path / "into")
    assert not (tmp_path / "outside.txt").exists()
    evil_tar = tmp_path / "evil.tar"
    with tarfile.open(evil_tar, "w") as handle:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        handle.addfile(info, io.BytesIO(b"no"))
    with pytest.raises(acquire.FetchError, match="evil.tar"):
        acquire.unpack(evil_tar, tmp_path / "into")


def test_offline_fetch_ends_with_one_line_per_dataset_naming_the_url_and_the_folder(tmp_path, monkeypatch, capsys):
    for name in ("busi", "breakhis"):
        served_at(monkeypatch, name, CLOSED_PORT_URL + downloads.DATASET_DOWNLOADS[name].file_name)
    data = tmp_path / "data"
    assert main(["data", "fetch", "--data-dir", str(data), "--timeout", "2"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(acquire.EXPECTED)
    for name, line in zip(acquire.EXPECTED, lines, strict=True):
        assert line.startswith(f"{name}: ") and downloads.DATASET_DOWNLOADS[name].url in line
        assert str(data / name) in line
    assert not any((data / name).exists() for name in acquire.EXPECTED)


def test_status_lists_every_dataset_and_says_how_to_get_what_is_missing(tmp_path, capsys, toy_releases):
    data = tmp_path / "data"
    busi_tree(data / "busi")
    assert main(["data", "status", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[3:3 + len(DATASETS)]}
    assert set(rows) == set(DATASETS)
    assert " verified " in rows["busi"] and " missing " in rows["ddti"]
    assert "python -m mstl_lib data fetch breakhis" in out and "convert-ddti" in out
    capsys.readouterr()
    assert main(["data", "status", "busi", "--data-dir", str(data)]) == 0
    card = capsys.readouterr().out
    for line in ("  mirrors:   https://www.kaggle.com", f"  terms:     {DATASETS['busi'].terms}",
                 f"  cite:      {DATASETS['busi'].citation}", "  expected:  benign 3, malignant 2, normal 1; 6 groups"):
        assert line in card
    assert main(["data", "verify", "busi", str(data / "busi")]) == 0
    assert main(["data", "status", "nonsense", "--data-dir", str(data)]) == 2


def test_the_data_page_shows_the_registry_s_releases():
    from mstl_lib.paths import REPO_ROOT

    page = (REPO_ROOT / "book" / "data_availability.md").read_text(encoding="utf-8")
    for row in acquire.release_rows():
        assert row in page, f"book/data_availability.md lacks the row: {row}"
