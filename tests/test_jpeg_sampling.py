from pathlib import Path

import numpy as np
import pytest
from unjpeg.data.jpeg_dct import forward_dct
from unjpeg.data.jpeg_file import read_jpeg
from unjpeg.data.jpeg_sampling import repeat, take_down, upsample_like_libjpeg

from tests.jpeg_helpers import encoder_ycbcr, idct_plane, pattern, pillow_ycbcr, save

PATTERN_440 = Path(__file__).parent / "data" / "jpeg" / "pattern_440_q60.jpg"


def test_take_down_shape_and_mean():
    plane = np.arange(7 * 10, dtype=np.float32).reshape(7, 10)
    low = take_down(plane, 2, 2)
    assert low.shape == (8, 8)  # 4 sampling rows and 5 columns, padded to one whole block
    assert low[0, 0] == plane[:2, :2].mean()
    assert low[3, 0] == plane[6, :2].mean()  # the bottom row was replicated before taking down


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2"])
def test_take_down_pads_edges_as_libjpeg(tmp_path, subsampling):
    # 38 × 54: even, not whole MCUs, so the encoder's padding enters the edge blocks' coefficients.
    image = pattern(38, 54)
    record = read_jpeg(save(tmp_path, "a.jpg", image, quality=75, subsampling=subsampling))
    planes = encoder_ycbcr(image)
    for index in (1, 2):
        component = record.components[index]
        low = take_down(planes[..., index], *record.subsampling(index))
        rows, cols = component.coefficients.shape[:2]
        ratio = forward_dct(low)[:rows, :cols] / component.quant_table
        # Within the interval up to the encoder's 8-bit rounding of the taken-down plane.
        assert np.abs(ratio - component.coefficients).max() < 0.6


def test_repeat_is_the_box_means_adjoint():
    samples = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    np.testing.assert_allclose(take_down(repeat(samples, 2, 2), 2, 2), samples, atol=1e-6)


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2"])
def test_upsampling_matches_pillows_decoder(tmp_path, subsampling):
    path = save(tmp_path, "a.jpg", pattern(37, 53), quality=90, subsampling=subsampling)
    record = read_jpeg(path)
    decoded = pillow_ycbcr(path).astype(np.float32)
    for index in (1, 2):
        low = np.clip(idct_plane(record.components[index]), 0, 255)
        upsampled = upsample_like_libjpeg(low, *record.subsampling(index))[:37, :53]
        assert np.abs(upsampled - decoded[..., index]).max() <= 1.5
        # Repetition is what the decoder would do without "fancy upsampling": clearly farther.
        assert np.abs(repeat(low, *record.subsampling(index))[:37, :53] - decoded[..., index]).max() > 3


def test_upsampling_matches_for_440():
    record = read_jpeg(PATTERN_440)
    decoded = pillow_ycbcr(PATTERN_440).astype(np.float32)
    low = np.clip(idct_plane(record.components[1]), 0, 255)
    upsampled = upsample_like_libjpeg(low, *record.subsampling(1))[: record.height, : record.width]
    assert np.abs(upsampled - decoded[..., 1]).max() <= 1.5
