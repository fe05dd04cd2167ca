"""Tests of losses.metrics against hand-computed values and the Classic5 JPEG protocol."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.losses.metrics import (
    _checked_uint8,
    _gaussian_valid,
    blocking_effect_factor,
    psnr,
    psnr_b,
    psnr_y,
    rgb_to_y,
    ssim,
)

CLASSIC5_IMAGE = Path(__file__).parent / "data" / "classic5" / "baboon.bmp"

# Regression references for baboon.bmp, Pillow JPEG (grayscale, single-channel) at each quality:
# PSNR, SSIM, PSNR-B. Computed once with this module, after `python -m scripts.check_classic5` had matched the
# published FBCNN Classic5 table on all 5 images (every mean within rounding of the published 2 / 3 decimals).
BABOON_JPEG = {
    10: (24.33304304225139, 0.673174292403724, 22.104236977302463),
    20: (26.174143768394046, 0.778401721976517, 23.92313010772911),
    30: (27.30510072764516, 0.8260918936617604, 25.108338003533493),
    40: (28.173804091123323, 0.8548532608391135, 26.075665514566495),
}


def _random_image(shape, low=60, high=190, seed=0):
    return np.random.default_rng(seed).integers(low, high + 1, size=shape).astype(np.uint8)


def test_inputs_are_rounded_and_checked():
    image = np.array([0.0, 1.0, 1.2, -0.1, 0.5, 0.2 / 255]).reshape(1, 6, 1)
    np.testing.assert_array_equal(_checked_uint8(image)[0, :, 0], [0, 255, 255, 0, 128, 0])
    assert _checked_uint8(np.zeros((4, 5), np.uint8)).shape == (4, 5, 1)
    with pytest.raises(ValueError):
        _checked_uint8(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(TypeError):
        psnr(np.zeros((4, 5, 3), np.int32), np.zeros((4, 5, 3), np.int32))


def test_psnr_of_known_mse():
    reference = np.full((16, 24, 3), 100, np.uint8)
    test = reference.copy()
    test[:8] += 10  # half the pixels off by 10: MSE = 50
    expected = 10 * math.log10(255**2 / 50)
    assert psnr(reference, test) == pytest.approx(expected, abs=1e-12)
    assert psnr(reference / 255.0, test / 255.0) == pytest.approx(expected, abs=1e-12)
    assert isinstance(psnr(reference, test), float)
    assert psnr(reference, reference) == math.inf


def test_psnr_border_crops_edges():
    reference = _random_image((20, 20, 1))
    test = reference.copy()
    test[:2] = 0
    assert psnr(reference, test, border=2) == math.inf
    assert psnr(reference, test) < 20


def test_psnr_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        psnr(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))


def test_psnr_y_hand_value_and_gray():
    reference = np.full((12, 12, 3), 100, np.uint8)
    test = reference.copy()
    test[..., 0] = 110  # R + 10: Y moves by 65.481 * 10 / 255
    assert rgb_to_y(reference)[0, 0] == pytest.approx(16 + 100 * (65.481 + 128.553 + 24.966) / 255)
    delta = 65.481 * 10 / 255
    assert psnr_y(reference, test) == pytest.approx(10 * math.log10(255**2 / delta**2), abs=1e-9)

    gray_ref, gray_test = _random_image((32, 40, 1), seed=1), _random_image((32, 40, 1), seed=2)
    assert psnr_y(gray_ref, gray_test) == psnr(gray_ref, gray_test)


def test_gaussian_valid_equals_direct_2d_filter():
    image = np.random.default_rng(3).random((17, 23))
    x = np.arange(11) - 5.0
    g = np.exp(-(x**2) / (2 * 1.5**2))
    window = np.outer(g, g) / g.sum() ** 2
    direct = np.array([[np.sum(image[i : i + 11, j : j + 11] * window) for j in range(13)] for i in range(7)])
    np.testing.assert_allclose(_gaussian_valid(image), direct, rtol=0, atol=1e-12)


def test_ssim_identity_constants_and_noise():
    image = _random_image((40, 48, 3))
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    # Constant images: variances and covariance vanish, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    c1 = (0.01 * 255) ** 2
    a, b = 100.0, 110.0
    const_a, const_b = np.full((16, 16, 1), a, np.uint8), np.full((16, 16, 1), b, np.uint8)
    assert ssim(const_a, const_b) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), abs=1e-12)

    noise = np.random.default_rng(4).normal(0, 10, image.shape)
    noisy = np.clip(image + noise, 0, 255).astype(np.uint8)
    value = ssim(image, noisy)
    assert isinstance(value, float)
    assert 0 < value < 1
    assert ssim(image[..., :1], noisy[..., :1]) < 1


def test_blocking_effect_factor_by_hand():
    # Two 8-wide blocks, 0 and 4: 16 boundary differences of 16 over H (W/8 - 1) + W (H/8 - 1) = 32 positions,
    # none inside blocks; eta = log2(8) / log2(16) = 3/4, so BEF = 3/4 * (16 * 16 / 32) = 6.
    image = np.zeros((16, 16))
    image[:, 8:] = 4.0
    assert blocking_effect_factor(image) == pytest.approx(6.0)
    assert blocking_effect_factor(np.zeros((16, 16))) == 0.0


def test_psnr_b_penalises_blocking_at_equal_mse():
    base = _random_image((64, 64, 1), seed=5).astype(np.int16)
    rng = np.random.default_rng(6)
    block_signs = np.kron(rng.choice([-1, 1], size=(8, 8)), np.ones((8, 8), np.int16))[:, :, None]
    pixel_signs = rng.choice([-1, 1], size=base.shape)
    blocky = (base + 8 * block_signs).astype(np.uint8)  # a constant +-8 offset per 8x8 block
    noisy = (base + 8 * pixel_signs).astype(np.uint8)  # +-8 per pixel: the same MSE of 64
    reference = base.astype(np.uint8)
    assert psnr(reference, blocky) == psnr(reference, noisy)
    assert psnr_b(reference, blocky) < psnr_b(reference, noisy) - 0.5
    assert psnr_b(reference, blocky) < psnr(reference, blocky)


def test_psnr_b_colour_takes_bef_of_test_luma_only():
    # A blocky reference against a flat test: the BEF is of the test (flat: 0), so PSNR-B equals PSNR.
    blocks = np.kron(np.random.default_rng(7).integers(0, 255, (4, 4, 3)), np.ones((8, 8, 1))).astype(
        np.uint8
    )
    flat = np.full_like(blocks, 128)
    assert psnr_b(blocks, flat) == pytest.approx(psnr(blocks, flat), abs=1e-12)
    assert psnr_b(flat, blocks) < psnr(flat, blocks)


@pytest.mark.parametrize("quality", sorted(BABOON_JPEG))
def test_classic5_protocol_regression(quality):
    image = np.asarray(Image.open(CLASSIC5_IMAGE).convert("L"))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    compressed = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    assert compressed.ndim == 2  # grayscale stays single-channel
    reference, test = image[:, :, None], compressed[:, :, None]
    expected_psnr, expected_ssim, expected_psnr_b = BABOON_JPEG[quality]
    assert psnr(reference, test) == pytest.approx(expected_psnr, abs=1e-4)
    assert ssim(reference, test) == pytest.approx(expected_ssim, abs=1e-4)
    assert psnr_b(reference, test) == pytest.approx(expected_psnr_b, abs=1e-4)
