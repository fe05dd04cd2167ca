"""Full-resolution restoration in overlapping tiles aligned to the 8×8 JPEG grid.

Each tile's core is extended by `overlap` px of context on every side. Where two windows overlap, their
outputs are blended with weights that are 0 within `overlap / 2` of a window's edge and rise linearly to
1 at `overlap` px, so every output pixel comes from windows that saw at least `overlap / 2` px of context
around it. For a fully convolutional model whose receptive field reaches no farther than that, tiled
output equals untiled output; for larger receptive fields the linear blend leaves no visible seam.
The shipped s2dnet reaches about 124 px (thirty 3×3 convs at 1/4 resolution), so its tiled output
differs slightly from untiled; the README gives the measured difference for each overlap.
Peak memory is set by the tile size: the image itself is held once as input, and once as output with a
one-channel weight sum; every other buffer is the size of a window.

Fixed-size models (autoencoder-fc, 32×32) are run on windows of their own size at half-window stride,
blended with a triangular weight, as the first seed project proposed.

`self_ensemble=True` is the geometric self-ensemble of EDSR+ (Lim et al., CVPR-W 2017): the image is
restored in all 8 rotations and mirror images, each output is turned back, and the 8 are averaged. It takes
8× the time and holds three more image-sized buffers. The image is first edge-padded to the 16-px 4:2:0
coding unit, so every rotated or mirrored copy still has its 8×8 blocks (and 16×16 chroma blocks) on the
grid; the JPEG encoder pads partial blocks the same way. It is an L2 tool: on the GAN it also raises
LPIPS, because the average of 8 synthesised textures is blurred (README, with the measured gains).

A generator conditioned on the file's quantization tables gets the photo's one `tables` vector with every
window. Mirroring a block only flips the signs of its odd-frequency DCT coefficients, so a mirrored copy keeps
the tables; a quarter turn transposes every block's coefficients, so a copy turned by 90° or 270° is the
JPEG of the turned photo with transposed tables, and gets those (`transpose_tables`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from tqdm import tqdm

from unjpeg.data.jpeg import GRID  # tiles start on it so the model sees the same blocks as untiled

CODING_UNIT = 16  # 4:2:0 JPEG codes colour in 16×16 px units: flips of a padded image keep them aligned.
TILE, OVERLAP = 512, 32  # the defaults of restore, compare and the API (module docstring)
PROGRESS_DELAY = 2.0  # s: a tile progress bar appears only for a photo that takes longer than this


@dataclass(frozen=True)
class TilingOptions:
    """How a photo is cut: `tile` and `overlap` in px (rounded up to multiples of 8), and whether to
    average the 8 rotations and mirror images (`self_ensemble`)."""

    tile: int = TILE
    overlap: int = OVERLAP
    self_ensemble: bool = False


Restore = Callable[[np.ndarray], np.ndarray]  # (B, h, w, 3) float32 [0, 1] -> (B, h, w, 3)


def restore_image(
    restore: Restore,
    image: np.ndarray,
    tile: int = TILE,
    overlap: int = OVERLAP,
    fixed_size: int | None = None,
    self_ensemble: bool = False,
    progress: bool = False,
    tables: np.ndarray | None = None,
) -> np.ndarray:
    """Restore `image` (H, W, C) float32 in [0, 1], C in {1, 3}; returns (H, W, C) float32 in [0, 1].

    Grayscale is replicated to 3 channels for the model and averaged back to one, window by window.
    `tile` and `overlap` are rounded up to multiples of 8 (at least 8). `self_ensemble`: average over the 8
    rotations and mirror images (module docstring). `progress`: a tqdm bar over the tiles on stderr, shown
    after PROGRESS_DELAY seconds and only on a terminal. `tables`: the photo's (128,) float32 conditioning
    vector (`data.jpeg.normalise_tables`), passed as `restore(batch, tables=tables)` for every window; None
    calls `restore(batch)`.
    """
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"expected an (H, W, 1 or 3) image, got shape {image.shape}")
    gray = image.shape[-1] == 1
    tile, overlap = _round_up(tile), _round_up(overlap)
    unit = CODING_UNIT if self_ensemble else 1  # the self-ensemble pads to the coding unit first
    shape = tuple(unit * -(-side // unit) for side in image.shape[:2])
    calls = _calls(shape, tile, overlap, fixed_size) * (8 if self_ensemble else 1)
    bar = tqdm(
        total=calls,
        unit="tile",
        delay=PROGRESS_DELAY,
        leave=False,
        file=sys.stderr,
        disable=None if progress else True,
    )

    def restore_whole(whole: np.ndarray, tables: np.ndarray | None) -> np.ndarray:
        restore_windows = restore if tables is None else partial(restore, tables=tables)
        restore_windows = _gray(restore_windows) if gray else restore_windows
        if fixed_size:
            return _restore_fixed(restore_windows, whole, fixed_size, bar=bar)
        return _restore_tiled(restore_windows, whole, tile, overlap, bar)

    with bar:
        if self_ensemble:
            restored = _self_ensemble(restore_whole, image, tables)
        else:
            restored = restore_whole(image, tables)
    return np.clip(restored, 0.0, 1.0, out=restored)


def _calls(shape: tuple[int, int], tile: int, overlap: int, fixed_size: int | None) -> int:
    """How many windows restore an image of `shape` (for the progress bar's total; an upper bound)."""
    if fixed_size:
        return int(np.prod([max(1, -(-side // (fixed_size // 2)) + 1) for side in shape]))
    if all(side <= tile + 2 * overlap for side in shape):
        return 1
    return int(np.prod([-(-side // tile) for side in shape]))


def transpose_tables(tables: np.ndarray) -> np.ndarray:
    """Tables (128,) or (2, 64), luma then chroma in natural row-major 8×8 order, with each 8×8 transposed:
    the tables of the photo turned by a quarter (module docstring)."""
    tables = np.asarray(tables)
    return tables.reshape(2, GRID, GRID).transpose(0, 2, 1).reshape(tables.shape)


def _self_ensemble(
    restore_whole: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
    image: np.ndarray,
    tables: np.ndarray | None,
) -> np.ndarray:
    """Mean of `restore_whole(copy, its tables)` over the 8 rotations and mirror images of `image`, each
    turned back; a copy turned by an odd number of quarters gets the transposed `tables`."""
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, -height % CODING_UNIT), (0, -width % CODING_UNIT), (0, 0)), mode="edge")
    total = np.zeros(padded.shape, np.float32)
    for quarter_turns in range(4):
        for mirrored in (False, True):
            view = np.rot90(padded, quarter_turns)
            view = view[:, ::-1] if mirrored else view
            turned = tables if tables is None or quarter_turns % 2 == 0 else transpose_tables(tables)
            restored = restore_whole(np.ascontiguousarray(view), turned)
            restored = restored[:, ::-1] if mirrored else restored
            total += np.rot90(restored, -quarter_turns)
    return total[:height, :width] / 8


def _gray(restore: Restore) -> Restore:
    """Wrap an RGB model for (B, h, w, 1) windows: replicate to 3 channels, average the output back."""
    return lambda batch: restore(np.repeat(batch, 3, axis=-1)).mean(axis=-1, keepdims=True)


def _round_up(value: int) -> int:
    return max(GRID, -(-int(value) // GRID) * GRID)


def _ramp(length: int, start: int, stop: int, size: int, overlap: int) -> np.ndarray:
    """1-D blend weights of a window [start, stop) of an axis of `size` px (see module docstring)."""
    weight = np.ones(length, np.float32)
    if overlap == 0:
        return weight
    distance = np.arange(length, dtype=np.float32)
    half = overlap / 2
    ramp = np.clip((distance - half + 0.5) / half, 0.0, 1.0)
    if start > 0:
        weight = np.minimum(weight, ramp)
    if stop < size:
        weight = np.minimum(weight, ramp[::-1])
    return weight


def _restore_tiled(restore: Restore, image: np.ndarray, tile: int, overlap: int, bar=None) -> np.ndarray:
    height, width = image.shape[:2]
    if height <= tile + 2 * overlap and width <= tile + 2 * overlap:
        # The input is copied (the caller's array must not be clipped in place); the output only if
        # the model's is read-only or not float32.
        return np.require(restore(image[None].astype(np.float32))[0], np.float32, ("C", "W"))
    output = np.zeros(image.shape, np.float32)
    total = np.zeros((height, width, 1), np.float32)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            y0, y1 = max(0, top - overlap), min(height, top + tile + overlap)
            x0, x1 = max(0, left - overlap), min(width, left + tile + overlap)
            window = restore(image[None, y0:y1, x0:x1].astype(np.float32))[0]
            weight = np.outer(
                _ramp(y1 - y0, y0, y1, height, overlap), _ramp(x1 - x0, x0, x1, width, overlap)
            )[..., None]
            if window.flags.writeable:  # weigh in place: no temporary the size of a window
                np.multiply(window, weight, out=window)
            else:
                window = window * weight
            output[y0:y1, x0:x1] += window
            total[y0:y1, x0:x1] += weight
            if bar is not None:
                bar.update(1)
    output /= total
    return output


def _restore_fixed(restore: Restore, image: np.ndarray, size: int, batch: int = 256, bar=None) -> np.ndarray:
    height, width = image.shape[:2]
    stride = size // 2
    pad_h = (-(height - size) % stride) if height > size else size - height
    pad_w = (-(width - size) % stride) if width > size else size - width
    # Extra half-window of reflection on every side, so border pixels also get overlapping windows.
    padded = np.pad(image, ((stride, stride + pad_h), (stride, stride + pad_w), (0, 0)), mode="reflect")
    triangle = 1.0 - np.abs(np.arange(size, dtype=np.float32) - (size - 1) / 2) / (size / 2)
    weight = np.outer(triangle, triangle)[..., None]
    corners = [
        (top, left)
        for top in range(0, padded.shape[0] - size + 1, stride)
        for left in range(0, padded.shape[1] - size + 1, stride)
    ]
    output = np.zeros(padded.shape, np.float32)
    total = np.zeros(padded.shape[:2] + (1,), np.float32)
    for i in range(0, len(corners), batch):
        chunk = corners[i : i + batch]
        windows = np.stack([padded[t : t + size, x : x + size] for t, x in chunk]).astype(np.float32)
        for (top, left), restored in zip(chunk, restore(windows), strict=True):
            output[top : top + size, left : left + size] += restored * weight
            total[top : top + size, left : left + size] += weight
        if bar is not None:
            bar.update(len(chunk))
    output /= np.maximum(total, 1e-8)
    return np.ascontiguousarray(output[stride : stride + height, stride : stride + width])
