"""Chroma sampling as libjpeg does it: the encoder's box mean with its edge padding, the decoder's upsampling.

All functions take and return float32 planes `(rows, cols)` of levels; the ratios are image pixels per sample
of the component, `JpegFile.subsampling(index)`: (2, 2) for 4:2:0 chroma, (1, 2) for 4:2:2, (2, 1) for 4:4:0.
"""

from __future__ import annotations

import numpy as np
from unjpeg.data.jpeg import GRID as BLOCK  # one 8×8 DCT block


def round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def pad_to(plane: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Replicate the bottom row and right column of (h, w) `plane` out to (rows, cols); no copy if none."""
    if (rows, cols) == plane.shape:
        return plane
    return np.pad(plane, ((0, rows - plane.shape[0]), (0, cols - plane.shape[1])), mode="edge")


def take_down(plane: np.ndarray, ratio_v: int, ratio_h: int) -> np.ndarray:
    """(h, w) full resolution -> the component plane the encoder codes, padded to whole 8×8 blocks.

    libjpeg replicates the right edge at full resolution out to whole blocks before taking the plane down
    (`jcsample.c`, `expand_right_edge`), and the bottom edge to whole sampling rows before and to whole blocks
    after (`jcprepct.c`, `expand_bottom_edge`). The mean is its `h2v2_downsample` and kin without their
    alternating integer bias. Returns (round_up(ceil(h / ratio_v), 8), w-in-blocks * 8) float32.
    """
    rows, cols = plane.shape
    full = pad_to(
        plane.astype(np.float32, copy=False), round_up(rows, ratio_v), round_up(cols, BLOCK * ratio_h)
    )
    low = full
    if ratio_v * ratio_h > 1:  # a sum of strided views: much faster than a mean over reshaped axes
        low = sum(full[i::ratio_v, j::ratio_h] for i in range(ratio_v) for j in range(ratio_h))
        low *= np.float32(1 / (ratio_v * ratio_h))
    return pad_to(low, round_up(low.shape[0], BLOCK), low.shape[1])


def repeat(plane: np.ndarray, ratio_v: int, ratio_h: int) -> np.ndarray:
    """Each sample repeated over its ratio_v × ratio_h pixels: `ratio_v * ratio_h` times the box mean's adjoint."""
    return np.repeat(np.repeat(plane, ratio_v, axis=0), ratio_h, axis=1)


def upsample_like_libjpeg(plane: np.ndarray, ratio_v: int, ratio_h: int) -> np.ndarray:
    """libjpeg's decoder upsampling (`jdsample.c`, "fancy"): a 3/4, 1/4 triangle for a ratio of 2, edges
    replicated; plain repetition for any other ratio. (rows, cols) -> (rows * ratio_v, cols * ratio_h)."""
    for axis, ratio in ((0, ratio_v), (1, ratio_h)):
        if ratio != 2:
            plane = np.repeat(plane, ratio, axis=axis)
            continue
        padded = np.pad(plane, [(1, 1) if a == axis else (0, 0) for a in range(2)], mode="edge")
        length = plane.shape[axis]
        before, after = np.take(padded, range(length), axis), np.take(padded, range(2, length + 2), axis)
        pair = np.stack([0.75 * plane + 0.25 * before, 0.75 * plane + 0.25 * after], axis=axis + 1)
        shape = list(plane.shape)
        shape[axis] *= 2
        plane = pair.reshape(shape)
    return plane
