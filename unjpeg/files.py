"""Restore one image file into another, keeping what the file carries: the per-file job of `unjpeg restore`.

EXIF orientation is applied to the pixels (and the tag reset to 1), the ICC profile and EXIF are copied,
grayscale stays grayscale and alpha passes through unchanged. 16-bit images and CMYK JPEGs are refused
(reasons in `unjpeg.restore`). The output is written to a temporary file beside the target and renamed
into place, so a crash leaves no half-written image. A generator conditioned on the quantization tables
gets a JPEG input's own tables (read from its header) and runs blind on any other input; one log line
says which. A JPEG is restored as its pixels are stored and turned upright afterwards: a turned file's
8×8 blocks start at the stored image's top-left corner, and a quarter turn would transpose every block
against its tables.

Only NumPy and Pillow are imported here; the restorer brings its own runtime (`unjpeg.sources`).
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from unjpeg.data.consistency import project_onto_file
from unjpeg.data.images import read_image, to_pil
from unjpeg.data.jpeg import TABLE_SIZE, normalise_tables, pil_quant_tables
from unjpeg.data.jpeg_file import as_stored, looks_like_jpeg, pil_orientation, upright
from unjpeg.tiling import TilingOptions, restore_image

log = logging.getLogger(__name__)

FORMATS = {"png": ".png", "jpeg": ".jpg"}  # output format: suffix
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ORIENTATION = 0x0112  # EXIF tag; the pixels are written upright, so it is reset to 1 ("normal")
EXIF_INTEGER = {3: "H", 4: "I"}  # TIFF field type: struct format (SHORT, LONG)
# zlib level 1: a 12 MP PNG encodes about 4× faster than at Pillow's default 6, for a file about 20 %
# larger (the pixels are the same).
PNG_COMPRESS_LEVEL = 1


class RestoreError(ValueError):
    """An input that is refused or an output that cannot be written, with a one-line reason."""


@dataclass(frozen=True)
class FileOptions:
    """How one file is restored and written: the tiling, the output `format` ("png" or "jpeg"), the JPEG
    `jpeg_quality` (1-100), the PNG `png_compress_level` (0-9) and the decompression-bomb limit
    `max_pixels` (None: `data.images.MAX_PIXELS`). `consistency`: project a JPEG input's output onto the
    file's quantization intervals (`unjpeg.data.consistency`)."""

    tiling: TilingOptions = field(default_factory=TilingOptions)
    format: str = "png"
    jpeg_quality: int = 95
    png_compress_level: int = PNG_COMPRESS_LEVEL
    max_pixels: int | None = None
    consistency: bool = True

    def __post_init__(self):
        if self.format not in FORMATS:
            raise RestoreError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise RestoreError(f"--jpeg-quality must be in [1, 100], got {self.jpeg_quality}")
        if not 0 <= self.png_compress_level <= 9:
            raise RestoreError(f"--png-compress-level must be in [0, 9], got {self.png_compress_level}")


@dataclass
class Restored:
    """A restored image ready to write: the Pillow image, its format ("PNG", "JPEG") and save options."""

    pil: object
    image_format: str
    save: dict


def restore_path(restorer, source: Path, target: Path, options: FileOptions, progress: bool = False) -> None:
    """Read, check, restore and write one image (see the module docstring for what is kept).

    `restorer` is a `sources.Restorer`; `progress` shows a bar over the tiles of a slow photo.
    Raises `data.images.ImageError` for an unreadable input, `RestoreError` for a refused one or an
    output that cannot be written.
    """
    write_restored(restore_to_image(restorer, source, options, progress), target)


def restore_to_image(restorer, source: Path, options: FileOptions, progress: bool = False) -> Restored:
    """The reading and restoring half of `restore_path`: `source` restored, not yet written."""
    image = read_image(source, keep_alpha=True, max_pixels=options.max_pixels)
    refuse_unsupported(source, image.bit_depth)
    if image.alpha is not None and options.format == "jpeg":
        raise RestoreError(f"{source}: has an alpha channel, which JPEG cannot store; use --format png")
    tiling = options.tiling
    orientation = stored_orientation(source)
    restored = restore_image(
        restorer,
        as_stored(image.pixels, orientation),  # a view; the module docstring says why
        tile=tiling.tile,
        overlap=tiling.overlap,
        fixed_size=restorer.fixed_size,
        self_ensemble=tiling.self_ensemble,
        progress=progress,
        tables=file_tables(source) if getattr(restorer, "conditioned", False) else None,
    )
    del image.pixels  # the input copy is no longer needed; keeps peak memory to about two photos
    restored = np.ascontiguousarray(upright(restored, orientation))
    if options.consistency:
        restored, note = project_onto_file(restored, source)  # in place; JPEG inputs only
        log.info("%s: %s", source, note)
    pil = to_pil(to_uint8_inplace(restored), image.alpha)
    save = {k: v for k, v in image.info.items() if k == "icc_profile"}
    if "exif" in image.info:
        save["exif"] = exif_upright(image.info["exif"], source)
    if options.format == "jpeg":
        # 4:4:4: the restored colour edges are not subsampled again.
        save.update(quality=options.jpeg_quality, subsampling=0)
        return Restored(pil, "JPEG", save)
    return Restored(pil, "PNG", {**save, "compress_level": options.png_compress_level})


def file_tables(source: Path) -> np.ndarray:
    """The (128,) float32 conditioning vector of `source` (`data.jpeg.normalise_tables`): a JPEG's own
    quantization tables, read from its header by Pillow; all zeros (blind) for any other file. Logged."""
    if not looks_like_jpeg(source):
        log.info("%s: blind (no JPEG tables)", source)
        return np.zeros(2 * TABLE_SIZE, np.float32)
    steps = jpeg_steps(source)
    if steps is None:
        return np.zeros(2 * TABLE_SIZE, np.float32)
    log.info("%s: conditioned on the file's quantization tables", source)
    return normalise_tables(steps)


# What Pillow raises for a JPEG header it reads no usable quantization tables from.
UNREADABLE_TABLES = (OSError, AttributeError, IndexError, KeyError, TypeError)


def jpeg_steps(jpeg: Path | Image.Image, name: str | Path | None = None) -> np.ndarray | None:
    """The quantization steps ((2, 64), `data.jpeg.pil_quant_tables`) of a JPEG file, or of a JPEG Pillow
    has opened; None, with a warning naming `name` (default: the file), when its header gives none."""
    name = name or getattr(jpeg, "filename", None) or jpeg
    try:
        if isinstance(jpeg, Image.Image):
            return pil_quant_tables(jpeg)[0]
        with Image.open(jpeg) as opened:
            return pil_quant_tables(opened)[0]
    except UNREADABLE_TABLES as err:
        log.warning("%s: blind (quantization tables unreadable: %s)", name, err)
        return None


def stored_orientation(source: Path) -> int:
    """The EXIF orientation (1..8) of a JPEG `source`; 1 for any other file, whose pixels have no grid."""
    if not looks_like_jpeg(source):
        return 1
    with Image.open(source) as opened:  # read_image has opened it already
        return pil_orientation(opened)


def write_restored(restored: Restored, target: Path) -> None:
    """The writing half of `restore_path` (RestoreError if `target` cannot be written)."""
    write_atomic(restored.pil, target, restored.image_format, restored.save)


def refuse_unsupported(path: Path, bit_depth: int) -> None:
    """Raise RestoreError for 16-bit images and CMYK JPEGs (reasons in the module docstring)."""

    with open(path, "rb") as handle:
        header = handle.read(25)
    # Pillow reads a 16-bit RGB PNG as 8-bit RGB, so its IHDR bit depth (byte 24) is checked directly.
    png16 = header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR" and header[24] == 16
    if bit_depth == 16 or png16:
        raise RestoreError(
            f"{path}: 16-bit images are not supported (JPEG artifacts only exist in 8-bit JPEGs; "
            "convert it to 8-bit first if it came from a JPEG)"
        )
    with Image.open(path) as opened:
        if opened.mode == "CMYK":
            raise RestoreError(
                f"{path}: CMYK images are not supported (convert to RGB with its colour profile first)"
            )


def to_uint8_inplace(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 in [0, 1] to uint8, rounding to nearest, scaling in place to spare a float64 copy."""
    np.multiply(image, 255.0, out=image)
    np.rint(image, out=image)
    return image.astype(np.uint8)


def exif_upright(data: bytes, path: Path) -> bytes:
    """EXIF bytes with the Orientation tag of IFD0 set to 1, patched in place so nothing else moves.

    Rewriting EXIF through a parser would move maker notes, whose offsets are absolute; a 2-byte patch
    cannot. EXIF that cannot be parsed is dropped with a warning, since a stale orientation would make
    viewers rotate the already upright pixels a second time.
    """
    start = 6 if data.startswith(b"Exif\x00\x00") else 0
    order = {b"II": "<", b"MM": ">"}.get(data[start : start + 2])
    try:
        if order is None:
            raise struct.error("no TIFF byte order mark")
        (ifd,) = struct.unpack_from(order + "I", data, start + 4)
        (count,) = struct.unpack_from(order + "H", data, start + ifd)
        for i in range(count):
            entry = start + ifd + 2 + 12 * i
            tag, kind, number = struct.unpack_from(order + "HHI", data, entry)
            # One SHORT as the standard says, or one LONG (which Pillow honours too), held in the entry.
            if tag == ORIENTATION and kind in EXIF_INTEGER and number == 1:
                patched = bytearray(data)
                struct.pack_into(order + EXIF_INTEGER[kind], patched, entry + 8, 1)
                return bytes(patched)
    except struct.error as err:
        log.warning("%s: EXIF dropped, cannot be parsed (%s)", path, err)
        return b""
    return data


def write_atomic(pil, target: Path, image_format: str, options: dict) -> None:
    """Save `pil` to a temporary file beside `target`, then rename it into place (POSIX rename is atomic)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as err:
        raise RestoreError(f"{target}: cannot write ({err.strerror or err})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            pil.save(stream, format=image_format, **options)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(temp, target)
    except OSError as err:
        raise RestoreError(f"{target}: cannot write ({err.strerror or err})") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
