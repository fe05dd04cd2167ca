"""The "real" training degradation of issue 17: JPEGs like the ones users have, not only Pillow at q10-50.

Each patch is compressed with a quality drawn from a mixture (half from the broad range, half from the
high range, so the high end that phones and cameras use is learned), one of the three common chroma
samplings, for a share of patches with tables that are not the IJG ones (so an unseen camera table is in
range), and for another share twice with the second 8×8 grid shifted (FBCNN's non-aligned double JPEG,
Jiang et al., ICCV 2021). The file's own tables travel with the patch (`data.jpeg.quant_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from unjpeg.data.jpeg import (
    GRID,
    SUBSAMPLING_FLAGS,
    SUBSAMPLINGS,
    decode_jpeg,
    double_jpeg_bytes,
    jpeg_bytes,
)

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural row-major order: the base
# tables libjpeg scales by quality (jcparam.c).
IJG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ]
)
IJG_CHROMA = np.full((8, 8), 99)
IJG_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
# Frequency radius (u + v) / 14 in [0, 1] of each coefficient, for the tilt of a random table.
RADIUS = (np.add.outer(np.arange(8), np.arange(8)) / 14.0).reshape(64)


@dataclass(frozen=True)
class RealDegradation:
    """How the "real" patches are compressed; the broad quality range is `PatchConfig.quality`.

    high_quality, high_share: the other mixture component and its weight. With the broad range 5-100,
        half uniform 5-100 and half uniform 70-100 puts about 53 % of patches above quality 75.
    subsamplings: the chroma layouts a colour patch can get (gray patches have one component).
    subsampling_weights: their relative weights, one per entry of `subsamplings` (uniform by default;
        `--subsampling-weights 420=2,422=1,444=1` gives 4:2:0, the default of libjpeg, Pillow and most
        phones, half the colour patches).
    custom_table_share: share of patches whose tables are the IJG ones at the drawn quality, rescaled
        per frequency (see `random_tables`) instead of libjpeg's.
    table_spread: log2 range of the per-frequency factors: 1.0 means factors in [1/2, 2].
    double_share: share of patches compressed twice with a shifted grid (needs an 8 px crop margin).
    """

    high_quality: tuple[int, int] = (70, 100)
    high_share: float = 0.5
    subsamplings: tuple[str, ...] = SUBSAMPLINGS
    subsampling_weights: tuple[float, ...] = (1.0, 1.0, 1.0)
    custom_table_share: float = 0.25
    table_spread: float = 1.0
    double_share: float = 0.2

    def __post_init__(self):
        weights = self.subsampling_weights
        if len(weights) != len(self.subsamplings) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(
                f"subsampling weights must be {len(self.subsamplings)} non-negative numbers with a positive "
                f"sum, one per {', '.join(self.subsamplings)}; got {tuple(weights)}"
            )


def parse_subsampling_weights(text: str) -> tuple[float, ...]:
    """'420=2,422=1,444=1' -> weights in `SUBSAMPLINGS` order, (1.0, 1.0, 2.0); a layout not named gets 0."""
    weights = dict.fromkeys(SUBSAMPLINGS, 0.0)
    for part in (p.strip() for p in text.split(",") if p.strip()):
        flag, _, value = part.partition("=")
        mode = SUBSAMPLING_FLAGS.get(flag.strip(), flag.strip())
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if mode not in weights or weight < 0:
            raise ValueError(
                f"--subsampling-weights takes LAYOUT=WEIGHT pairs with LAYOUT among "
                f"{','.join(SUBSAMPLING_FLAGS)} and WEIGHT >= 0, e.g. 420=2,422=1,444=1; got {part!r}"
            )
        weights[mode] = weight
    if sum(weights.values()) <= 0:
        raise ValueError(f"--subsampling-weights needs a positive weight, got {text!r}")
    return tuple(weights.values())


def ijg_tables(quality: int) -> np.ndarray:
    """libjpeg's (2, 64) int tables at `quality` in [1, 100] (jpeg_quality_scaling, baseline clip to 255)."""
    quality = min(max(int(quality), 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = np.stack([IJG_LUMA.reshape(64), IJG_CHROMA.reshape(64)])
    return np.clip((base * scale + 50) // 100, 1, 255)


def random_tables(quality: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """IJG tables at `quality` rescaled per frequency: (2, 64) int in 1..255, luma and chroma drawn apart.

    Each step is multiplied by 2 ** (spread · (noise / 2 + tilt · (radius − ½))), with noise per
    frequency and one tilt per table, both uniform in [-1, 1]: camera tables differ from the IJG ones
    mostly in how fast the steps grow with frequency, and then in single entries.
    """
    noise = rng.uniform(-1.0, 1.0, (2, 64))
    tilt = rng.uniform(-1.0, 1.0, (2, 1))
    factors = np.exp2(spread * (noise / 2 + tilt * (RADIUS - 0.5)))
    return np.clip(np.rint(ijg_tables(quality) * factors), 1, 255).astype(np.int64)


def draw_quality(broad: tuple[int, int], mix: RealDegradation, rng: np.random.Generator) -> int:
    """A quality from the mixture: `broad` with weight 1 − high_share, else `mix.high_quality`."""
    low, high = mix.high_quality if rng.random() < mix.high_share else broad
    return int(rng.integers(low, high + 1))


def draw_subsampling(mix: RealDegradation, rng: np.random.Generator) -> str:
    """One of `mix.subsamplings`, drawn with `mix.subsampling_weights` (one uniform number from `rng`)."""
    weights = np.asarray(mix.subsampling_weights, dtype=np.float64)
    return mix.subsamplings[int(rng.choice(len(weights), p=weights / weights.sum()))]


def encode_real(
    region: np.ndarray, broad: tuple[int, int], mix: RealDegradation, rng: np.random.Generator
) -> tuple[bytes, tuple[int, int]]:
    """Compress `region` ((H, W, C) uint8, C in {1, 3}) the way a user's file might have been.

    Returns the JPEG bytes and `(dy, dx)`: the decoded image is `region[dy:, dx:]` degraded, with
    (0, 0) except for a double compression, which needs H and W of at least 16.
    """
    subsampling = draw_subsampling(mix, rng)
    quality = draw_quality(broad, mix, rng)
    tables = random_tables(quality, mix.table_spread, rng) if rng.random() < mix.custom_table_share else None
    if min(region.shape[:2]) >= 2 * GRID and rng.random() < mix.double_share:
        shift = (0, 0)
        while shift == (0, 0):  # (0, 0) would be the aligned case, which a single compression covers
            shift = tuple(int(v) for v in rng.integers(0, GRID, size=2))
        first = draw_quality(broad, mix, rng)
        return double_jpeg_bytes(region, first, quality, shift, subsampling, tables), shift
    return jpeg_bytes(region, quality, subsampling, tables), (0, 0)


def degrade_real(
    region: np.ndarray, broad: tuple[int, int], mix: RealDegradation, rng: np.random.Generator
) -> tuple[np.ndarray, bytes, tuple[int, int]]:
    """`encode_real` plus decoding: (decoded (H − dy, W − dx, C) uint8, JPEG bytes, (dy, dx))."""
    data, shift = encode_real(region, broad, mix, rng)
    return decode_jpeg(data), data, shift
