"""(degraded, clean) patch pairs for training, deterministic under a seed.

Each pair follows KAIR / FBCNN: crop 8 px more than needed, augment (flips, 90° rotations), JPEG-compress
with Pillow at a quality drawn from a range, then crop back. By default the crop-back offset is a multiple
of 8, so patches lie on the 8×8 JPEG grid; `grid_offsets=True` draws any offset in [0, 8] instead, which
teaches robustness to shifted and re-saved JPEGs. With `gray_fraction > 0`, that share of patches is
converted to luma and compressed single-channel, then replicated to 3 channels, so one colour model also
serves grayscale photos.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image
from unjpeg.data.datasets import ImageSet
from unjpeg.data.jpeg import DEFAULT_QUALITY_RANGE, jpeg_roundtrip_uint8

GRID = 8  # JPEG block size


@dataclass(frozen=True)
class PatchConfig:
    patch: int = 64
    quality: tuple[int, int] = DEFAULT_QUALITY_RANGE
    grid_offsets: bool = False
    gray_fraction: float = 0.0
    augment: bool = True


def to_luma(patch: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB to (H, W, 1) uint8 luma, with Pillow's `convert("L")` (ITU-R 601-2 weights)."""
    return np.asarray(Image.fromarray(patch).convert("L"))[..., None]


def augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the 8 dihedral transforms (flips and 90° rotations), drawn uniformly."""
    k = int(rng.integers(8))
    patch = np.rot90(patch, k % 4)
    return np.ascontiguousarray(patch[:, ::-1] if k >= 4 else patch)


def area_weights(images: ImageSet) -> np.ndarray:
    """Probability of drawing each image, proportional to its area, so every pixel is equally likely."""
    sizes = np.array([img.shape[0] * img.shape[1] for img in images.images], dtype=np.float64)
    return sizes / sizes.sum()


def sample_pair(
    images: ImageSet, weights: np.ndarray, config: PatchConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One (degraded, clean) pair, each (patch, patch, 3) float32 in [0, 1]; `weights` from `area_weights`."""
    image = images.images[int(rng.choice(len(weights), p=weights))]
    size = config.patch
    margin = GRID if min(image.shape[:2]) >= size + GRID else 0
    region = size + margin
    top = int(rng.integers(image.shape[0] - region + 1))
    left = int(rng.integers(image.shape[1] - region + 1))
    clean = image[top : top + region, left : left + region]
    if config.augment:
        clean = augment(clean, rng)
    if rng.random() < config.gray_fraction:
        clean = to_luma(clean)
    degraded = jpeg_roundtrip_uint8(clean, int(rng.integers(config.quality[0], config.quality[1] + 1)))
    if margin:
        if config.grid_offsets:
            dy, dx = (int(v) for v in rng.integers(0, margin + 1, size=2))
        else:
            dy, dx = (GRID * int(v) for v in rng.integers(0, margin // GRID + 1, size=2))
        clean = clean[dy : dy + size, dx : dx + size]
        degraded = degraded[dy : dy + size, dx : dx + size]
    if clean.shape[-1] == 1:
        clean, degraded = np.repeat(clean, 3, axis=-1), np.repeat(degraded, 3, axis=-1)
    return degraded.astype(np.float32) / 255.0, clean.astype(np.float32) / 255.0


def pair_stream(images: ImageSet, config: PatchConfig, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """An endless, seeded stream of (degraded, clean) pairs."""
    rng = np.random.default_rng(seed)
    weights = area_weights(images)
    while True:
        yield sample_pair(images, weights, config, rng)


def patch_dataset(images: ImageSet, config: PatchConfig, batch: int, seed: int):
    """A `tf.data.Dataset` of batches `(degraded, clean)`, each (batch, patch, patch, 3) float32 in [0, 1]."""
    import tensorflow as tf

    spec = tf.TensorSpec((config.patch, config.patch, 3), tf.float32)
    dataset = tf.data.Dataset.from_generator(
        lambda: pair_stream(images, config, seed), output_signature=(spec, spec)
    )
    return dataset.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def validation_pairs(
    images: ImageSet, qualities: tuple[int, ...], size: int, max_images: int = 16
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Fixed validation batches: the grid-aligned centre crop of each image at each quality.

    Returns {quality: (degraded, clean)}, each (N, size, size, 3) float32 in [0, 1]; `size` is rounded
    down to a multiple of 8 and to the smallest image.
    """
    chosen = images.images[:max_images]
    size = min([size] + [min(img.shape[:2]) for img in chosen]) // GRID * GRID
    crops = []
    for img in chosen:
        top = (img.shape[0] - size) // 2 // GRID * GRID
        left = (img.shape[1] - size) // 2 // GRID * GRID
        crops.append(img[top : top + size, left : left + size])
    clean = np.stack(crops)
    pairs = {}
    for quality in qualities:
        degraded = np.stack([jpeg_roundtrip_uint8(c, quality) for c in crops])
        pairs[quality] = (degraded.astype(np.float32) / 255.0, clean.astype(np.float32) / 255.0)
    return pairs
