"""What a JPEG file says: quantization tables, chroma sampling and the quantized DCT coefficients.

`read_jpeg(path)` reads them once, at the edge, into a frozen `JpegFile` that the rest of the code takes as
an argument (the JPEG-consistency projection in `unjpeg.data.consistency`, the generator's conditioning).
The coefficients come from `jpegio` (PyPI `pyjpegio`, libjpeg-turbo inside); the table slots and EXIF
orientation from Pillow's header parser. No TensorFlow is needed.

Conventions, those of libjpeg (ITU-T T.81 A.3.3, F.1.1.4):
- a block is `(8, 8)` in natural order: `[u, v]` with u the vertical and v the horizontal frequency;
- a coefficient `c` at quantization step `q` stands for the orthonormal 8×8 DCT-II of the level-shifted
  samples (`pixel - 128`) lying in `[(c - 1/2) q, (c + 1/2) q]`;
- component `i` has sampling factors `(h, v)`; it is stored at `h / max_h` of the width and `v / max_v`
  of the height, and one MCU covers `8 max_v` rows by `8 max_h` columns of the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from unjpeg.data.jpeg import GRID as BLOCK  # one 8×8 block of DCT coefficients

ORIENTATION = 0x0112  # EXIF tag: how the stored pixels must be turned to be shown upright (1 = as stored)
SUPPORTED_COLOR_SPACES = {1: "gray", 3: "ycbcr"}  # libjpeg J_COLOR_SPACE values: JCS_GRAYSCALE, JCS_YCbCr
LIBJPEG_COLOR_NAMES = {0: "unknown", 2: "RGB (no colour transform)", 4: "CMYK", 5: "YCCK"}


class UnsupportedJpegError(ValueError):
    """A JPEG that cannot be read or is of a kind unjpeg does not handle, with a one-line reason."""


@dataclass(frozen=True)
class JpegComponent:
    """One colour component as coded in the file.

    coefficients: (blocks_v, blocks_h, 8, 8) int16, quantized, natural order, the file's blocks only (the
        MCU padding blocks that the encoder adds past the component's edge are not included).
    quant_table: (8, 8) uint16 quantization steps in natural order, each in [1, 255] for 8-bit files.
    sampling: (h, v) sampling factors from the frame header.
    """

    coefficients: np.ndarray
    quant_table: np.ndarray
    sampling: tuple[int, int]


@dataclass(frozen=True)
class JpegFile:
    """A JPEG's header facts and coefficients. `height`, `width` are the stored (not EXIF-turned) size."""

    height: int
    width: int
    color_space: str  # "gray" (1 component) or "ycbcr" (3: Y, Cb, Cr, JFIF BT.601 full range)
    progressive: bool
    components: tuple[JpegComponent, ...]
    orientation: int = 1  # EXIF orientation 1..8 of the stored pixels

    @property
    def max_sampling(self) -> tuple[int, int]:
        """(max_h, max_v) over the components."""
        return max(c.sampling[0] for c in self.components), max(c.sampling[1] for c in self.components)

    @property
    def mcu(self) -> tuple[int, int]:
        """(rows, columns) of image pixels covered by one MCU: (16, 16) for 4:2:0, (8, 8) for 4:4:4 and gray."""
        max_h, max_v = self.max_sampling
        return BLOCK * max_v, BLOCK * max_h

    def subsampling(self, index: int) -> tuple[int, int]:
        """(rows, columns) of image pixels per sample of component `index`: (2, 2) for 4:2:0 chroma."""
        max_h, max_v = self.max_sampling
        h, v = self.components[index].sampling
        return max_v // v, max_h // h


def looks_like_jpeg(path: str | Path) -> bool:
    """True when the file starts with the JPEG SOI marker and a marker byte (FF D8 FF)."""
    with open(path, "rb") as handle:
        return handle.read(3) == b"\xff\xd8\xff"


def read_jpeg(path: str | Path) -> JpegFile:
    """Read `path` into a `JpegFile`; raise `UnsupportedJpegError` (one line) for what unjpeg cannot use.

    Supported: 8-bit baseline, extended or progressive, Huffman or arithmetic coded, grayscale or YCbCr with
    any integer sampling ratios (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, ...), restart markers.
    Not supported: CMYK / YCCK, RGB-coded files (Adobe transform 0), 12-bit precision.
    """
    import jpegio  # imported here so that reading pixels elsewhere never needs the coefficient reader

    path = Path(path)
    slots, orientation = _pillow_header(path)
    try:
        decoded = jpegio.read(str(path))
    except (RuntimeError, ValueError, OSError) as err:
        raise UnsupportedJpegError(f"{path}: not a readable JPEG ({err})") from None
    color_code = int(decoded.jpeg_color_space)
    if color_code not in SUPPORTED_COLOR_SPACES:
        kind = LIBJPEG_COLOR_NAMES.get(color_code, f"colour space {color_code}")
        raise UnsupportedJpegError(f"{path}: {kind} JPEG is not supported (only grayscale and YCbCr)")
    if int(decoded.data_precision) != 8:
        raise UnsupportedJpegError(f"{path}: {decoded.data_precision}-bit JPEG is not supported (only 8-bit)")
    components = tuple(
        _component(info, coefficients, decoded.quant_tables, slots, path)
        for info, coefficients in zip(decoded.comp_info, decoded.coef_arrays, strict=True)
    )
    record = JpegFile(
        height=int(decoded.image_height),
        width=int(decoded.image_width),
        color_space=SUPPORTED_COLOR_SPACES[color_code],
        progressive=bool(decoded.progressive_mode),
        components=components,
        orientation=orientation,
    )
    _check_sampling(record, path)
    return record


def _pillow_header(path: Path) -> tuple[list[int], int]:
    """(sorted quantization-table slots defined in the file, EXIF orientation) from Pillow's header parser."""
    try:
        with Image.open(path) as opened:
            if opened.format != "JPEG":
                raise UnsupportedJpegError(f"{path}: not a JPEG file ({opened.format})")
            slots = sorted(getattr(opened, "quantization", None) or {})
            orientation = pil_orientation(opened)
    except (OSError, SyntaxError) as err:
        raise UnsupportedJpegError(f"{path}: not a readable JPEG ({err})") from None
    return slots, orientation


def pil_orientation(opened: Image.Image) -> int:
    """The EXIF orientation (1..8) of an image Pillow has opened; 1 when it has none or an invalid one."""
    orientation = int(opened.getexif().get(ORIENTATION, 1))
    return orientation if 1 <= orientation <= 8 else 1


def _component(info, coefficients: np.ndarray, tables: list, slots: list[int], path: Path) -> JpegComponent:
    """One `JpegComponent` from jpegio's component info, (8 bv, 8 bh) coefficient plane and table list."""
    # jpegio lists the tables of the defined slots in slot order, skipping undefined slots.
    slot = int(info.quant_tbl_no)
    if slot not in slots or len(tables) != len(slots):
        raise UnsupportedJpegError(f"{path}: component {info.component_id} uses undefined table {slot}")
    table = np.array(tables[slots.index(slot)], dtype=np.uint16)
    rows, cols = coefficients.shape
    blocks = (
        np.asarray(coefficients).reshape(rows // BLOCK, BLOCK, cols // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    )
    blocks = np.ascontiguousarray(blocks, dtype=np.int16)
    blocks.setflags(write=False)
    table.setflags(write=False)
    return JpegComponent(blocks, table, (int(info.h_samp_factor), int(info.v_samp_factor)))


def _check_sampling(record: JpegFile, path: Path) -> None:
    """Reject sampling factors that do not divide the largest ones (T.81 allows them; no encoder makes them)."""
    max_h, max_v = record.max_sampling
    for component in record.components:
        h, v = component.sampling
        if max_h % h or max_v % v:
            raise UnsupportedJpegError(f"{path}: sampling factors {h}x{v} do not divide {max_h}x{max_v}")


# EXIF orientation (1..8) -> turning the stored pixels upright, as Pillow's `ImageOps.exif_transpose` does.
_UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
_STORED = {**_UPRIGHT, 6: _UPRIGHT[8], 8: _UPRIGHT[6]}  # every other turn is its own inverse


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn (H, W, ...) pixels as stored upright for EXIF `orientation` (1..8), as Pillow shows them: a view."""
    return _UPRIGHT[orientation](pixels)


def as_stored(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Inverse of `upright`: (H, W, ...) upright pixels seen in the file's stored orientation: a view."""
    return _STORED[orientation](pixels)
