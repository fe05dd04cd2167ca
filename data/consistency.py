"""JPEG-consistent output: keep every DCT coefficient of a restored image inside the file's quantization interval.

A coefficient `c` at step `q` says that the encoder's DCT value lay in `[(c - 1/2) q, (c + 1/2) q]`
(`unjpeg.data.jpeg_file`). The original image satisfies all of these constraints (up to the encoder's 8-bit
rounding), and they bound a convex set, so projecting a restored image onto it (chroma "delta" below) cannot
move it farther from the original in YCbCr: the idea of jpeg2png and jpeg-quantsmooth, and of the DCT-domain
constraint in QGAC (Ehrlich et al., ECCV 2020).

The projection, per component plane of the file's colour space (JFIF / ITU-T T.871: BT.601, full range):
1. RGB -> YCbCr in levels [0, 255]; a subsampled component is taken down as libjpeg's encoder does
   (`unjpeg.data.jpeg_sampling.take_down`);
2. blockwise orthonormal 8×8 DCT-II of `level - 128`, each coefficient clipped to its interval, inverse DCT;
3. a full-resolution component (luma, 4:4:4 chroma) is replaced by the result, so it is exact. For a
   subsampled one, `chroma="delta"` adds the change, repeated over each sample's pixels, to the restored
   full-resolution plane: the Euclidean projection onto the consistent set (repetition is the box mean's
   adjoint), which keeps full-resolution detail and whose box mean is exactly consistent.
   `chroma="replace"` shows the projected plane as libjpeg's decoder would (its triangle upsampling);
4. back to RGB, clipped to [0, 1]. Clipping and the caller's 8-bit rounding are the only departures.

At the bottom and right edges the encoder coded padding that the restored image does not have. There the
partial blocks are projected `EDGE_ITERATIONS` times, each time with the real samples put back and the
padding kept from the last projection, so the padding is re-estimated and the real samples change least.

Work is per tile on the MCU grid, so memory is bounded by the tile (`project_tile`); `project_image` runs
it over strips. numpy only (and threadpoolctl to hold the BLAS to one thread): the ONNX restore path needs
no TensorFlow.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController
from unjpeg.data.jpeg_dct import (  # noqa: F401 - dct_matrix, forward_dct re-exported (losses.sharpness)
    DCT_64,
    LEVEL_SHIFT,
    dct_matrix,
    forward_dct,
    from_blocks,
    rgb_to_ycbcr,
    to_blocks,
    ycbcr_to_rgb,
)
from unjpeg.data.jpeg_file import (
    BLOCK,
    JpegFile,
    UnsupportedJpegError,
    as_stored,
    looks_like_jpeg,
    read_jpeg,
    upright,
)
from unjpeg.data.jpeg_sampling import repeat, round_up, take_down, upsample_like_libjpeg

CHROMA_MODES = ("delta", "replace")
STRIP_ROWS = 256  # rows per strip in `project_image`, rounded up to whole MCUs
EDGE_ITERATIONS = 8  # each pass shrinks the change to real samples about twofold or more


def project_plane(
    plane: np.ndarray, coefficients: np.ndarray, table: np.ndarray, real: tuple[int, int] | None = None
) -> np.ndarray:
    """Project (8 bv, 8 bh) float32 levels onto the intervals of (bv, bh, 8, 8) `coefficients` at (8, 8) `table`.

    `real`: (rows, cols) of `plane` that hold real samples; past them is edge padding, re-estimated in the
    partial edge blocks as the module docstring says. Returns (8 bv, 8 bh) float32.
    """
    projected = _clip_blocks(plane, coefficients, table)
    rows, cols = plane.shape
    real_rows, real_cols = real or (rows, cols)
    edges = [(rows - BLOCK, 0)] if real_rows < rows else []
    edges += [(0, cols - BLOCK)] if real_cols < cols else []
    for top, left in edges:
        given = plane[top:, left:]
        keep = (slice(0, real_rows - top), slice(0, real_cols - left))
        estimate = projected[top:, left:]
        for _ in range(EDGE_ITERATIONS):
            estimate[keep] = given[keep]
            estimate = _clip_blocks(estimate, coefficients[top // BLOCK :, left // BLOCK :], table)
        projected[top:, left:] = estimate
    return projected


def _clip_blocks(plane: np.ndarray, coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
    """DCT, clip to [(c - 1/2) q, (c + 1/2) q], inverse DCT: (8 bv, 8 bh) float32 -> same.

    The steps are folded into the transforms, so the clip is to c ± 1/2 with scalar bounds.
    """
    rows, cols = plane.shape
    steps = table.reshape(1, -1).astype(np.float32)
    centre = coefficients.reshape(-1, BLOCK * BLOCK).astype(np.float32)
    residual = (to_blocks(plane) - LEVEL_SHIFT) @ (DCT_64.T / steps)
    residual -= centre
    np.clip(residual, -0.5, 0.5, out=residual)
    residual += centre
    return from_blocks(residual @ (steps.T * DCT_64) + LEVEL_SHIFT, rows, cols)


def project_ycbcr(
    planes: np.ndarray, jpeg: JpegFile, top: int = 0, left: int = 0, chroma: str = "delta"
) -> np.ndarray:
    """Project (h, w, C) float32 levels in the file's colour space (C = its component count), at the tile
    offset (`top`, `left`) of the stored image, as `project_tile`; returns (h, w, C) float32, not clipped."""
    if chroma not in CHROMA_MODES:
        raise ValueError(f"chroma must be one of {CHROMA_MODES}, got {chroma!r}")
    if planes.ndim != 3 or planes.shape[-1] != len(jpeg.components):
        raise ValueError(f"a tile of shape {planes.shape} for a {len(jpeg.components)}-component JPEG")
    _check_tile(jpeg, planes.shape[:2], top, left)
    return np.stack(
        [
            _project_component(np.ascontiguousarray(planes[..., i]), jpeg, i, top, left, chroma)
            for i in range(planes.shape[-1])
        ],
        -1,
    )


def project_tile(
    tile: np.ndarray, jpeg: JpegFile, top: int = 0, left: int = 0, chroma: str = "delta"
) -> np.ndarray:
    """Project a restored tile onto the file's quantization intervals.

    tile: (h, w, 3) RGB for a YCbCr file, (h, w, 1) or (h, w) for a grayscale one; float in [0, 1] or uint8.
        It covers rows `top:top + h`, columns `left:left + w` of the image as stored (EXIF orientation not
        applied). `top` and `left` lie on the MCU grid (`jpeg.mcu`); `h` and `w` are whole MCUs unless the
        tile reaches the image's bottom or right edge.
    Returns float32 in [0, 1], the tile's shape.
    """
    scale = np.float32(1.0 if tile.dtype == np.uint8 else 255.0)
    planes = np.multiply(tile, scale, dtype=np.float32).reshape(tile.shape[0], tile.shape[1], -1)
    colour = jpeg.color_space == "ycbcr" and planes.shape[-1] == 3
    # The GEMMs are (blocks, 64) x (64, 64): a multi-threaded BLAS spends more on waking and waiting for its
    # threads than on the work, many times more on a busy machine (scripts/measure_consistency.py).
    with _blas_controller().limit(limits=1, user_api="blas"):
        projected = project_ycbcr(rgb_to_ycbcr(planes) if colour else planes, jpeg, top, left, chroma)
    projected = ycbcr_to_rgb(projected) if colour else projected
    projected *= np.float32(1 / 255)
    return np.clip(projected, 0.0, 1.0, out=projected).reshape(tile.shape)


def project_image(
    image: np.ndarray, jpeg: JpegFile, chroma: str = "delta", is_upright: bool = True, in_place: bool = False
) -> np.ndarray:
    """Project a whole restored image, strip by strip: beyond input and output, memory is one strip's.

    image: (H, W, C) or (H, W) as in `project_tile`. `is_upright`: the file's EXIF orientation has been
    applied to it (as `unjpeg.data.images.read_image` does); the projection then works on a view of it in
    the stored orientation. `in_place`: write into `image` (float32 [0, 1]) and return it, sparing a copy.
    Returns float32 in [0, 1], the image's shape.
    """
    if in_place and image.dtype != np.float32:
        raise ValueError(f"in-place projection needs a float32 image, got {image.dtype}")
    stored = as_stored(image, jpeg.orientation) if is_upright else image
    if stored.shape[:2] != (jpeg.height, jpeg.width):
        raise ValueError(f"image is {stored.shape[:2]} as stored, the JPEG is {(jpeg.height, jpeg.width)}")
    # "replace" upsamples across strip borders, so it runs on the whole image at once (a measurement variant).
    rows = round_up(STRIP_ROWS, jpeg.mcu[0]) if chroma == "delta" else jpeg.height
    result = stored if in_place else np.empty(stored.shape, np.float32)
    for top in range(0, jpeg.height, rows):
        result[top : top + rows] = project_tile(stored[top : top + rows], jpeg, top, 0, chroma)
    if in_place:
        return image
    return np.ascontiguousarray(upright(result, jpeg.orientation)) if is_upright else result


def project_onto_file(image: np.ndarray, path: str | Path, chroma: str = "delta") -> tuple[np.ndarray, str]:
    """`project_image` of the upright restored `image` (float32 [0, 1], projected in place) onto the JPEG at
    `path`; a file that is no JPEG, or one `read_jpeg` refuses, leaves it alone. Returns (image, a one-line
    note on what was done, for the log)."""
    if not looks_like_jpeg(path):
        return image, "not a JPEG: output not projected"
    try:
        jpeg = read_jpeg(path)
    except UnsupportedJpegError as err:
        return image, f"not projected ({str(err).removeprefix(f'{path}: ')})"
    size, channels = (jpeg.height, jpeg.width), len(jpeg.components)
    if image.ndim != 3 or as_stored(image, jpeg.orientation).shape[:2] != size or image.shape[2] != channels:
        return image, f"not projected (the image size differs from the JPEG's {size[1]}×{size[0]}×{channels})"
    projected = project_image(image, jpeg, chroma, in_place=image.dtype == np.float32)
    return projected, "projected onto the JPEG's quantization intervals" + (
        "" if chroma == "delta" else f", {chroma}"
    )


@cache
def _blas_controller() -> ThreadpoolController:
    return (
        ThreadpoolController()
    )  # found once: looking up the loaded BLAS libraries takes about a millisecond


def _check_tile(jpeg: JpegFile, size: tuple[int, int], top: int, left: int) -> None:
    """Raise ValueError unless the tile starts on the MCU grid and ends on it or at the image's edge."""
    limits = (jpeg.height, jpeg.width)
    for start, extent, unit, limit, name in zip((top, left), size, jpeg.mcu, limits, "yx", strict=True):
        end = start + extent
        if start % unit or end > limit or (end < limit and extent % unit):
            raise ValueError(
                f"tile {name} = {start}:{end} is off the {unit}-px MCU grid of a {limit}-px image"
            )


def _project_component(
    plane: np.ndarray, jpeg: JpegFile, index: int, top: int, left: int, chroma: str
) -> np.ndarray:
    """Project one full-resolution (h, w) plane of levels through component `index`; returns (h, w) float32."""
    component = jpeg.components[index]
    ratio_v, ratio_h = jpeg.subsampling(index)
    rows, cols = plane.shape
    low = take_down(plane, ratio_v, ratio_h)
    block_top, block_left = top // ratio_v // BLOCK, left // ratio_h // BLOCK
    coefficients = component.coefficients[
        block_top : block_top + low.shape[0] // BLOCK, block_left : block_left + low.shape[1] // BLOCK
    ]
    # Blocks past the coded ones are the MCU padding that the encoder adds and the file does not keep.
    coded_rows, coded_cols = coefficients.shape[0] * BLOCK, coefficients.shape[1] * BLOCK
    real = (-(-rows // ratio_v), -(-cols // ratio_h))
    projected = project_plane(low[:coded_rows, :coded_cols], coefficients, component.quant_table, real)
    if projected.shape != low.shape:
        projected = np.concatenate([projected, low[:coded_rows, coded_cols:]], axis=1)
        projected = np.concatenate([projected, low[coded_rows:]], axis=0)
    if ratio_v == ratio_h == 1:
        return projected[:rows, :cols]
    if chroma == "replace":
        return upsample_like_libjpeg(projected, ratio_v, ratio_h)[:rows, :cols]
    change = projected - low
    if rows % ratio_v or cols % ratio_h:
        return plane + repeat(change, ratio_v, ratio_h)[:rows, :cols]
    # Broadcast over each sample's pixels rather than materialising the repeated change.
    cells = plane.reshape(rows // ratio_v, ratio_v, cols // ratio_h, ratio_h)
    return (cells + change[: rows // ratio_v, None, : cols // ratio_h, None]).reshape(rows, cols)
