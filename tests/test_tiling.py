"""Tiled restoration equals untiled for models whose receptive field fits in half the overlap; the
self-ensemble keeps the JPEG grid and commutes with rotations and mirror images."""

import numpy as np
import pytest
from unjpeg.data.degradations import random_tables
from unjpeg.data.jpeg import decode_jpeg, jpeg_bytes

from unjpeg.tiling import restore_image, transpose_tables


def box_blur(batch: np.ndarray) -> np.ndarray:
    """3×3 mean with zero padding: a fully convolutional model of receptive radius 1."""
    height, width = batch.shape[1:3]
    padded = np.pad(batch, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return sum(padded[:, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)) / 9


def deblock(batch: np.ndarray) -> np.ndarray:
    """Pull each 8×8 block (counted from the window's origin) halfway to its mean, then blur.

    The block grid is taken from the window's top-left corner, as s2dnet's fold is, so this only matches
    the untiled result if every window starts on the image's 8×8 grid.
    """
    out = batch.copy()
    for top in range(0, batch.shape[1], 8):
        for left in range(0, batch.shape[2], 8):
            block = batch[:, top : top + 8, left : left + 8]
            out[:, top : top + 8, left : left + 8] = 0.5 * block + 0.5 * block.mean(
                axis=(1, 2), keepdims=True
            )
    return box_blur(out)


class Recorder:
    """Wraps a restore function and keeps the shapes it was called with."""

    def __init__(self, fn):
        self.fn, self.shapes = fn, []

    def __call__(self, batch):
        self.shapes.append(batch.shape)
        return self.fn(batch)


def random_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, channels), dtype=np.float32)


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (17, 90), (100, 29), (41, 8)])
def test_tiled_equals_untiled_on_grid_model(size):
    image = random_image(*size)
    restore = Recorder(deblock)
    tiled = restore_image(restore, image, tile=16, overlap=8)
    assert tiled.shape == image.shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, np.clip(deblock(image[None])[0], 0, 1), atol=1e-5)
    assert len(restore.shapes) > 1  # it did tile
    assert max(max(shape[1:3]) for shape in restore.shapes) <= 16 + 2 * 8  # memory set by the tile


def test_tiles_larger_than_image_run_once():
    image = random_image(45, 61)
    restore = Recorder(deblock)
    np.testing.assert_allclose(restore_image(restore, image, tile=512, overlap=32), deblock(image[None])[0])
    assert restore.shapes == [(1, 45, 61, 3)]


def test_tile_and_overlap_round_up_to_grid():
    image = random_image(70, 90)
    np.testing.assert_allclose(
        restore_image(deblock, image, tile=13, overlap=5), deblock(image[None])[0], atol=1e-5
    )


def test_keras_conv_model_tiled_equals_untiled():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(3, 3, padding="same"),
        ]
    )
    image = random_image(50, 75)

    def restore(batch):
        return model(batch).numpy()

    untiled = np.clip(restore(image[None])[0], 0, 1)
    np.testing.assert_allclose(restore_image(restore, image, tile=16, overlap=8), untiled, atol=1e-4)


@pytest.mark.parametrize("size", [(45, 70), (32, 32), (8, 8), (33, 100)])
def test_fixed_size_windows_blend_back_to_the_image(size):
    image = random_image(*size)
    restore = Recorder(lambda batch: 0.5 * batch + 0.25)  # linear, so blending must give it back exactly
    out = restore_image(restore, image, fixed_size=32)
    assert out.shape == image.shape
    np.testing.assert_allclose(out, 0.5 * image + 0.25, atol=1e-5)
    assert {shape[1:] for shape in restore.shapes} == {(32, 32, 3)}


def test_fixed_size_output_is_continuous():
    """A smooth image through windows that each return their own mean: no jump at window edges."""
    y, x = np.mgrid[0:64, 0:96].astype(np.float32)
    image = np.repeat(((x + y) / 160)[..., None], 3, axis=-1)
    out = restore_image(
        lambda b: np.broadcast_to(b.mean(axis=(1, 2), keepdims=True), b.shape), image, fixed_size=32
    )
    steps = np.abs(np.diff(out, axis=1)).max(), np.abs(np.diff(out, axis=0)).max()
    assert max(steps) < 3 / 160  # the ramp itself climbs 1/160 per pixel


def test_grayscale_round_trip():
    image = random_image(30, 41, channels=1)
    restore = Recorder(box_blur)
    out = restore_image(restore, image, tile=8, overlap=8)
    assert out.shape == (30, 41, 1)
    assert all(shape[-1] == 3 for shape in restore.shapes)  # the model always sees RGB
    np.testing.assert_allclose(out, box_blur(image[None])[0], atol=1e-5)
    fixed = restore_image(lambda batch: batch, image, fixed_size=32)
    assert fixed.shape == (30, 41, 1)
    np.testing.assert_allclose(fixed, image, atol=1e-6)


def test_output_is_clipped():
    out = restore_image(lambda batch: 3 * batch - 1, random_image(20, 20))
    assert out.min() == 0.0 and out.max() == 1.0


def test_rejects_wrong_channels():
    with pytest.raises(ValueError, match="expected an"):
        restore_image(box_blur, np.zeros((10, 10, 4), np.float32))


def block_means(batch: np.ndarray) -> np.ndarray:
    """Each 8×8 block (from the window's origin) replaced by its mean: the identity on an image that is
    constant on the 8×8 JPEG grid, if and only if every window it sees starts on that grid."""
    out = batch.copy()
    for top in range(0, batch.shape[1], 8):
        for left in range(0, batch.shape[2], 8):
            out[:, top : top + 8, left : left + 8] = batch[:, top : top + 8, left : left + 8].mean(
                axis=(1, 2), keepdims=True
            )
    return out


def with_column_ramp(batch: np.ndarray) -> np.ndarray:
    """Adds a left-to-right ramp: a model that rotations and mirror images do not commute with."""
    return 0.8 * batch + 0.1 * np.linspace(0, 1, batch.shape[2], dtype=np.float32)[None, None, :, None]


@pytest.mark.parametrize("size", [(37, 45), (40, 24), (64, 48)])
def test_self_ensemble_keeps_every_copy_on_the_jpeg_grid(size):
    blocks = random_image(-(-size[0] // 8), -(-size[1] // 8))
    image = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[: size[0], : size[1]]
    restore = Recorder(block_means)
    out = restore_image(restore, image, tile=16, overlap=8, self_ensemble=True)
    assert out.shape == image.shape
    np.testing.assert_allclose(out, image, atol=1e-6)
    assert len(restore.shapes) > 8  # eight tiled restorations


def test_self_ensemble_commutes_with_rotation_and_mirroring():
    image = random_image(32, 32)
    ensemble = restore_image(with_column_ramp, image, self_ensemble=True)
    np.testing.assert_allclose(
        restore_image(with_column_ramp, np.rot90(image).copy(), self_ensemble=True),
        np.rot90(ensemble),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        restore_image(with_column_ramp, image[:, ::-1].copy(), self_ensemble=True),
        ensemble[:, ::-1],
        atol=1e-6,
    )
    plain = restore_image(with_column_ramp, image)
    assert np.abs(restore_image(with_column_ramp, image[:, ::-1].copy()) - plain[:, ::-1]).max() > 0.05


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_a_quarter_turned_jpeg_is_the_turned_photos_jpeg_with_transposed_tables(subsampling):
    """Why the self-ensemble transposes a conditioned model's tables for its 90° and 270° copies."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:48, 0:64]
    photo = np.stack([x * 3, y * 4, (x + 2 * y) * 2], axis=-1) + rng.integers(0, 50, (48, 64, 3))
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    steps = random_tables(20, 1.0, rng)
    assert not np.array_equal(steps, transpose_tables(steps))  # the test needs asymmetric tables
    turned = np.rot90(decode_jpeg(jpeg_bytes(photo, subsampling=subsampling, qtables=steps))).astype(int)
    turned_photo = np.ascontiguousarray(np.rot90(photo))
    right = decode_jpeg(jpeg_bytes(turned_photo, subsampling=subsampling, qtables=transpose_tables(steps)))
    wrong = decode_jpeg(jpeg_bytes(turned_photo, subsampling=subsampling, qtables=steps))
    # libjpeg's integer DCT rounds rows and columns apart, so a few coefficients land one step off.
    assert np.abs(turned - right).mean() < 0.5
    assert np.abs(turned - wrong).mean() > 2.5


def test_transpose_tables_of_the_vector_and_the_steps():
    steps = np.arange(128).reshape(2, 64)
    np.testing.assert_array_equal(transpose_tables(steps)[1].reshape(8, 8), steps[1].reshape(8, 8).T)
    np.testing.assert_array_equal(transpose_tables(steps.reshape(128)), transpose_tables(steps).reshape(128))
    np.testing.assert_array_equal(transpose_tables(transpose_tables(steps)), steps)


def test_self_ensemble_of_gray_and_fixed_size_models():
    image = random_image(30, 41, channels=1)
    restore = Recorder(lambda batch: 0.5 * batch + 0.25)
    out = restore_image(restore, image, fixed_size=32, self_ensemble=True)
    assert out.shape == (30, 41, 1)
    np.testing.assert_allclose(out, 0.5 * image + 0.25, atol=1e-5)
    assert {shape[1:] for shape in restore.shapes} == {(32, 32, 3)}


def test_progress_bar_counts_every_tile(monkeypatch):
    from unjpeg import tiling

    bars = []

    class Bar:
        def __init__(self, total, disable, **_):
            self.total, self.disable, self.n = total, disable, 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def update(self, count):
            self.n += count

    monkeypatch.setattr(tiling, "tqdm", Bar)
    image = np.random.default_rng(0).random((50, 70, 3)).astype(np.float32)
    recorder = Recorder(box_blur)
    restore_image(recorder, image, tile=16, overlap=8, progress=True)
    restore_image(recorder, image, tile=16, overlap=8, self_ensemble=True)
    restore_image(recorder, image, fixed_size=32)
    plain, ensemble, fixed = bars
    assert plain.total == plain.n == 4 * 5 and plain.disable is None  # None: shown on a terminal only
    assert ensemble.total == ensemble.n == 8 * 4 * 5 and ensemble.disable is True
    assert fixed.n > 0 and fixed.total >= fixed.n
