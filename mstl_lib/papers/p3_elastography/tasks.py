"""P3's engine task: fine-tune the two constituents on one input and view, then build both ensembles.

:func:`p3_arm` has the engine's signature ``task(config, fold, context)``. For
one (input, view, class separation) and one fold it

1. reads the patient table (BUSI pseudo-patients or DDTI cases), draws each
   patient's stiffness ratio and simulates the strain images
   (:func:`protocol.model_inputs`);
2. fine-tunes each constituent (AlexNet: convolutions frozen, its three fully
   connected layers trained; ResNet-18: its first four child modules frozen, or
   every convolution under ``resnet_freeze="all"``) with cross-entropy, Adam and
   early stopping on the validation loss, restoring the best epoch; the frozen
   part runs once per image (:mod:`mstl_lib.nn.freeze_cache`); BatchNorm is
   settled before any prediction;
3. freezes both, concatenates their penultimate features and trains a new
   linear softmax layer on them (the ensemble), and forms the two-voter
   majority vote (a tie, i.e. a disagreement, goes to malignant);
4. scores every model image-wise and patient-wise (eq. 1, eq. 2) on the test
   patients, and the oracle from the drawn ratio alone.

**Four channels.** AlexNet and ResNet-18 take the 4 channels directly, through
the registry's four-channel stem (:mod:`mstl_lib.nn.stem`: grey first, its filter
the mean of the pretrained RGB filters). A backbone that takes 3 channels only
(a stand-in), and the 1-channel B-mode input, meet it through a fixed linear map
(:func:`channel_adapter`): ``B`` is repeated to RGB, and ``BSE`` becomes ``RGB +
grey / 3``, which is what the mean-filter rule computes (``sum_c W_c (x_c + g/3)``
= ``sum_c W_c x_c + mean_c(W_c) g``) when the preprocessing is a scaling. The map
has no trainable weight, so it sits in the cached frozen part.

Importing this module imports TensorFlow (quietly).
"""

from __future__ import annotations


import numpy as np

from mstl_lib.downloads import WEIGHTS
from mstl_lib.nn import backbones, batchnorm, calibration, classifier, compiled, freeze_cache, training
from mstl_lib.nn.features import concatenate_features
from mstl_lib.nn.weights import from_context, weights_fields
from mstl_lib.papers.p3_elastography import protocol

import keras  # noqa: E402,I001 - mstl_lib.nn imported TensorFlow quietly first

__all__ = ["RECIPE_VERSION", "adapter_matrix", "build_comparison", "build_constituent", "channel_adapter",
           "constituent_head", "ensemble_model", "frozen_count", "gradcam_maps", "p3_arm", "train_constituent", "train_softmax_layer"]

if not any(key.lower() == "densenet121" for key in backbones.BACKBONES):
    # P3's Table 2 comparison model, registered here: the shared registry is a recipe module of every paper
    backbones.register_backbone(
        "DenseNet121", keras.applications.DenseNet121, keras.applications.densenet.preprocess_input, min_size=32,
        mode="torch", weights_url=WEIGHTS["DenseNet121"].url)

RECIPE_VERSION = "p3-19"

RECIPE_MODULES = ("mstl_lib.nn.torchvision_models", "mstl_lib.nn.stem", "mstl_lib.nn.gradcam",
                  "mstl_lib.nn.calibration", "mstl_lib.evaluation.patients", "mstl_lib.data.phantoms.strain")
"""Shared modules only P3's records depend on (see :func:`mstl_lib.papers.recipe_fingerprint`)."""
"""The grids' ``code_version``: bump it whenever a change here changes results."""


def adapter_matrix(channels: int) -> np.ndarray:
    """The fixed ``(channels, 3)`` map to a 3-channel stem: 1 -> repeat, 3 -> identity, 4 -> RGB + grey / 3.

    Channel order of a 4-channel input: grey B-mode first, then the strain image's R, G, B.
    """
    if channels == 1:
        return np.ones((1, 3), dtype="float32")
    if channels == 3:
        return np.eye(3, dtype="float32")
    if channels == 4:
        return np.concatenate([np.full((1, 3), 1 / 3, dtype="float32"), np.eye(3, dtype="float32")])
    raise ValueError(f"inputs have 1, 3 or 4 channels; got {channels}")


def channel_adapter(channels: int) -> keras.layers.Layer:
    """A frozen 1x1 convolution applying :func:`adapter_matrix`."""
    layer = keras.layers.Conv2D(3, 1, use_bias=False, name="channel_adapter", trainable=False)
    layer.build((None, None, None, channels))
    layer.set_weights([adapter_matrix(channels).reshape(1, 1, channels, 3)])
    return layer


def constituent_head(constituent: str, fc_in_backbone: bool = True, n_classes: int = 2):
    """P3's head of ``constituent`` on the backbone's output; its penultimate layer is named ``features``.

    AlexNet: the registry's torchvision layout keeps fc6 and fc7 in the backbone
    (``fc_in_backbone``), so the head is the new 2-way FC on fc7's 4,096
    outputs; on a backbone without them (a stand-in) the head adds torchvision's
    classifier (Dropout, FC 4096 ReLU, Dropout, FC 4096 ReLU) first. Either way
    AlexNet's three FC layers train. ResNet-18: global average pooling (512
    features) and one FC layer.
    """

    def alexnet(x):
        x = keras.layers.Flatten(name="head_flatten" if not fc_in_backbone else "features")(x)
        if not fc_in_backbone:
            x = keras.layers.Dropout(0.5, name="head_dropout_0")(x)
            x = keras.layers.Dense(4096, activation="relu", name="head_fc6")(x)
            x = keras.layers.Dropout(0.5, name="head_dropout_1")(x)
            x = keras.layers.Dense(4096, activation="relu", name="features")(x)
        return keras.layers.Dense(n_classes, activation="softmax", name="head_output", dtype="float32")(x)

    def resnet(x):
        x = keras.layers.GlobalAveragePooling2D(name="features")(x)
        return keras.layers.Dense(n_classes, activation="softmax", name="head_output", dtype="float32")(x)

    if constituent not in protocol.CONSTITUENTS:
        raise ValueError(f"constituent must be one of {protocol.CONSTITUENTS}; got {constituent!r}")
    return alexnet if constituent == "AlexNet" else resnet


def _has_dense(model) -> bool:
    return any(isinstance(layer, keras.layers.Dense) for layer in model.layers)


def _backbone_on_image(backbone: str, size: int, channels: int, weights):
    """``(inputs, feature map, backbone model, info)``: an image input of ``channels`` channels, a fixed
    :func:`channel_adapter` where the backbone cannot take them, the registry's preprocessing and the backbone."""
    direct = channels in backbones.backbone_spec(backbone).channels
    base, info = classifier.build_classifier(backbone, (size, size, channels if direct else 3), lambda x: x,
                                             weights=weights)
    inputs = keras.Input(shape=(size, size, channels), name="image")
    x = inputs if direct else channel_adapter(channels)(inputs)
    backbone_model = base.get_layer("backbone")
    return inputs, backbone_model(base.get_layer("preprocessing")(x)), backbone_model, info


def build_constituent(constituent: str, backbone: str, size: int, channels: int, weights):
    """``image -> preprocessing -> "backbone" -> P3 head``, uncompiled.

    A backbone that takes ``channels`` channels (the torchvision layouts take 3
    or 4, with the registry's four-channel stem) gets them directly; otherwise
    a fixed :func:`channel_adapter` in front maps them to 3 (B-mode repeated to
    RGB; on a 3-channel stand-in, B-SE to ``RGB + grey / 3``).

    Returns
    -------
    model, info
        The classifier and the :class:`~mstl_lib.nn.weights.WeightsInfo` it started from.
    """
    inputs, features, backbone_model, info = _backbone_on_image(backbone, size, channels, weights)
    head = constituent_head(constituent, fc_in_backbone=_has_dense(backbone_model))
    return keras.Model(inputs, head(features), name=f"{constituent.lower()}_classifier"), info


def build_comparison(backbone: str, size: int, channels: int, weights):
    """A Table 2 comparison model: ``image -> preprocessing -> "backbone" -> GAP ("features") -> softmax``."""
    inputs, x, _, info = _backbone_on_image(backbone, size, channels, weights)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    out = keras.layers.Dense(2, activation="softmax", name="head_output", dtype="float32")(x)
    return keras.Model(inputs, out, name=f"{backbone.lower()}_comparison"), info


def _comparison_arm(config, fold, context, table, parts, images, labels, train_kw, seed) -> dict:
    """One Table 2 comparison model (``config["comparison"]``): frozen backbone, head trained on cached features."""
    name = config["comparison"]
    backbone = protocol.COMPARISONS[name]
    model, info = build_comparison(backbone, int(config["image_size"]), images.shape[-1],
                                   from_context(context, backbone))
    n_frozen = len(model.get_layer("backbone").layers)
    trained = train_constituent(model, n_frozen, images, labels, parts, epochs=int(config["ensemble_epochs"]),
                                seed=seed + fold, random_init=info.used == "random", **train_kw)
    test = parts["test"]
    y_test, patients_test = labels[test], table["patient"].to_numpy()[test]
    scores = trained["predict"](test)
    predictions = {"row": test.tolist(), "path": table["path"].iloc[test].tolist(),
                   "patient": patients_test.tolist(), "y_true": y_test.tolist(),
                   "ratio": [float("nan")] * len(test), f"score_{name}": scores.tolist()}
    extra = {"backbones": {name: backbone}, "n_frozen": {name: f"{n_frozen} of {n_frozen}"},
             "batchnorm": {name: trained["batchnorm"]}, "epochs_run": {name: trained["epochs_run"]},
             "cache_seconds": {name: trained["cache_seconds"]}, "operating_point": {name: trained["operating_point"]},
             "n_fit": len(parts["fit"]),
             "n_val": len(parts["val"]), "n_test": len(test), "n_patients": int(table["patient"].nunique())}
    return {"metrics": _model_metrics(name, y_test, scores, patients_test), "predictions": predictions,
            "history": {f"{name}_{k}": v for k, v in trained["history"].items()},
            **weights_fields({name: info}), "extra": extra}


def frozen_count(constituent: str, backbone_model, resnet_freeze: str) -> int:
    """Leading backbone layers frozen.

    AlexNet: every convolution, up to the first dropout or FC layer (its FC
    layers, in the backbone or the head, train). ResNet-18: its stem up to the
    first max-pooling layer (``"stem"``: conv1, bn1, relu, maxpool) or every
    layer (``"all"``).
    """
    layers = backbone_model.layers
    if constituent == "AlexNet":
        for index, layer in enumerate(layers):
            if isinstance(layer, (keras.layers.Dense, keras.layers.Dropout)):
                return index
        return len(layers)
    if resnet_freeze == "all":
        return len(layers)
    if resnet_freeze == "layer2":  # the sensitivity arm: freeze through torchvision's layer2
        last = [index for index, layer in enumerate(layers) if layer.name.startswith("layer2")]
        if not last:
            raise ValueError(f"{backbone_model.name} has no layer2 (not a torchvision ResNet layout)")
        return last[-1] + 1
    if resnet_freeze != "stem":
        raise ValueError(f"resnet_freeze must be 'stem', 'layer2' or 'all'; got {resnet_freeze!r}")
    for index, layer in enumerate(layers):
        if isinstance(layer, keras.layers.MaxPooling2D):
            return index + 1
    raise ValueError(f"{backbone_model.name} has no max-pooling layer to end its frozen stem")


def _early_stopping(patience: int):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience), restore_best_weights=False)


def train_constituent(model, n_frozen: int, images: np.ndarray, labels: np.ndarray, parts: dict, *,
                      epochs: int, patience: int, batch_size: int, learning_rate: float, seed: int,
                      random_init: bool = False, verbose: int = 0, operating_point: str = "0.5") -> dict:
    """Fine-tune one constituent on ``parts["fit"]``, stopping on ``parts["val"]``'s loss (best epoch kept).

    The frozen prefix runs once over every row of ``parts`` and the rest trains
    on its cached outputs. With ``random_init`` the frozen BatchNorm layers'
    statistics are recomputed on the fit images first; after training the
    trainable ones are settled on them.

    Returns
    -------
    dict
        ``predict(rows) -> P(malignant)``, ``features(rows)``, ``history``,
        ``batchnorm`` (what was settled), ``epochs_run`` and ``cache_seconds``.
    """
    labels = np.asarray(labels, dtype="int32")
    backbone = model.get_layer("backbone")
    classifier.freeze_first(backbone, n_frozen)
    settled = []
    if random_init:
        settled.append(batchnorm.settle_batchnorm(model, images[parts["fit"]],
                                                  layers=batchnorm.frozen_batchnorm_layers(model)))
    split = freeze_cache.split_classifier(model, n_frozen, feature_layer="features")
    cached = freeze_cache.cache_rows(split.prefix, images, parts)
    fit_ds = freeze_cache.activation_dataset(cached.take(parts["fit"]), labels[parts["fit"]], batch_size,
                                             shuffle=True, seed=seed, repeat=True)
    val_ds = freeze_cache.activation_dataset(cached.take(parts["val"]), labels[parts["val"]], batch_size)
    with compiled.compiled_once(split.suffix, keras.optimizers.Adam(learning_rate),
                                "sparse_categorical_crossentropy") as suffix:  # traced once per worker
        history = training.fit(suffix, fit_ds, val_ds, epochs=epochs,
                               steps_per_epoch=training.steps_for(len(parts["fit"]), batch_size),
                               callbacks=[_early_stopping(patience)], restore_best=True, monitor="val_loss",
                               verbose=verbose)
        settled.append(batchnorm.settle_batchnorm(suffix, cached.inputs(parts["fit"])))
        point = _operating_point(suffix, cached.inputs, labels, parts, operating_point, "head_output")
    return {
        "predict": lambda idx: freeze_cache.predict_arrays(split.suffix, cached.inputs(idx))[:, 1],
        "features": lambda idx: freeze_cache.predict_arrays(split.features, cached.inputs(idx)),
        "history": history, "epochs_run": len(history.get("loss", [])), "cache_seconds": cached.seconds,
        "batchnorm": " | ".join(step.sentence() for step in settled), "operating_point": point,
    }


def _operating_point(model, inputs_of, labels, parts: dict, operating_point: str, layer: str) -> str:
    """Under ``operating_point="validation"``, move ``model``'s threshold to the best balanced accuracy on the
    validation rows (:func:`mstl_lib.nn.calibration.set_operating_point`); returns what was done (``""``: nothing)."""
    if operating_point == "0.5":
        return ""
    if operating_point != "validation":
        raise ValueError(f"operating_point must be '0.5' or 'validation', not {operating_point!r}")
    rows = calibration.calibration_rows(parts, labels)
    return calibration.set_operating_point(model, inputs_of(rows), np.asarray(labels)[rows], layer=layer).sentence()


def train_softmax_layer(features: np.ndarray, labels: np.ndarray, parts: dict, *, epochs: int, patience: int,
                        batch_size: int, learning_rate: float, seed: int, verbose: int = 0,
                        operating_point: str = "0.5") -> dict:
    """A new linear softmax layer on frozen features (P3's ensemble step 5), stopped on the val loss.

    Returns
    -------
    dict
        ``predict(rows) -> P(malignant)``, ``history``, ``epochs_run`` and ``layer`` (the trained Dense).
    """
    labels = np.asarray(labels, dtype="int32")
    inputs = keras.Input(shape=(features.shape[1],), name="features")
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="ensemble_output",
                                                   dtype="float32")(inputs), name="ensemble_softmax")
    fit_ds = freeze_cache.activation_dataset([features[parts["fit"]]], labels[parts["fit"]], batch_size,
                                             shuffle=True, seed=seed, repeat=True)
    val_ds = freeze_cache.activation_dataset([features[parts["val"]]], labels[parts["val"]], batch_size)
    with compiled.compiled_once(model, keras.optimizers.Adam(learning_rate),
                                "sparse_categorical_crossentropy") as twin:  # traced once per worker
        history = training.fit(twin, fit_ds, val_ds, epochs=epochs,
                               steps_per_epoch=training.steps_for(len(parts["fit"]), batch_size),
                               callbacks=[_early_stopping(patience)], restore_best=True, monitor="val_loss",
                               verbose=verbose)
        point = _operating_point(twin, lambda idx: features[idx], labels, parts, operating_point, "ensemble_output")
    return {"predict": lambda idx: freeze_cache.predict_arrays(model, features[idx])[:, 1],
            "history": history, "epochs_run": len(history.get("loss", [])),
            "layer": model.get_layer("ensemble_output"), "operating_point": point}


def ensemble_model(constituents: dict, softmax_layer) -> keras.Model:
    """The feature ensemble as one model: ``image -> [each constituent's features] -> concatenation ->
    the trained softmax layer``, calling the trained layers (for Grad-CAM; P3's Fig. 4)."""
    first = next(iter(constituents.values()))
    inputs = keras.Input(shape=tuple(first.input_shape[1:]), name="image")
    blocks = [keras.Model(model.inputs[0], model.get_layer("features").output, name=f"{name.lower()}_features")(inputs)
              for name, model in constituents.items()]
    return keras.Model(inputs, softmax_layer(keras.layers.Concatenate(name="concatenated")(blocks)),
                       name="feature_ensemble")


def gradcam_maps(constituents: dict, softmax_layer, images: np.ndarray, labels: np.ndarray, size: int = 32) -> dict:
    """Grad-CAM of the ensemble for one benign and one malignant image (P3's Figs. 6-7): each extractor's last
    convolution and P3's combined map, at ``size`` px, with the images' grey channel, rounded for the record."""
    from mstl_lib.nn import gradcam  # noqa: PLC0415
    from mstl_lib.nn.torchvision_models import GRADCAM_LAYER  # noqa: PLC0415

    layers = {name: GRADCAM_LAYER[name] for name in constituents if name in GRADCAM_LAYER}
    if len(layers) != len(constituents):
        return {}
    picks = [int(np.flatnonzero(labels == label)[0]) for label in (0, 1) if (labels == label).any()]
    result = gradcam.grad_cam(ensemble_model(constituents, softmax_layer), images[picks], list(layers.values()))

    def small(maps):
        return np.round(np.asarray(keras.ops.image.resize(np.asarray(maps, "float32")[..., None], (size, size)))[..., 0],
                        3).tolist()

    out = {"rows": picks, "label": labels[picks].tolist(), "class_index": result.class_index.tolist(),
           "image": small(images[picks][..., 0]), "combined": small(result.combined)}
    out.update({name: small(result.maps[layer]) for name, layer in layers.items()})
    return out


def _model_metrics(model: str, y_true, scores, patient_ids) -> dict:
    out = {f"{model}_image_{k}": v for k, v in protocol.image_level(y_true, scores).items()}
    out.update({f"{model}_patient_{k}": v for k, v in protocol.patient_level(y_true, scores, patient_ids).items()})
    return out


def p3_arm(config: dict, fold: int, context: dict) -> dict:
    """One (input, view, separation) arm on one fold; an engine task.

    ``config`` keys: ``input`` (:data:`protocol.INPUTS`), ``view``
    (:data:`protocol.VIEWS`), ``separation``, ``image_size``, ``work_size``,
    ``epochs``, ``ensemble_epochs``, ``patience``, ``batch_size``,
    ``learning_rate``, ``resnet_freeze``, and optionally ``masked`` (burned-in
    annotations of the B-mode set to 0, :func:`protocol.model_inputs`) and
    ``comparison`` (a key of :data:`protocol.COMPARISONS`: that Table 2 model
    alone, with its epochs capped by ``ensemble_epochs`` since only its head trains).

    ``context`` keys (from :meth:`mstl_lib.context.RunContext.task_context`):
    ``data_source``, ``weights_info``, ``seed``, ``protocol``
    (:data:`protocol.PROTOCOLS`), ``n_splits``, ``max_images``,
    ``constituents`` (constituent -> registry backbone) and ``verbose``.

    Returns
    -------
    dict
        ``metrics``: ``<model>_image_<metric>`` and ``<model>_patient_<metric>``
        for the constituents, ``ensemble``, ``voting`` and (with a strain
        channel) ``oracle``; ``predictions`` per test image; the constituents'
        histories; ``weights`` and ``weights_used`` (:func:`~mstl_lib.nn.weights.weights_fields`); in ``extra`` backbones, freezing, part sizes,
        feature widths and timings.
    """
    seed, verbose = int(context["seed"]), int(context.get("verbose", 0))
    input_name, view, separation = config["input"], config["view"], float(config["separation"])
    size = int(config["image_size"])
    table = protocol.patient_table(context["data_source"], context.get("max_images"), seed)
    parts = protocol.fold_parts(table, fold, context["protocol"], int(context["n_splits"]), seed)
    has_strain = input_name != "B"
    ratios = protocol.patient_ratios(table, separation, seed) if has_strain else None
    images = protocol.model_inputs(table, input_name, view, size, ratios, seed, int(config["work_size"]),
                                   masked=bool(config.get("masked", False)))
    labels = table["target"].to_numpy("int32")
    test = parts["test"]
    y_test, patients_test = labels[test], table["patient"].to_numpy()[test]

    train_kw = dict(batch_size=int(config["batch_size"]), learning_rate=float(config["learning_rate"]),
                    patience=int(config["patience"]), verbose=verbose,
                    operating_point=config.get("operating_point", "0.5"))
    if config.get("comparison"):
        return _comparison_arm(config, fold, context, table, parts, images, labels, train_kw, seed)
    scores, features, histories, extra = {}, {}, {}, {"backbones": {}, "n_frozen": {}, "batchnorm": {},
                                                                      "epochs_run": {}, "cache_seconds": {},
                                                                      "operating_point": {}}
    infos, models = {}, {}
    for offset, constituent in enumerate(protocol.CONSTITUENTS):
        backbone = context["constituents"][constituent]
        model, info = build_constituent(constituent, backbone, size, images.shape[-1],
                                        from_context(context, backbone))
        n_frozen = frozen_count(constituent, model.get_layer("backbone"), config["resnet_freeze"])
        trained = train_constituent(model, n_frozen, images, labels, parts, epochs=int(config["epochs"]),
                                    seed=seed + fold + offset, random_init=info.used == "random", **train_kw)
        models[constituent] = model
        scores[constituent] = trained["predict"](test)
        features[constituent] = trained["features"]
        histories[constituent] = trained["history"]
        infos[constituent] = info
        extra["backbones"][constituent] = backbone
        extra["n_frozen"][constituent] = f"{n_frozen} of {len(model.get_layer('backbone').layers)}"
        for key in ("batchnorm", "epochs_run", "cache_seconds", "operating_point"):
            extra[key][constituent] = trained[key]

    every = np.arange(len(table))
    concatenated = concatenate_features(*(features[c](every) for c in protocol.CONSTITUENTS))
    head = train_softmax_layer(concatenated, labels, parts, epochs=int(config["ensemble_epochs"]),
                               seed=seed + fold, **train_kw)
    scores["ensemble"] = head["predict"](test)
    votes = np.stack([scores[c] >= 0.5 for c in protocol.CONSTITUENTS]).astype(float)
    scores["voting"] = votes.mean(axis=0)  # 0.5 = disagreement, >= 0.5 predicts malignant: tie -> malignant
    if has_strain:
        scores["oracle"] = protocol.oracle_scores(ratios[test], separation)
    if input_name == "BSE":
        extra["gradcam"] = gradcam_maps(models, head["layer"], images[test], y_test)

    out_metrics = {}
    for model_name, model_scores in scores.items():
        out_metrics.update(_model_metrics(model_name, y_test, model_scores, patients_test))
    extra.update({"feature_widths": [int(features_width) for features_width in
                                     (features[c](test[:1]).shape[1] for c in protocol.CONSTITUENTS)],
                  "ensemble_epochs_run": head["epochs_run"], "ensemble_operating_point": head["operating_point"],
                  "n_fit": len(parts["fit"]),
                  "n_val": len(parts["val"]), "n_test": len(test), "n_patients": int(table["patient"].nunique()),
                  "dropped_mixed": table.attrs.get("dropped_mixed", {}),
                  "data_kind": str(table["data_kind"].iloc[0]) if "data_kind" in table else ""})
    predictions = {"row": test.tolist(), "path": table["path"].iloc[test].tolist(),
                   "patient": patients_test.tolist(), "y_true": y_test.tolist(),
                   "ratio": (ratios[test] if has_strain else np.full(len(test), np.nan)).tolist()}
    predictions.update({f"score_{name}": values.tolist() for name, values in scores.items()})
    return {"metrics": out_metrics, "predictions": predictions,
            "history": {f"{c}_{k}": v for c, h in histories.items() for k, v in h.items()},
            **weights_fields(infos), "extra": extra}
