"""Tests of losses.sharpness: hand values, and blurred copies of a textured image (gray and colour)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.losses.sharpness import (
    blur_effect,
    high_frequency_energy,
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


def test_high_frequency_energy_on_periodic_patterns():
    x = np.arange(64)
    slow = np.tile(0.5 + 0.4 * np.cos(2 * np.pi * x / 32), (64, 1))  # r = (1/32) / 0.5 = 0.0625
    fast = np.tile(0.5 + 0.4 * np.cos(2 * np.pi * x / 4), (64, 1))  # r = (1/4) / 0.5 = 0.5
    assert high_frequency_energy(slow, hann=False) == pytest.approx(0.0, abs=1e-12)
    assert high_frequency_energy(fast, hann=False) == pytest.approx(1.0)
    assert high_frequency_energy(slow) < 0.01
    assert high_frequency_energy(fast) > 0.99
    assert high_frequency_energy(np.full((16, 16), 0.3)) == 0.0


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
