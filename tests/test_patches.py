import io

import numpy as np
import pytest
from PIL import Image
from unjpeg.data.datasets import ImageSet
from unjpeg.data.degradations import ijg_tables
from unjpeg.data.jpeg import REAL_QUALITY_RANGE, decode_jpeg, denormalise_tables, jpeg_roundtrip_uint8
from unjpeg.data.patches import (
    PatchConfig,
    area_weights,
    cut_region,
    pair_stream,
    patch_dataset,
    sample_example,
    sample_pair,
    tables_of,
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


REAL = PatchConfig(patch=32, quality=REAL_QUALITY_RANGE, degradation="real", gray_fraction=0.2)


def test_real_stream_with_tables_has_shapes_and_repeats_under_a_seed(photos):
    stream, again = pair_stream(photos, REAL, seed=3, with_tables=True), pair_stream(photos, REAL, 3, True)
    for _ in range(6):
        (degraded, tables), clean = next(stream)
        (degraded2, tables2), clean2 = next(again)
        assert degraded.shape == clean.shape == (32, 32, 3) and tables.shape == (128,)
        assert degraded.dtype == tables.dtype == np.float32 and 0 <= tables.min() and tables.max() <= 1
        for a, b in ((degraded, degraded2), (tables, tables2), (clean, clean2)):
            np.testing.assert_array_equal(a, b)


def test_a_patch_is_a_crop_of_its_own_jpeg_and_its_tables_are_that_file_s(photos):
    rng, weights = np.random.default_rng(4), area_weights(photos)
    layouts = set()
    for _ in range(24):
        example = sample_example(photos, weights, REAL, rng)
        decoded = decode_jpeg(example.jpeg)
        top, left = example.offset
        crop = decoded[top : top + 32, left : left + 32]
        np.testing.assert_array_equal(np.repeat(crop, 3 // crop.shape[-1], axis=-1), example.degraded * 255)
        pillow = Image.open(io.BytesIO(example.jpeg))
        layouts.add(tuple(component[1:3] for component in pillow.layer))
        steps = denormalise_tables(tables_of(example.jpeg))
        np.testing.assert_array_equal(steps[0], pillow.quantization[pillow.layer[0][3]])
        assert steps[1].any() == (len(pillow.layer) == 3)  # a gray file has no chroma table
    # 4:4:4, 4:2:2 and 4:2:0 colour files and single-component gray ones all occur.
    assert {
        ((1, 1), (1, 1), (1, 1)),
        ((2, 1), (1, 1), (1, 1)),
        ((2, 2), (1, 1), (1, 1)),
        ((1, 1),),
    } <= layouts


def test_blind_fraction_drops_whole_tables(photos):
    config = PatchConfig(patch=16, degradation="real", quality=REAL_QUALITY_RANGE, blind_fraction=0.5)
    stream = pair_stream(photos, config, seed=0, with_tables=True)
    tables = np.stack([next(stream)[0][1] for _ in range(80)])
    blind = ~tables.any(axis=1)
    assert 0.3 < blind.mean() < 0.7
    assert (tables[~blind, :64] >= 0.125).all()  # a table that is there is never partly zero in luma
    stream = pair_stream(photos, PatchConfig(patch=16, blind_fraction=0.0), seed=0, with_tables=True)
    assert all(next(stream)[0][1].any() for _ in range(10))


def test_classic_tables_are_the_pillow_ones_at_the_drawn_quality(photos):
    config = PatchConfig(patch=16, quality=(30, 30), blind_fraction=0.0)
    (_, tables), _ = next(pair_stream(photos, config, seed=0, with_tables=True))
    np.testing.assert_array_equal(denormalise_tables(tables), ijg_tables(30))


def test_dataset_with_tables_batches(photos):
    dataset = patch_dataset(
        photos, PatchConfig(patch=16, degradation="real"), batch=3, seed=0, with_tables=True
    )
    (degraded, tables), clean = next(iter(dataset))
    assert degraded.shape == clean.shape == (3, 16, 16, 3) and tables.shape == (3, 128)


def test_validation_pairs_carry_tables(photos):
    pairs = validation_pairs(photos, (10, 90), size=48, subsampling="4:4:4", with_tables=True)
    (degraded, tables), clean = pairs[90]
    assert degraded.shape == clean.shape == (2, 48, 48, 3) and tables.shape == (2, 128)
    np.testing.assert_array_equal(denormalise_tables(tables[0]), ijg_tables(90))
    assert (pairs[10][0][1] > tables).all()


def test_unknown_degradation_is_refused():
    with pytest.raises(ValueError, match="degradation"):
        PatchConfig(degradation="camera")


def test_scale_augmentation_cuts_larger_and_shrinks_to_the_region():
    # Each column holds its x coordinate, so a row of the result shows how wide the cut was.
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (200, 256, 3)).copy()
    rng = np.random.default_rng(3)
    plain = cut_region(ramp, 64, 1.0, rng)
    assert plain.shape == (64, 64, 3) and np.ptp(plain[0].astype(int)) == 63  # a plain crop
    spans = []
    for _ in range(20):
        shrunk = cut_region(ramp, 64, 0.5, rng)
        assert shrunk.shape == (64, 64, 3) and shrunk.dtype == np.uint8
        spans.append(np.ptp(shrunk[32].astype(int)))
    assert 63 <= min(spans) and max(spans) <= 128 and max(spans) > 90  # cut 64-128 px wide, shrunk to 64


def test_scale_augmentation_never_cuts_beyond_a_small_image(photos):
    config = PatchConfig(patch=64, min_scale=0.25)  # 1/0.25 × 72 px is wider than either photo
    stream = pair_stream(photos, config, seed=2)
    for _ in range(6):
        degraded, clean = next(stream)
        assert degraded.shape == clean.shape == (64, 64, 3)


def test_scale_augmentation_repeats_under_a_seed_and_leaves_the_default_stream_alone(photos):
    config = PatchConfig(patch=32, min_scale=0.5)
    first, again = (next(pair_stream(photos, config, seed=5)) for _ in range(2))
    np.testing.assert_array_equal(first[1], again[1])
    plain = next(pair_stream(photos, PatchConfig(patch=32), seed=5))
    unit = next(pair_stream(photos, PatchConfig(patch=32, min_scale=1.0), seed=5))
    np.testing.assert_array_equal(plain[1], unit[1])


@pytest.mark.parametrize("min_scale", [0.0, 1.5])
def test_min_scale_outside_0_1_is_refused(min_scale):
    with pytest.raises(ValueError, match="min_scale"):
        PatchConfig(min_scale=min_scale)
