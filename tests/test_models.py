import keras
import numpy as np
import pytest
from unjpeg.baselines.models import CUSTOM_OBJECTS, MODELS, build_model


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


def test_custom_objects_name_every_registered_layer():
    # Importing the builders registers every custom layer; a new one left out of CUSTOM_OBJECTS fails here.
    registered = {
        name
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("unjpeg>") and isinstance(obj, type) and issubclass(obj, keras.layers.Layer)
    }
    assert len(registered) >= 5
    assert set(CUSTOM_OBJECTS) == registered
    used = {
        type(layer)
        for name in MODELS
        for layer in build_model(name, width=4).layers
        if type(layer).__module__.startswith("unjpeg.")
    }
    assert used and used <= set(CUSTOM_OBJECTS.values())
