"""JPEG's block DCT and JFIF colour conversion, in numpy float32.

Conventions of ITU-T T.81 (A.3.1, A.3.3) and T.871 (JFIF): samples are level-shifted by 128, each 8×8 block
takes the orthonormal DCT-II, and coefficients are in natural order `[u, v]` (u vertical frequency), as in
`unjpeg.data.jpeg_file.JpegComponent`. Colour is BT.601 full range: Y, Cb, Cr all in [0, 255].
"""

from __future__ import annotations

import numpy as np
from unjpeg.data.jpeg import GRID as BLOCK  # one 8×8 DCT block

# JFIF (ITU-T T.871 §7) RGB -> YCbCr from Kr = 0.299, Kb = 0.114; its inverse gives 1.402, 1.772, ...
RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.299 / 1.772, -0.587 / 1.772, 0.5], [0.5, -0.587 / 1.402, -0.114 / 1.402]]
)
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)
CHROMA_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)
LEVEL_SHIFT = 128.0  # T.81 A.3.1: samples are shifted to signed before the DCT


def dct_matrix() -> np.ndarray:
    """(8, 8) float64 orthonormal DCT-II: `D @ x` transforms a column, `D.T @ X` inverts (T.81 A.3.3)."""
    k = np.arange(BLOCK)
    scale = np.where(k == 0, np.sqrt(1 / BLOCK), np.sqrt(2 / BLOCK))
    return scale[:, None] * np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / (2 * BLOCK))


# On a block flattened row-major (index 8 y + x), the 2-D DCT is one (64, 64) matrix: one GEMM per plane.
DCT_64 = np.kron(dct_matrix(), dct_matrix()).astype(np.float32)


def to_blocks(plane: np.ndarray) -> np.ndarray:
    """(8 bv, 8 bh) -> (bv * bh, 64): blocks in raster order, each flattened row-major."""
    rows, cols = plane.shape
    blocks = plane.reshape(rows // BLOCK, BLOCK, cols // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    return blocks.reshape(-1, BLOCK * BLOCK)


def from_blocks(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Inverse of `to_blocks`: (bv * bh, 64) -> (rows, cols)."""
    tiled = blocks.reshape(rows // BLOCK, cols // BLOCK, BLOCK, BLOCK).transpose(0, 2, 1, 3)
    return tiled.reshape(rows, cols)


def forward_dct(plane: np.ndarray) -> np.ndarray:
    """(8 bv, 8 bh) levels [0, 255] -> (bv, bh, 8, 8) float32 DCT coefficients in natural order, as JPEG's."""
    rows, cols = plane.shape
    spectrum = (to_blocks(plane.astype(np.float32)) - LEVEL_SHIFT) @ DCT_64.T
    return spectrum.reshape(rows // BLOCK, cols // BLOCK, BLOCK, BLOCK)


def rgb_to_ycbcr(levels: np.ndarray) -> np.ndarray:
    """(..., 3) RGB levels [0, 255] -> (..., 3) float32 JFIF YCbCr levels."""
    return levels.astype(np.float32) @ RGB_TO_YCBCR.T.astype(np.float32) + CHROMA_OFFSET


def ycbcr_to_rgb(levels: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr`, not clipped."""
    return (levels - CHROMA_OFFSET) @ YCBCR_TO_RGB.T.astype(np.float32)
