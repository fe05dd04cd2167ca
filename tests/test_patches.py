import numpy as np
import pytest
from unjpeg.data.datasets import ImageSet
from unjpeg.data.jpeg import jpeg_roundtrip_uint8
from unjpeg.data.patches import (
    PatchConfig,
    area_weights,
    pair_stream,
    patch_dataset,
    sample_pair,
    validation_pairs,
)


@pytest.fixture
def photos():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:120]
    smooth = (127 + 100 * np.sin(x / 6.0)[..., None] * np.cos(y / 9.0)[..., None]).repeat(3, axis=-1)
    noisy = rng.integers(0, 256, (80, 88, 3))
    return ImageSet([smooth.astype(np.uint8), noisy.astype(np.uint8)], ["smooth", "noisy"])


def test_pairs_have_patch_shape_and_unit_range(photos):
    degraded, clean = next(pair_stream(photos, PatchConfig(patch=32), seed=0))
    assert degraded.shape == clean.shape == (32, 32, 3)
    assert degraded.dtype == np.float32 and 0 <= degraded.min() and degraded.max() <= 1


def test_same_seed_same_stream(photos):
    first = [next(pair_stream(photos, PatchConfig(patch=32), seed=5)) for _ in range(1)]
    again = [next(pair_stream(photos, PatchConfig(patch=32), seed=5)) for _ in range(1)]
    np.testing.assert_array_equal(first[0][0], again[0][0])


def test_crops_lie_on_the_8x8_grid():
    # With a single image the region and its compression are reproducible: the degraded patch must equal
    # the JPEG of the region cropped at a multiple of 8, which holds only on the grid.
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    photos = ImageSet([image], ["one"])
    config = PatchConfig(patch=32, quality=(20, 20), augment=False)
    draw = np.random.default_rng(7)
    for _ in range(5):
        degraded, clean = sample_pair(photos, area_weights(photos), config, draw)
        clean8 = np.round(clean * 255).astype(np.uint8)
        matches = [
            (top, left)
            for top in range(0, 17)
            for left in range(0, 17)
            if np.array_equal(image[top : top + 32, left : left + 32], clean8)
        ]
        assert len(matches) == 1
        top, left = matches[0]
        assert any(
            np.array_equal(
                jpeg_roundtrip_uint8(image[top - dy : top - dy + 40, left - dx : left - dx + 40], 20)[
                    dy : dy + 32, dx : dx + 32
                ],
                np.round(degraded * 255).astype(np.uint8),
            )
            for dy in (0, 8)
            for dx in (0, 8)
            if top - dy >= 0 and left - dx >= 0 and top - dy + 40 <= 48 and left - dx + 40 <= 48
        )


def test_grid_offsets_reach_off_grid_positions():
    image = np.random.default_rng(2).integers(0, 256, (41, 41, 3), dtype=np.uint8)
    photos = ImageSet([image], ["one"])
    config = PatchConfig(patch=32, augment=False, grid_offsets=True)
    draw = np.random.default_rng(0)
    offsets = set()
    for _ in range(40):
        _, clean = sample_pair(photos, area_weights(photos), config, draw)
        clean8 = np.round(clean * 255).astype(np.uint8)
        for top in range(10):
            for left in range(10):
                if np.array_equal(image[top : top + 32, left : left + 32], clean8):
                    offsets.add((top % 8, left % 8))
    assert len(offsets) > 4


def test_gray_fraction_one_gives_gray_patches(photos):
    degraded, clean = next(pair_stream(photos, PatchConfig(patch=32, gray_fraction=1.0), seed=0))
    for patch in (degraded, clean):
        np.testing.assert_array_equal(patch[..., 0], patch[..., 2])


def test_dataset_batches(photos):
    degraded, clean = next(iter(patch_dataset(photos, PatchConfig(patch=16), batch=3, seed=0)))
    assert degraded.shape == clean.shape == (3, 16, 16, 3)


def test_validation_pairs_are_fixed_and_grid_sized(photos):
    pairs = validation_pairs(photos, (10, 30), size=100)
    degraded, clean = pairs[10]
    assert degraded.shape == clean.shape == (2, 80, 80, 3)
    assert np.abs(pairs[10][0] - clean).mean() > np.abs(pairs[30][0] - clean).mean()
