"""Assertions and small fixtures shared by the tests."""

import struct
import zlib

import keras
import numpy as np
import tensorflow as tf
from unjpeg.baselines.models import build_model


def assert_trainable(model, images):
    """Every trainable variable gets a finite, non-zero gradient, and one SGD step lowers the MSE."""
    target = np.clip(images + 0.1, 0.0, 1.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(images, training=True) - target))
    grads = tape.gradient(loss, model.trainable_variables)
    assert len(grads) > 0
    for variable, grad in zip(model.trainable_variables, grads, strict=True):
        assert grad is not None, variable.path
        assert np.all(np.isfinite(grad)), variable.path
        assert np.any(grad != 0), variable.path
    keras.optimizers.SGD(1e-3).apply_gradients(zip(grads, model.trainable_variables, strict=True))
    after = tf.reduce_mean(tf.square(model(images, training=True) - target))
    assert float(after) < float(loss)


def random_images(height, width, batch=2, seed=0):
    """(batch, height, width, 3) float32 uniform in [0, 1]."""
    return np.random.default_rng(seed).random((batch, height, width, 3), dtype=np.float32)


def randomised(model, seed: int = 0, scale: float = 0.1):
    """`model` with Gaussian noise of std `scale` added to every weight. A fresh s2dnet is the identity
    (zero-initialised output conv), which would hide errors in code that runs it."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [w + scale * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()]
    )
    return model


def saved_tiny_s2dnet(folder):
    """A width-8 s2dnet with weights randomised at scale 0.05, and its path `folder/tiny.keras`.
    Seeded, so a test's thresholds see the same model on every run (Glorot draws otherwise vary)."""
    keras.utils.set_random_seed(0)
    model = randomised(build_model("s2dnet", width=8), scale=0.05)
    path = folder / "tiny.keras"
    model.save(path)
    return model, path


def has_onnx() -> bool:
    """Whether the [export] extra's ONNX tools (tf2onnx, onnxruntime) are installed."""
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


def write_png_16bit_rgb(path, height=16, width=16):
    """Pillow cannot write 48-bit RGB PNGs, so build one: IHDR bit depth 16, colour type 2."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(range(6)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
