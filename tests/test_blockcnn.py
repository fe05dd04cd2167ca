"""Tests for baselines/blockcnn.py: whole-image pass == block-by-block restoration, shapes, round trip."""

import keras
import numpy as np
import pytest
from unjpeg.baselines.blockcnn import build_blockcnn, restore_blockwise

from tests.helpers import assert_trainable, random_images

WIDTH = 4


@pytest.fixture(autouse=True)
def _seed():
    """Fixed weight initialisation, so thresholds below do not depend on the luck of the draw."""
    keras.utils.set_random_seed(0)


def _model_with_large_correction():
    """A tiny BlockCNN whose correction is O(0.1–1) rather than O(0.01), so mismatches cannot hide."""
    model = build_blockcnn(width=WIDTH)
    conv8 = model.get_layer("conv8")
    kernel, bias = conv8.get_weights()
    conv8.set_weights([kernel * 100.0, bias])
    return model


@pytest.mark.parametrize(("height", "width"), [(40, 56), (37, 50)])
def test_whole_image_equals_blockwise(height, width):
    model = _model_with_large_correction()
    image = random_images(height, width, batch=1)[0]
    whole = keras.ops.convert_to_numpy(model(image[None], training=False))[0]
    assert np.abs(whole - image).max() > 0.02  # the network does change the image
    np.testing.assert_allclose(whole, restore_blockwise(model, image), atol=1e-5)


def test_receptive_field_is_the_24x24_neighbourhood():
    """Changing one pixel changes only the 3×3 blocks around its block (whose 24×24 windows contain it)."""
    model = _model_with_large_correction()
    image = random_images(40, 56, batch=1)
    changed = image.copy()
    changed[0, 20, 27] += 0.5  # pixel in block row 2, block column 3
    diff = np.abs(model(changed, training=False) - model(image, training=False)).max(axis=-1)[0]
    outside = diff.copy()
    outside[8:32, 16:40] = 0.0  # block rows 1–3, block columns 2–4
    assert np.all(outside == 0.0)
    assert diff[16:24, 24:32].max() > 1e-4
    assert diff[8:16, 16:24].max() > 0.0  # a diagonal neighbour's window holds it near a corner


@pytest.mark.parametrize(("height", "width"), [(40, 56), (37, 50), (16, 15)])
def test_shapes(height, width):
    model = build_blockcnn(width=WIDTH)
    assert model.name == "blockcnn"
    assert type(model).__name__ == "Functional"  # keras.Model(inputs, outputs), not a subclass
    restored = model(random_images(height, width), training=False)
    assert restored.shape == (2, height, width, 3)
    assert restored.dtype == "float32"


def test_round_trip(tmp_path):
    model = _model_with_large_correction()
    images = random_images(37, 50)
    model.save(tmp_path / "blockcnn.keras")
    reloaded = keras.saving.load_model(tmp_path / "blockcnn.keras")
    assert reloaded.name == "blockcnn"
    np.testing.assert_allclose(reloaded(images, training=False), model(images, training=False), atol=1e-5)


def test_trainable():
    assert_trainable(build_blockcnn(width=WIDTH), random_images(24, 40, batch=4))
