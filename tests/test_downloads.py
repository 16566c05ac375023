"""The download registry: checksums, fetching from a local server, proxies, converted checkpoints."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from mstl_lib import downloads
from mstl_lib.paths import REPO_ROOT
from local_server import serve

PAYLOAD = b"weights of the right bytes" * 100


def entry(url: str, payload: bytes = PAYLOAD, how: str = "md5", **changes) -> downloads.Download:
    digests = {"md5": {"md5": hashlib.md5(payload).hexdigest()},  # noqa: S324 - Keras publishes md5
               "sha256": {"sha256": hashlib.sha256(payload).hexdigest()},
               "prefix": {"sha256_prefix": hashlib.sha256(payload).hexdigest()[:8]}, "none": {}}[how]
    return downloads.Download(**{"key": "Toy", "kind": downloads.KERAS_WEIGHTS, "url": url, **digests, **changes})


def test_registry_entries_are_complete():
    bib = (REPO_ROOT / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    for key, download in downloads.WEIGHTS.items():
        assert download.key == key and download.published_checksum and download.terms
        assert download.citation_key in keys, f"{key}: no {download.citation_key} in references.bib"
        assert download.url.startswith("https://") and download.file_name in download.url
        if download.kind == downloads.TORCH_CHECKPOINT:
            assert download.file_name.split("-")[-1].startswith(download.sha256_prefix)
            assert download.converted_file.endswith(".weights.h5")
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", download.md5)
    assert downloads.weights_download("resnet50") is downloads.WEIGHTS["ResNet50"]
    with pytest.raises(ValueError, match="one published checksum"):
        downloads.Download("X", downloads.DATASET, "http://x/y", md5="a", sha256="b")


@pytest.mark.parametrize("how", ["md5", "sha256", "prefix"])
def test_check_file_verifies_and_rejects(tmp_path, how):
    good = tmp_path / "good.h5"
    good.write_bytes(PAYLOAD)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(PAYLOAD[:100])  # truncated
    download = entry("http://127.0.0.1/toy.h5", how=how)
    assert downloads.check_file(download, good).status == downloads.VERIFIED
    found = downloads.check_file(download, bad)
    assert found.status == downloads.MISMATCH and not found.usable and found.detail
    assert downloads.check_file(download, tmp_path / "none.h5").status == downloads.MISSING
    assert downloads.check_file(entry("http://x/toy.h5", how="none"), good).status == downloads.UNPUBLISHED


def test_manifest_replaces_the_published_checksum_and_says_so(tmp_path, monkeypatch):
    other = tmp_path / "toy.h5"
    other.write_bytes(b"a stand-in")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"toy.h5": hashlib.md5(b"a stand-in").hexdigest()}))  # noqa: S324
    download = entry("http://127.0.0.1/toy.h5")
    assert downloads.check_file(download, other).status == downloads.MISMATCH
    monkeypatch.setenv(downloads.MANIFEST_ENV, str(manifest))
    found = downloads.check_file(download, other)
    assert found.status == downloads.VERIFIED and "manifest" in found.detail
    manifest.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        downloads.check_file(download, other)


def test_fetch_downloads_checks_and_keeps(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "toy.h5").write_bytes(PAYLOAD)
    (served / "wrong.h5").write_bytes(b"not it")
    with serve(served) as (base, requests):
        download = entry(base + "toy.h5")
        path = downloads.fetch(download, tmp_path / "cache")
        assert path.read_bytes() == PAYLOAD
        downloads.fetch(download, tmp_path / "cache")  # already there and verified: no second request
        assert requests.count("/toy.h5") == 1
        with pytest.raises(downloads.ChecksumError, match="not the published one"):
            downloads.fetch(entry(base + "wrong.h5"), tmp_path / "cache")
        assert not (tmp_path / "cache" / "wrong.h5").exists()
        with pytest.raises(downloads.ChecksumError):
            downloads.fetch(entry(base + "wrong.h5", how="prefix"), tmp_path / "cache")
        with pytest.raises(downloads.DownloadError, match="missing.h5"):
            downloads.fetch(entry(base + "missing.h5"), tmp_path / "cache")


def test_reachable_asks_over_http_and_through_the_proxy(tmp_path, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with serve(tmp_path) as (base, requests):
        assert downloads.reachable(base + "anything", timeout=5)[0]  # an HTTP 404 still answers
        ok, reason = downloads.reachable("http://host.invalid/file.h5", timeout=5)
        assert not ok and "unreachable" in reason
        monkeypatch.setenv("HTTP_PROXY", base)
        monkeypatch.setenv("http_proxy", base)
        ok, _ = downloads.reachable("http://host.invalid/file.h5", timeout=5)
        assert ok and "HEAD http://host.invalid/file.h5" in requests


def test_converted_checkpoint_is_verified_through_its_record(tmp_path):
    checkpoint = tmp_path / "toy-abc.pth"
    checkpoint.write_bytes(PAYLOAD)
    download = entry("http://x/toy-abc.pth", how="prefix", kind=downloads.TORCH_CHECKPOINT,
                     converted_file="toy_torchvision_notop.weights.h5")
    converted = tmp_path / download.converted_file
    converted.write_bytes(b"converted")
    assert downloads.check_converted(download, converted).status == downloads.UNPUBLISHED
    downloads.write_conversion_record(converted, checkpoint, download)
    assert downloads.check_converted(download, converted).status == downloads.VERIFIED
    converted.write_bytes(b"converted, then changed")
    found = downloads.check_converted(download, converted)
    assert found.status == downloads.MISMATCH and "changed" in found.detail
    checkpoint.write_bytes(b"another checkpoint")
    with pytest.raises(downloads.ChecksumError):
        downloads.write_conversion_record(converted, checkpoint, download)


def test_every_weights_file_states_its_terms_and_the_data_page_shows_them():
    page = (REPO_ROOT / "book" / "data_availability.md").read_text(encoding="utf-8")
    for download in downloads.WEIGHTS.values():
        assert "ImageNet" in download.terms and download.citation_key, download.key
        rows = [line for line in page.splitlines() if line.endswith(f"| {download.terms} |")]
        assert len(rows) == 1 and download.key in rows[0].split("|")[1], download.key
