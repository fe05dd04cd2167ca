import numpy as np
import pytest
from unjpeg.baselines.models import MODELS, build_model


def test_every_model_builds_tiny_and_keeps_its_name():
    for name in MODELS:
        model = build_model(name, width=4)
        assert model.name == name
        size = 32 if name == "autoencoder-fc" else 40
        images = np.zeros((1, size, size, 3), np.float32)
        assert model(images).shape == images.shape


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match="unknown model 'unet'.*s2dnet"):
        build_model("unet")
