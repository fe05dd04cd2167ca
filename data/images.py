"""Reading and writing images as float32 arrays in [0, 1].

Every reader returns `(H, W, C)` float32 in [0, 1] with C = 1 (grayscale, kept grayscale) or C = 3 (RGB).
Bad files raise `ImageError` with a one-line message that names the file and the reason.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".ppm", ".pgm")

# Smallest side we accept: one JPEG block (8×8). Anything smaller has no block structure to restore.
MIN_SIDE = 8
# Decompression-bomb guard: Pillow's own default limit (about 89.5 MP, a 1024² RGBA bitmap × 4 × 8 /
# 3); `max_pixels` raises it for a photo that really is that large.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


class ImageError(ValueError):
    """An image file that cannot be used, with a one-line reason."""


@dataclass
class LoadedImage:
    """An image with what a faithful writer needs to carry through.

    pixels: (H, W, C) float32 in [0, 1], C in {1, 3}, EXIF orientation applied.
    alpha: (H, W) uint8 alpha channel, or None.
    bit_depth: 8 or 16, the source sample depth.
    info: `icc_profile` and `exif` bytes of the source, where present.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    info: dict = field(default_factory=dict)


def read_image(path: str | Path, keep_alpha: bool = False, max_pixels: int | None = None) -> LoadedImage:
    """Decode any common image format (PNG, BMP, TIFF, JPEG, WebP) into a `LoadedImage`.

    Handles grayscale (kept single-channel), palette, 16-bit, CMYK and alpha. Alpha is returned
    separately when `keep_alpha`, otherwise dropped with a warning. EXIF orientation is applied.
    Images of more than `max_pixels` (default MAX_PIXELS) are refused before they are decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)
    try:
        with _pillow_guard_off(), Image.open(path) as opened:
            width, height = opened.size
            if width * height > limit:
                raise ImageError(
                    f"{path}: refused, {width}×{height} is {width * height:,} pixels, over the "
                    f"decompression bomb limit of {limit:,} (raise it with --max-pixels if it is real)"
                )
            opened.load()
            image = ImageOps.exif_transpose(opened)
            info = {k: opened.info[k] for k in ("icc_profile", "exif") if opened.info.get(k)}
    except ImageError:
        raise
    except OSError as err:
        raise ImageError(f"{path}: not a readable image ({err})") from None
    except (ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: corrupt image ({err})") from None
    if min(image.size) < MIN_SIDE:
        raise ImageError(
            f"{path}: image is {image.size[0]}×{image.size[1]}, smaller than {MIN_SIDE}×{MIN_SIDE}"
        )
    pixels, alpha, bit_depth = from_pil(image)
    if alpha is not None and not keep_alpha:
        log.warning("%s: alpha channel dropped", path)
        alpha = None
    return LoadedImage(pixels=pixels, alpha=alpha, bit_depth=bit_depth, info=info)


@contextlib.contextmanager
def _pillow_guard_off():
    """Pillow's decompression-bomb check off while opening: its limit is global state, so `read_image`
    checks its own `max_pixels` instead."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def load_image(path: str | Path) -> np.ndarray:
    """Decode an image file into `(H, W, C)` float32 in [0, 1], C in {1, 3}; alpha dropped with a warning."""
    return read_image(path).pixels


def from_pil(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    """A Pillow image of any mode as (pixels (H, W, C) float32 in [0, 1], C in {1, 3}; alpha (H, W) uint8
    or None; bit depth 8 or 16). No EXIF orientation is applied here."""
    mode = image.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        return (np.clip(array / scale, 0, 1)[..., None]).astype(np.float32), None, 16
    if mode == "F":
        return np.clip(np.asarray(image, np.float32), 0, 1)[..., None], None, 16
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        image = image.convert("RGB")
    if image.mode in ("LA", "RGBA"):
        alpha = np.asarray(image.getchannel("A"))
        image = image.convert(image.mode[:-1])
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    array = np.asarray(image, dtype=np.float32)
    array /= 255.0  # in place: a 12 MP photo is 144 MB in float32
    if array.ndim == 2:
        array = array[..., None]
    return array, alpha, 8


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float in [0, 1] to uint8, rounding to nearest (as KAIR's `single2uint`)."""
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(np.asarray(image, np.float64) * 255.0), 0, 255).astype(np.uint8)


def to_pil(image: np.ndarray, alpha: np.ndarray | None = None) -> Image.Image:
    """(H, W, C) float in [0, 1] or uint8, C in {1, 3}, to a Pillow image (L, LA, RGB or RGBA)."""
    array = to_uint8(image)
    pil = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if alpha is not None:
        pil.putalpha(Image.fromarray(alpha))
    return pil


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write (H, W, C) float in [0, 1] or uint8 to `path`; the format follows the suffix."""
    to_pil(image).save(path)


def list_images(root: str | Path) -> list[Path]:
    """All image files under `root` (a file or a folder, searched recursively), in sorted order."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if root.is_file():
        return [root]
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"{root}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    return paths
