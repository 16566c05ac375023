"""P1's two stages as experiment-engine tasks, sharing one training recipe.

Stage 1 (:func:`stage1_task`): the backbone without its top, global average
pooling and one dense softmax over the cell lines, every weight trainable,
trained on cell patches split 7:2:1. It saves the trained *backbone*'s weights
under :func:`mstl_lib.paths.model_weights_dir`, in a file named by a hash of the
task, and its record names that file and its SHA-256.

Stage 2 (:func:`stage2_task`): P1's ultrasound classifier (three dense layers,
one with dropout, a sigmoid) on one nested fold. ``tl="CTL"`` starts from the
weights the run context resolved (ImageNet, or random where ImageNet cannot be
had); ``tl="MSTL"`` from the stage-1 backbone file named in the context
(:func:`transfer_from_stage1`).

Both stages go through :func:`train_recipe`: offline augmentation, a shuffled
dataset, compile with P1's decaying schedule and the optimizer, ``fit``, predict.

Tasks read their rows only from ``context["data_source"]`` (stage 2) or the
patch index the grid wrote (stage 1), build backbones only from resolved
weights, and never seed: the engine seeds every task before calling it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib import engine, timing
from mstl_lib.data import splits, tables
from mstl_lib.engine.provenance import config_hash
from mstl_lib.evaluation import metrics
from mstl_lib.nn import batchnorm, calibration, classifier, compiled, heads, training
from mstl_lib.nn.weights import WeightsInfo, file_sha256, from_context, weights_fields
from mstl_lib.papers.p1_mstl import protocol
from mstl_lib.paths import model_weights_dir

# mstl_lib.nn imports Keras (and TensorFlow where installed) here, at import, so that the engine's seeding (after it
# imports this module) reaches Keras' generators.

RECIPE_VERSION = "p1-13"
"""Part of every P1 task key: bump it when the training or evaluation code changes results."""
RECIPE_MODULES = ("mstl_lib.nn.calibration",)
"""Shared modules only P1's records depend on (see :func:`mstl_lib.papers.recipe_fingerprint`)."""

STAGE1_TASK = "mstl_lib.papers.p1_mstl.tasks:stage1_task"
STAGE2_TASK = "mstl_lib.papers.p1_mstl.tasks:stage2_task"
STAGE1_UNKEYED = (*engine.DEFAULT_UNKEYED_CONTEXT, "patches_index")
"""Stage-1 context entries left out of the key (the patch index's location; the
grid's data fingerprint covers its content)."""
STAGE2_UNKEYED = (*engine.DEFAULT_UNKEYED_CONTEXT, "stage1")
"""Stage-2 context entries left out of the key: the stage-1 links (each MSTL
configuration names its stage-1 record in ``stage1_key``, so CTL keys never
depend on stage 1)."""

ARCHITECTURE_ONLY = WeightsInfo(None, "random", "random initialisation",
                                "architecture only: trained weights are loaded from a file afterwards")
"""What a network built only to receive saved weights starts from."""


# =========================================================================== files


def weights_file_name(prefix: str, config: dict, fold: int, context: dict, unkeyed=STAGE1_UNKEYED) -> str:
    """``p1-<prefix>-<hash>.weights.h5``: one file per (configuration, fold, keyed context)."""
    keyed = {k: v for k, v in context.items() if k not in set(unkeyed)}
    return f"p1-{prefix}-{config_hash({'config': config, 'fold': int(fold), 'context': keyed})}.weights.h5"


def save_model_weights(model, twin, path) -> Path:
    """Save ``model``'s weights without its optimizer state, through an uncompiled ``twin`` of the same architecture.

    Keras 3 ``save_weights`` on a compiled model also stores the optimizer's
    slots (two extra copies of the network for Adam).
    """
    twin.set_weights(model.get_weights())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    twin.save_weights(path)
    return path


# =========================================================================== networks


def stage1_architecture(backbone: str, input_shape, n_classes: int, weights: WeightsInfo):
    """Backbone without top -> global average pooling -> dense softmax (P1, Fig. 3b); returns ``(model, info)``."""
    return classifier.build_classifier(backbone, input_shape, heads.gap_dense_head(n_classes), weights=weights,
                                       name=f"{backbone.lower()}_stage1")


def stage2_architecture(backbone: str, input_shape, weights: WeightsInfo = ARCHITECTURE_ONLY):
    """P1's stage-2 network (Fig. 3c): backbone -> GAP -> 256 -> dropout -> 128 -> 1 sigmoid; returns ``(model, info)``.

    CTL and MSTL share it; they differ only in the backbone's starting weights.
    """
    return classifier.build_classifier(backbone, input_shape, heads.mlp_head(**protocol.STAGE2_HEAD),
                                       weights=weights, name=f"{backbone.lower()}_stage2")


def stage1_weights_info(link: dict) -> WeightsInfo:
    """The stage-1 backbone file of ``link`` (an entry of :func:`stage1_links`) as resolved weights.

    Raises
    ------
    FileNotFoundError
        The file is gone (a cleaned build folder): rerun the stage-1 grid
        (``grids.run_all`` retrains stage-1 tasks whose file is missing).
    """
    path = model_weights_dir() / link["weights_file"]
    if not path.is_file():
        raise FileNotFoundError(f"stage-1 weights {path} are missing; rerun the stage-1 grid (grids.run_all)")
    return WeightsInfo(requested=link["weights_file"], used="file", source=str(path),
                       detail=(f"stage-1 backbone (record {link['key']}); stage 1 started from "
                               f"{link['started_from']} weights"), sha256=link.get("sha256"))


def transfer_from_stage1(backbone: str, input_shape, link: dict):
    """MSTL's starting network: the stage-1 backbone with P1's stage-2 head; returns ``(model, info)``."""
    return stage2_architecture(backbone, input_shape, stage1_weights_info(link))


# =========================================================================== the recipe


def train_recipe(model, train: tuple, val: tuple, test_images: np.ndarray, config: dict, *, loss: str,
                 augmentation: dict, seed: int, verbose: int = 0) -> tuple[dict, np.ndarray, int]:
    """P1's training of either stage: augment offline, fit with the decaying schedule, settle BatchNorm, predict.

    After training, the BatchNorm statistics are recomputed on the un-augmented
    training images with the final weights (:func:`mstl_lib.nn.batchnorm.settle_batchnorm`):
    Keras' moving averages lag far behind after a short training, and ``predict``
    would otherwise compute another function than the one trained.

    Parameters
    ----------
    model : keras.Model
        Uncompiled; trained in place (through :func:`mstl_lib.nn.compiled.compiled_once`: a worker traces each recipe once).
    train, val : (images, labels)
        ``val`` may be empty.
    config : dict
        ``optimizer``, ``epochs``, ``batch_size``, ``learning_rate``,
        ``decay_rate`` (per epoch) and ``augment_copies`` (the training set's
        multiple, originals included).
    loss : str
        Keras loss (``"categorical_crossentropy"`` or ``"binary_crossentropy"``).
    augmentation : dict
        Arguments of :func:`mstl_lib.nn.training.augmentation`.
    seed : int
        Seeds the augmentation and the shuffling (explicit generators; the
        engine has already seeded the global ones).

    Where ``config["operating_point"]`` is ``"validation"`` (a binary stage
    only), the output bias is then moved, where the network's own threshold
    collapses the validation images onto one class, so that the threshold
    maximises their balanced accuracy
    (:func:`mstl_lib.nn.calibration.set_operating_point`); the AUC is unchanged.

    Returns
    -------
    history : dict
    outputs : ndarray of shape (n_test, n_outputs)
    n_train : int
        Training images after augmentation.
    notes : dict
        ``batchnorm`` (what settling did) and, where the operating point moved,
        ``operating_point`` (what it did) and ``test_positive_at_own_threshold``.
    """
    augmenter = training.augmentation(seed=seed, **augmentation)
    x_train, y_train = training.augment_offline(train[0], train[1], copies=int(config["augment_copies"]),
                                                augmenter=augmenter, seed=seed)
    batch = int(config["batch_size"])
    steps = training.steps_for(len(x_train), batch)
    train_ds = training.make_dataset(x_train, y_train, batch, shuffle=True, seed=seed, repeat=True)
    val_ds = training.make_dataset(val[0], val[1], batch) if len(val[0]) else None
    schedule = training.exponential_decay(config["learning_rate"], decay_steps=steps, decay_rate=config["decay_rate"])
    optimizer = training.make_optimizer(config["optimizer"], schedule)
    with compiled.compiled_once(model, optimizer, loss, ["accuracy"]) as trained:  # traced once per worker
        history = training.fit(trained, train_ds, val_ds, epochs=int(config["epochs"]), steps_per_epoch=steps,
                               verbose=verbose)
        notes = {"batchnorm": batchnorm.settle_batchnorm(trained, train[0]).sentence()}
        point = None
        if config.get("operating_point", "0.5") == "validation" and loss == "binary_crossentropy":
            calibration_images, calibration_labels = val if len(np.unique(val[1])) == 2 else train
            point = calibration.set_operating_point(trained, calibration_images, calibration_labels, batch)
            notes["operating_point"] = point.sentence()
        with timing.phase("predict"):
            outputs = np.asarray(trained.predict(training.make_dataset(test_images, None, batch), verbose=0))
    outputs = outputs.reshape(len(test_images), -1)
    if point is not None:
        own = calibration.logits_of(outputs, "sigmoid") - point.offset >= 0
        notes["test_positive_at_own_threshold"] = int(own.sum())
    return history, outputs, len(x_train), notes


# =========================================================================== stage 1


@functools.lru_cache(maxsize=2)
def patch_images(index_file: str, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The patches of a patch index (``cell_patches.write_patch_dataset``): images, class indices, class names."""
    table = pd.read_csv(index_file)
    classes = tuple(sorted(table["label"].unique()))
    images = tables.image_array(tuple(table["path"]), size)
    labels = table["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return images, labels, classes


def patch_frames(index_file: str) -> np.ndarray:
    """The source frame of every patch of a patch index (the group a split must keep whole)."""
    return pd.read_csv(index_file)["group"].astype(str).to_numpy()


def stage1_split(labels: np.ndarray, frames: np.ndarray, fractions, seed: int) -> tuple[splits.Fold, bool]:
    """P1's 7:2:1 patch split, grouped by source frame when every line has :data:`protocol.STAGE1_MIN_FRAMES` frames.

    Returns the split and whether it is grouped; an ungrouped split lets patches of
    one frame sit on both sides, so its test accuracy is a diagnostic only.
    """
    per_line = pd.Series(frames).groupby(np.asarray(labels)).nunique()
    if len(per_line) and per_line.min() >= protocol.STAGE1_MIN_FRAMES:
        return splits.train_val_test_split(labels, groups=frames, fractions=tuple(fractions), seed=seed), True
    return splits.train_val_test_split(labels, fractions=tuple(fractions), seed=seed), False


def shuffled_labels(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation of the stage-1 labels (the control arm's stage 1): class counts kept, link to images cut."""
    return np.random.default_rng([int(seed), 1]).permutation(np.asarray(labels))


def stage1_task(config: dict, fold: int, context: dict) -> dict:
    """Stage 1: train on the cell patches, save the backbone's weights, evaluate on the test patches.

    ``config``: ``backbone``, ``optimizer``, ``image_size``, ``epochs``,
    ``batch_size``, ``learning_rate``, ``decay_rate``, ``augment_copies``,
    ``split`` (train, val, test shares; P1: 7:2:1) and optionally ``labels``
    (``"shuffled"``: the control arm, trained on permuted labels).
    ``context``: from ``RunContext.task_context`` (``seed``, ``weights_info``)
    plus ``patches_index``.

    Returns metrics :data:`protocol.STAGE1_METRICS`, the test predictions, the
    history, ``weights`` and ``weights_used`` and ``extra`` (``weights_file``, ``sha256``,
    ``classes``, ``started_from``, ``n_train``, ``n_val``, ``n_test``).
    """
    seed = int(context["seed"]) + int(fold)
    size = int(config["image_size"])
    images, labels, classes = patch_images(str(context["patches_index"]), size)
    if config.get("labels", "true") == "shuffled":  # the control: same patches, same steps, labels permuted
        labels = shuffled_labels(labels, seed)
    part, grouped = stage1_split(labels, patch_frames(str(context["patches_index"])), config["split"], seed)
    onehot = np.eye(len(classes), dtype=np.float32)
    model, info = stage1_architecture(config["backbone"], (size, size, 3), len(classes),
                                      from_context(context, config["backbone"]))
    history, probabilities, n_train, notes = train_recipe(
        model, (images[part.train], onehot[labels[part.train]]), (images[part.val], onehot[labels[part.val]]),
        images[part.test], config, loss="categorical_crossentropy", augmentation=protocol.STAGE1_AUGMENTATION,
        seed=seed, verbose=int(context.get("verbose", 0)))

    file_name = weights_file_name("stage1", config, fold, context, STAGE1_UNKEYED)
    path = model_weights_dir() / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    model.get_layer("backbone").save_weights(path)  # the backbone is not compiled: no optimizer state
    truth = labels[part.test]
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(truth)), truth], 1e-7, 1)
    return {
        "metrics": {"accuracy": float(np.mean(predicted == truth)), "loss": float(-np.mean(np.log(picked)))},
        "predictions": {"row": part.test.tolist(), "y_true": truth.tolist(), "y_pred": predicted.tolist()},
        "history": history,
        **weights_fields({config["backbone"]: info}),
        "extra": {"weights_file": file_name, "sha256": file_sha256(path), "classes": list(classes),
                  "started_from": info.used, "n_train": n_train, "n_val": len(part.val), "n_test": len(part.test),
                  "grouped_by_frame": grouped, **notes},
    }


def stage1_links(records: list[dict]) -> dict:
    """What stage 2 needs of each finished stage-1 record, by :func:`protocol.link_key`.

    Each entry: the record ``key``, ``weights_file``, ``sha256``, the cell-line
    ``classes`` and what stage 1 ``started_from``.
    """
    links = {}
    for record in records:
        if record["status"] != "done":
            continue
        extra = record["extra"]
        config = record["config"]
        links[protocol.link_key(config["backbone"], config["optimizer"], config.get("labels", "true"))] = {
            "key": record["key"], "weights_file": extra["weights_file"], "sha256": extra.get("sha256"),
            "classes": extra["classes"], "started_from": extra["started_from"],
        }
    return links


def stage1_file_present(record: dict) -> bool:
    """Whether a finished stage-1 record's weights file is still there, unchanged."""
    extra = record.get("extra") or {}
    path = model_weights_dir() / str(extra.get("weights_file"))
    return path.is_file() and (extra.get("sha256") is None or file_sha256(path) == extra["sha256"])


# =========================================================================== stage 2


def stage2_model(config: dict, context: dict, input_shape):
    """The network a stage-2 task starts from: ``(model, WeightsInfo)``.

    ``CTL``: the resolved weights of the run context. ``MSTL`` (and the control
    ``SHUF``): the stage-1 file of ``context["stage1"]`` for this (backbone,
    optimizer) trained on the true (shuffled) labels, which must be the record
    named by ``config["stage1_key"]``.
    """
    if config["tl"] == "CTL":
        return stage2_architecture(config["backbone"], input_shape, from_context(context, config["backbone"]))
    if config["tl"] not in protocol.STAGE1_LABELS:
        raise ValueError(f"config['tl'] must be one of {protocol.ALL_ARMS}, not {config['tl']!r}")
    key = protocol.link_key(config["backbone"], config["optimizer"], protocol.STAGE1_LABELS[config["tl"]])
    link = (context.get("stage1") or {}).get(key)
    if link is None or config.get("stage1_key") is None:
        raise RuntimeError(f"no finished stage-1 record for {key}: the stage-1 task failed or has not run")
    if link["key"] != config["stage1_key"]:
        raise RuntimeError(f"the context links stage-1 record {link['key']} for {key}, the configuration names "
                           f"{config['stage1_key']}; rebuild the stage-2 grids after running stage 1")
    return transfer_from_stage1(config["backbone"], input_shape, link)


def keeps_model(config: dict, fold: int, context: dict) -> bool:
    """Whether this task saves its trained network (``context["keep_models"]``: [backbone, optimizer, fold] lists).

    Only P1's two arms are kept (for Fig. 6); the shuffled-label control is not.
    """
    return (config.get("tl", "CTL") in protocol.ARMS
            and [config["backbone"], config["optimizer"], int(fold)] in [list(k) for k in context.get("keep_models", [])])


def stage2_task(config: dict, fold: int, context: dict) -> dict:
    """Stage 2 of P1 on one nested fold, from the resolved weights (``tl="CTL"``) or stage 1 (``"MSTL"``).

    ``config``: ``tl``, ``backbone``, ``optimizer``, ``image_size``, ``epochs``,
    ``batch_size``, ``learning_rate``, ``decay_rate``, ``augment_copies``, and
    for MSTL ``stage1_key``. ``context``: from ``RunContext.task_context``
    (``data_source``, ``seed``, ``weights_info``) plus ``grouping``,
    ``n_splits``, ``val_size``, ``max_images``, ``per_class``, ``stage1``
    (:func:`stage1_links`) and ``keep_models``.

    Returns metrics :data:`protocol.TABLE1_METRICS`, per-image test
    predictions (``row``, ``path``, ``y_true``, ``y_score``), the history,
    ``weights``, ``weights_used`` and ``extra`` (``n_train``, ``n_val``, ``n_test``,
    ``started_from``, and ``model_file`` when the network is kept).
    """
    table = tables.binary_table(context["data_source"], context.get("grouping", "image"), context.get("max_images"),
                                int(context["seed"]), per_class=context.get("per_class"))
    part = protocol.nested_fold(table, fold, context)
    size = int(config["image_size"])
    images = tables.image_array(tuple(table["path"]), size)
    labels = table["target"].to_numpy(dtype=np.float32)
    model, info = stage2_model(config, context, (size, size, 3))
    history, outputs, n_train, notes = train_recipe(
        model, (images[part.train], labels[part.train]), (images[part.val], labels[part.val]), images[part.test],
        config, loss="binary_crossentropy", augmentation=protocol.STAGE2_AUGMENTATION,
        seed=int(context["seed"]) + int(fold), verbose=int(context.get("verbose", 0)))
    scores = outputs[:, -1]
    y_test = labels[part.test].astype(int)
    measured = metrics.binary_metrics(y_test, scores)
    measured["pred_malignant_own_threshold"] = float(notes.pop("test_positive_at_own_threshold",
                                                               measured["pred_malignant"]))
    extra = {"n_train": n_train, "n_val": len(part.val), "n_test": len(part.test), **notes,
             "started_from": info.detail if info.used == "file" else info.used}
    if keeps_model(config, fold, context):
        file_name = weights_file_name("stage2", config, fold, context, STAGE2_UNKEYED)
        twin, _ = stage2_architecture(config["backbone"], (size, size, 3))
        save_model_weights(model, twin, model_weights_dir() / file_name)
        extra["model_file"] = file_name
    return {
        "metrics": {name: measured[name] for name in protocol.STAGE2_RECORDED},
        "predictions": {"row": part.test.tolist(), "path": table["path"].iloc[part.test].tolist(),
                        "y_true": y_test.tolist(), "y_score": scores.tolist()},
        "history": history,
        **weights_fields({config["backbone"]: info}),
        "extra": extra,
    }


def load_stage2_model(record: dict):
    """The trained network a stage-2 record kept (``extra["model_file"]``)."""
    size = int(record["config"]["image_size"])
    model, _ = stage2_architecture(record["config"]["backbone"], (size, size, 3))
    model.load_weights(model_weights_dir() / record["extra"]["model_file"])
    return model


def feature_maps(model, image: np.ndarray, layer_names=protocol.RESNET50_STAGES) -> list[np.ndarray]:
    """Activations ``(h, w, channels)`` of the backbone's ``layer_names`` for one image in [0, 1] (Fig. 6)."""
    import keras  # noqa: PLC0415 - already imported by mstl_lib.nn

    backbone = model.get_layer("backbone")
    probe = keras.Model(backbone.inputs, [backbone.get_layer(name).output for name in layer_names])
    preprocessed = model.get_layer("preprocessing")(np.asarray(image, dtype="float32")[None])
    return [np.asarray(output)[0] for output in probe(preprocessed)]
