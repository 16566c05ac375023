"""Figures build from tidy tables and show what those tables hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown

from mstl_lib import report
from mstl_lib.data import load_busi, phantoms
from mstl_lib.report.figures import OUTLINE_RGB as RED  # the mask outline's colour in sample_grid


@pytest.fixture(scope="module")
def busi(tmp_path_factory):
    """Phantom BUSI table: 3 benign, 3 malignant, 1 normal image of 48 x 48 pixels."""
    root = tmp_path_factory.mktemp("data") / "busi"
    phantoms.write_ultrasound_phantoms(root, 3, 3, n_normal=1, size=48, seed=0)
    return load_busi(root, include_normal=True)


def red_pixels(ax) -> int:
    """Pixels of the axes' image painted in the outline colour."""
    image = ax.get_images()[0].get_array()
    return int(np.isclose(image, RED, atol=1e-3).all(axis=-1).sum())


def test_mask_outline_is_the_inner_boundary():
    mask = np.zeros((7, 7), bool)
    mask[2:5, 2:5] = True
    outline = report.mask_outline(mask)
    assert outline.sum() == 8 and not outline[3, 3] and not outline[0, 0]
    assert not (outline & ~mask).any()  # inside the mask only


def test_sample_grid_one_row_per_class_with_outlined_lesions(busi):
    fig = report.sample_grid(busi, per_class=2, size=32)
    axes = np.array(fig.axes).reshape(3, 2)
    for row, cls in zip(axes, ["benign", "malignant", "normal"], strict=True):
        images = [ax for ax in row if ax.get_images()]
        assert len(images) == (1 if cls == "normal" else 2)  # one normal image only: a blank panel
        for ax in images:
            assert ax.get_title().startswith(f"{cls}\n")
            assert ax.get_images()[0].get_array().shape == (32, 32, 3)
            # lesions are outlined, the normal image's empty mask is not
            assert (red_pixels(ax) > 0) == (cls != "normal")


def test_size_histogram_counts_every_image(busi):
    fig = report.size_histogram({"busi": busi, "two": busi.iloc[:2]})
    assert len(fig.axes) == 2 * 2
    for ax, (name, dim, n) in zip(fig.axes, [("busi", "height", 7), ("busi", "width", 7),
                                             ("two", "height", 2), ("two", "width", 2)], strict=True):
        assert ax.get_title() == f"{name}: {dim} (px)"
        assert sum(patch.get_height() for patch in ax.patches) == n


def test_duplicate_examples_one_row_per_cluster(busi):
    clusters = pd.DataFrame({"path": busi["path"][:5], "cluster": [0, 0, 1, 1, 2],
                             "cluster_size": [2, 2, 2, 2, 1], "label": busi["label"][:5]})
    fig = report.duplicate_examples(clusters, n_clusters=1, size=32)
    assert len(fig.axes) == 2  # the largest cluster (first on ties), 2 members
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"benign · {name}" for name in ("benign (1).png", "benign (2).png")]
    assert all(ax.get_images()[0].get_array().shape == (32, 32) for ax in fig.axes)
    assert len(report.duplicate_examples(clusters, n_clusters=5, size=32).axes) == 2 * 2  # singletons left out
    assert report.duplicate_examples(clusters[clusters["cluster"] == 2]) is None  # no cluster to show


def test_learning_curves_plot_each_fold_and_metric():
    history = pd.DataFrame({"optimizer": ["adam"] * 4 + ["sgd"] * 2, "fold": [0] * 6, "epoch": [1, 2, 1, 2, 1, 2],
                            "metric": ["loss", "loss", "val_loss", "val_loss", "loss", "loss"],
                            "value": [1, .5, 1.2, .9, .8, .7]})
    fig = report.learning_curves(history, by="optimizer")
    assert [ax.get_title() for ax in fig.axes] == ["optimizer = adam", "optimizer = sgd"]
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"fold 0 loss", "fold 0 val_loss"}
    assert list(lines["fold 0 loss"].get_ydata()) == [1, 0.5]
    assert list(lines["fold 0 val_loss"].get_ydata()) == [1.2, 0.9]
    assert lines["fold 0 loss"].get_linestyle() == "-" and lines["fold 0 val_loss"].get_linestyle() == "--"
    assert isinstance(report.learning_curves(history.iloc[:0], by="optimizer"), Markdown)


def test_learning_curves_keep_configurations_apart():
    history = pd.DataFrame({"backbone": ["A", "A", "B", "B"], "optimizer": ["sgd"] * 4, "fold": [0] * 4,
                            "epoch": [1, 2, 1, 2], "metric": ["loss"] * 4, "value": [1, .5, 2, 1.5]})
    fig = report.learning_curves(history, by=["backbone", "optimizer"], metrics=("loss",))
    assert [ax.get_title() for ax in fig.axes] == ["backbone = A, optimizer = sgd", "backbone = B, optimizer = sgd"]
    assert [list(ax.get_lines()[0].get_ydata()) for ax in fig.axes] == [[1, .5], [2, 1.5]]


def test_learning_curves_start_at_epoch_one():
    history = pd.DataFrame({"optimizer": ["sgd"] * 2, "fold": [0, 0], "epoch": [1, 2], "metric": ["loss"] * 2,
                            "value": [0.9, 0.5]})
    fig = report.learning_curves(history, by="optimizer", metrics=("loss",))
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [1, 2]


def test_roc_curves_from_predictions():
    predictions = pd.DataFrame({"optimizer": ["sgd"] * 4, "fold": [0] * 4, "y_true": [0, 0, 1, 1],
                                "y_score": [.1, .6, .4, .9]})
    fig = report.roc_curves(predictions, by="optimizer")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fold 0: AUC 0.75"]
    curve = ax.get_lines()[0]
    fpr, tpr = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()  # monotone
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    assert isinstance(report.roc_curves(predictions.iloc[:0], by="optimizer"), Markdown)


def test_plot_roc_skips_a_single_class_part():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert report.plot_roc(ax, [1, 1], [0.2, 0.8], "one class") is False and not ax.get_lines()
        assert report.plot_roc(ax, [0, 1], [0.2, 0.8], "both", digits=3) is True
        assert ax.get_lines()[0].get_label() == "both: AUC 1.000"
    finally:
        plt.close(fig)


def test_no_figure_uses_jet_red_against_green_or_a_font_under_8_pt():
    """Perceptual colour maps, Okabe–Ito colours and legible text in every figure the library or a chapter draws."""
    import re

    from mstl_lib.paths import REPO_ROOT

    offenders = []
    for path in [*(REPO_ROOT / "mstl_lib").rglob("*.py"), *(REPO_ROOT / "notebooks").glob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            small = [float(size) for size in re.findall(r"(?:fontsize|labelsize|size)=(\d+(?:\.\d+)?)\b", line)
                     if "fontsize" in line or "labelsize" in line]
            colour_only = re.search(r"[\"'](?:tab:\w+|lime|red|green)[\"']", line)
            if re.search(r"cmap=[\"']jet[\"']", line) or any(size < 8 for size in small) or colour_only:
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_default_lines_differ_by_colour_and_style_and_folds_by_marker():
    import matplotlib.pyplot as plt

    cycle = plt.rcParams["axes.prop_cycle"].by_key()
    assert cycle["color"] == list(report.figures.OKABE_ITO.values())
    assert len(set(map(str, cycle["linestyle"]))) == len(cycle["color"])
    history = pd.DataFrame([{"backbone": "A", "fold": fold, "metric": metric, "epoch": epoch, "value": 1.0 / epoch}
                            for fold in (0, 1, 2) for metric in ("loss", "val_loss") for epoch in (1, 2)])
    fig = report.learning_curves(history, "backbone")
    lines = [line for line in fig.axes[0].get_lines()]
    assert len({line.get_marker() for line in lines}) == 3 and len({line.get_linestyle() for line in lines}) == 2
