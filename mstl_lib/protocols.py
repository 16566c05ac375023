"""The papers' training protocols as experiment-engine tasks.

A task has the engine's signature ``task(config, fold, context) -> dict``: it
trains one configuration on one fold and returns metrics, per-sample
predictions and the training history (see :mod:`mstl_lib.experiments`).

``context`` (shared by every task of a grid) names the data and the split:

``dataset``      dataset name for :func:`mstl_lib.data.load_dataset`
``data_dir``     the folder holding it (not part of the task key; the data
                 fingerprint is)
``grouping``     ``"image"`` (the dataset's own groups) or ``"duplicates"``
                 (near-duplicate clusters merged into the groups)
``n_splits``     outer folds of the nested cross-validation
``max_images``   optional cap (a stratified random subset, for smoke runs)
``seed``, ``weights``, ``verbose``
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mstl_lib import data

from mstl_lib.evaluation import metrics

from mstl_lib.data import near_duplicates, splits
from mstl_lib.data.images import read_image


@functools.lru_cache(maxsize=8)
def binary_table(dataset: str, data_dir: str, grouping: str = "image", max_images: int | None = None,
                 seed: int = 0) -> pd.DataFrame:
    """Benign-vs-malignant rows of ``dataset`` with the groups a split must respect."""
    table = data.load_dataset(dataset, data_dir)
    table = table[table["target"] >= 0].reset_index(drop=True)
    if max_images is not None and max_images < len(table):
        keep, _ = train_test_split(np.arange(len(table)), train_size=max_images,
                                   stratify=table["target"], random_state=seed)
        table = table.iloc[np.sort(keep)].reset_index(drop=True)
    if grouping == "duplicates":
        table = near_duplicates.group_by_duplicates(table)
    elif grouping != "image":
        raise ValueError(f"grouping must be 'image' or 'duplicates', not {grouping!r}")
    return table


@functools.lru_cache(maxsize=4)
def image_array(paths: tuple[str, ...], size: int) -> np.ndarray:
    """All images of ``paths`` as one float32 array ``(n, size, size, 3)`` in [0, 1]."""
    array = np.stack([read_image(path, channels=3, size=(size, size)) for path in paths])
    array.setflags(write=False)
    return array


def nested_fold(table: pd.DataFrame, fold: int, context: dict) -> splits.Fold:
    """Fold ``fold`` of the nested cross-validation (train / val / test, groups disjoint)."""
    folds = splits.nested_kfold(table["target"].to_numpy(), groups=table["group"].to_numpy(),
                                n_splits=context["n_splits"], val_size=context.get("val_size", 0.25),
                                seed=context["seed"])
    return folds[fold]


def transfer_classification(config: dict, fold: int, context: dict, build_model=None) -> dict:
    """Fine-tune a backbone with P1's stage-2 head on one fold; evaluate on its test part.

    ``config`` keys: ``backbone``, ``optimizer``, ``image_size``, ``epochs``,
    ``batch_size``, ``learning_rate``, ``decay_rate`` (per epoch),
    ``augment_copies`` (3 = P1's threefold augmentation with vertical flips and
    rotation; ``rotation`` is the maximum angle as a fraction of a full turn,
    default 0.05 = ±18°, since P1 gives no angle).

    ``build_model(input_shape) -> (model, WeightsInfo)``, optional, builds the
    (uncompiled) network instead of ``build_classifier`` with ``mlp_head`` and
    ``context["weights"]``; :mod:`mstl_lib.multistage` passes one that starts
    from stage-1 weights. The model object is trained in place.
    """
    from mstl_lib.nn import classifier, heads
    from mstl_lib.nn import training  # noqa: PLC0415 - TensorFlow only when training
    from mstl_lib.nn.runtime import set_seed  # noqa: PLC0415

    seed = int(context["seed"]) + fold
    set_seed(seed)
    table = binary_table(context["dataset"], str(context["data_dir"]), context.get("grouping", "image"),
                         context.get("max_images"), int(context["seed"]))
    part = nested_fold(table, fold, context)
    size = int(config["image_size"])
    images = image_array(tuple(table["path"]), size)
    labels = table["target"].to_numpy(dtype=np.float32)

    augmenter = training.augmentation(flips=("vertical",), rotation=config.get("rotation", 0.05), seed=seed)
    x_train, y_train = training.augment_offline(images[part.train], labels[part.train],
                                                copies=int(config["augment_copies"]),
                                                augmenter=augmenter, seed=seed)
    batch = int(config["batch_size"])
    steps = training.steps_for(len(x_train), batch)
    train_ds = training.make_dataset(x_train, y_train, batch, shuffle=True, seed=seed, repeat=True)
    val_ds = training.make_dataset(images[part.val], labels[part.val], batch)

    if build_model is None:
        model, weights_info = classifier.build_classifier(config["backbone"], (size, size, 3), heads.mlp_head(),
                                                      weights=context.get("weights", "auto"))
    else:
        model, weights_info = build_model((size, size, 3))
    schedule = training.exponential_decay(config["learning_rate"], decay_steps=steps,
                                          decay_rate=config["decay_rate"])
    model.compile(optimizer=training.make_optimizer(config["optimizer"], schedule),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = training.fit(model, train_ds, val_ds, epochs=int(config["epochs"]), steps_per_epoch=steps,
                           verbose=int(context.get("verbose", 0)))

    scores = training.predict_scores(model, images[part.test], batch_size=batch)
    y_test = labels[part.test].astype(int)
    return {
        "metrics": metrics.binary_metrics(y_test, scores),
        "predictions": {"row": part.test.tolist(), "path": table["path"].iloc[part.test].tolist(),
                        "y_true": y_test.tolist(), "y_score": scores.tolist()},
        "history": history,
        "weights_used": f"{weights_info.used}: {weights_info.detail}",
        "extra": {"n_train": len(x_train), "n_val": len(part.val), "n_test": len(part.test)},
    }
