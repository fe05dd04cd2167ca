"""JPEG degradation with Pillow (libjpeg-turbo), the protocol of KAIR / FBCNN / SwinIR.

Colour images are encoded with 4:2:0 chroma subsampling; grayscale stays single-channel. With that
protocol the published plain-JPEG scores on Classic5 are reproduced (see tests/test_metrics.py).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from unjpeg.data.images import to_uint8

# Quality range used for quality-blind training, as in FBCNN (Jiang et al., ICCV 2021) and the data README.
DEFAULT_QUALITY_RANGE = (10, 50)


def jpeg_roundtrip_uint8(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode then decode `(H, W, C)` uint8 (C in {1, 3}) at `quality` in [1, 100]; returns uint8, same shape."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    gray = image.shape[-1] == 1
    pil = Image.fromarray(image[..., 0] if gray else image)
    buffer = io.BytesIO()
    # Pillow's default for RGB is already 4:2:0; it is spelled out because the protocol depends on it.
    options = {} if gray else {"subsampling": "4:2:0"}
    pil.save(buffer, format="JPEG", quality=int(quality), **options)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    return decoded[..., None] if gray else decoded


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode then decode `(H, W, C)` float in [0, 1] at `quality`; returns float32 in [0, 1]."""
    return jpeg_roundtrip_uint8(to_uint8(image), quality).astype(np.float32) / 255.0


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
