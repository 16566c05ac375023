"""P1's multistage transfer learning (MSTL) as experiment-engine tasks.

Stage 1 (:func:`stage1_task`): a backbone without its top, global average
pooling and one dense softmax over the cell lines, every weight trainable,
trained on cell patches split 7:2:1. Its weights are saved under
:func:`weights_dir`, in a file named by a hash of the task (config, fold and
keyed context), and the record names that file.

Stage 2 (:func:`stage2_task`): P1's ultrasound classifier (three dense
layers, one with dropout, a sigmoid) trained by
:func:`mstl_lib.protocols.transfer_classification` on one nested fold. With
``config["tl"] == "MSTL"`` it starts from the stage-1 network with its dense
layer replaced (:func:`transfer_from_stage1`); with ``"CTL"`` from the
backbone's initial weights (ImageNet, or random where ImageNet cannot be had).

The stage-2 context names the stage-1 record of each (backbone, optimizer)
(:func:`stage1_links`), so the stage-2 task keys change whenever stage 1 changes.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib import engine, protocols

from mstl_lib.evaluation import metrics

from mstl_lib.data import splits
from mstl_lib.paths import build_dir
from mstl_lib.engine.provenance import config_hash
from mstl_lib.report import tables

STAGE1_TASK = "mstl_lib.multistage:stage1_task"
STAGE2_TASK = "mstl_lib.multistage:stage2_task"
STAGE1_UNKEYED = (*engine.DEFAULT_UNKEYED_CONTEXT, "patches_index")
"""Stage-1 context entries that stay out of the key (the patch table's location;
its content is in ``patches_fingerprint``)."""

RESNET50_STAGES = ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out")
"""Output of each of ResNet50's five convolution stages (P1's Fig. 6)."""


def weights_dir() -> Path:
    """Folder of the saved stage-1 and stage-2 weights (under the build folder)."""
    return build_dir() / "multistage" / "weights"


def task_file_name(prefix: str, config: dict, fold: int, context: dict, unkeyed=STAGE1_UNKEYED) -> str:
    """``<prefix>-<hash>.weights.h5``: one file per (config, fold, keyed context)."""
    keyed = {k: v for k, v in context.items() if k not in set(unkeyed)}
    return f"{prefix}-{config_hash({'config': config, 'fold': int(fold), 'context': keyed})}.weights.h5"


def link_key(backbone: str, optimizer: str) -> str:
    """Key of :func:`stage1_links`: ``"<backbone>/<optimizer>"``."""
    return f"{backbone}/{optimizer}"


# =========================================================================== data


def cell_line_frames(run, n_frames_per_line: int, frame_size: int = 512) -> pd.DataFrame:
    """Frames of stage 1: the user's folder per cell line when supplied, else phantom lines.

    The real cell data of ``../shared/data/cells`` (a few flat frames of two
    lines) cannot train a three-line classifier, so without a folder-per-line
    set this writes ``n_frames_per_line`` phantom frames of each of the three
    phantom lines of :mod:`mstl_lib.data.phantoms` and records them in
    ``run.datasets["cell_lines"]`` (shown by the banner).
    """
    from mstl_lib import data  # noqa: PLC0415
    from mstl_lib.data import phantoms  # noqa: PLC0415
    from mstl_lib.context import PHANTOM, REAL, DatasetUse  # noqa: PLC0415

    cells = run.try_load("cells")
    if cells is not None and cells.attrs.get("layout") == "folders" and run.datasets["cells"].kind == REAL:
        return cells
    folder = build_dir() / "derived" / f"phantom_cell_lines-{n_frames_per_line}x{frame_size}-seed{run.seed}"
    complete = all(len(list((folder / line).glob("*.png"))) == n_frames_per_line for line in phantoms.CELL_LINES)
    if not complete:
        phantoms.write_cell_phantoms(folder, n_frames_per_line=n_frames_per_line, size=frame_size, seed=run.seed)
    table = data.load_cells(folder)
    run.datasets["cell_lines"] = DatasetUse(
        "cell_lines", PHANTOM, str(folder), len(table),
        "phantom cell lines (mstl_lib.data.phantoms) stand in for P1's private HeLa / MCF-7 / NCI-H1299 set")
    return table


def balanced_subset_dir(table: pd.DataFrame, name: str, n_per_class: int, out_dir, seed: int = 0) -> str:
    """A data folder whose ``<name>/{benign,malignant}/`` link ``n_per_class`` random images of each class.

    P1 used 100 benign and 100 of Mendeley's 150 malignant images; this draws
    such a sample (seeded) from a loaded table, as symbolic links, so the
    dataset's own loader reads it. Returns the data folder (parent of ``<name>/``).
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    for label in ("benign", "malignant"):
        rows = table[table["label"] == label]
        picks = rows.iloc[np.sort(rng.permutation(len(rows))[:n_per_class])]
        folder = out_dir / name / label
        folder.mkdir(parents=True, exist_ok=True)
        for path in picks["path"]:
            link = folder / Path(path).name
            if not link.exists():
                link.symlink_to(Path(path).resolve())
    return str(out_dir)


def dataset_data_dir(run, name: str) -> str:
    """A folder ``d`` with ``d/<name>`` = dataset ``name`` of ``run`` (links a stand-in written elsewhere)."""
    use = run.datasets[name]
    if use.data_dir:
        return use.data_dir
    root = Path(use.root)
    holder = root.parent / f"{root.name}-data-dir"
    holder.mkdir(parents=True, exist_ok=True)
    link = holder / name
    if not link.exists():
        link.symlink_to(root, target_is_directory=True)
    return str(holder)


# =========================================================================== stage 1


@functools.lru_cache(maxsize=2)
def _patch_images(index_file: str, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    table = pd.read_csv(index_file)
    classes = tuple(sorted(table["label"].unique()))
    images = protocols.image_array(tuple(table["path"]), size)
    labels = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return images, labels, classes


def stage1_architecture(backbone: str, input_shape, n_classes: int, weights="auto"):
    """Backbone without top -> global average pooling -> dense softmax (P1, Fig. 3b)."""
    from mstl_lib.nn import classifier, heads

    return classifier.build_classifier(backbone, input_shape, heads.gap_dense_head(n_classes), weights=weights,
                                   name=f"{backbone.lower()}_stage1")


def stage1_task(config: dict, fold: int, context: dict) -> dict:
    """Train stage 1 on the cell patches; save its weights; evaluate on the test patches.

    ``config``: ``backbone``, ``optimizer``, ``image_size``, ``epochs``,
    ``batch_size``, ``learning_rate``, ``decay_rate`` (per epoch),
    ``augment_copies`` (P1 doubles the training patches with rotation, width /
    height shifts and flips), ``split`` (train, val, test shares; P1: 7:2:1).
    ``context``: ``patches_index`` (CSV of :func:`cell_patches.write_patch_dataset`),
    ``patches_fingerprint``, ``seed``, ``weights``.
    """
    from mstl_lib.nn import training  # noqa: PLC0415
    from mstl_lib.nn.runtime import set_seed  # noqa: PLC0415

    seed = int(context["seed"]) + fold
    set_seed(seed)
    size = int(config["image_size"])
    images, labels, classes = _patch_images(str(context["patches_index"]), size)
    part = splits.train_val_test_split(labels, fractions=tuple(config["split"]), seed=seed)
    augmenter = training.augmentation(flips=("horizontal", "vertical"), rotation=config.get("rotation", 0.05),
                                      shift=config.get("shift", 0.1), seed=seed)
    onehot = np.eye(len(classes), dtype=np.float32)
    x_train, y_train = training.augment_offline(images[part.train], onehot[labels[part.train]],
                                                copies=int(config["augment_copies"]), augmenter=augmenter, seed=seed)
    batch = int(config["batch_size"])
    steps = training.steps_for(len(x_train), batch)
    train_ds = training.make_dataset(x_train, y_train, batch, shuffle=True, seed=seed, repeat=True)
    val_ds = training.make_dataset(images[part.val], onehot[labels[part.val]], batch) if len(part.val) else None

    model, weights_info = stage1_architecture(config["backbone"], (size, size, 3), len(classes),
                                              context.get("weights", "auto"))
    schedule = training.exponential_decay(config["learning_rate"], decay_steps=steps, decay_rate=config["decay_rate"])
    model.compile(optimizer=training.make_optimizer(config["optimizer"], schedule),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    history = training.fit(model, train_ds, val_ds, epochs=int(config["epochs"]), steps_per_epoch=steps,
                           verbose=int(context.get("verbose", 0)))

    file_name = task_file_name("stage1", config, fold, context)
    twin, _ = stage1_architecture(config["backbone"], (size, size, 3), len(classes), weights=None)
    save_model_weights(model, twin, weights_dir() / file_name)
    probabilities = np.asarray(model.predict(training.make_dataset(images[part.test], None, batch), verbose=0))
    predicted = probabilities.argmax(axis=1)
    truth = labels[part.test]
    return {
        "metrics": {"accuracy": float(np.mean(predicted == truth)),
                    "loss": float(-np.mean(np.log(np.clip(probabilities[np.arange(len(truth)), truth], 1e-7, 1))))},
        "predictions": {"row": part.test.tolist(), "y_true": truth.tolist(), "y_pred": predicted.tolist()},
        "history": history,
        "weights_used": f"{weights_info.used}: {weights_info.detail}",
        "extra": {"weights_file": file_name, "classes": list(classes), "started_from": weights_info.used,
                  "n_train": len(x_train), "n_val": len(part.val), "n_test": len(part.test)},
    }


def save_model_weights(model, twin, path) -> None:
    """Save ``model``'s weights without its optimizer state, through an uncompiled ``twin`` of the same architecture.

    Keras 3 ``save_weights`` on a compiled model also stores the optimizer's
    slots (two extra copies of the network for Adam).
    """
    twin.set_weights(model.get_weights())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    twin.save_weights(path)


def stage1_links(records: list[dict]) -> dict:
    """What stage 2 needs of each finished stage-1 record, by ``"<backbone>/<optimizer>"``.

    Each entry holds the record ``key``, the ``weights_file``, the cell-line
    ``classes`` and what stage 1 ``started_from``; put it in the stage-2
    context so that the stage-2 keys depend on the stage-1 result.
    """
    links = {}
    for record in records:
        if record["status"] != "done":
            continue
        extra = record["extra"]
        links[link_key(record["config"]["backbone"], record["config"]["optimizer"])] = {
            "key": record["key"], "weights_file": extra["weights_file"], "classes": extra["classes"],
            "started_from": extra["started_from"],
        }
    return links


def run_stage1(grid: engine.Grid, store, **kwargs) -> engine.GridRun:
    """:func:`engine.run_grid` for stage 1, retraining tasks whose weights file is gone."""
    result = engine.run_grid(grid, store, **kwargs)
    missing = [r["config"] for r in engine.load_records(store, grid)
               if r["status"] == "done" and not (weights_dir() / r["extra"]["weights_file"]).is_file()]
    if missing:
        result = engine.run_grid(grid, store, select=lambda config: config in missing, force=True, **kwargs)
        result = engine.run_grid(grid, store, **kwargs)
    return result


# =========================================================================== stage 2


def transfer_from_stage1(backbone: str, input_shape, link: dict):
    """The stage-1 network with its weights, its dense layer replaced by P1's stage-2 head.

    Returns
    -------
    model : keras.Model
        Shares the stage-1 ``"backbone"`` (weights unchanged); the head is new.
    stage1 : keras.Model
        The stage-1 network the backbone comes from.
    info : WeightsInfo
    """
    from mstl_lib.nn import classifier, heads
    from mstl_lib.nn import weights as nn_weights  # noqa: PLC0415

    path = weights_dir() / link["weights_file"]
    if not path.is_file():
        raise FileNotFoundError(f"stage-1 weights {path} are missing; rerun the stage-1 grid (run_stage1)")
    stage1, _ = stage1_architecture(backbone, input_shape, len(link["classes"]), weights=None)
    stage1.load_weights(path)
    model = classifier.replace_head(stage1, heads.mlp_head(), name=f"{backbone.lower()}_mstl")
    info = nn_weights.WeightsInfo(requested=str(link["weights_file"]), used="file", source=str(path),
                              detail=(f"stage-1 weights (record {link['key']}), stage 1 started from "
                                      f"{link['started_from']} weights"))
    return model, stage1, info


def _model_builder(config: dict, context: dict, keep: list):
    from mstl_lib.nn import classifier, heads

    def build(input_shape):
        if config["tl"] == "MSTL":
            link = context["stage1"][link_key(config["backbone"], config["optimizer"])]
            model, _, info = transfer_from_stage1(config["backbone"], input_shape, link)
        elif config["tl"] == "CTL":
            model, info = classifier.build_classifier(config["backbone"], input_shape, heads.mlp_head(),
                                                  weights=context.get("weights", "auto"))
        else:
            raise ValueError(f"config['tl'] must be 'CTL' or 'MSTL', not {config['tl']!r}")
        keep.append(model)
        return model, info

    return build


def keeps_model(config: dict, fold: int, context: dict) -> bool:
    """Whether this task saves its trained network (``context["keep_models"]``: [backbone, optimizer, fold] lists)."""
    return [config["backbone"], config["optimizer"], int(fold)] in [list(k) for k in context.get("keep_models", [])]


def stage2_task(config: dict, fold: int, context: dict) -> dict:
    """P1's stage 2 on one nested fold, from stage 1 (``tl="MSTL"``) or the backbone (``"CTL"``).

    ``config``: those of :func:`protocols.transfer_classification` plus ``tl``.
    ``context``: that of :func:`protocols.transfer_classification` plus
    ``stage1`` (:func:`stage1_links`; MSTL only) and ``keep_models``.
    """
    keep: list = []
    result = protocols.transfer_classification(config, fold, context, build_model=_model_builder(config, context, keep))
    if keeps_model(config, fold, context):
        file_name = task_file_name("stage2", config, fold, context, unkeyed=engine.DEFAULT_UNKEYED_CONTEXT)
        size = int(config["image_size"])
        n_classes = (len(context["stage1"][link_key(config["backbone"], config["optimizer"])]["classes"])
                     if config["tl"] == "MSTL" else None)
        save_model_weights(keep[0], stage2_architecture(config["backbone"], (size, size, 3), n_classes),
                           weights_dir() / file_name)
        result["extra"]["model_file"] = file_name
    return result


def stage2_architecture(backbone: str, input_shape, n_stage1_classes: int | None = None):
    """An untrained stage-2 network (MSTL shape when ``n_stage1_classes`` is given), to load saved weights into."""
    from mstl_lib.nn import classifier, heads

    if n_stage1_classes is None:
        model, _ = classifier.build_classifier(backbone, input_shape, heads.mlp_head(), weights=None)
        return model
    stage1, _ = stage1_architecture(backbone, input_shape, n_stage1_classes, weights=None)
    return classifier.replace_head(stage1, heads.mlp_head(), name=f"{backbone.lower()}_mstl")


def load_stage2_model(record: dict):
    """The trained network a stage-2 record saved (``extra["model_file"]``)."""
    size = int(record["config"]["image_size"])
    classes = None
    if record["config"]["tl"] == "MSTL":
        link = record["context"]["stage1"][link_key(record["config"]["backbone"], record["config"]["optimizer"])]
        classes = len(link["classes"])
    model = stage2_architecture(record["config"]["backbone"], (size, size, 3), classes)
    model.load_weights(weights_dir() / record["extra"]["model_file"])
    return model


def feature_maps(model, image: np.ndarray, layer_names=RESNET50_STAGES) -> list[np.ndarray]:
    """Activations ``(h, w, channels)`` of the backbone's ``layer_names`` for one image in [0, 1]."""
    import keras  # noqa: PLC0415

    backbone = model.get_layer("backbone")
    probe = keras.Model(backbone.inputs, [backbone.get_layer(name).output for name in layer_names])
    preprocessed = model.get_layer("preprocessing")(np.asarray(image, dtype="float32")[None])
    return [np.asarray(output)[0] for output in probe(preprocessed)]


# =========================================================================== tables


TABLE1_METRICS = ("auc", "f1", "specificity", "sensitivity", "loss", "accuracy")


def table1(records: pd.DataFrame) -> pd.DataFrame:
    """P1's Table 1 from stage-2 records: fold means per (TL, CNN, optimizer), accuracy in %.

    Columns ``tl, cnn, optimizer, n_folds``, the fold means of
    :data:`TABLE1_METRICS`, ``accuracy_sd`` (sample SD, %) and
    ``avg_accuracy_cnn`` (mean over the optimizers of the CNN, %).
    """
    summary = tables.aggregate(records, by=["tl", "backbone", "optimizer"], metrics=list(TABLE1_METRICS))
    out = pd.DataFrame({"tl": summary["tl"], "cnn": summary["backbone"], "optimizer": summary["optimizer"],
                        "n_folds": summary["n"]})
    for name in TABLE1_METRICS:
        out[name] = summary[f"{name}_mean"]
    out["accuracy"] = 100 * out["accuracy"]
    out["accuracy_sd"] = 100 * summary["accuracy_sd"]
    out["avg_accuracy_cnn"] = out.groupby(["tl", "cnn"])["accuracy"].transform("mean")
    return out


def compare_table1(reproduced: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Reproduced and paper values side by side, with ``<metric>_diff`` = reproduced - paper per cell.

    Rows are the paper's (TL, CNN, optimizer); cells the profile did not run are NaN.
    """
    keys = ["tl", "cnn", "optimizer"]
    columns = [*TABLE1_METRICS, "accuracy_sd", "avg_accuracy_cnn"]
    merged = paper[keys + columns].merge(reproduced[keys + columns], on=keys, how="left",
                                         suffixes=("_paper", "_ours"))
    for name in columns:
        merged[f"{name}_diff"] = merged[f"{name}_ours"] - merged[f"{name}_paper"]
    ordered = keys + [f"{name}_{kind}" for name in columns for kind in ("paper", "ours", "diff")]
    return merged[ordered]


def format_table1(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Table 1 as P1 prints it: metrics rounded, test accuracy ``mean ± SD`` (%)."""
    shown = table[["tl", "cnn", "optimizer"]].copy()
    for name in ("auc", "f1", "specificity", "sensitivity", "loss"):
        shown[name] = table[name].round(digits)
    shown["test accuracy (%)"] = [metrics.format_mean_sd(m, s, 2)
                                  for m, s in zip(table["accuracy"], table["accuracy_sd"], strict=True)]
    shown["avg. per CNN (%)"] = table["avg_accuracy_cnn"].round(1)
    return shown


def paired_accuracies(table: pd.DataFrame, by=("cnn", "optimizer"), value: str = "accuracy") -> pd.DataFrame:
    """CTL and MSTL ``value`` side by side for each (CNN, optimizer) present in both arms."""
    wide = table.pivot_table(index=list(by), columns="tl", values=value, aggfunc="mean")
    return wide.dropna(subset=[c for c in ("CTL", "MSTL") if c in wide.columns]).reset_index()


def stored_runtime(store, prefix: str = "multistage_") -> pd.DataFrame:
    """Training time of every stored record of this chapter, per profile (from the experiment names).

    One row per profile: ``experiments``, ``tasks`` and ``training_min`` (sum of the
    records' ``wall_time_s``). Counts every record in the store, including those of
    earlier settings, so it is an upper bound on one run's training time.
    """
    rows = []
    for experiment in store.experiments():
        if not experiment.startswith(prefix):
            continue
        records = store.records(experiment)
        rows.append({"profile": experiment.rsplit("-", 1)[-1], "experiment": experiment, "tasks": len(records),
                     "training_min": sum(float(r.get("wall_time_s") or 0) for r in records) / 60})
    table = pd.DataFrame(rows, columns=["profile", "experiment", "tasks", "training_min"])
    return (table.groupby("profile", sort=False)
            .agg(experiments=("experiment", "size"), tasks=("tasks", "sum"), training_min=("training_min", "sum"))
            .reset_index())
