"""JPEG degradation with Pillow (libjpeg-turbo), the protocol of KAIR / FBCNN / SwinIR, and the tables it used.

Colour images are encoded with 4:2:0 chroma subsampling unless told otherwise; grayscale stays
single-channel. With that protocol the published plain-JPEG scores on Classic5 are reproduced (see
tests/test_metrics.py). `quant_tables` reads back what a file says (Pillow's `Image.quantization`, natural
row-major order as of Pillow 13), and `normalise_tables` turns it into the generator's conditioning input.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from unjpeg.data.images import to_uint8

# JPEG codes 8×8 pixel blocks (ITU-T T.81): the one grid of the project (patch crops, padding, tiles, PSNR-B).
GRID = 8
# Quality range used for quality-blind training, as in FBCNN (Jiang et al., ICCV 2021) and the data README.
DEFAULT_QUALITY_RANGE = (10, 50)
# The range users' files come from (phones, cameras and the web sit at 75-98): issue 17's "real" training.
REAL_QUALITY_RANGE = (5, 100)
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
# The flag spelling of each subsampling: `compare --subsampling 420,444`, `train --subsampling-weights 420=2`.
SUBSAMPLING_FLAGS = {mode.replace(":", ""): mode for mode in SUBSAMPLINGS}
TABLE_SIZE = 64  # one 8×8 quantization table
# log2(1 + step) / 8 maps the baseline steps 1..255 onto [0.125, 1]; 0 is left free to mean "no table".
TABLE_LOG_SCALE = 8.0


def jpeg_bytes(
    image: np.ndarray, quality: int = 75, subsampling: str = "4:2:0", qtables: np.ndarray | None = None
) -> bytes:
    """Encode `(H, W, C)` uint8 (C in {1, 3}) as baseline JPEG bytes.

    `quality` in [1, 100] picks the IJG tables scaled by libjpeg; `qtables` ((1 or 2, 64) ints in 1..255,
    natural row-major order: luma, then chroma) replaces them, and `quality` is then ignored.
    `subsampling` is one of SUBSAMPLINGS and applies to colour only.
    """
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"subsampling must be one of {', '.join(SUBSAMPLINGS)}, got {subsampling!r}")
    gray = image.shape[-1] == 1
    options = {} if gray else {"subsampling": subsampling}
    if qtables is None:
        options["quality"] = int(quality)
    else:
        steps = np.asarray(qtables, dtype=np.int64).reshape(-1, TABLE_SIZE)
        if steps.min() < 1 or steps.max() > 255:
            raise ValueError("quantization steps must lie in 1..255 for a baseline JPEG")
        options["qtables"] = [row.tolist() for row in steps[: 1 if gray else 2]]
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if gray else image).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode JPEG bytes with Pillow into `(H, W, C)` uint8, C = 1 for grayscale files, else 3."""
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    return decoded[..., None] if decoded.ndim == 2 else decoded


def jpeg_roundtrip_uint8(
    image: np.ndarray, quality: int, subsampling: str = "4:2:0", qtables: np.ndarray | None = None
) -> np.ndarray:
    """Encode then decode `(H, W, C)` uint8 (C in {1, 3}); returns uint8, same shape. Options as `jpeg_bytes`."""
    return decode_jpeg(jpeg_bytes(image, quality, subsampling, qtables))


def jpeg_roundtrip(image: np.ndarray, quality: int, subsampling: str = "4:2:0") -> np.ndarray:
    """Encode then decode `(H, W, C)` float in [0, 1] at `quality`; returns float32 in [0, 1]."""
    return jpeg_roundtrip_uint8(to_uint8(image), quality, subsampling).astype(np.float32) / 255.0


def double_jpeg_bytes(
    image: np.ndarray,
    first_quality: int,
    second_quality: int,
    shift: tuple[int, int],
    subsampling: str = "4:2:0",
    second_qtables: np.ndarray | None = None,
) -> bytes:
    """FBCNN's non-aligned double JPEG: compress at `first_quality`, crop `shift = (dy, dx)` px off the
    top and left (so the second 8×8 grid is shifted against the first), compress again.

    `image` is `(H, W, C)` uint8; the decoded result is `(H - dy, W - dx, C)` and matches
    `image[dy:, dx:]`. The file carries only the second compression's tables.
    """
    dy, dx = (int(v) for v in shift)
    if not (0 <= dy < image.shape[0] and 0 <= dx < image.shape[1]):
        raise ValueError(f"shift {shift} must be non-negative and smaller than the image")
    first = decode_jpeg(jpeg_bytes(image, first_quality, subsampling))
    return jpeg_bytes(np.ascontiguousarray(first[dy:, dx:]), second_quality, subsampling, second_qtables)


def quant_tables(data: bytes) -> tuple[np.ndarray, bool]:
    """The quantization steps a JPEG file says it used: `((2, 64) int32, gray)`, natural row-major order.

    Row 0 is the table of the first component (luma), row 1 that of the second (chroma). A grayscale
    file has no chroma table: row 1 is then all zeros and `gray` is True, which `normalise_tables` keeps
    as zeros, so the network can tell "no chroma" from any real table.
    """
    return pil_quant_tables(Image.open(io.BytesIO(data)))


def pil_quant_tables(pil: Image.Image) -> tuple[np.ndarray, bool]:
    """`quant_tables` of a JPEG that Pillow has opened (a JpegImageFile: `format == "JPEG"`)."""
    tables = pil.quantization
    slots = [component[3] for component in pil.layer]  # (id, h, v, table slot) per component
    steps = np.zeros((2, TABLE_SIZE), np.int32)
    steps[0] = tables[slots[0]]
    gray = len(slots) == 1
    if not gray:
        steps[1] = tables[slots[1]]
    return steps, gray


def sampling_factors(data: bytes) -> tuple[tuple[int, int], ...]:
    """The (horizontal, vertical) sampling factors of each component, as the file's frame header says."""
    return tuple((h, v) for _, h, v, _ in Image.open(io.BytesIO(data)).layer)


def normalise_tables(steps: np.ndarray) -> np.ndarray:
    """(2, 64) steps (0 = absent) to the generator's (128,) float32 conditioning vector.

    Each step s in 1..255 becomes log2(1 + s) / 8, in [0.125, 1]: log scale because a step's effect on
    the error is multiplicative (QGAC, Ehrlich et al., ECCV 2020, also feeds scaled steps); 0 stays 0
    and marks an absent table (a gray file's chroma, or all 128 zeros for blind mode).
    Steps above 255 (16-bit tables) are clipped to 255.
    """
    steps = np.clip(np.asarray(steps, dtype=np.float64), 0, 255).reshape(-1)
    return (np.log2(1.0 + steps) / TABLE_LOG_SCALE * (steps > 0)).astype(np.float32)


def denormalise_tables(vector: np.ndarray) -> np.ndarray:
    """Inverse of `normalise_tables`: (..., 128) float to (..., 2, 64) int32 steps, 0 where absent."""
    vector = np.asarray(vector, dtype=np.float64)
    steps = np.rint(np.exp2(vector * TABLE_LOG_SCALE) - 1.0).astype(np.int32)
    return steps.reshape(*vector.shape[:-1], 2, TABLE_SIZE)


def jpeg_roundtrip_tf(image, quality: int, dct_method: str = "INTEGER_ACCURATE"):
    """In-graph JPEG with TensorFlow's libjpeg-turbo: (H, W, C) uint8 in and out, C in {1, 3}.

    With the accurate integer IDCT it decodes to the same pixels as `jpeg_roundtrip_uint8` (Pillow);
    TensorFlow's default decoder (`dct_method=""`) differs by up to 4 levels (scripts/compare_tf_jpeg.py).
    """
    import tensorflow as tf

    encoded = tf.io.encode_jpeg(image, quality=int(quality), chroma_downsampling=True)
    return tf.io.decode_jpeg(encoded, channels=int(image.shape[-1]), dct_method=dct_method).numpy()


def parse_quality(text: str) -> tuple[int, int]:
    """Parse '10-50' into (10, 50) or '30' into (30, 30); both ends in [1, 100]."""
    try:
        parts = [int(p) for p in str(text).split("-")]
    except ValueError:
        raise ValueError(f"quality must look like 30 or 10-50, got {text!r}") from None
    if len(parts) not in (1, 2) or not 1 <= parts[0] <= parts[-1] <= 100:
        raise ValueError(f"quality must be one value or a range low-high within [1, 100], got {text!r}")
    return parts[0], parts[-1]
