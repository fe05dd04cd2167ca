"""(degraded, clean) patch pairs for training, deterministic under a seed, optionally with their JPEG tables.

Each pair follows KAIR / FBCNN: crop 8 px more than needed, augment (flips, 90° rotations), JPEG-compress,
then crop back. By default the crop-back offset is a multiple of 8, so patches lie on the 8×8 JPEG grid;
`grid_offsets=True` draws any offset in [0, 8] instead, which teaches robustness to shifted and re-saved
JPEGs. With `min_scale < 1`, each region is first cut larger and shrunk by a factor drawn from
[`min_scale`, 1] (Lanczos), so the photos are also seen at smaller scales: DnCNN's scale augmentation
(Zhang et al. 2017 used 1, 0.9, 0.8 and 0.7). With `gray_fraction > 0`, that share of patches is converted
to luma and compressed single-channel, then replicated to 3 channels, so one colour model also serves
grayscale photos.

Two degradations: "classic" (Pillow at a quality from `quality`, 4:2:0; every run before issue 17, and
the same stream under the same seed) and "real" (`data.degradations`: quality mixture up to 100, three
chroma samplings, non-IJG tables, shifted double JPEG). With `with_tables=True` each patch also carries
the normalised quantization tables of its own JPEG file ((128,) float32, `data.jpeg.normalise_tables`);
a `blind_fraction` share carries all zeros instead, the "no tables" input, so blind mode is trained.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from PIL import Image
from unjpeg.data.datasets import ImageSet
from unjpeg.data.degradations import RealDegradation, degrade_real
from unjpeg.data.jpeg import (
    DEFAULT_QUALITY_RANGE,
    GRID,
    decode_jpeg,
    jpeg_bytes,
    normalise_tables,
    quant_tables,
)

DEGRADATIONS = ("classic", "real")
TABLES = 128  # length of the conditioning vector: 2 tables × 64 steps


@dataclass(frozen=True)
class PatchConfig:
    patch: int = 64
    quality: tuple[int, int] = DEFAULT_QUALITY_RANGE
    grid_offsets: bool = False
    gray_fraction: float = 0.0
    augment: bool = True
    degradation: str = "classic"
    real: RealDegradation = field(default_factory=RealDegradation)
    blind_fraction: float = 0.2  # share of patches whose tables are dropped, when tables are asked for
    min_scale: float = 1.0  # smallest shrink factor of the scale augmentation; 1: none (every run before it)

    def __post_init__(self):
        if self.degradation not in DEGRADATIONS:
            raise ValueError(
                f"degradation must be one of {', '.join(DEGRADATIONS)}, got {self.degradation!r}"
            )
        if not 0 < self.min_scale <= 1:
            raise ValueError(f"min_scale must be in (0, 1], got {self.min_scale}")


class Example(NamedTuple):
    """One training example: `degraded` and `clean` (patch, patch, 3) float32 in [0, 1], the JPEG file it
    was decoded from, and `offset` (top, left), where the patch sits in that decoded file."""

    degraded: np.ndarray
    clean: np.ndarray
    jpeg: bytes
    offset: tuple[int, int]


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


def cut_region(image: np.ndarray, region: int, min_scale: float, rng: np.random.Generator) -> np.ndarray:
    """A random (region, region, 3) uint8 square of `image`; with `min_scale < 1`, cut 1/s times larger
    (at most the image) and shrunk to `region` with Lanczos, s drawn uniformly from [`min_scale`, 1]."""
    source = region
    if min_scale < 1:
        source = min(int(np.ceil(region / rng.uniform(min_scale, 1.0))), *image.shape[:2])
    top = int(rng.integers(image.shape[0] - source + 1))
    left = int(rng.integers(image.shape[1] - source + 1))
    square = image[top : top + source, left : left + source]
    if source == region:
        return square
    return np.asarray(Image.fromarray(square).resize((region, region), Image.Resampling.LANCZOS))


def crop_offset(margin: int, config: PatchConfig, rng: np.random.Generator) -> tuple[int, int]:
    """Where to crop the patch back out of its compressed region: on the 8×8 grid unless `grid_offsets`."""
    if not margin:
        return 0, 0
    if config.grid_offsets:
        return tuple(int(v) for v in rng.integers(0, margin + 1, size=2))
    return tuple(GRID * int(v) for v in rng.integers(0, margin // GRID + 1, size=2))


def sample_example(
    images: ImageSet, weights: np.ndarray, config: PatchConfig, rng: np.random.Generator
) -> Example:
    """One `Example`; `weights` from `area_weights`. The classic draws are those of every earlier run."""
    image = images.images[int(rng.choice(len(weights), p=weights))]
    size = config.patch
    margin = GRID if min(image.shape[:2]) >= size + GRID else 0
    clean = cut_region(image, size + margin, config.min_scale, rng)
    if config.augment:
        clean = augment(clean, rng)
    if rng.random() < config.gray_fraction:
        clean = to_luma(clean)
    if config.degradation == "classic":
        data = jpeg_bytes(clean, int(rng.integers(config.quality[0], config.quality[1] + 1)))
        degraded = decode_jpeg(data)
        dy, dx = crop_offset(margin, config, rng)
    else:
        degraded, data, shift = degrade_real(clean, config.quality, config.real, rng)
        clean = clean[shift[0] :, shift[1] :]
        # A double JPEG used its margin for the shift; the patch starts on the second grid.
        dy, dx = crop_offset(margin, config, rng) if shift == (0, 0) else (0, 0)
    clean = clean[dy : dy + size, dx : dx + size]
    degraded = degraded[dy : dy + size, dx : dx + size]
    if clean.shape[-1] == 1:
        clean, degraded = np.repeat(clean, 3, axis=-1), np.repeat(degraded, 3, axis=-1)
    return Example(degraded.astype(np.float32) / 255.0, clean.astype(np.float32) / 255.0, data, (dy, dx))


def sample_pair(
    images: ImageSet, weights: np.ndarray, config: PatchConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One (degraded, clean) pair, each (patch, patch, 3) float32 in [0, 1]; `weights` from `area_weights`."""
    example = sample_example(images, weights, config, rng)
    return example.degraded, example.clean


def tables_of(data: bytes) -> np.ndarray:
    """The (128,) float32 conditioning vector of a JPEG file's own tables."""
    return normalise_tables(quant_tables(data)[0])


def pair_stream(
    images: ImageSet, config: PatchConfig, seed: int, with_tables: bool = False
) -> Iterator[tuple]:
    """An endless, seeded stream of `(degraded, clean)`, or `((degraded, tables), clean)` with tables.

    With tables, each example then draws once more: below `blind_fraction` its tables become zeros.
    """
    rng = np.random.default_rng(seed)
    weights = area_weights(images)
    while True:
        example = sample_example(images, weights, config, rng)
        if not with_tables:
            yield example.degraded, example.clean
            continue
        blind = rng.random() < config.blind_fraction
        tables = np.zeros(TABLES, np.float32) if blind else tables_of(example.jpeg)
        yield (example.degraded, tables), example.clean


def patch_dataset(images: ImageSet, config: PatchConfig, batch: int, seed: int, with_tables: bool = False):
    """A `tf.data.Dataset` of batches `(degraded, clean)`, each (batch, patch, patch, 3) float32 in [0, 1];
    with tables, `((degraded, tables), clean)` with tables (batch, 128) float32 in [0, 1]."""
    import tensorflow as tf

    spec = tf.TensorSpec((config.patch, config.patch, 3), tf.float32)
    inputs = (spec, tf.TensorSpec((TABLES,), tf.float32)) if with_tables else spec
    dataset = tf.data.Dataset.from_generator(
        lambda: pair_stream(images, config, seed, with_tables), output_signature=(inputs, spec)
    )
    return dataset.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def validation_pairs(
    images: ImageSet,
    qualities: tuple[int, ...],
    size: int,
    max_images: int = 16,
    subsampling: str = "4:2:0",
    with_tables: bool = False,
) -> dict[int, tuple]:
    """Fixed validation batches: the grid-aligned centre crop of each image at each quality.

    Returns {quality: (degraded, clean)}, each (N, size, size, 3) float32 in [0, 1], or with tables
    {quality: ((degraded, tables), clean)}, tables (N, 128) float32 (never dropped); `size` is rounded
    down to a multiple of 8 and to the smallest image.
    """
    chosen = images.images[:max_images]
    size = min([size] + [min(img.shape[:2]) for img in chosen]) // GRID * GRID
    crops = []
    for img in chosen:
        top = (img.shape[0] - size) // 2 // GRID * GRID
        left = (img.shape[1] - size) // 2 // GRID * GRID
        crops.append(img[top : top + size, left : left + size])
    clean = np.stack(crops).astype(np.float32) / 255.0
    pairs = {}
    for quality in qualities:
        files = [jpeg_bytes(c, quality, subsampling) for c in crops]
        degraded = np.stack([decode_jpeg(f) for f in files]).astype(np.float32) / 255.0
        inputs = (degraded, np.stack([tables_of(f) for f in files])) if with_tables else degraded
        pairs[quality] = (inputs, clean)
    return pairs
