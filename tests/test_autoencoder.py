"""Tests for baselines/autoencoder.py: shapes, the 32×32 check, .keras round trip, gradients."""

import keras
import numpy as np
import pytest
from unjpeg.baselines.autoencoder import build_autoencoder, build_autoencoder_fc, check_input_size

from tests.helpers import assert_trainable, random_images

WIDTH = 4


@pytest.fixture(autouse=True)
def _seed():
    """Fixed weight initialisation, so thresholds below do not depend on the luck of the draw."""
    keras.utils.set_random_seed(0)


def _assert_round_trip(model, images, path):
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.name == model.name
    np.testing.assert_allclose(reloaded(images, training=False), model(images, training=False), atol=1e-6)


def test_autoencoder_fc_shape_and_name():
    model = build_autoencoder_fc(width=WIDTH)
    assert model.name == "autoencoder-fc"
    assert type(model).__name__ == "Functional"  # keras.Model(inputs, outputs), not a subclass
    restored = model(random_images(32, 32), training=False)
    assert restored.shape == (2, 32, 32, 3)
    assert restored.dtype == "float32"


def test_autoencoder_fc_rejects_other_sizes_clearly():
    model = build_autoencoder_fc(width=WIDTH)
    check_input_size(model, (32, 32, 3))  # accepted
    check_input_size(model, (5, 32, 32, 3))
    with pytest.raises(ValueError, match="autoencoder-fc takes 32×32 images.*got 48×40"):
        check_input_size(model, (1, 48, 40, 3))
    with pytest.raises(ValueError, match=r"32, 32, 3"):  # Keras's own check when the model is called
        model(random_images(48, 40, batch=1))


def test_autoencoder_fc_round_trip(tmp_path):
    _assert_round_trip(build_autoencoder_fc(width=WIDTH), random_images(32, 32), tmp_path / "fc.keras")


def test_autoencoder_fc_trainable():
    assert_trainable(build_autoencoder_fc(width=WIDTH), random_images(32, 32, batch=4))


@pytest.mark.parametrize(("height", "width"), [(40, 56), (37, 50), (32, 32), (5, 3)])
def test_autoencoder_any_size(height, width):
    model = build_autoencoder(width=WIDTH)
    assert model.name == "autoencoder"
    check_input_size(model, (height, width, 3))  # fully convolutional: never raises
    restored = model(random_images(height, width), training=False)
    assert restored.shape == (2, height, width, 3)


def test_autoencoder_depth_and_global_residual():
    """With the last layer zeroed, output == input exactly: the only path left is the global residual."""
    model = build_autoencoder(width=WIDTH, depth=3)
    last = model.get_layer("up0")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    images = random_images(37, 50)
    np.testing.assert_array_equal(model(images, training=False), images)


def test_autoencoder_round_trip(tmp_path):
    _assert_round_trip(build_autoencoder(width=WIDTH), random_images(37, 50), tmp_path / "ae.keras")


def test_autoencoder_trainable():
    assert_trainable(build_autoencoder(width=WIDTH), random_images(24, 40, batch=4))
