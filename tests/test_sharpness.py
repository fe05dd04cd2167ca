"""Tests of losses.sharpness: hand values, blurred copies of a textured image (gray and colour), and the JPEG
grid, which must not count as sharpness."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.losses.sharpness import (
    blur_effect,
    high_frequency_energy,
    in_block,
    laplacian_variance,
    luma,
    sharpness_report,
    tenengrad,
)

BABOON = Path(__file__).parent / "data" / "classic5" / "baboon.bmp"
RATIOS = ("laplacian_var_ratio", "gradient_ratio", "hf_energy_ratio")


def _textured(channels: int) -> np.ndarray:
    """(96, 80, C) uint8 crops of the baboon (fur texture); colour takes three different crops as R, G, B."""
    gray = np.asarray(Image.open(BABOON).convert("L"))
    crops = [gray[100 + 40 * c : 196 + 40 * c, 200:280] for c in range(channels)]
    return np.stack(crops, axis=-1)


def _gaussian_blur(image: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Separable Gaussian blur (radius 3 sigma, mirrored borders) of (H, W, C), returned as uint8."""
    radius = int(3 * sigma)
    x = np.arange(-radius, radius + 1)
    taps = np.exp(-(x**2) / (2 * sigma**2))
    taps /= taps.sum()
    out = image.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(k, k + n), axis=axis) for k, t in enumerate(taps))
    return np.round(out).astype(np.uint8)


def test_luma_gray_and_colour():
    gray = np.array([[0, 255]], np.uint8)
    np.testing.assert_allclose(luma(gray), [[0.0, 1.0]])
    white = np.ones((2, 2, 3))
    np.testing.assert_allclose(luma(white), 235 / 255)
    np.testing.assert_allclose(luma(np.full((2, 2, 3), 255, np.uint8)), 235 / 255)


def test_hand_values():
    ramp = np.tile(np.linspace(0, 1, 10), (8, 1))
    assert laplacian_variance(ramp) == pytest.approx(0.0, abs=1e-20)
    checker = (np.indices((8, 8)).sum(axis=0) % 2).astype(np.float64)
    assert laplacian_variance(checker) == pytest.approx(16.0)  # responses +-4 in equal numbers
    step = np.zeros((8, 8))
    step[:, 4:] = 1.0
    # Sobel gx = 4 at the two valid columns straddling the step, 0 at the other four.
    assert tenengrad(step) == pytest.approx(8 / 6)


def _dct_pattern(u: int, v: int, height: int = 32, width: int = 40) -> np.ndarray:
    """(H, W) in [0.1, 0.9]: the 8x8 DCT basis function (u, v) repeated in every block."""
    rows, columns = np.indices((height, width)) % 8
    basis = np.cos((2 * rows + 1) * v * np.pi / 16) * np.cos((2 * columns + 1) * u * np.pi / 16)
    return 0.5 + 0.4 * basis


def test_high_frequency_energy_on_dct_basis():
    # r = sqrt(u^2 + v^2) / 8 against the cutoff 0.25: (2, 0) is on it (not above), (3, 0) and (2, 2) above.
    assert high_frequency_energy(_dct_pattern(1, 0)) == pytest.approx(0.0, abs=1e-12)
    assert high_frequency_energy(_dct_pattern(2, 0)) == pytest.approx(0.0, abs=1e-12)
    assert high_frequency_energy(_dct_pattern(3, 0)) == pytest.approx(1.0)
    assert high_frequency_energy(_dct_pattern(2, 2)) == pytest.approx(1.0)
    mixed = (_dct_pattern(1, 0) + _dct_pattern(0, 5)) / 2  # equal amplitudes: half the AC energy above
    assert high_frequency_energy(mixed) == pytest.approx(0.5)
    assert high_frequency_energy(np.full((16, 16), 0.3)) == 0.0
    with pytest.raises(ValueError):
        high_frequency_energy(np.zeros((7, 20)))


def test_in_block():
    np.testing.assert_array_equal(in_block(10, 0, 3, 8), [1, 1, 1, 1, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(in_block(10, -1, 3, 8), [0, 1, 1, 1, 1, 1, 1, 0, 0, 1])
    assert in_block(5, 0, 3, None).all()


def _blocks(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W) float64: a random constant per 8x8 block, the pure grid component of blocking."""
    levels = np.random.default_rng(seed).uniform(-0.1, 0.1, (height // 8, width // 8))
    return np.kron(levels, np.ones((8, 8)))


def test_block_grid_is_not_sharpness():
    grid = 0.5 + _blocks(48, 64)
    assert laplacian_variance(grid) == 0.0 and tenengrad(grid) == 0.0
    assert high_frequency_energy(grid) == 0.0
    assert laplacian_variance(grid, grid=None) > 0 and tenengrad(grid, grid=None) > 0  # the textbook measures
    texture = _textured(1)[:, :, 0] / 255.0 * 0.8
    shifted = texture + _blocks(*texture.shape, seed=1)  # same texture, blocks moved up and down
    for measure in (laplacian_variance, tenengrad, high_frequency_energy, blur_effect):
        assert measure(shifted) == pytest.approx(measure(texture), rel=1e-9), measure.__name__
    assert laplacian_variance(shifted, grid=None) > 1.05 * laplacian_variance(texture, grid=None)


def test_jpeg_blocking_scores_as_lost_detail():
    image = _textured(1)
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, 0]).save(buffer, format="JPEG", quality=5)
    jpeg = np.asarray(Image.open(buffer))[:, :, None]
    report = sharpness_report(jpeg, image)
    for key in RATIOS:
        assert report[key] < 0.9, key  # quality 5 keeps little of the fur
    whole = laplacian_variance(jpeg, grid=None) / laplacian_variance(image, grid=None)
    assert report["laplacian_var_ratio"] < whole  # the block edges were what the whole-image measure saw
    assert blur_effect(jpeg) > blur_effect(image)


@pytest.mark.parametrize("channels", [1, 3])
def test_report_on_blurred_copy(channels):
    image = _textured(channels)
    blurred = _gaussian_blur(image)

    same = sharpness_report(image, image)
    for key in RATIOS:
        assert same[key] == pytest.approx(1.0, abs=1e-12)

    report = sharpness_report(blurred, image)
    for key in RATIOS:
        assert 0 < report[key] < 1, key
    assert isinstance(report["blur_effect"], float)
    assert 0 <= report["blur_effect_original"] < report["blur_effect"] <= 1
    assert report["blur_effect_original"] == blur_effect(image)
    assert report["laplacian_var"] == laplacian_variance(blurred)
    assert report["gradient_original"] == tenengrad(image)
    assert report["hf_energy"] == high_frequency_energy(blurred)


def test_float_input_matches_uint8():
    image = _textured(3)
    as_float = image / 255.0
    assert laplacian_variance(as_float) == pytest.approx(laplacian_variance(image), rel=1e-12)
    assert tenengrad(as_float) == pytest.approx(tenengrad(image), rel=1e-12)
    assert blur_effect(as_float) == pytest.approx(blur_effect(image), rel=1e-12)
    assert high_frequency_energy(as_float) == pytest.approx(high_frequency_energy(image), rel=1e-12)


def test_blur_effect_grows_with_blur():
    image = _textured(1)
    values = [blur_effect(image)] + [blur_effect(_gaussian_blur(image, s)) for s in (1.0, 2.0, 4.0)]
    assert all(0 <= v <= 1 for v in values)
    assert values == sorted(values)
    assert values[0] < values[-1]
