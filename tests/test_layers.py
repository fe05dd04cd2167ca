import keras
import numpy as np
from unjpeg.baselines.layers import CropLike, DepthToSpace, PadToMultiple, SpaceToDepth


def test_pad_reflects_bottom_right_to_a_multiple_and_crop_undoes_it():
    images = np.arange(2 * 10 * 13 * 3, dtype=np.float32).reshape(2, 10, 13, 3)
    padded = np.asarray(PadToMultiple(8)(images))
    assert padded.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(padded[:, :10, :13], images)
    np.testing.assert_array_equal(padded[:, 10, :13], images[:, 8])  # reflection, edge row not repeated
    np.testing.assert_array_equal(np.asarray(CropLike()(padded, images)), images)


def test_space_to_depth_round_trip_and_block_layout():
    images = np.random.default_rng(0).random((1, 16, 24, 3)).astype(np.float32)
    folded = np.asarray(SpaceToDepth(8)(images))
    assert folded.shape == (1, 2, 3, 192)
    np.testing.assert_array_equal(folded[0, 1, 2, :3], images[0, 8, 16])
    np.testing.assert_array_equal(np.asarray(DepthToSpace(8)(folded)), images)


def test_layers_survive_keras_serialisation():
    for layer in (PadToMultiple(4), SpaceToDepth(4), DepthToSpace(2), CropLike()):
        clone = keras.layers.deserialize(keras.layers.serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
