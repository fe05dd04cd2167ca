"""Full-reference image quality metrics: PSNR, PSNR on Y, SSIM and PSNR-B.

They reproduce the protocol of the JPEG artifact-removal literature, i.e. the evaluation code of KAIR
(cszn/KAIR `utils/utils_image.py`) and FBCNN (jiaxi-jiang/FBCNN `utils/utils_image.py`, `main_test_fbcnn_*.py`):

- every metric works on 8-bit values: float images in [0, 1] are rounded first (`unjpeg.data.images.to_uint8`,
  KAIR's `single2uint`);
- arithmetic is float64 numpy; no scipy or OpenCV.

Images are numpy arrays (H, W, C) with C in {1, 3} (a 2-D array is taken as (H, W, 1)), either uint8 in [0, 255] or
float in [0, 1]. The reference (ground truth) comes first, the image under test second. Every metric returns a
plain Python float.
"""

import math

import numpy as np
from unjpeg.data import images
from unjpeg.data.jpeg import GRID  # PSNR-B (Yim & Bovik 2011) measures on the JPEG block grid

# ITU-R BT.601 studio-swing luma, as MATLAB's rgb2ycbcr and KAIR's `rgb2ycbcr(img, only_y=True)`:
# Y = 16 + (65.481 R + 128.553 G + 24.966 B) with R, G, B in [0, 1], so Y is in [16, 235].
BT601_Y_COEFFS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
BT601_Y_OFFSET = 16.0

# SSIM constants of Wang et al. 2004 ("Image quality assessment: from error visibility to structural similarity"),
# as in KAIR's `ssim`: an 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range L = 255.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * 255.0) ** 2
SSIM_C2 = (0.03 * 255.0) ** 2


def _checked_uint8(image: np.ndarray) -> np.ndarray:
    """A metric's input as (H, W, C) uint8 in [0, 255], after checking its shape and dtype.

    uint8 input is returned unchanged (2-D input gains a channel axis). Float input in [0, 1] goes through the
    one `to_uint8` (unjpeg.data.images): clipped to [0, 1], scaled by 255, rounded half to even.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"expected an image (H, W, C) with C in {{1, 3}}, got shape {image.shape}")
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"expected uint8 or float in [0, 1], got {image.dtype}")
    return images.to_uint8(image)


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as (H, W, C) uint8, after checking that their shapes match."""
    reference, test = _checked_uint8(reference), _checked_uint8(test)
    if reference.shape != test.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, test {test.shape}")
    return reference, test


def _psnr_from_mse(mse: float) -> float:
    """10 log10(255^2 / mse) in dB for an MSE on the 0..255 scale; inf for mse 0."""
    if mse == 0:
        return math.inf
    return float(10.0 * math.log10(255.0**2 / mse))


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) image as (H, W) float64 in [16, 235], unrounded.

    Equals KAIR's `rgb2ycbcr(img / 255., only_y=True) * 255` (its float path). For (H, W, 1) input the channel
    itself is returned as float64 in [0, 255], so that grayscale metrics on Y equal the plain ones.
    """
    image = _checked_uint8(image).astype(np.float64)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return BT601_Y_OFFSET + image @ BT601_Y_COEFFS / 255.0


def psnr(reference: np.ndarray, test: np.ndarray, border: int = 0) -> float:
    """PSNR in dB over all channels at 8 bits: 10 log10(255^2 / MSE), inf when the images are equal.

    `border` pixels are cropped from each edge first (KAIR's `calculate_psnr`; the JPEG protocol uses 0).
    """
    reference, test = _pair(reference, test)
    h, w = reference.shape[:2]
    reference = reference[border : h - border, border : w - border].astype(np.float64)
    test = test[border : h - border, border : w - border].astype(np.float64)
    return _psnr_from_mse(float(np.mean((reference - test) ** 2)))


def psnr_y(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB on the unrounded BT.601 Y (see `rgb_to_y`); equal to `psnr` for grayscale images."""
    reference, test = _pair(reference, test)
    return _psnr_from_mse(float(np.mean((rgb_to_y(reference) - rgb_to_y(test)) ** 2)))


def _filter_valid(image: np.ndarray, taps: np.ndarray, axis: int) -> np.ndarray:
    """Correlate a 2-D float64 array with 1-D `taps` along `axis`, keeping only the 'valid' part."""
    n = image.shape[axis] - len(taps) + 1
    out = np.zeros_like(np.take(image, np.arange(n), axis=axis))
    for k, tap in enumerate(taps):
        out += tap * np.take(image, np.arange(k, k + n), axis=axis)
    return out


def _gaussian_valid(image: np.ndarray) -> np.ndarray:
    """11x11 Gaussian (sigma 1.5, sum 1) filtering of an (H, W) array, 'valid' part: (H - 10, W - 10).

    Equals KAIR's `cv2.filter2D(img, -1, outer(g, g))[5:-5, 5:-5]` with g = cv2.getGaussianKernel(11, 1.5).
    """
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - (SSIM_WINDOW - 1) / 2
    taps = np.exp(-(x**2) / (2.0 * SSIM_SIGMA**2))
    taps /= taps.sum()
    return _filter_valid(_filter_valid(image, taps, axis=0), taps, axis=1)


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two (H, W) float64 arrays on the 0..255 scale, H and W at least 11."""
    mu_x, mu_y = _gaussian_valid(x), _gaussian_valid(y)
    var_x = _gaussian_valid(x * x) - mu_x**2
    var_y = _gaussian_valid(y * y) - mu_y**2
    cov = _gaussian_valid(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    )
    return float(ssim_map.mean())


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """SSIM in [-1, 1] (1 for equal images) on 8-bit values, as KAIR's `calculate_ssim` with border 0.

    Gaussian 11x11 window (sigma 1.5), K1 = 0.01, K2 = 0.03, 'valid' filtering (the maps lose a 5-pixel border).
    Colour: the mean of the SSIM of R, G and B. Images must be at least 11x11.
    """
    reference, test = _pair(reference, test)
    if min(reference.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {reference.shape}")
    reference, test = reference.astype(np.float64), test.astype(np.float64)
    channels = [_ssim_channel(reference[:, :, c], test[:, :, c]) for c in range(reference.shape[2])]
    return float(np.mean(channels))


def blocking_effect_factor(image: np.ndarray) -> float:
    """Blocking effect factor (Yim & Bovik 2011) of an (H, W) float64 array, in squared units of its values.

    BEF = eta (D_B - D_BC) when D_B > D_BC, else 0, where D_B is the mean squared difference between neighbours
    across the 8-pixel block boundaries (columns and rows 7|8, 15|16, ...), D_BC the same inside blocks, and
    eta = log2(8) / log2(min(H, W)). The boundary counts use true division, H (W / 8 - 1) + W (H / 8 - 1), as
    FBCNN's `compute_bef` (KAIR's torch version floors W / 8; the two agree when H and W are multiples of 8).
    """
    height, width = image.shape
    diff_h = (image[:, :-1] - image[:, 1:]) ** 2  # (H, W - 1): pixel j against j + 1
    diff_v = (image[:-1, :] - image[1:, :]) ** 2  # (H - 1, W)
    on_grid_h = np.arange(width - 1) % GRID == GRID - 1
    on_grid_v = np.arange(height - 1) % GRID == GRID - 1
    sum_b = diff_h[:, on_grid_h].sum() + diff_v[on_grid_v, :].sum()
    sum_bc = diff_h[:, ~on_grid_h].sum() + diff_v[~on_grid_v, :].sum()
    n_hb = height * (width / GRID - 1)
    n_vb = width * (height / GRID - 1)
    n_hbc = height * (width - 1) - n_hb
    n_vbc = width * (height - 1) - n_vb
    d_b = sum_b / (n_hb + n_vb)
    d_bc = sum_bc / (n_hbc + n_vbc)
    if d_b <= d_bc:
        return 0.0
    eta = math.log2(GRID) / math.log2(min(height, width))
    return float(eta * (d_b - d_bc))


def psnr_b(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR-B in dB (Yim & Bovik 2011): 10 log10(255^2 / (MSE + BEF)), as FBCNN's `calculate_psnrb(gt, restored)`.

    MSE is over all channels at 8 bits. The blocking effect factor (`blocking_effect_factor`) is taken on the
    *test* image only: for grayscale on its channel, for colour on its BT.601 Y rounded to integers (FBCNN calls
    KAIR's `rgb2ycbcr` on the uint8 image, which rounds). The image sides should be at least 16 pixels.
    """
    reference, test = _pair(reference, test)
    mse = float(np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2))
    if test.shape[2] == 3:
        luma = np.round(rgb_to_y(test))
    else:
        luma = test[:, :, 0].astype(np.float64)
    return _psnr_from_mse(mse + blocking_effect_factor(luma))
