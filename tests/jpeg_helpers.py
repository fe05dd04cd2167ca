"""Small JPEG files made in the test with Pillow, and decodes written independently of the library."""

import numpy as np
from PIL import Image


def pattern(height, width, channels=3, seed=0):
    """Smooth colour waves plus noise, uint8 (H, W, 3) or (H, W): every DCT frequency and component has energy."""
    yy, xx = np.mgrid[0:height, 0:width]
    waves = [128 + 60 * np.sin(xx / 5.0) + 20 * np.cos(yy / 3.0), 100 + 50 * np.cos(yy / 4.0 + xx / 9.0)]
    waves.append(140 + 40 * np.sin(yy / 6.0 - xx / 7.0))
    noise = np.random.default_rng(seed).normal(0, 8, (height, width, channels))
    image = np.clip(np.stack(waves[:channels], -1) + noise, 0, 255).astype(np.uint8)
    return image[..., 0] if channels == 1 else image


def save(tmp_path, name, image, **options):
    """Write `image` (uint8) as a JPEG with Pillow's `options`; returns the path."""
    path = tmp_path / name
    Image.fromarray(image).save(path, format="JPEG", **options)
    return path


def idct_plane(component):
    """Decode a component's coefficients with an IDCT written from T.81 A.3.3: (8 bv, 8 bh) float levels."""
    k = np.arange(8)
    scale = np.where(k == 0, np.sqrt(1 / 8), np.sqrt(2 / 8))
    basis = scale[:, None] * np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16)  # [freq, sample]
    dequantized = component.coefficients * component.quant_table.astype(float)
    blocks = np.einsum("uy,abuv,vx->abyx", basis, dequantized, basis) + 128
    bv, bh = blocks.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(bv * 8, bh * 8)


def pillow_ycbcr(path):
    """Pillow's decode of the file's own planes, chroma upsampled but not colour-converted: (H, W, C) uint8."""
    with Image.open(path) as image:
        if image.mode != "L":
            image.draft("YCbCr", image.size)
        planes = np.asarray(image)
    return planes[..., None] if planes.ndim == 2 else planes


def encoder_ycbcr(image):
    """(H, W, 3) uint8 RGB -> the (H, W, 3) YCbCr levels libjpeg codes: JFIF matrix, rounded to 8 bits."""
    matrix = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    return np.clip(np.round(image @ matrix.T + [0, 128, 128]), 0, 255).astype(np.float32)
