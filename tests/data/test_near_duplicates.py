"""Near-duplicate clusters: copies cluster, unrelated images do not, groups merge."""

from __future__ import annotations

import imagehash
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from mstl_lib.data.near_duplicates import (
    DEFAULT_MAX_DISTANCE,
    cluster_summary,
    duplicate_clusters,
    group_by_duplicates,
    hamming_matrix,
    perceptual_hashes,
)
from mstl_lib.data.splits import kfold


def random_scene(rng, size=96):
    """A smooth random grey image; two of them share no structure."""
    field = ndimage.gaussian_filter(rng.standard_normal((size, size)), 6)
    field = (field - field.min()) / (field.max() - field.min())
    return (255 * field).astype(np.uint8)


def noised(image, rng, sd=6.0):
    return np.clip(image + rng.normal(0, sd, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image_set(tmp_path_factory):
    """Originals, their copies (exact / noised / resized / JPEG) and unrelated images.

    Returns the paths and, per path, the id of the original it derives from
    (unrelated images are their own original).
    """
    folder = tmp_path_factory.mktemp("dups")
    rng = np.random.default_rng(0)
    paths, origin = [], []

    def save(array, name, source, **kwargs):
        path = folder / name
        Image.fromarray(array).save(path, **kwargs)
        paths.append(path)
        origin.append(source)

    for k in range(4):  # originals with copies, interleaved with unrelated images
        original = random_scene(rng)
        save(original, f"orig{k}.png", k)
        save(random_scene(rng), f"other{k}.png", 100 + k)
        save(original.copy(), f"orig{k}_exact.png", k)
        save(noised(original, rng), f"orig{k}_noised.png", k)
        resized = Image.fromarray(original).resize((64, 64), Image.Resampling.LANCZOS)
        save(np.asarray(resized), f"orig{k}_small.png", k)
        save(original, f"orig{k}_copy.jpg", k, quality=70)
    for k in range(6):
        save(random_scene(rng), f"lonely{k}.png", 200 + k)
    return paths, np.array(origin)


# --------------------------------------------------------------------------- hashes
def test_perceptual_hashes_match_imagehash(image_set):
    paths, _ = image_set
    hashes = perceptual_hashes(paths[:3])
    assert hashes.shape == (3, 64) and hashes.dtype == bool
    for path, bits in zip(paths[:3], hashes, strict=True):
        expected = imagehash.phash(Image.open(path).convert("L")).hash.ravel()
        assert np.array_equal(bits, expected)


@pytest.mark.parametrize("method", ["phash", "dhash", "ahash"])
@pytest.mark.parametrize("hash_size", [8, 16])
def test_perceptual_hashes_shapes(image_set, method, hash_size):
    paths, _ = image_set  # orig0, other0, orig0_exact
    hashes = perceptual_hashes(paths[:3], hash_size, method)
    assert hashes.shape == (3, hash_size**2) and hashes.dtype == bool
    assert np.array_equal(hashes[0], hashes[2])  # an exact copy hashes the same
    assert not np.array_equal(hashes[0], hashes[1])  # an unrelated image does not


def test_unknown_hash_method_is_refused(image_set):
    with pytest.raises(ValueError, match="method"):
        perceptual_hashes(image_set[0][:1], method="md5")


@pytest.mark.parametrize("n_bits", [1, 64, 256])
def test_hamming_matrix_matches_brute_force(n_bits):
    bits = np.random.default_rng(n_bits).random((7, n_bits)) < 0.5
    distances = hamming_matrix(bits)
    brute = np.array([[np.sum(a != b) for b in bits] for a in bits])
    assert np.array_equal(distances, brute)
    assert np.issubdtype(distances.dtype, np.integer)
    assert np.array_equal(distances, distances.T) and not np.diag(distances).any()


# --------------------------------------------------------------------------- clusters
def test_copies_cluster_and_unrelated_images_do_not(image_set):
    paths, origin = image_set
    table = duplicate_clusters(paths)
    same_cluster = table["cluster"].to_numpy()[:, None] == table["cluster"].to_numpy()[None, :]
    same_origin = origin[:, None] == origin[None, :]
    assert np.array_equal(same_cluster, same_origin)
    assert (table.loc[origin < 100, "cluster_size"] == 5).all()
    assert (table.loc[origin >= 100, "cluster_size"] == 1).all()
    assert (table.loc[origin < 100, "nearest_distance"] <= DEFAULT_MAX_DISTANCE).all()
    assert (table.loc[origin >= 100, "nearest_distance"] > DEFAULT_MAX_DISTANCE).all()


def test_cluster_ids_follow_first_appearance(image_set):
    paths, _ = image_set
    table = duplicate_clusters(paths)
    first_seen = table.drop_duplicates("cluster")["cluster"].tolist()
    assert first_seen == list(range(table["cluster"].nunique()))
    assert list(table.columns[:5]) == ["path", "hash", "cluster", "cluster_size", "nearest_distance"]
    assert all(len(h) == 16 for h in table["hash"])  # 64 bits in hex
    assert duplicate_clusters(paths).equals(table)  # deterministic


def test_max_distance_zero_keeps_only_identical_hashes(image_set):
    paths, _ = image_set
    table = duplicate_clusters(paths, max_distance=0)
    for _, members in table.groupby("cluster"):
        assert members["hash"].nunique() == 1


def test_cluster_summary_counts(image_set):
    paths, origin = image_set
    table = duplicate_clusters(paths)
    table["label"] = np.where(origin % 2 == 0, "benign", "malignant")
    table.loc[2, "label"] = "malignant"  # orig0_exact: a copy filed under the other class
    summary = cluster_summary(table, label_column="label")
    assert summary["n_clusters"] == 4 and summary["n_rows_in_clusters"] == 20
    assert summary["n_redundant"] == 16 and summary["largest_cluster"] == 5
    assert summary["n_label_conflicts"] == 1
    assert summary["conflict_clusters"] == [int(table.loc[0, "cluster"])]


# --------------------------------------------------------------------------- groups
def test_group_by_duplicates_merges_original_groups_and_clusters(image_set):
    paths, _ = image_set
    # rows: orig0 (g1) ~ orig0_exact (g2); other0 shares g2; orig1 ~ orig1_noised; lonely0 alone
    table = pd.DataFrame(
        {
            "path": [paths[0], paths[2], paths[1], paths[6], paths[9], paths[-1]],
            "group": ["g1", "g2", "g2", "g3", "g4", "g5"],
            "label": ["benign", "malignant", "benign", "benign", "benign", "normal"],
        }
    )
    grouped = group_by_duplicates(table)
    groups = grouped["group"].tolist()
    assert groups[0] == groups[1] == groups[2]  # union of a cluster and a shared group
    assert groups[3] == groups[4] != groups[0]
    assert groups[0].startswith("dup:") and groups[5] == "g5"
    assert grouped["group_original"].tolist() == table["group"].tolist()
    assert grouped["dup_cluster_size"].tolist() == [2, 2, 1, 2, 2, 1]
    summary = grouped.attrs["near_duplicates"]
    assert summary["n_clusters"] == 2 and summary["n_label_conflicts"] == 1
    assert summary["n_groups_before"] == 5 and summary["n_groups_after"] == 3
    assert "group_original" not in table  # input untouched


def test_group_by_duplicates_without_group_column(image_set):
    paths, origin = image_set
    grouped = group_by_duplicates(pd.DataFrame({"path": paths}))
    assert grouped["group"].nunique() == len(set(origin))
    assert "n_label_conflicts" not in grouped.attrs["near_duplicates"]


def test_grouped_kfold_keeps_every_cluster_on_one_side(image_set):
    paths, origin = image_set
    table = pd.DataFrame({"path": paths, "group": np.arange(len(paths))})
    table["label"] = (origin % 2).astype(int)
    grouped = group_by_duplicates(table)
    for fold in kfold(grouped["label"], groups=grouped["group"], n_splits=3, seed=0):
        train_clusters = set(grouped["dup_cluster"].iloc[fold.train])
        test_clusters = set(grouped["dup_cluster"].iloc[fold.test])
        assert not train_clusters & test_clusters


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_busi_has_many_near_duplicate_clusters(shared_data):
    paths = sorted(p for p in (shared_data / "busi").glob("*/*.png") if "_mask" not in p.name)
    if len(paths) < 700:
        pytest.skip("BUSI is not complete in the shared data folder")
    table = pd.DataFrame({"path": paths, "label": [p.parent.name for p in paths]})
    summary = group_by_duplicates(table).attrs["near_duplicates"]
    # measured with max_distance=6: 142 clusters, 316 images, 8 mixing classes
    assert 100 <= summary["n_clusters"] <= 200
    assert 200 <= summary["n_rows_in_clusters"] <= 400
    assert summary["n_label_conflicts"] >= 3
