"""No-reference sharpness measures, and their ratios between a restored image and its original.

All work on luma: the BT.601 Y of colour images scaled to [0, 1] (16/255 to 235/255, the same Y as
`losses.metrics.rgb_to_y`), or the channel itself for grayscale. Inputs are numpy arrays (H, W, C) with C in {1, 3}
(or (H, W)), uint8 in [0, 255] or float in [0, 1]; floats are used as they are, without rounding to 8 bits.
Arithmetic is float64 numpy (no scipy). Images should be at least 3x3 (`blur_effect`: 4x4; with the default
`grid`, at least 8x8).

The JPEG grid is not counted as sharpness. A decoded JPEG's own 8x8 block edges are steps that a gradient,
Laplacian or spectrum would score as fine detail, so every measure here looks inside the blocks only (`grid`,
the 8-px block of the JPEG standard, anchored at the top-left pixel): the spatial ones keep only the positions
whose stencil lies inside one block, and `high_frequency_energy` is taken from each block's own DCT. Blocking
then scores as what it is, lost detail, and adding any constant per block leaves every measure unchanged.
`grid=None` gives the textbook whole-image measures.
"""

import numpy as np
from unjpeg.data.consistency import dct_matrix
from unjpeg.data.jpeg import GRID
from unjpeg.losses.metrics import BT601_Y_COEFFS, BT601_Y_OFFSET

# Sobel derivative and smoothing taps. skimage's `sobel(axis=...)` uses [1, 2, 1] / 4 for smoothing; `tenengrad`
# keeps the textbook integer kernel.
_SOBEL_SMOOTH = np.array([1.0, 2.0, 1.0])
_EPSILON = np.spacing(np.float64(1))  # floor of the Sobel responses in blur_effect, as skimage


def luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 luma in [0, 1]: BT.601 Y / 255 for colour, the channel itself for grayscale."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"expected an image (H, W, C) with C in {{1, 3}}, got shape {image.shape}")
    values = image.astype(np.float64) / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
    if values.shape[2] == 1:
        return values[:, :, 0]
    return (BT601_Y_OFFSET + values @ BT601_Y_COEFFS) / 255.0


def in_block(length: int, first: int, span: int, grid: int | None) -> np.ndarray:
    """(length,) bool: True where a stencil covering pixels first + i ... first + i + span - 1 lies inside one
    `grid`-px block (blocks start at pixel 0); all True for `grid=None`."""
    start = first + np.arange(length)
    if grid is None:
        return np.ones(length, bool)
    return start // grid == (start + span - 1) // grid


def _valid_mask(shape: tuple[int, int], grid: int | None) -> np.ndarray:
    """(H - 2, W - 2) bool over the valid part of a 3x3 stencil: True where it does not cross a block edge."""
    rows = in_block(shape[0] - 2, 0, 3, grid)
    columns = in_block(shape[1] - 2, 0, 3, grid)
    return rows[:, None] & columns[None, :]


def laplacian_variance(img: np.ndarray, grid: int | None = GRID) -> float:
    """Variance of the 3x3 Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]] of the luma, over the valid (H-2, W-2)
    positions whose stencil lies inside one `grid` block (module docstring).

    Larger is sharper (Pech-Pacheco et al. 2000, "Diatom autofocusing in brightfield microscopy").
    """
    y = luma(img)
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4.0 * y[1:-1, 1:-1]
    return float(np.var(lap[_valid_mask(y.shape, grid)]))


def tenengrad(img: np.ndarray, grid: int | None = GRID) -> float:
    """Mean gradient magnitude sqrt(gx^2 + gy^2) of the luma with the 3x3 Sobel kernels, over the valid
    positions whose stencil lies inside one `grid` block.

    The kernels are [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] and its transpose (unnormalised: a unit step gives 4).
    This is the mean magnitude, not Tenengrad's thresholded sum of squares (Krotkov 1987); larger is sharper.
    """
    y = luma(img)
    gx = (y[:-2, 2:] + 2.0 * y[1:-1, 2:] + y[2:, 2:]) - (y[:-2, :-2] + 2.0 * y[1:-1, :-2] + y[2:, :-2])
    gy = (y[2:, :-2] + 2.0 * y[2:, 1:-1] + y[2:, 2:]) - (y[:-2, :-2] + 2.0 * y[:-2, 1:-1] + y[:-2, 2:])
    return float(np.mean(np.sqrt(gx**2 + gy**2)[_valid_mask(y.shape, grid)]))


def high_frequency_energy(img: np.ndarray, cutoff: float = 0.25) -> float:
    """Share in [0, 1] of the luma's in-block AC energy in 2-D DCT frequencies above a radial `cutoff`.

    The luma, cropped to whole 8x8 blocks (GRID), is transformed block by block with the orthonormal DCT-II of
    JPEG (data.consistency.dct_matrix). Coefficient (u, v) has frequencies u / 16 and v / 16 cycles per pixel;
    normalised to Nyquist its radius is r = sqrt(u^2 + v^2) / 8. The default 0.25 is 0.125 cycles per pixel, a
    period of 8 pixels: the share of detail finer than a JPEG block. Each block's DC is left out, so that block
    means (the grid component) count neither as detail nor in the total. 0.0 for an image without AC energy.
    """
    y = luma(img)
    height, width = (side // GRID * GRID for side in y.shape)
    if not height or not width:
        raise ValueError(f"high_frequency_energy needs at least {GRID}x{GRID} px, got {y.shape}")
    blocks = y[:height, :width].reshape(height // GRID, GRID, width // GRID, GRID).transpose(0, 2, 1, 3)
    dct = dct_matrix()
    power = (dct @ blocks @ dct.T) ** 2  # (H / 8, W / 8, 8, 8)
    u = np.arange(GRID)
    radius = np.sqrt(u[:, None] ** 2 + u[None, :] ** 2) / GRID
    ac = power.sum(axis=(0, 1))
    ac[0, 0] = 0.0
    total = ac.sum()
    if total <= 1e-20 * max(float(power[..., 0, 0].sum()), 1.0):  # only rounding residue of flat blocks
        return 0.0
    return float(ac[radius > cutoff].sum() / total)


def _uniform_filter1d(image: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Moving mean of `size` samples along `axis`, as scipy.ndimage.uniform_filter1d(mode='reflect', origin=0).

    Output i averages inputs i - size // 2 ... i - size // 2 + size - 1; outside the array the samples are
    mirrored about the edge (d c b a | a b c d | d c b a), which is numpy's 'symmetric' padding.
    """
    before = size // 2
    pad = [(0, 0)] * image.ndim
    pad[axis] = (before, size - 1 - before)
    padded = np.pad(image, pad, mode="symmetric")
    out = np.zeros_like(image)
    n = image.shape[axis]
    for k in range(size):
        out += np.take(padded, np.arange(k, k + n), axis=axis)
    return out / size


def _sobel_axis(image: np.ndarray, axis: int) -> np.ndarray:
    """|Sobel derivative| of an (H, W) array along `axis`, as abs(skimage.filters.sobel(image, axis=axis)).

    Central difference [1, 0, -1] along `axis`, smoothing [1, 2, 1] / 4 along the other axis, 'reflect' borders.
    """
    p = np.pad(image, 1, mode="symmetric")
    if axis == 0:
        diff = p[2:, :] - p[:-2, :]  # (H, W + 2)
        smooth = (diff[:, :-2] + 2.0 * diff[:, 1:-1] + diff[:, 2:]) / _SOBEL_SMOOTH.sum()
    else:
        diff = p[:, 2:] - p[:, :-2]  # (H + 2, W)
        smooth = (diff[:-2, :] + 2.0 * diff[1:-1, :] + diff[2:, :]) / _SOBEL_SMOOTH.sum()
    return np.abs(smooth)


def _blockwise_mean(image: np.ndarray, size: int, axis: int, grid: int) -> np.ndarray:
    """`_uniform_filter1d` run inside each `grid`-px block along `axis` (mirrored at the block's edges), so no
    block sees its neighbours; the length along `axis` must be a multiple of `grid`."""
    shape = list(image.shape)
    shape[axis : axis + 1] = [shape[axis] // grid, grid]
    return _uniform_filter1d(image.reshape(shape), size, axis + 1).reshape(image.shape)


def blur_effect(img: np.ndarray, h_size: int = 11, grid: int | None = GRID) -> float:
    """No-reference blur in [0, 1]: 0 sharp, towards 1 blurred (Crete-Roffet et al. 2007).

    Crete, Dolmiere, Ladret & Nicolas, "The blur effect: perception and estimation with a new no-reference
    perceptual blur metric", Proc. SPIE 6492 (2007). Same algorithm as skimage.measure.blur_effect with its
    default reduce_func=max: for each axis the luma is re-blurred with an `h_size` moving mean along that axis,
    and the loss of Sobel variation along the axis, sum(max(0, |D| - |D_blur|)), is compared to sum(|D|) over
    the interior [2:-1] of the image; the result is the larger of the two axes' 1 - loss / variation. Unlike
    skimage (which uses rgb2gray), colour goes through BT.601 luma. With `grid`, the luma is cropped to whole
    blocks, re-blurred inside each block (mirrored at its edges), and the sums keep only the pixels whose 3x3
    Sobel stencil lies inside one block.
    """
    y = luma(img)
    if grid is None:
        keep = np.ones(y.shape, bool)
    else:
        y = y[: y.shape[0] // grid * grid, : y.shape[1] // grid * grid]
        keep = in_block(y.shape[0], -1, 3, grid)[:, None] & in_block(y.shape[1], -1, 3, grid)[None, :]
    keep[:2] = keep[-1:] = False  # skimage's interior [2:-1]
    keep[:, :2] = keep[:, -1:] = False
    values = []
    for axis in (0, 1):
        sharp = np.maximum(_EPSILON, _sobel_axis(y, axis))
        reblurred = (
            _uniform_filter1d(y, h_size, axis) if grid is None else _blockwise_mean(y, h_size, axis, grid)
        )
        blurred = np.maximum(_EPSILON, _sobel_axis(reblurred, axis))
        variation = sharp[keep].sum()
        loss = np.maximum(0.0, sharp - blurred)[keep].sum()
        values.append(abs(variation - loss) / variation)
    return float(max(values))


def _ratio(value: float, reference: float) -> float:
    """value / reference; 1.0 when both are 0, inf when only the reference is 0."""
    if reference == 0:
        return 1.0 if value == 0 else float("inf")
    return float(value / reference)


def sharpness_report(restored: np.ndarray, original: np.ndarray) -> dict[str, float]:
    """Sharpness of `restored` relative to `original` (its ground truth), both images as in the module docstring.

    Ratios restored / original (1.0 = as sharp as the original, below 1 = blurrier; JPEG blocking and ringing
    could push whole-image measures above 1, which is why these look inside the blocks only):
    `laplacian_var_ratio`, `gradient_ratio` (tenengrad), `hf_energy_ratio` (high_frequency_energy at the default
    cutoff). `blur_effect` is that of the restored image, with
    `blur_effect_original` beside it. The raw values are under `laplacian_var`, `gradient`, `hf_energy` and
    the same names with `_original`.
    """
    report = {}
    measures = {
        "laplacian_var": laplacian_variance,
        "gradient": tenengrad,
        "hf_energy": high_frequency_energy,
    }
    for name, measure in measures.items():
        value, reference = measure(restored), measure(original)
        report[name] = value
        report[f"{name}_original"] = reference
        report[f"{name}_ratio"] = _ratio(value, reference)
    report["blur_effect"] = blur_effect(restored)
    report["blur_effect_original"] = blur_effect(original)
    return report
