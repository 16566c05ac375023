"""The backbone registry: lookup by name, input checks and the preprocessing layer."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.nn import backbones
from mstl_lib.nn.backbones import (
    BACKBONES,
    backbone_spec,
    build_backbone,
    preprocess_for,
)


def test_backbone_lookup_is_case_insensitive():
    assert backbone_spec("resnet50") is BACKBONES["ResNet50"]
    assert backbone_spec("inceptionv3").min_size == 75
    with pytest.raises(ValueError, match="valid names: ResNet50, ResNet101"):
        backbone_spec("NoSuchNet")


def test_input_shape_checks():
    with pytest.raises(ValueError, match="at least 75x75"):
        build_backbone("InceptionV3", (64, 64, 3), weights=None)
    with pytest.raises(ValueError, match="3 channels"):
        build_backbone("VGG16", (32, 32, 1), weights=None)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_preprocessing_layer_matches_keras_preprocess_input(random_images, name):
    x = random_images(2, (8, 8, 3))
    layer = backbones.BackbonePreprocessing(name)
    np.testing.assert_allclose(np.asarray(layer(x)), preprocess_for(name)(x), rtol=1e-5, atol=1e-4)
