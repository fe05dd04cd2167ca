"""No-reference sharpness measures, and their ratios between a restored image and its original.

All work on luma: the BT.601 Y of colour images scaled to [0, 1] (16/255 to 235/255, the same Y as
`losses.metrics.rgb_to_y`), or the channel itself for grayscale. Inputs are numpy arrays (H, W, C) with C in {1, 3}
(or (H, W)), uint8 in [0, 255] or float in [0, 1]; floats are used as they are, without rounding to 8 bits.
Arithmetic is float64 numpy (no scipy). Images should be at least 3x3 (`blur_effect`: 4x4).
"""

import numpy as np
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


def laplacian_variance(img: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]] of the luma, over the valid (H-2, W-2) part.

    Larger is sharper (Pech-Pacheco et al. 2000, "Diatom autofocusing in brightfield microscopy").
    """
    y = luma(img)
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4.0 * y[1:-1, 1:-1]
    return float(np.var(lap))


def tenengrad(img: np.ndarray) -> float:
    """Mean gradient magnitude sqrt(gx^2 + gy^2) of the luma with the 3x3 Sobel kernels, over the valid part.

    The kernels are [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] and its transpose (unnormalised: a unit step gives 4).
    This is the mean magnitude, not Tenengrad's thresholded sum of squares (Krotkov 1987); larger is sharper.
    """
    y = luma(img)
    gx = (y[:-2, 2:] + 2.0 * y[1:-1, 2:] + y[2:, 2:]) - (y[:-2, :-2] + 2.0 * y[1:-1, :-2] + y[2:, :-2])
    gy = (y[2:, :-2] + 2.0 * y[2:, 1:-1] + y[2:, 2:]) - (y[:-2, :-2] + 2.0 * y[:-2, 1:-1] + y[:-2, 2:])
    return float(np.mean(np.sqrt(gx**2 + gy**2)))


def high_frequency_energy(img: np.ndarray, cutoff: float = 0.25, hann: bool = True) -> float:
    """Share in [0, 1] of the luma's spectral energy |FFT|^2 above a radial frequency `cutoff`.

    Frequencies are normalised to Nyquist: r = sqrt(fx^2 + fy^2) / 0.5 with fx, fy in cycles per pixel, so r = 1
    is the Nyquist frequency along an axis. The default 0.25 is 0.125 cycles per pixel, a period of 8 pixels:
    the energy of detail finer than a JPEG block. The mean is removed first; `hann` applies a separable Hann
    window so that the jump between opposite image edges does not count as high frequency. 0.0 for a flat image.
    """
    y = luma(img)
    if y.max() == y.min():
        return 0.0  # flat: only rounding residue would be left after removing the mean
    y = y - y.mean()
    if hann:
        y = y * np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    power = np.abs(np.fft.fft2(y)) ** 2
    fy = np.fft.fftfreq(y.shape[0])[:, None]
    fx = np.fft.fftfreq(y.shape[1])[None, :]
    radius = np.sqrt(fx**2 + fy**2) / 0.5
    total = power.sum()
    if total == 0:
        return 0.0
    return float(power[radius > cutoff].sum() / total)


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


def blur_effect(img: np.ndarray, h_size: int = 11) -> float:
    """No-reference blur in [0, 1]: 0 sharp, towards 1 blurred (Crete-Roffet et al. 2007).

    Crete, Dolmiere, Ladret & Nicolas, "The blur effect: perception and estimation with a new no-reference
    perceptual blur metric", Proc. SPIE 6492 (2007). Same algorithm as skimage.measure.blur_effect with its
    default reduce_func=max: for each axis the luma is re-blurred with an `h_size` moving mean along that axis,
    and the loss of Sobel variation along the axis, sum(max(0, |D| - |D_blur|)), is compared to sum(|D|) over
    the interior [2:-1] of the image; the result is the larger of the two axes' 1 - loss / variation. Unlike
    skimage (which uses rgb2gray), colour goes through BT.601 luma.
    """
    y = luma(img)
    interior = (slice(2, y.shape[0] - 1), slice(2, y.shape[1] - 1))
    values = []
    for axis in (0, 1):
        sharp = np.maximum(_EPSILON, _sobel_axis(y, axis))
        blurred = np.maximum(_EPSILON, _sobel_axis(_uniform_filter1d(y, h_size, axis), axis))
        variation = sharp[interior].sum()
        loss = np.maximum(0.0, sharp - blurred)[interior].sum()
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
    can push them above 1): `laplacian_var_ratio`, `gradient_ratio` (tenengrad), `hf_energy_ratio`
    (high_frequency_energy at the default cutoff). `blur_effect` is that of the restored image, with
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
